package ops_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// Every format's GEMV validates against the CPU dequantized reference with
// every unpacking strategy that applies to it, with K split two to eight
// ways, with the scales beside the codes, and with the baseline.
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
			for _, split := range []int{2, 4, 8} {
				kernels = append(kernels, templates.Gemv{Bits: f.Bits, Group: f.Group, Asym: f.Asym, WG: 32, Rows: 4, Vec: 1, Unpack: "shift", Split: split})
			}
			if f.Group != 0 {
				for vec, u := range map[int]string{1: "shift", 2: "half", 4: "vec"} {
					kernels = append(kernels, templates.Gemv{Bits: f.Bits, Group: f.Group, Asym: f.Asym, WG: 32, Rows: 3, Vec: vec, Unpack: u, Layout: "beside"})
				}
				kernels = append(kernels, templates.Gemv{Bits: f.Bits, Group: f.Group, Asym: f.Asym, WG: 32, Rows: 2, Vec: 2, Unpack: "mant", Split: 4, Layout: "beside"})
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

// Every legal point of three formats' spaces compiles: of the K splits,
// whose source differs from the unsplit kernel's only in the split's
// constant, one in eight.
func TestGemvSpaceCompiles(t *testing.T) {
	d := runnertest.Device(t)
	for _, f := range []quant.Format{{Bits: 2, Group: 64, Asym: true}, {Bits: 4, Group: 32}, {Bits: 8, Group: 128}} {
		space := ops.GemvSpace(f, ops.DeviceLimits(d))
		legal := space.Legal()
		if len(legal) < 20 {
			t.Fatalf("%s: only %d legal points", f, len(legal))
		}
		for i, p := range legal {
			if p.Int("split") > 1 && i%8 != 0 {
				continue
			}
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
		{Bits: 4, Group: 32, WG: 32, Rows: 4, Vec: 2, Unpack: "half"},
	}
	for _, p := range params {
		// The reduce of a K split applies acc.
		e := &ops.GemvEvaluator{Dev: d, Shape: ops.GemvShape{Rows: 67, Cols: 512}, Format: quant.Format{Bits: p.Bits, Group: p.Group, Asym: p.Asym}, Timing: quick}
		k := p
		k.Split, k.Acc = 2, true
		if res := e.EvaluateKernel(context.Background(), k); res.Status != search.OK {
			t.Errorf("%s: rejected: %s", k, res.Reason)
		}
		e.Close()
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

// A K split that drops a part of K, a reduce that drops a part or stores
// where acc adds, fail validation.
func TestGemvBrokenSplitsAreRejected(t *testing.T) {
	d := runnertest.Device(t)
	f := quant.Format{Bits: 4, Group: 32}
	base := templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 2, Vec: 2, Unpack: "half", Split: 4}
	for _, c := range []struct {
		name     string
		acc      bool
		old, new string
	}{
		{"a part of K", false, "j < (part + 1u) * per;", "j < (part + 1u) * per - 1u;"},
		{"a part in the reduce", false, "v = v + parts[3u * dims.rows + r];", ""},
		{"acc in the reduce", true, "y[dims.row_offset + r] + v;", "v;"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := base
			k.Acc = c.acc
			wantMismatch(t, d, f, k, c.name, c.old, c.new)
		})
	}
}

// wantMismatch evaluates k of format f with old replaced by new in the
// sources of its dispatches (one of which must hold it), and wants the
// validation to fail on a value.
func wantMismatch(t *testing.T, d *runner.Device, f quant.Format, k templates.Gemv, name, old, new string) {
	t.Helper()
	found := false
	e := &ops.GemvEvaluator{Dev: d, Shape: ops.GemvShape{Rows: 9, Cols: 512}, Format: f, Timing: quick,
		Source: func(k templates.Kernel) ([]byte, error) {
			src, err := templates.Render(k)
			found = found || strings.Contains(string(src), old)
			return []byte(strings.ReplaceAll(string(src), old, new)), err
		}}
	defer e.Close()
	res := e.EvaluateKernel(context.Background(), k)
	if !found {
		t.Fatalf("%q is in no source of %s", old, k)
	}
	if res.Status == search.OK || !strings.Contains(res.Reason, "want") {
		t.Errorf("%s broken by %q: status %v, reason %q; want a mismatch", k, name, res.Status, res.Reason)
	}
}

// A beside kernel that reads another group's scale, or the mins for the
// scales, fails validation.
func TestGemvBrokenBesideIsRejected(t *testing.T) {
	d := runnertest.Device(t)
	for _, c := range []struct {
		name     string
		k        templates.Gemv
		old, new string
	}{
		{"another group's scale", templates.Gemv{Bits: 4, Group: 32, WG: 32, Rows: 2, Vec: 4, Unpack: "half", Layout: "beside"},
			"let q = (c0 / 32u) % 4u;", "let q = (c0 / 32u + 1u) % 4u;"},
		{"the mins as scales", templates.Gemv{Bits: 8, Group: 64, Asym: true, WG: 32, Rows: 2, Vec: 1, Unpack: "shift", Layout: "beside"},
			"let sc = bitcast<f32>(w[blk + 64u + q]);", "let sc = bitcast<f32>(w[blk + 64u + 4u + q]);"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantMismatch(t, d, quant.Format{Bits: c.k.Bits, Group: c.k.Group, Asym: c.k.Asym}, c.k, c.name, c.old, c.new)
		})
	}
}

func TestParseGemvVariant(t *testing.T) {
	for _, v := range ops.GemvVariants {
		got, err := ops.ParseGemvVariant(v.String())
		if err != nil || got != v {
			t.Errorf("ParseGemvVariant(%q) = %+v, %v; want %+v", v.String(), got, err, v)
		}
	}
	for s, op := range map[string]string{"plain": "gemv", "norm": "gemv-norm", "acc+glu": "gemv-glu+acc", "glu+acc": "gemv-glu+acc"} {
		if v, err := ops.ParseGemvVariant(s); err != nil || v.Op() != op {
			t.Errorf("ParseGemvVariant(%q): op %q, %v; want %q", s, v.Op(), err, op)
		}
	}
	for _, s := range []string{"", "norm+", "relu", "acc+acc", "norm+glu", "plain+acc", "Norm"} {
		if v, err := ops.ParseGemvVariant(s); err == nil {
			t.Errorf("ParseGemvVariant(%q) = %+v, want an error", s, v)
		}
	}
	f := quant.Format{Bits: 4, Group: 32}
	if got, want := (ops.GemvVariant{GLU: true, Acc: true}).Task(ops.GemvShape{Rows: 2048, Cols: 8192}, f), "gemv-glu+acc/int4-g32-sym/N=2048/K=8192"; got != want {
		t.Errorf("task %q, want %q", got, want)
	}
}

// The fused spaces judge a point with its fusions: the norm's sum of
// squares is one more row of workgroup memory, and fused workgroups may
// take 32 rows.
func TestGemvVariantSpace(t *testing.T) {
	f := quant.Format{Bits: 4, Group: 32}
	lim := ops.Limits{Invocations: 256, SizeX: 256, SizeY: 256, WorkgroupBytes: 4 * 256 * 16}
	plain, norm, acc := ops.GemvSpace(f, lim), ops.GemvVariantSpace(f, ops.GemvVariant{Norm: true}, lim), ops.GemvVariantSpace(f, ops.GemvVariant{Acc: true}, lim)
	for _, c := range []struct {
		space *search.Space
		id    string
		ok    bool
	}{
		{plain, "wg=256/rows=16/vec=1/unpack=shift/fold=false", true},
		{norm, "wg=256/rows=16/vec=1/unpack=shift/fold=false", false}, // 4*256*17 B
		{norm, "wg=128/rows=16/vec=1/unpack=shift/fold=false", true},
		{acc, "wg=256/rows=16/vec=1/unpack=shift/fold=false", true},
		{acc, "wg=64/rows=32/vec=4/unpack=magic/fold=true", true},
		{norm, "wg=64/rows=32/vec=4/unpack=magic/fold=true", true},
		{plain, "wg=64/rows=32/vec=4/unpack=magic/fold=true", true},
		{plain, "wg=256/rows=32/vec=1/unpack=shift/fold=false", false}, // 4*256*32 B
	} {
		p, err := c.space.Parse(c.id)
		if err == nil {
			err = c.space.Check(p)
		}
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want legal %t", c.id, err, c.ok)
		}
	}
}

