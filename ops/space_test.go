package ops_test

import (
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/templates"
)

// Every legal point of the device's space renders and compiles on the
// device: a template branch that produces invalid WGSL for some params is
// found here rather than in a sweep.
func TestEverySpacePointCompiles(t *testing.T) {
	d := runnertest.Device(t)
	space := ops.Space(ops.DeviceLimits(d))
	legal := space.Legal()
	if len(legal) < 100 {
		t.Fatalf("only %d legal points: the constraints are too tight", len(legal))
	}
	step := 1
	if testing.Short() {
		step = 17
	}
	for i := 0; i < len(legal); i += step {
		p := ops.Params(legal[i])
		src, err := templates.Render(p)
		if err != nil {
			t.Errorf("%s: %v", legal[i].ID(), err)
			continue
		}
		k, err := d.Compile(p.Name(), string(src), []runner.Binding{runner.Uniform, runner.ReadOnly, runner.ReadOnly, runner.ReadWrite}, p.WorkgroupSize())
		if err != nil {
			t.Errorf("%s: %v", legal[i].ID(), err)
			continue
		}
		k.Release()
	}
	t.Logf("compiled %d of %d legal points", (len(legal)+step-1)/step, len(legal))
}

func TestSpaceRespectsLimits(t *testing.T) {
	lim := ops.Limits{Invocations: 256, SizeX: 256, SizeY: 256, WorkgroupBytes: 16384}
	for _, p := range ops.Space(lim).Legal() {
		m := ops.Params(p)
		if m.WGX*m.WGY > lim.Invocations || m.WorkgroupBytes() > lim.WorkgroupBytes || m.Check() != nil {
			t.Errorf("%s is legal but breaks the limits %+v", p.ID(), lim)
		}
	}
}
