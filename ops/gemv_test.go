package ops_test

import (
	"context"
	"fmt"
	"strings"
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

// gemvFusions are the fused variants the decode step uses, and one of each
// alone.
var gemvFusions = []templates.Gemv{{Norm: true}, {GLU: true}, {Acc: true}, {GLU: true, Acc: true}, {Norm: true, Acc: true}}

// Every fusion validates against GemvFusedReference, in formats with and
// without a min and with the offset folded or not, and a partial last
// workgroup of rows.
func TestGemvFusionsValidate(t *testing.T) {
	d := runnertest.Device(t)
	params := []templates.Gemv{
		{Bits: 4, Group: 32, WG: 64, Rows: 4, Vec: 4, Unpack: "magic", Fold: true},
		{Bits: 8, Asym: true, WG: 32, Rows: 2, Vec: 1, Unpack: "unorm"},
		{Bits: 2, Group: 64, WG: 128, Rows: 1, Vec: 2, Unpack: "lut"},
	}
	for _, p := range params {
		f := quant.Format{Bits: p.Bits, Group: p.Group, Asym: p.Asym}
		t.Run(f.String(), func(t *testing.T) {
			e := &ops.GemvEvaluator{Dev: d, Shape: ops.GemvShape{Rows: 67, Cols: 512}, Format: f, Timing: quick}
			defer e.Close()
			for _, fu := range gemvFusions {
				k := p
				k.Norm, k.GLU, k.Acc = fu.Norm, fu.GLU, fu.Acc
				if res := e.EvaluateKernel(context.Background(), k); res.Status != search.OK {
					t.Errorf("%s: rejected: %s", k, res.Reason)
				}
			}
		})
	}
}

// A fused kernel that gets its fusion wrong fails validation: the checks
// see the norm's scale, its weight and its sum of squares, the up half of
// the GLU input, and the accumulation.
func TestGemvBrokenFusionsAreRejected(t *testing.T) {
	d := runnertest.Device(t)
	f := quant.Format{Bits: 4, Group: 32}
	base := templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 2, Vec: 2, Unpack: "vec"}
	for _, c := range []struct {
		name     string
		fu       templates.Gemv
		old, new string
	}{
		{"norm scale", templates.Gemv{Norm: true}, "v = v * scale;", ""},
		{"norm weight", templates.Gemv{Norm: true}, " * norm[", " + 0.0 * norm["},
		{"sum of squares", templates.Gemv{Norm: true}, "ss = ss + dot(", "ss = ss + 0.5 * dot("},
		{"glu up", templates.Gemv{GLU: true}, "x[dims.up / 4u", "x[dims.gate / 4u"},
		{"accumulate", templates.Gemv{Acc: true}, "y[dims.row_offset + row0 + t] + v", "v"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := base
			k.Norm, k.GLU, k.Acc = c.fu.Norm, c.fu.GLU, c.fu.Acc
			e := &ops.GemvEvaluator{Dev: d, Shape: ops.GemvShape{Rows: 9, Cols: 256}, Format: f, Timing: quick,
				Source: func(k templates.Kernel) ([]byte, error) {
					src, err := templates.Render(k)
					if err != nil || !strings.Contains(string(src), c.old) {
						return nil, fmt.Errorf("%q not in the source (%v)", c.old, err)
					}
					return []byte(strings.ReplaceAll(string(src), c.old, c.new)), nil
				}}
			defer e.Close()
			res := e.EvaluateKernel(context.Background(), k)
			if res.Status == search.OK || !strings.Contains(res.Reason, "want") {
				t.Errorf("%s broken by %q: status %v, reason %q; want a mismatch", k, c.name, res.Status, res.Reason)
			}
		})
	}
}