// An evaluator of a fused variant runs every point with its fusions and
// counts what they read: the bytes per run below are worked out by hand
// for int4-g32-sym at 67x512 on one copy and lane (the CPU adapter's):
// codes 67*512/2 = 17152 B and scales 67*16*4 = 4288 B, then x (2048 B,
// twice that with the norm weight or as gate and up) and y (268 B, twice
// that read and written with Acc).
func TestGemvVariantEvaluator(t *testing.T) {
	d := runnertest.Device(t)
	f := quant.Format{Bits: 4, Group: 32}
	for _, c := range []struct {
		v, id string
		work  float64
	}{
		{"plain", "wg=64/rows=8/vec=2/unpack=vec/fold=true", 23756},
		{"norm", "wg=64/rows=32/vec=4/unpack=magic/fold=true", 25804},
		{"acc", "wg=32/rows=8/vec=2/unpack=vec/fold=false", 24024},
		{"glu+acc", "wg=128/rows=32/vec=2/unpack=unorm/fold=false", 26072},
		{"norm+acc", "wg=64/rows=4/vec=1/unpack=shift/fold=true", 26072},
		{"glu", "wg=64/rows=8/vec=2/unpack=vec/fold=true", 25804},
	} {
		t.Run(c.v, func(t *testing.T) {
			v, err := ops.ParseGemvVariant(c.v)
			if err != nil {
				t.Fatal(err)
			}
			e := &ops.GemvEvaluator{Dev: d, Shape: ops.GemvShape{Rows: 67, Cols: 512}, Format: f, Variant: v, Timing: quick}
			defer e.Close()
			space := ops.GemvVariantSpace(f, v, ops.DeviceLimits(d))
			p, err := space.Parse(c.id)
			if err != nil {
				t.Fatal(err)
			}
			res := e.Evaluate(context.Background(), p)
			if res.Status != search.OK {
				t.Fatalf("rejected: %s", res.Reason)
			}
			if !strings.HasSuffix(res.ID, strings.ReplaceAll(strings.TrimPrefix("/"+c.v, "/plain"), "+", "/")) || res.Measure.Work != c.work {
				t.Errorf("%s: %g B per run, want %g", res.ID, res.Measure.Work, c.work)
			}
			m, err := e.Retime(context.Background(), p)
			if err != nil || m.Work != c.work {
				t.Errorf("retimed: %v, %g B per run, want %g", err, m.Work, c.work)
			}
		})
	}
}

