package ops_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/internal/testmodels"
	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// The CPU quantizer rounds half to even, clamps symmetric and gives zero
// codes for zero activations; worked by hand.
func TestQuantizeActivations(t *testing.T) {
	codes, scale := ops.QuantizeActivations([]float32{127, 0.5, 1.5, 2.5, -0.5, -2.5, -127, 3.49}, 0)
	if scale != 1 {
		t.Fatalf("scale %g, want 1", scale)
	}
	if want := []int8{127, 0, 2, 2, 0, -2, -127, 3}; !equalCodes(codes, want) {
		t.Errorf("codes %v, want %v", codes, want)
	}
	codes, scale = ops.QuantizeActivations([]float32{0, 0, 0, 0}, 0)
	if scale != 0 || !equalCodes(codes, []int8{0, 0, 0, 0}) {
		t.Errorf("zeros: scale %g codes %v", scale, codes)
	}
	codes, _ = ops.QuantizeActivations([]float32{-1000, 1000, -64.25, 0.25}, 0.5)
	if want := []int8{-127, 127, -127, 0}; !equalCodes(codes, want) {
		t.Errorf("static: codes %v, want %v", codes, want)
	}
	if got := ops.UnpackCodes(ops.PackCodes([]int8{-127, 5, -1, 127}), 4); !equalCodes(got, []int8{-127, 5, -1, 127}) {
		t.Errorf("pack round trip: %v", got)
	}
}

func equalCodes(a, b []int8) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// GemvA8Reference agrees with the dequantized weights times the
// dequantized activations in float64.
func TestGemvA8ReferenceMatchesDequantized(t *testing.T) {
	for _, f := range []quant.Format{{Bits: 8, Group: 32}, {Bits: 4, Group: 64}, {Bits: 2}} {
		s := ops.GemvShape{Rows: 3, Cols: 256}
		w, x, err := ops.GemvInputs(s, f)
		if err != nil {
			t.Fatal(err)
		}
		codes, xs := ops.QuantizeActivations(x, 0)
		row := make([]float32, s.Cols)
		for r := 0; r < s.Rows; r++ {
			w.DequantizeRow(r, row)
			var want, mag float64
			for c, v := range row {
				p := float64(v) * float64(codes[c]) * float64(xs)
				want += p
				mag += math.Abs(p)
			}
			// The dequantized weights are rounded to f32: 2^-23 of mag.
			got, tol := ops.GemvA8Reference(w, codes, xs, r)
			if math.Abs(got-want) > mag/(1<<23) || tol <= 0 {
				t.Errorf("%s row %d: reference %g, dequantized %g (tol %g)", f, r, got, want, tol)
			}
		}
	}
}

