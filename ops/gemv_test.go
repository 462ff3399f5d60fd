package ops_test

import (
	"context"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// Every format's GEMV validates against the CPU dequantized reference with
// every unpacking strategy that applies to it, and with the baseline.
func TestGemvEveryFormatValidates(t *testing.T) {
	d := runnertest.Device(t)
	for _, f := range quant.Formats() {
		t.Run(f.String(), func(t *testing.T) {
			e := &ops.GemvEvaluator{Dev: d, Shape: ops.GemvShape{Rows: 67, Cols: 512}, Format: f, Timing: quick}
			defer e.Close()
			kernels := []templates.Gemv{ops.GemvBaseline(f)}
			for _, u := range templates.Unpacks {
				for _, fold := range []bool{false, true} {
					kernels = append(kernels, templates.Gemv{Bits: f.Bits, Group: f.Group, Asym: f.Asym, WG: 32, Rows: 4, Vec: 2, Unpack: u, Fold: fold})
				}
			}
			for _, k := range kernels {
				if k.Check() != nil {
					continue
				}
				res := e.EvaluateKernel(context.Background(), k)
				if res.Status != search.OK {
					t.Errorf("%s: rejected: %s", k, res.Reason)
				} else if res.Score <= 0 {
					t.Errorf("%s: rate %g", k, res.Score)
				}
			}
		})
	}
}

// Every legal point of one format's space compiles.
func TestGemvSpaceCompiles(t *testing.T) {
	d := runnertest.Device(t)
	for _, f := range []quant.Format{{Bits: 2, Group: 64, Asym: true}, {Bits: 4, Group: 32}, {Bits: 8, Group: 128}} {
		space := ops.GemvSpace(f, ops.DeviceLimits(d))
		legal := space.Legal()
		if len(legal) < 20 {
			t.Fatalf("%s: only %d legal points", f, len(legal))
		}
		for _, p := range legal {
			k := ops.GemvParams(p, f)
			src, err := templates.Render(k)
			if err != nil {
				t.Fatalf("%s %s: %v", f, p.ID(), err)
			}
			kern, err := d.Compile("gemv", string(src), ops.GemvBindingsFor(k), k.WorkgroupSize())
			if err != nil {
				t.Errorf("%s %s: %v", f, p.ID(), err)
				continue
			}
			kern.Release()
		}
	}
}