// A point evaluated for a fused variant is checked as that variant: a
// kernel that drops its norm's scale or its accumulation is rejected.
func TestGemvVariantEvaluatorChecks(t *testing.T) {
	d := runnertest.Device(t)
	f := quant.Format{Bits: 4, Group: 32}
	for _, c := range []struct {
		v        ops.GemvVariant
		old, new string
	}{
		{ops.GemvVariant{Norm: true}, "v = v * scale;", ""},
		{ops.GemvVariant{GLU: true, Acc: true}, "y[dims.row_offset + row0 + t] + v", "v"},
	} {
		e := &ops.GemvEvaluator{Dev: d, Shape: ops.GemvShape{Rows: 9, Cols: 256}, Format: f, Variant: c.v, Timing: quick,
			Source: func(k templates.Kernel) ([]byte, error) {
				src, err := templates.Render(k)
				if err != nil || !strings.Contains(string(src), c.old) {
					return nil, fmt.Errorf("%q not in the source (%v)", c.old, err)
				}
				return []byte(strings.ReplaceAll(string(src), c.old, c.new)), nil
			}}
		p, err := ops.GemvVariantSpace(f, c.v, ops.DeviceLimits(d)).Parse("wg=32/rows=2/vec=1/unpack=shift/fold=false")
		if err != nil {
			t.Fatal(err)
		}
		res := e.Evaluate(context.Background(), p)
		e.Close()
		if res.Status == search.OK || !strings.Contains(res.Reason, "want") {
			t.Errorf("%s broken: status %v, reason %q; want a mismatch", c.v, res.Status, res.Reason)
		}
	}
}

// The points only the fused spaces have, 32 rows per workgroup, compile
// with each prologue (a sample of them: every template path is in it).
func TestGemvVariantSpaceCompiles(t *testing.T) {
	d := runnertest.Device(t)
	f := quant.Format{Bits: 4, Group: 32}
	for _, v := range []ops.GemvVariant{{Norm: true}, {GLU: true, Acc: true}} {
		n := 0
		for i, p := range ops.GemvVariantSpace(f, v, ops.DeviceLimits(d)).Legal() {
			if p.Int("rows") != 32 || i%3 != 0 {
				continue
			}
			n++
			k := v.Apply(ops.GemvParams(p, f))
			src, err := templates.Render(k)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			kern, err := d.Compile("gemv", string(src), ops.GemvBindingsFor(k), k.WorkgroupSize())
			if err != nil {
				t.Errorf("%s: %v", k, err)
				continue
			}
			kern.Release()
		}
		if n < 10 {
			t.Errorf("%s: only %d points of 32 rows", v, n)
		}
	}
}