// The quantizer's edge cases on lavapipe: zero activations, exact ties at
// .5 (a scale of 1 or 1/2 makes them exact on the device too), negative
// extremes and clamping, and a long random token.
func TestQuantActEdgeCases(t *testing.T) {
	d := runnertest.Device(t)
	long := make([]float32, 4100)
	for i := range long {
		long[i] = float32(math.Sin(float64(i)*0.37)) * 3
	}
	long[17] = -3.5
	cases := []struct {
		name   string
		x      []float32
		static float32
	}{
		{"zeros", make([]float32, 64), 0},
		{"ties dynamic", []float32{127, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5}, 0},
		{"ties static", []float32{1.25, 0.75, -0.25, -1.25, 0.25, 63.25, -63.25, 0}, 0.5},
		{"negative extreme", []float32{-3, 1, 2, -1.5, 0, 3e-8, -2.99, 1.5}, 0},
		{"clamped", []float32{-1000, 1000, -127.5, 127.5, -128, 0.4, -0.6, 5}, 1},
		{"zeros static", make([]float32, 8), 0.25},
		{"long", long, 0},
		{"long static", long, 0.01},
	}
	for _, static := range []bool{false, true} {
		k := ops.QuantAct(static)
		src, err := templates.Render(k)
		if err != nil {
			t.Fatal(err)
		}
		kern, err := d.Compile(k.Name(), string(src), ops.QuantActBindings, k.WorkgroupSize())
		if err != nil {
			t.Fatal(err)
		}
		defer kern.Release()
		for _, c := range cases {
			if (c.static > 0) != static {
				continue
			}
			if err := ops.CheckQuantAct(d, kern, c.x, c.static); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	}
}

// Integer GEMVs validate against the reference for W8A8, W4A8 and W2A8,
// group-wise and per row, with dynamic and static activation scales.
func TestGemvA8Validates(t *testing.T) {
	d := runnertest.Device(t)
	for _, f := range []quant.Format{{Bits: 8, Group: 32}, {Bits: 4, Group: 32}, {Bits: 2, Group: 64}, {Bits: 8}} {
		for _, static := range []float32{0, 0.006} {
			e := &ops.GemvA8Evaluator{Dev: d, Shape: ops.GemvShape{Rows: 67, Cols: 512}, Format: f, Timing: quick, StaticScale: static}
			for _, k := range []templates.GemvA8{ops.GemvA8Baseline(f),
				{Bits: f.Bits, Group: f.Group, WG: 32, Rows: 4, Vec: 2},
				{Bits: f.Bits, Group: f.Group, WG: 128, Rows: 8, Vec: 4},
				{Bits: f.Bits, Group: f.Group, WG: 64, Rows: 2, Vec: 1, Fold: true},
				{Bits: f.Bits, Group: f.Group, WG: 32, Rows: 3, Vec: 4, Fold: true}} {
				if k.Check() != nil {
					continue
				}
				res := e.EvaluateKernel(context.Background(), k)
				if res.Status != search.OK {
					t.Errorf("%s static=%g %s: rejected: %s", f, static, k, res.Reason)
				} else if res.Score <= 0 {
					t.Errorf("%s %s: rate %g", f, k, res.Score)
				}
			}
			e.Close()
		}
	}
}

// Profile IDs read back, those from before the fold axis as unfolded.
func TestGemvA8ParamsFromID(t *testing.T) {
	f := quant.Format{Bits: 4, Group: 32}
	lim := ops.Limits{Invocations: 1024, SizeX: 1024, SizeY: 1024, WorkgroupBytes: 49152}
	for id, want := range map[string]templates.GemvA8{
		"wg=64/rows=2/vec=4":           {Bits: 4, Group: 32, WG: 64, Rows: 2, Vec: 4},
		"wg=32/rows=8/vec=2/fold=true": {Bits: 4, Group: 32, WG: 32, Rows: 8, Vec: 2, Fold: true},
	} {
		if got, err := ops.GemvA8ParamsFromID(id, f, lim); err != nil || got != want {
			t.Errorf("%s: %+v, %v", id, got, err)
		}
	}
	for _, bad := range []string{"wg=64/rows=2", "wg=48/rows=2/vec=4", "wg=64/rows=2/vec=4/fold=maybe"} {
		if _, err := ops.GemvA8ParamsFromID(bad, f, lim); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// Asymmetric formats are refused with a reason.
func TestGemvA8RefusesAsym(t *testing.T) {
	if ops.CheckA8Format(quant.Format{Bits: 4, Group: 32, Asym: true}) == nil {
		t.Fatal("asymmetric format accepted")
	}
	if _, err := ops.GemvA8Workloads(nil, []quant.Format{{Bits: 4, Group: 32, Asym: true}}, nil, quick); err == nil {
		t.Fatal("workloads for an asymmetric format")
	}
}

// Every legal point of the space compiles.
func TestGemvA8SpaceCompiles(t *testing.T) {
	d := runnertest.Device(t)
	f := quant.Format{Bits: 4, Group: 32}
	legal := ops.GemvA8Space(f, ops.DeviceLimits(d)).Legal()
	if len(legal) < 20 {
		t.Fatalf("only %d legal points", len(legal))
	}
	for _, p := range legal {
		k := ops.GemvA8Params(p, f)
		src, err := templates.Render(k)
		if err != nil {
			t.Fatal(err)
		}
		kern, err := d.Compile(k.Name(), string(src), ops.GemvA8Bindings, k.WorkgroupSize())
		if err != nil {
			t.Errorf("%s: %v", p.ID(), err)
			continue
		}
		kern.Release()
	}
}

// Broken kernels fail validation: wrong rounding, scale, code offset,
// sign extension or activation scale.
func TestGemvA8BrokenKernelsAreRejected(t *testing.T) {
	d := runnertest.Device(t)
	for _, c := range []struct {
		name     string
		f        quant.Format
		static   float32
		old, new string
	}{
		{"quantizer truncates", quant.Format{Bits: 8, Group: 32}, 0, "round(x[base + j] * inv)", "trunc(x[base + j] * inv)"},
		{"quantizer scale /128", quant.Format{Bits: 8, Group: 32}, 0, "partial[0] / 127.0", "partial[0] / 128.0"},
		{"static scale ignored", quant.Format{Bits: 8, Group: 32}, 0.006, "let s = scale[0];", "let s = 0.01;"},
		{"int4 offset", quant.Format{Bits: 4, Group: 32}, 0, "vec4<i32>(8i)", "vec4<i32>(7i)"},
		{"no sign extension", quant.Format{Bits: 8, Group: 32}, 0, "let a0 = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 0u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);", "let a0 = (bitcast<vec4<i32>>(vec4<u32>(xq[x0 + 0u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u)) & vec4<i32>(0xff);"},
		{"activation scale", quant.Format{Bits: 4, Group: 32}, 0, "partial[t * 64u] * xscale[0]", "partial[t * 64u]"},
		{"folded offset", quant.Format{Bits: 4, Group: 32}, 0, "let sx = 8i *", "let sx = 7i *"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := func(k templates.Kernel) ([]byte, error) {
				b, err := templates.Render(k)
				if err != nil {
					return nil, err
				}
				return []byte(strings.ReplaceAll(string(b), c.old, c.new)), nil
			}
			e := &ops.GemvA8Evaluator{Dev: d, Shape: ops.GemvShape{Rows: 9, Cols: 256}, Format: c.f, Timing: quick, StaticScale: c.static, Source: src}
			defer e.Close()
			k := ops.GemvA8Baseline(c.f)
			k.Fold = strings.Contains(c.old, "sx")
			res := e.EvaluateKernel(context.Background(), k)
			if res.Status == search.OK {
				t.Fatalf("broken kernel accepted")
			}
			if !strings.Contains(res.Reason, "wrong result") {
				t.Errorf("rejected for another reason: %s", res.Reason)
			}
		})
	}
}

// A calibrated range read back from a saved model drives the static
// scheme end to end on lavapipe: a model matrix quantized to int8-g32 and
// an input within 70% of its calibrated range give y close to the f32
// product, less close than the dynamic scheme, whose scale fits this input.
// (Values beyond the range clamp: TestQuantActEdgeCases.)
func TestGemvA8StaticScaleFromCalibration(t *testing.T) {
	d := runnertest.Device(t)
	m, err := llama.LoadGGUF(filepath.Join(testmodels.Dir(), "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	absmax, err := m.Calibrate(m.Tokenizer.Encode("Once upon a time, there was a little girl named Lily.", true, false))
	if err != nil {
		t.Fatal(err)
	}
	meta, err := quant.SetActAbsmax(nil, absmax)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := quant.Save(path, &quant.Weights{Meta: meta}); err != nil {
		t.Fatal(err)
	}
	back, err := quant.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ranges, err := quant.ActAbsmax(back.Meta)
	if err != nil {
		t.Fatal(err)
	}
	w := m.Layers[0].MLP.Gate
	a := ranges[w.Name]
	if a <= 0 {
		t.Fatalf("no range for %s", w.Name)
	}
	f := quant.Format{Bits: 8, Group: 32}
	wq, err := quant.Quantize(w.Data, w.Rows, w.Cols, f, quant.RTN)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, w.Cols)
	for i := range x {
		x[i] = 0.7 * a * (2*r.Float32() - 1)
	}
	k := templates.GemvA8{Bits: 8, Group: 32, WG: 32, Rows: 4, Vec: 2, Fold: true}
	ys, scale, err := ops.RunGemvA8(d, wq, x, quant.StaticScale(a), k)
	if err != nil {
		t.Fatal(err)
	}
	if scale != quant.StaticScale(a) {
		t.Errorf("static run used scale %g, want %g", scale, quant.StaticScale(a))
	}
	yd, _, err := ops.RunGemvA8(d, wq, x, 0, k)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]float32, w.Cols)
	var es, ed, norm float64
	for i := 0; i < w.Rows; i++ {
		wq.DequantizeRow(i, row)
		var y float64
		for c, v := range row {
			y += float64(v) * float64(x[c])
		}
		es += (float64(ys[i]) - y) * (float64(ys[i]) - y)
		ed += (float64(yd[i]) - y) * (float64(yd[i]) - y)
		norm += y * y
	}
	es, ed = math.Sqrt(es/norm), math.Sqrt(ed/norm)
	t.Logf("%s: relative RMS error against f32 activations: static %.3g, dynamic %.3g", w.Name, es, ed)
	if es > 0.02 || ed > es {
		t.Errorf("relative errors static %g, dynamic %g", es, ed)
	}
}
