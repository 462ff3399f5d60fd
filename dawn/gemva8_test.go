package dawn_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/dawn"
	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// gemvA8Representatives are the integer GEMV's baselines and a spread of
// its space for every weight width, and the quantizer both ways.
func gemvA8Representatives() []templates.Kernel {
	var ks []templates.Kernel
	for _, f := range []quant.Format{{Bits: 8, Group: 32}, {Bits: 4, Group: 32}, {Bits: 2, Group: 64}, {Bits: 8}, {Bits: 4, Group: 128}} {
		ks = append(ks, ops.GemvA8Baseline(f),
			templates.GemvA8{Bits: f.Bits, Group: f.Group, WG: 32, Rows: 4, Vec: 2},
			templates.GemvA8{Bits: f.Bits, Group: f.Group, WG: 256, Rows: 8, Vec: 1},
			templates.GemvA8{Bits: f.Bits, Group: f.Group, WG: 64, Rows: 3, Vec: 4, Fold: true})
	}
	return append(ks, ops.QuantAct(false), ops.QuantAct(true), templates.QuantAct{WG: 256}, templates.QuantAct{WG: 32, Static: true})
}

// quantActInputs are the quantizer's edge cases, as ops tests them on
// lavapipe: zeros, exact ties (scales 1 and 1/2), negative extremes,
// clamping and a long token.
func quantActInputs() []struct {
	name   string
	x      []float32
	static float32
} {
	long := make([]float32, 4100)
	for i := range long {
		long[i] = float32(math.Sin(float64(i)*0.37)) * 3
	}
	return []struct {
		name   string
		x      []float32
		static float32
	}{
		{"zeros", make([]float32, 64), 0},
		{"ties", []float32{127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5}, 0},
		{"ties-static", []float32{1.25, 0.75, -0.25, -1.25, 0.25, 63.25, -63.25, 0}, 0.5},
		{"negative-extreme", []float32{-3, 1, 2, -1.5, 0, 3e-8, -2.99, 1.5}, 0},
		{"clamped", []float32{-1000, 1000, -127.5, 127.5, -128, 0.4, -0.6, 5}, 1},
		{"long", long, 0},
		{"long-static", long, 0.01},
	}
}

// quantActCases: the codes and scale of k on each input of its scheme,
// checked with ops.QuantCodesMatch (exact codes, either neighbour only
// within 1e-4 of a tie under a scale that is not a power of two), and
// nothing written past them.
func quantActCases(k templates.QuantAct) []runCase {
	var cases []runCase
	for _, in := range quantActInputs() {
		if (in.static > 0) != k.Static {
			continue
		}
		x, static := in.x, in.static
		sc := buffer{name: "scale", data: ops.F32Words([]float32{static}), guard: 4, verified: true}
		cases = append(cases, runCase{k: k, shape: in.name, groups: k.Groups(1), bufs: []buffer{
			{name: "dims", data: ops.UniformWords(uint32(len(x)), 0, 0, 0)},
			{name: "x", data: ops.F32Words(x)},
			{name: "xq", data: ops.SentinelWords(len(x) / 4), guard: 64, verified: true},
			sc,
		}, verify: func(got map[string][]uint32) error {
			return ops.QuantCodesMatch(x, static, math.Float32frombits(got["scale"][0]), got["xq"])
		}})
	}
	return cases
}

// gemvA8Cases: y for ops.GemvInputs on ops.GemvValidationShapes with x
// quantized by ops.QuantizeActivations, against ops.GemvA8Reference
// (exact integer sums, the f32 tail's rounding bounded).
func gemvA8Cases(k templates.GemvA8) []runCase {
	f := quant.Format{Bits: k.Bits, Group: k.Group}
	var cases []runCase
	for _, s := range ops.GemvValidationShapes(templates.Gemv{Bits: k.Bits, Group: k.Group, Rows: k.Rows, Vec: k.Vec}) {
		t, x, err := ops.GemvInputs(s, f)
		if err != nil {
			panic(err)
		}
		codes, scale := ops.QuantizeActivations(x, 0)
		ref, tol := make([]float64, s.Rows), make([]float64, s.Rows)
		for i := range ref {
			ref[i], tol[i] = ops.GemvA8Reference(t, codes, scale, i)
		}
		cases = append(cases, runCase{k: k, shape: s.String(), groups: k.Groups(s.Rows), bufs: []buffer{
			{name: "dims", data: ops.UniformWords(uint32(s.Rows), uint32(s.Cols), uint32(t.GroupLen(s.Cols)), 0)},
			{name: "w", data: t.Words},
			{name: "scales", data: ops.F32Words(t.Scales)},
			{name: "xq", data: ops.PackCodes(codes)},
			{name: "y", data: ops.SentinelWords(s.Rows), ref: ref, tol: tol, guard: 1024},
			{name: "xscale", data: ops.F32Words([]float32{scale})},
		}})
	}
	return cases
}