// mutant is a change to a kernel's source that its cases must catch.
type mutant[K templates.Kernel] struct {
	k        K
	old, new string
}

// checkWithMutants renders each of ks, compiles it with bindings and checks
// cases(k); then each mutant's kernel, its source with old replaced by new,
// must fail them.
func checkWithMutants[K templates.Kernel](t *testing.T, ks []K, bindings func(K) []runner.Binding, cases func(K) ([]ops.BlockCase, error), mutants []mutant[K]) {
	t.Helper()
	d := runnertest.Device(t)
	run := func(k K, src string) error {
		kern, err := d.Compile(k.Name(), src, bindings(k), k.WorkgroupSize())
		if err != nil {
			return err
		}
		defer kern.Release()
		cs, err := cases(k)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if err := c.Check(d, kern); err != nil {
				return err
			}
		}
		return nil
	}
	render := func(k K) string {
		src, err := templates.Render(k)
		if err != nil {
			t.Fatal(err)
		}
		return string(src)
	}
	for _, k := range ks {
		if err := run(k, render(k)); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	for _, m := range mutants {
		src := render(m.k)
		if !strings.Contains(src, m.old) {
			t.Fatalf("the template no longer contains %q, which this test mutates", m.old)
		}
		if err := run(m.k, strings.ReplaceAll(src, m.old, m.new)); err == nil {
			t.Errorf("%q instead of %q passed", m.new, m.old)
		}
	}
}

// The rope epilogue writes the CPU's q, k and v: for int8, int4 and int2,
// with and without a min, the norm and Llama 3's frequency factors, with 2
// to 16 rows per workgroup; a rotation turned the wrong way, v written
// over k, and the factors ignored, fail.
func TestGemvRopeEpilogue(t *testing.T) {
	ks := []templates.Gemv{
		{Bits: 4, Group: 32, WG: 64, Rows: 2, Vec: 2, Unpack: "mant", Norm: true, Rope: true},
		{Bits: 8, Group: 32, Asym: true, WG: 32, Rows: 4, Vec: 1, Unpack: "unorm", Rope: true},
		{Bits: 2, Group: 64, WG: 128, Rows: 16, Vec: 2, Unpack: "magic", Fold: true, Norm: true, Rope: true},
		{Bits: 4, Group: 32, WG: 32, Rows: 8, Vec: 4, Unpack: "mant", Norm: true, Rope: true, RopeFreqs: true},
		{Bits: 4, Group: 32, WG: 64, Rows: 4, Vec: 2, Unpack: "half", Norm: true, Rope: true, RopeFreqs: true},
	}
	checkWithMutants(t, ks, ops.GemvBindingsFor, ops.GemvRopeCases, []mutant[templates.Gemv]{
		{ks[0], "out = v * cs.x - pv * cs.y;", "out = v * cs.x + pv * cs.y;"},
		{ks[0], "vcache[step.pos * kvdim + row - qdim - kvdim] = v;", "kcache[step.pos * kvdim + row - qdim - kvdim] = v;"},
		{ks[3], "return (f32(pos) * freq) / freqs[i];", "return f32(pos) * freq;"},
	})
}

// The expert GEMV computes the chosen expert's rows of a stack of three,
// scaled by its score where asked, with the norm, SwiGLU and add fusions
// the MoE layer uses; reading the first expert instead of the chosen one,
// or scaling unasked, fails.
func TestGemvExpert(t *testing.T) {
	ks := []templates.Gemv{
		{Bits: 4, Group: 32, WG: 64, Rows: 16, Vec: 2, Unpack: "half", Norm: true, Expert: true},
		{Bits: 8, Group: 32, Asym: true, WG: 32, Rows: 2, Vec: 1, Unpack: "unorm", GLU: true, Acc: true, Expert: true},
		{Bits: 2, Group: 64, WG: 128, Rows: 4, Vec: 1, Unpack: "lut", Expert: true},
	}
	cases := func(k templates.Gemv) ([]ops.BlockCase, error) { return ops.GemvExpertCases(k, 24, 256) }
	checkWithMutants(t, ks, ops.GemvBindingsFor, cases, []mutant[templates.Gemv]{
		{ks[0], "let ebase = chosen[dims.slot] * dims.rows;", "let ebase = 0u * dims.rows;"},
		{ks[0], "if (dims.scaled != 0u) {", "if (true) {"},
	})
}

