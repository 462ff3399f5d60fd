package ops_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// Every format's GEMM validates against the CPU dequantized reference with
// the baseline and two register-blocked kernels, at a shape with partial
// tiles in M and N: vector loads with prefetch and unrolling, and an oblong
// tile of 2-vectors over several groups per K tile.
func TestGemmEveryFormatValidates(t *testing.T) {
	d := runnertest.Device(t)
	for _, f := range quant.Formats() {
		t.Run(f.String(), func(t *testing.T) {
			e := &ops.GemmEvaluator{Dev: d, Shape: ops.GemmShape{M: 37, N: 70, K: 256}, Format: f, Timing: quick}
			defer e.Close()
			kernels := []templates.Gemm{
				ops.GemmBaseline(f),
				{WGX: 8, WGY: 8, RM: 4, RN: 4, TK: 32, Vec: 4, Prefetch: true, Unroll: true},
				{WGX: 16, WGY: 8, RM: 2, RN: 4, TK: 64, Vec: 2},
			}
			for _, k := range kernels {
				k.Bits, k.Group, k.Asym = f.Bits, f.Group, f.Asym
				res := e.EvaluateKernel(context.Background(), k)
				if res.Status != search.OK {
					t.Errorf("%s: rejected: %s", k, res.Reason)
				} else if res.Measure == nil || res.Score <= 0 || res.Measure.Unit != "FLOP/s" {
					t.Errorf("%s: measurement %+v: want a positive rate in FLOP/s", k, res.Measure)
				}
			}
		})
	}
}

// Every legal point of the int4-g32-sym space renders and compiles on the
// device, and every 7th of two more formats (the other bit widths, asym,
// per row); in -short mode every 7th of all three.
func TestGemmSpaceCompiles(t *testing.T) {
	d := runnertest.Device(t)
	for _, f := range []quant.Format{{Bits: 2, Group: 64, Asym: true}, {Bits: 4, Group: 32}, {Bits: 8, Group: 0, Asym: true}} {
		step := 7
		if f.Bits == 4 && !testing.Short() {
			step = 1
		}
		space := ops.GemmSpace(f, ops.DeviceLimits(d))
		legal := space.Legal()
		if len(legal) < 100 {
			t.Fatalf("%s: only %d legal points: the constraints are too tight", f, len(legal))
		}
		for i := 0; i < len(legal); i += step {
			k := ops.GemmParams(legal[i], f)
			src, err := templates.Render(k)
			if err != nil {
				t.Fatalf("%s %s: %v", f, legal[i].ID(), err)
			}
			kern, err := d.Compile(k.Name(), string(src), ops.GemmBindingsFor(k), k.WorkgroupSize())
			if err != nil {
				t.Errorf("%s %s: %v", f, legal[i].ID(), err)
				continue
			}
			kern.Release()
		}
		t.Logf("%s: compiled %d of %d legal points", f, (len(legal)+step-1)/step, len(legal))
	}
}

func TestGemmSpaceRespectsLimits(t *testing.T) {
	lim := ops.Limits{Invocations: 256, SizeX: 256, SizeY: 256, WorkgroupBytes: 16384}
	f := quant.Format{Bits: 4, Group: 32}
	for _, p := range ops.GemmSpace(f, lim).Legal() {
		k := ops.GemmParams(p, f)
		if k.WGX*k.WGY > lim.Invocations || k.WorkgroupBytes() > lim.WorkgroupBytes || k.Check() != nil || k.RM*k.RN > 64 {
			t.Errorf("%s is legal but breaks the limits %+v", p.ID(), lim)
		}
	}
}

func TestGemmTask(t *testing.T) {
	got := ops.GemmTask(ops.GemmShape{M: 512, N: 4096, K: 4096}, quant.Format{Bits: 4, Group: 32})
	if want := "gemm/int4-g32-sym/M=512/N=4096/K=4096"; got != want {
		t.Errorf("GemmTask = %q; want %q", got, want)
	}
}

// Broken kernels are rejected with their reason, never timed: each
// mutation below is a plausible slip in the template, and validation must
// catch it.
func TestGemmRejectsBrokenKernels(t *testing.T) {
	d := runnertest.Device(t)
	// TK 64 spans two groups of 32 and four words per row of int2, so a
	// scale or code taken from the wrong place changes the result.
	sym := templates.Gemm{Bits: 4, Group: 32, WGX: 8, WGY: 8, RM: 2, RN: 2, TK: 64, Vec: 1, Prefetch: true}
	asym := templates.Gemm{Bits: 2, Group: 32, Asym: true, WGX: 8, WGY: 8, RM: 2, RN: 2, TK: 64, Vec: 1, Prefetch: true}
	cases := []struct {
		name     string
		k        templates.Gemm
		old, new string // every occurrence is replaced
		reason   string
	}{
		{"unmutated", sym, "", "", ""},
		{"unmutated asym", asym, "", "", ""},
		{"scale of the row's first group", sym, "let g = n * gpr + kw * 8u / 32u;", "let g = n * gpr;", "want"},
		{"symmetric offset", sym, "- 8.0) * s", "- 7.0) * s", "want"},
		{"codes out of order", sym, "(u >> 4u) & 0xfu", "(u >> 8u) & 0xfu", "want"},
		{"prefetch of the current tile", sym, "(k0 + 64u)", "(k0)", "want"},
		{"store past the row", sym, "if (col < dims.n) {", "if (col <= dims.n) {", "out of bounds"},
		{"last row skipped", sym, "if (row < dims.m) {", "if (row + 1u < dims.m) {", "never written"},
		{"min dropped", asym, "* s + mn;", "* s;", "want"},
		{"min of the row's first group", asym, "let g = n * gpr + kw * 16u / 32u;", "let g = n * gpr;", "want"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := quant.Format{Bits: c.k.Bits, Group: c.k.Group, Asym: c.k.Asym}
			e := &ops.GemmEvaluator{Dev: d, Shape: ops.GemmShape{M: 37, N: 70, K: 256}, Format: f, Timing: quick,
				Source: func(k templates.Kernel) ([]byte, error) {
					src, err := templates.Render(k)
					if err != nil || c.old == "" {
						return src, err
					}
					if !strings.Contains(string(src), c.old) {
						t.Fatalf("the template no longer contains %q, which this test mutates", c.old)
					}
					return []byte(strings.ReplaceAll(string(src), c.old, c.new)), nil
				}}
			defer e.Close()
			res := e.EvaluateKernel(context.Background(), c.k)
			switch {
			case c.reason == "" && res.Status != search.OK:
				t.Errorf("rejected (%s); want ok", res.Reason)
			case c.reason != "" && (res.Status != search.Rejected || !strings.Contains(res.Reason, c.reason)):
				t.Errorf("%s %q; want rejected mentioning %q", res.Status, res.Reason, c.reason)
			case c.reason != "" && res.Measure != nil:
				t.Errorf("rejected but timed")
			}
			t.Logf("%s: %s", res.Status, res.Reason)
		})
	}
}