func a8Cases(k templates.Kernel) []runCase {
	switch k := k.(type) {
	case templates.GemvA8:
		return gemvA8Cases(k)
	case templates.QuantAct:
		return quantActCases(k)
	}
	panic(fmt.Sprintf("no cases for %T", k))
}

// Tint compiles the representatives and a sample of every symmetric
// format's space.
func TestTintCompilesGemvA8(t *testing.T) {
	requireDawn(t)
	ks := gemvA8Representatives()
	for i, f := range []quant.Format{{Bits: 8, Group: 32}, {Bits: 4, Group: 32}, {Bits: 2, Group: 128}} {
		ks = append(ks, sample(ops.GemvA8Space(f, looseLimits), i, 3, func(p search.Point) templates.Kernel { return ops.GemvA8Params(p, f) })...)
	}
	compiled, over := compileAll(t, ks)
	if compiled+over != len(ks) || compiled < len(ks)/2 {
		t.Errorf("compiled %d of %d (%d over Dawn's limits)", compiled, len(ks), over)
	}
}

// The quantizer and the integer GEMV compute on Dawn what ops' references
// do.
func TestDawnRunsGemvA8(t *testing.T) {
	requireDawn(t)
	var batch []dawn.Kernel
	var cases []runCase
	for _, k := range gemvA8Representatives() {
		for _, c := range a8Cases(k) {
			batch = append(batch, c.kernel(t))
			cases = append(cases, c)
		}
	}
	res, err := dawn.Run(batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if err := c.check(res[i]); err != nil {
			t.Errorf("%s: %v", c.name(), err)
		}
	}
	t.Logf("%d runs of %d kernels", len(cases), len(gemvA8Representatives()))
}

// Broken quantizers and GEMVs fail on Dawn for the right reason.
func TestDawnCatchesBrokenGemvA8(t *testing.T) {
	requireDawn(t)
	muts := []struct {
		name     string
		k        templates.Kernel
		old, new string
		reason   string
	}{
		{"quantizer truncates", ops.QuantAct(false), "round(x[base + j] * inv)", "trunc(x[base + j] * inv)", "code"},
		{"quantizer scale /128", ops.QuantAct(false), "partial[0] / 127.0", "partial[0] / 128.0", "scale"},
		{"quantizer writes one word too many", ops.QuantAct(true), "j < n;", "j <= n;", "out of bounds"},
		{"int4 offset", templates.GemvA8{Bits: 4, Group: 32, WG: 64, Rows: 1, Vec: 1}, "vec4<i32>(8i)", "vec4<i32>(7i)", "within"},
		{"folded offset", templates.GemvA8{Bits: 8, Group: 32, WG: 64, Rows: 2, Vec: 2, Fold: true}, "let sx = 128i *", "let sx = 127i *", "within"},
		{"activation scale dropped", templates.GemvA8{Bits: 8, Group: 32, WG: 64, Rows: 1, Vec: 1}, "partial[t * 64u] * xscale[0]", "partial[t * 64u]", "within"},
	}
	var batch []dawn.Kernel
	var runs [][]runCase
	for _, m := range muts {
		cs := a8Cases(m.k)
		for _, c := range cs {
			dk := c.kernel(t)
			if !strings.Contains(dk.WGSL, m.old) {
				t.Fatalf("%s: the template no longer has %q", m.name, m.old)
			}
			dk.WGSL = strings.Replace(dk.WGSL, m.old, m.new, 1)
			batch = append(batch, dk)
		}
		runs = append(runs, cs)
	}
	res, err := dawn.Run(batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range muts {
		t.Run(m.name, func(t *testing.T) {
			var errs []string
			for _, c := range runs[i] {
				r := res[0]
				res = res[1:]
				if err := c.check(r); err != nil {
					errs = append(errs, err.Error())
				}
			}
			if !strings.Contains(strings.Join(errs, "\n"), m.reason) {
				t.Errorf("%d of %d runs failed, none for %q: %q", len(errs), len(runs[i]), m.reason, errs)
			}
		})
	}
}