// Llama 4's q/k kernel matches QKVHeadRef with and without RoPE
// frequency factors, storing float or int8 caches; skipping the norm, the
// temperature, or the rotation's sign fails, and so do int8 stores of the
// wrong values, scale or lanes.
func TestQKVHead(t *testing.T) {
	ks := []templates.QKVHead{{WG: 32}, {WG: 64, Freqs: true}, {WG: 32, KV8: true}, {WG: 64, Freqs: true, KV8: true}}
	checkWithMutants(t, ks, ops.QKVHeadBindings, ops.QKVHeadCases, []mutant[templates.QKVHead]{
		{ks[0], "if (dims.qknorm != 0u) {", "if (false) {"},
		{ks[0], "* bitcast<f32>(dims.temp_scale) + 1.0;", "* 0.0 + 1.0;"},
		{ks[0], "y0 = x0 * cs.x - x1 * cs.y;", "y0 = x0 * cs.x + x1 * cs.y;"},
		// int8 caches: the k head stored without its norm, a scale too
		// large by a step, the codes of one lane dropped.
		{ks[2], "let norm = scale;", "let norm = 1.0;"},
		{ks[2], "let qscale = partial[0] / 127.0;", "let qscale = partial[0] / 126.0;"},
		{ks[2], "b.x | (b.y << 8u)", "b.x | (b.x << 8u)"},
	})
}

// The tuned spaces try a K split only where the rows make fewer than 128
// groups on a GPU: none for the decode shapes, some for a small matrix,
// and only with many rows per workgroup in between; none on a CPU adapter.
func TestGemvSplitOnlyForFewRows(t *testing.T) {
	d := runnertest.Device(t)
	f := quant.Format{Bits: 4, Group: 32}
	gpu := ops.SplitBelowGroups(runner.AdapterInfo{Type: "discrete"})
	if gpu != 128 || ops.SplitBelowGroups(runner.AdapterInfo{Type: "cpu"}) != 0 {
		t.Fatalf("split below %d groups on a GPU, %d on a CPU; want 128 and 0", gpu, ops.SplitBelowGroups(runner.AdapterInfo{Type: "cpu"}))
	}
	for _, c := range []struct {
		shape   ops.GemvShape
		below   int
		minRows int // the fewest rows per workgroup a split point has; 0 for none
	}{
		{ops.GemvShape{Rows: 128256, Cols: 2048}, gpu, 0},
		{ops.GemvShape{Rows: 4096, Cols: 4096}, gpu, 0},
		{ops.GemvShape{Rows: 2048, Cols: 8192}, gpu, 32},
		{ops.GemvShape{Rows: 16, Cols: 4096}, gpu, 1},
		{ops.GemvShape{Rows: 16, Cols: 4096}, 0, 0},
	} {
		for _, v := range []ops.GemvVariant{{}, {Acc: true}} {
			sp := ops.SplitWhereFew(ops.GemvVariantSpace(f, v, ops.DeviceLimits(d)), c.shape, c.below)
			fewest := 0
			for _, p := range sp.Legal() {
				if p.Int("split") > 1 && (fewest == 0 || p.Int("rows") < fewest) {
					fewest = p.Int("rows")
				}
			}
			if fewest != c.minRows {
				t.Errorf("%s %s below %d groups: K splits down to %d rows per workgroup, want %d", c.shape, v.Op(), c.below, fewest, c.minRows)
			}
		}
	}
	if d.Info.Type == "cpu" {
		w := ops.GemvWorkloads(d, []quant.Format{f}, []ops.GemvShape{{Rows: 16, Cols: 4096}}, quick)[0]
		defer w.Eval.Close()
		if slices.ContainsFunc(w.Space.Legal(), func(p search.Point) bool { return p.Int("split") > 1 }) {
			t.Errorf("%s on %s: K splits in the space", w.Label, d.Info.Name)
		}
	}
}
