package ops_test

import (
	"slices"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/search"
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

// The matmul space's core axes, which bayes searches a slice along, are
// axes of the space: a misspelt one would silently drop out of the slice.
func TestSpaceCoreAxesExist(t *testing.T) {
	space := ops.Space(ops.Limits{Invocations: 256, SizeX: 256, SizeY: 256, WorkgroupBytes: 16384})
	if len(space.Core) == 0 {
		t.Fatal("the matmul space names no core axes")
	}
	for _, name := range space.Core {
		if !slices.ContainsFunc(space.Axes, func(a search.Axis) bool { return a.Name == name }) {
			t.Errorf("core axis %q is not an axis of the space", name)
		}
	}
}

// A workload reads its points as profiles name them: a GEMV's IDs from
// before the fold axis as unfolded kernels, other ops' IDs as their space
// spells them and nothing else.
func TestWorkloadParseReadsOlderIDs(t *testing.T) {
	lim := ops.Limits{Invocations: 256, SizeX: 256, SizeY: 256, WorkgroupBytes: 16384}
	f := quant.Format{Bits: 4, Group: 32}
	for _, op := range []string{"gemv", "gemv-norm"} {
		w := ops.Workload{Op: op, Space: ops.GemvSpace(f, lim)}
		p, err := w.Parse("wg=32/rows=4/vec=2/unpack=shift")
		if err != nil {
			t.Errorf("%s: older ID: %v", op, err)
		} else if p.ID() != "wg=32/rows=4/vec=2/unpack=shift/fold=false" {
			t.Errorf("%s: older ID read as %s, want the unfolded kernel", op, p.ID())
		}
	}
	m := ops.Workload{Op: "matmul", Space: ops.Space(lim)}
	if _, err := m.Parse("wgx=8/wgy=8/rm=4/rn=4/tk=8/vec=4/staged=true/prefetch=true"); err == nil {
		t.Error("matmul: an ID lacking an axis parsed")
	}
}
