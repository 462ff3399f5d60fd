package llama

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/gguf"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
)

// maxLogitError is the largest difference between the GPU's and the CPU's
// logits over a run of positions, relative to the largest CPU logit; the
// CPU's cache is int8 where the GPU's is.
func compareLogits(t *testing.T, g *GPU, m *Model, ids []int) float64 {
	t.Helper()
	return compareLogitsCache(t, g, m, ids, g.opts.KV8)
}

// compareLogitsCache is compareLogits with the CPU's cache int8 or not.
func compareLogitsCache(t *testing.T, g *GPU, m *Model, ids []int, int8 bool) float64 {
	t.Helper()
	cache := m.NewKVCache(len(ids))
	cache.Int8 = int8
	var worst float64
	for pos, id := range ids {
		got, err := g.StepLogits(id, pos)
		if err != nil {
			t.Fatal(err)
		}
		want := m.Forward(id, pos, cache)
		var scale, diff float64
		for i, w := range want {
			scale = math.Max(scale, math.Abs(float64(w)))
			if math.IsNaN(float64(got[i])) {
				t.Fatalf("pos %d: logit %d is NaN", pos, i)
			}
			diff = math.Max(diff, math.Abs(float64(got[i]-w)))
		}
		worst = math.Max(worst, diff/scale)
	}
	return worst
}

func TestGPUSyntheticMatchesCPU(t *testing.T) {
	d := runnertest.Device(t)
	for _, f := range []*quant.Format{nil, {Bits: 8, Group: 32}, {Bits: 4, Group: 64}, {Bits: 2, Group: 128}, {Bits: 4, Group: 32, Asym: true}, {Bits: 8, Group: 0}} {
		name := "f32"
		if f != nil {
			name = f.String()
		}
		t.Run(name, func(t *testing.T) {
			m, g := syntheticOnGPU(t, d, "tiny", f)
			// 1 embedding, 9 per layer (32 positions are one split of
			// attention: no reduce), the final norm, classifier and argmax in
			// two; quantized, 5 per layer with the norms, residual adds,
			// SwiGLU, RoPE and the cache stores in the GEMVs, the final
			// norm in the classifier.
			want := 1 + 9*m.NumLayers + 4
			if f != nil {
				want = 1 + 5*m.NumLayers + 3
			}
			if n := g.DispatchesPerStep(); n != want || g.fused != (f != nil) {
				t.Errorf("%d dispatches per step (fused %t), want %d", n, g.fused, want)
			}
			matchesCPU(t, g, m, f == nil)
		})
	}
}

// syntheticOnGPU is the synthetic model name with weights in format f (nil:
// f32), seed 1, on d with a context of 32 positions, released when t ends.
func syntheticOnGPU(t *testing.T, d *runner.Device, name string, f *quant.Format) (*Model, *GPU) {
	t.Helper()
	m, err := Synthetic(name, SyntheticOptions{Format: f, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGPU(d, m, GPUOptions{Context: 32})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Release)
	return m, g
}

// matchesCPU checks g's logits against m's on the CPU over a run of tokens
// (within logitTolerance of the largest logit) and their greedy tokens
// (which must agree with must, else a disagreement is logged).
func matchesCPU(t *testing.T, g *GPU, m *Model, must bool) {
	t.Helper()
	if e := compareLogits(t, g, m, []int{1, 17, 300, 5, 511, 42, 42, 7}); e > logitTolerance {
		t.Errorf("largest logit error %.2g of the largest logit, want <= %g", e, logitTolerance)
	}
	agreeGreedy(t, g, m, []int{1, 17, 300}, 24, must)
}

// Within one split of decode attention (64 positions by default) the final
// decode writes the CPU's attention alone; past it the splits' partial
// results combine to it, and past each tier of step programs (one split,
// then 256 positions) the next takes over.
func TestGPUSyntheticLongContext(t *testing.T) {
	d := runnertest.Device(t)
	spec := syntheticSpecs["tiny"]
	spec.SeqLen = 1024
	m, err := spec.generate("tiny", SyntheticOptions{Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGPU(d, m, GPUOptions{Context: 600})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	if g.attn.tiers == nil || g.attn.tiers[0].k.Split >= 150 {
		t.Fatalf("decode attention %+v: want flash decode with a split below 150", g.attn.tiers)
	}
	split := g.attn.tiers[0].k.Split
	if len(g.steps) != 4 || g.steps[0].limit != split || g.steps[1].limit != 256 || g.steps[3].limit != 600 {
		t.Fatalf("step programs for %v positions; want %d, 256, 512, 600", g.steps, split)
	}
	if a, b := g.steps[0].prog.Len(), g.steps[1].prog.Len(); a != b-m.NumLayers {
		t.Errorf("%d dispatches within one split, %d past it; want one reduce per layer fewer", a, b)
	}
	ids := make([]int, 300)
	for i := range ids {
		ids[i] = (i*37 + 11) % m.VocabSize
	}
	if e := compareLogits(t, g, m, ids); e > logitTolerance {
		t.Errorf("largest logit error %.2g of the largest logit, want <= %g", e, logitTolerance)
	}
}

// Each step program takes the decode attention tuned nearest its context:
// with a profile whose best split grows with the context, the programs
// for 256, 512 and 600 positions split them into 16, 32 and 64 positions
// (the first program is one split of 16), and the logits across all the
// programs are the CPU's.
func TestGPUDecodeAttentionPerTier(t *testing.T) {
	g, m := tieredGPU(t, 5)
	var got [][2]int
	for _, tr := range g.attn.tiers {
		got = append(got, [2]int{tr.limit, tr.k.Split})
	}
	if want := [][2]int{{16, 16}, {256, 16}, {512, 32}, {600, 64}}; !slices.Equal(got, want) {
		t.Fatalf("step programs (limit, split) %v, want %v", got, want)
	}
	ids := make([]int, 530)
	for i := range ids {
		ids[i] = (i*53 + 7) % m.VocabSize
	}
	if e := compareLogits(t, g, m, ids); e > logitTolerance {
		t.Errorf("largest logit error %.2g of the largest logit, want <= %g", e, logitTolerance)
	}
}

// Greedy steps submitted together, their uniforms copied from a table
// ahead of each (submitGreedy), produce the ids that one submission per
// step does, across the step programs' tiers (from 16 to 256 positions
// and on) and the chunks of steps between read-backs.
func TestGPUGreedySubmissionsMatchSingleSteps(t *testing.T) {
	g, _ := tieredGPU(t, 6)
	if len(g.steps) != 4 {
		t.Fatalf("%d step programs, want 4", len(g.steps))
	}
	const steps = 530
	want := []int{5}
	for pos := 0; pos+1 < steps; pos++ {
		next, err := g.Step(want[pos], pos)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, next)
	}
	got, err := g.Generate([]int{5}, steps)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.IDs, want[:len(got.IDs)]) || len(got.IDs) < 2 {
		t.Errorf("greedy ids submitted together %v\none step a submission %v", got.IDs, want)
	}
	t.Logf("%d greedy ids agree", len(got.IDs))
	if err := g.submitSteps(0, greedyChunk+1); err == nil {
		t.Errorf("%d steps in one submission: no error", greedyChunk+1)
	}
	if err := g.submitSteps(590, 601); err == nil {
		t.Error("steps past the context: no error")
	}
}

// With Llama 3's rope scaling the GPU divides the angles as the CPU does:
// in the fused step (the q, k, v GEMV's epilogue), the unfused one
// (qkvrope) and a batched prefill (qkvrope over the batch), at positions
// where the factors matter.
func TestGPURopeScaling(t *testing.T) {
	d := runnertest.Device(t)
	spec := syntheticSpecs["tiny"]
	spec.SeqLen = 1024
	spec.Scaling = &ropeScaling{Factor: 8, Low: 1, High: 4, OrigCtx: 64}
	for _, f := range []*quant.Format{nil, {Bits: 8, Group: 32}} {
		m, err := spec.generate("tiny", SyntheticOptions{Format: f, Seed: 6})
		if err != nil {
			t.Fatal(err)
		}
		if m.RopeFreqs == nil || slices.Max(m.RopeFreqs) != 8 || slices.Min(m.RopeFreqs) != 1 {
			t.Fatalf("rope freqs %v: want factors from 1 to 8", m.RopeFreqs)
		}
		g, err := NewGPU(d, m, GPUOptions{Context: 200})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]int, 150)
		for i := range ids {
			ids[i] = (i*29 + 3) % m.VocabSize
		}
		if e := compareLogits(t, g, m, ids); e > logitTolerance {
			t.Errorf("fused %t: largest logit error %.2g of the largest logit, want <= %g", g.fused, e, logitTolerance)
		}
		g.Release()
		if f == nil {
			continue
		}
		// A batched prompt, its last logits against the CPU's.
		g, err = NewGPU(d, m, GPUOptions{Context: 200})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.runPrompt(ids[:100]); err != nil {
			t.Fatal(err)
		}
		got, err := g.readLogits()
		g.Release()
		if err != nil {
			t.Fatal(err)
		}
		cache := m.NewKVCache(100)
		var want []float32
		for pos, id := range ids[:100] {
			want = m.Forward(id, pos, cache)
		}
		var scale, diff float64
		for i, w := range want {
			scale = math.Max(scale, math.Abs(float64(w)))
			diff = math.Max(diff, math.Abs(float64(got[i]-w)))
		}
		if diff/scale > logitTolerance {
			t.Errorf("prefill: largest logit error %.2g of the largest logit, want <= %g", diff/scale, logitTolerance)
		}
	}
}

// logitTolerance bounds the GPU's logits against the CPU's, relative to the
// largest: the summation orders differ (measured 1e-6 on lavapipe); a wrong
// kernel is off by the order of the logits themselves.
const logitTolerance = 1e-4

// agreeGreedy compares greedy generation on the GPU with the CPU's; the
// tokens must agree when must is set, else agreement is logged (the same
// codes, summed in another order, may break a near tie).
func agreeGreedy(t *testing.T, g *GPU, m *Model, prompt []int, steps int, must bool) {
	t.Helper()
	got, err := g.Generate(prompt, steps)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.GenerateIDs(prompt, steps, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for n < min(len(got.IDs), len(want.IDs)) && got.IDs[n] == want.IDs[n] {
		n++
	}
	if n == len(want.IDs) && len(got.IDs) == n {
		return
	}
	if must {
		t.Errorf("greedy GPU ids %v, CPU %v", got.IDs, want.IDs)
	} else {
		t.Logf("greedy ids agree for %d of %d positions", n, len(want.IDs))
	}
}

// An untied quantized model with a prompt longer than a batch: batched
// prefill (in chunks of 3 positions; float and int8 caches) leaves the
// logits of the last prompt position and caches the CPU agrees with; the
// same model with tensors
// split over many small buffers (so no batching) agrees as well.
func TestGPUSyntheticPrefillAndSplit(t *testing.T) {
	d := runnertest.Device(t)
	spec := syntheticSpecs["tiny"]
	spec.Tied = false
	f := quant.Format{Bits: 4, Group: 32}
	m, err := spec.generate("tiny-untied", SyntheticOptions{Format: &f, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	prompt := []int{1, 9, 400, 33, 2, 500, 77, 8}
	for _, kv8 := range []bool{false, true} {
		batched(t, d, m, prompt, kv8)
	}
	t.Run("split", func(t *testing.T) {
		g, err := NewGPU(d, m, GPUOptions{Context: 32, maxBinding: 1024})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Release()
		if g.cls.rows/len(g.cls.parts) > 1024/64 || g.Batchable() {
			t.Fatalf("classifier in %d parts, batchable %v; want parts of at most 16 rows, not batchable", len(g.cls.parts), g.Batchable())
		}
		if e := compareLogits(t, g, m, prompt); e > logitTolerance {
			t.Errorf("largest logit error %.2g of the largest logit, want <= %g", e, logitTolerance)
		}
	})
	t.Run("f32 too large", func(t *testing.T) {
		m, err := Synthetic("tiny", SyntheticOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewGPU(d, m, GPUOptions{Context: 32, maxBinding: 1024}); err == nil || !strings.Contains(err.Error(), "binding limit") {
			t.Errorf("f32 matrices over the binding limit: error %v", err)
		}
	})
}

// kv8LogitTolerance is logitTolerance for an int8 cache: a key whose
// rotation differs from the CPU's in its last bits (more so at later
// positions) can round to the neighbouring code, which moves it by a step,
// 1/127 of its head's largest element; over 300 positions such flips
// reached 1.4e-3 of the largest logit, against 3e-6 over the first 40.
const kv8LogitTolerance = 3e-3

// With an int8 KV cache the GPU's logits are the CPU's with the same
// cache: in the fused step (QKVHead storing the codes) and the unfused
// one, across the step programs of one split, several splits and the
// longest tier. The CPU with a float cache is further away than the
// tolerance, so the codes are what both read. Heads the flash kernels do
// not take get no int8 cache.
func TestGPUKV8MatchesCPU(t *testing.T) {
	d := runnertest.Device(t)
	spec := syntheticSpecs["tiny"]
	narrow := spec // heads of 8, which only the one-kernel attention takes
	narrow.NumHeads, narrow.NumKVHeads, narrow.HeadDim, narrow.RopeDim = 16, 8, 8, 8
	m, err := narrow.generate("narrow", SyntheticOptions{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewGPU(d, m, GPUOptions{Context: 32, KV8: true}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("int8 cache for heads of 8: error %v, want ErrUnsupported", err)
	}
	spec.SeqLen = 1024
	ids := make([]int, 300)
	for i := range ids {
		ids[i] = (i*37 + 11) % spec.VocabSize
	}
	for _, f := range []*quant.Format{nil, {Bits: 4, Group: 32}} {
		name := "f32"
		if f != nil {
			name = f.String()
		}
		t.Run(name, func(t *testing.T) {
			m, err := spec.generate("tiny", SyntheticOptions{Format: f, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			g, err := NewGPU(d, m, GPUOptions{Context: 300, KV8: true})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			if len(g.steps) < 3 {
				t.Fatalf("%d step programs, want one split, 256 and 300 positions", len(g.steps))
			}
			if e := compareLogits(t, g, m, ids); e > kv8LogitTolerance {
				t.Errorf("largest logit error %.2g of the largest logit, want <= %g", e, kv8LogitTolerance)
			}
			if e := compareLogitsCache(t, g, m, ids[:40], false); e <= kv8LogitTolerance {
				t.Errorf("against a float cache the largest logit error is %.2g of the largest logit: the int8 cache changes nothing", e)
			}
		})
	}
}

// batched runs prompt through m in batches of 3 positions (with an int8
// cache if kv8) and checks the logits of the last prompt position and of
// the next against the CPU's.
func batched(t *testing.T, d *runner.Device, m *Model, prompt []int, kv8 bool) {
	name, tol := "batched", logitTolerance
	if kv8 {
		name, tol = "batched int8 cache", kv8LogitTolerance
	}
	t.Run(name, func(t *testing.T) {
		g, err := NewGPU(d, m, GPUOptions{Context: 32, Batch: 3, KV8: kv8})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Release()
		if !g.Batchable() {
			t.Fatal("a quantized model is not batchable")
		}
		e, cache := promptError(t, g, m, prompt)
		if e > tol {
			t.Errorf("logits after batched prefill: error %.2g of the largest, want <= %g", e, tol)
		}
		// The next position reads the caches the batches wrote.
		got, err := g.StepLogits(5, len(prompt))
		if err != nil {
			t.Fatal(err)
		}
		if e := relError(got, m.Forward(5, len(prompt), cache)); e > tol {
			t.Errorf("logits after the prompt: error %.2g of the largest, want <= %g", e, tol)
		}
		agreeGreedy(t, g, m, prompt, 20, false)
		if g.Prefill.Positions == 0 {
			t.Error("no prefill positions timed")
		}
	})
}

// promptError runs prompt through g and returns how far the logits after
// it are from the CPU's, relative to the largest, and the CPU's cache after
// the prompt (int8 where g's is).
func promptError(t *testing.T, g *GPU, m *Model, prompt []int) (float64, *KVCache) {
	t.Helper()
	if err := g.runPrompt(prompt); err != nil {
		t.Fatal(err)
	}
	got, err := g.readLogits()
	if err != nil {
		t.Fatal(err)
	}
	cache := m.NewKVCache(g.ctx)
	cache.Int8 = g.opts.KV8
	var want []float32
	for pos, id := range prompt {
		want = m.Forward(id, pos, cache)
	}
	return relError(got, want), cache
}

func relError(got, want []float32) float64 {
	var scale, diff float64
	for i, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
		d := math.Abs(float64(got[i] - w))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		diff = math.Max(diff, d)
	}
	return diff / scale
}

// With a profile the GEMV and GEMM kernels come from its nearest tuned
// shapes of the format (the fused GEMVs from their own ops' entries), the
// block kernels' workgroups from the block ops' entries, and the model
// still agrees with the CPU; without one, built-in kernels with a warning
// (none for the block kernels).
func TestGPUKernelsFromProfile(t *testing.T) {
	d := runnertest.Device(t)
	f := quant.Format{Bits: 4, Group: 32}
	m, err := Synthetic("tiny", SyntheticOptions{Format: &f})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{
		"gemv":              "wg=128/rows=4/vec=2/unpack=vec/fold=true",
		"gemv-norm":         "wg=64/rows=32/vec=4/unpack=magic/fold=true", // 32 rows: only fused spaces have them
		"gemv-acc":          "wg=32/rows=8/vec=1/unpack=shift/fold=false",
		"gemv-glu+acc":      "wg=64/rows=16/vec=2/unpack=unorm/fold=false",
		"gemm":              "wgx=8/wgy=8/rm=4/rn=4/tk=16/vec=4/prefetch=true/unroll=false",
		"attention-decode":  "wg=64/bt=8/split=32/stagev=true",
		"attention-prefill": "bq=16/bk=32/tr=8/tc=8",
		"rmsnorm":           "wg=128",
		"rope":              "wg=32",
		"swiglu":            "wg=128",
		"embedq":            "wg=256",
	}
	// What the IDs become for this model (head dim 32, 2 query heads per
	// key/value head), as the kernels' params print.
	params := map[string]string{
		"gemv":              ids["gemv"],
		"gemv-norm":         ids["gemv-norm"],
		"gemv-acc":          ids["gemv-acc"],
		"gemv-glu+acc":      ids["gemv-glu+acc"],
		"gemm":              ids["gemm"],
		"attention-decode":  "hd=32/g=2/wg=64/bt=8/kv8=false/stagev/split=32",
		"attention-prefill": "hd=32/bq=16/bk=32/tr=8/tc=8/kv8=false",
		"rmsnorm":           "wg=128/noweight=false",
		"rope":              "wg=32/half=false/freqs=false",
		"swiglu":            "wg=128",
		"embedq":            "wg=256",
	}
	p := profiles.New(profiles.Adapter{Name: "test"})
	p.Put(profiles.Entry{Op: "gemv", Dtype: f.String(), Shape: []int{4096, 4096}, Kernel: "gemv", ID: ids["gemv"]})
	for _, op := range []string{"gemv-norm", "gemv-acc", "gemv-glu+acc"} {
		p.Put(profiles.Entry{Op: op, Dtype: f.String(), Shape: []int{4096, 4096}, Kernel: "gemv", ID: ids[op]})
	}
	p.Put(profiles.Entry{Op: "gemm", Dtype: f.String(), Shape: []int{512, 4096, 4096}, Kernel: "gemm", ID: ids["gemm"]})
	p.Put(profiles.Entry{Op: "attention-decode", Dtype: "f32", Shape: []int{4096, 32, 8, 128}, Kernel: "flash-decode", ID: ids["attention-decode"]})
	p.Put(profiles.Entry{Op: "attention-prefill", Dtype: "f32", Shape: []int{2048, 32, 8, 128}, Kernel: "flash-prefill", ID: ids["attention-prefill"]})
	p.Put(profiles.Entry{Op: "rmsnorm", Dtype: "f32", Shape: []int{1, 4096}, Kernel: "rmsnorm", ID: ids["rmsnorm"]})
	p.Put(profiles.Entry{Op: "rope", Dtype: "f32", Shape: []int{32, 128}, Kernel: "rope", ID: ids["rope"]})
	p.Put(profiles.Entry{Op: "swiglu", Dtype: "f32", Shape: []int{14336}, Kernel: "swiglu", ID: ids["swiglu"]})
	p.Put(profiles.Entry{Op: "embedq", Dtype: f.String(), Shape: []int{4096}, Kernel: "embedq", ID: ids["embedq"]})
	for _, prof := range []*profiles.Profile{p, nil} {
		g, err := NewGPU(d, m, GPUOptions{Context: 16, Profile: prof})
		if err != nil {
			t.Fatal(err)
		}
		e, _ := promptError(t, g, m, []int{1, 2, 3}) // records the batch's GEMMs
		g.Release()
		if e > logitTolerance {
			t.Errorf("profile %v: logits error %.2g of the largest, want <= %g", prof != nil, e, logitTolerance)
		}
		// Distinct shapes: the decode step's fused GEMVs, QKV 256x128 and
		// gate+up 512x128 (the tied classifier's too) with the norm, output
		// 128x128 and down 128x256 (with SwiGLU) adding into the residual;
		// the prompt's plain classifier GEMV 512x128; each projection as a
		// GEMM of 3 rows; decode and prefill attention; the norms, RoPE,
		// SwiGLU and the quantized embedding.
		if len(g.Kernels) != 15 {
			t.Errorf("%d kernel choices, want 15: %v", len(g.Kernels), g.Kernels)
		}
		wantWG := []int{64, 64, 256}
		if prof != nil {
			wantWG = []int{32, 128, 128}
		}
		if b := g.blk; b.qkvRope.WG != wantWG[0] || b.glu.WG != wantWG[1] || b.addNorm.WG != wantWG[2] || b.rms.WG != wantWG[2] {
			t.Errorf("profile %v: block kernels %+v, want workgroups %v for rope, swiglu and the norms", prof != nil, b, wantWG)
		}
		for _, k := range g.Kernels {
			if fromProfile := strings.HasPrefix(k.Source, "profile (nearest") && k.Params == params[k.Op]; fromProfile != (prof != nil) {
				t.Errorf("profile %v: %s", prof != nil, k)
			}
		}
		if (len(g.Warnings) == 0) != (prof != nil) {
			t.Errorf("profile %v: warnings %q", prof != nil, g.Warnings)
		}
	}
}

// Quantized projections with an f32 classifier: the fused layers, then
// the final norm as a dispatch of its own before the f32 classifier.
func TestGPUFusedLayersF32Classifier(t *testing.T) {
	d := runnertest.Device(t)
	m, err := Synthetic("tiny", SyntheticOptions{Format: &quant.Format{Bits: 4, Group: 32}, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	q := m.Output.Q
	f32 := &Weight{Name: m.Output.Name, Type: gguf.F32, Rows: q.Rows, Cols: q.Cols, Data: q.Dequantize()}
	if m.TokenEmbedding == m.Output {
		m.TokenEmbedding = f32
	}
	m.Output = f32
	g, err := NewGPU(d, m, GPUOptions{Context: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	// 1 embedding, 5 per layer, the norm, the classifier, argmax in two.
	if n, want := g.DispatchesPerStep(), 1+5*m.NumLayers+4; n != want || !g.fused || g.cls.f != nil {
		t.Errorf("%d dispatches per step (fused %t, classifier %v), want %d, fused, f32", n, g.fused, g.cls.f, want)
	}
	if e := compareLogits(t, g, m, []int{1, 17, 300, 5, 511, 42}); e > logitTolerance {
		t.Errorf("largest logit error %.2g of the largest logit, want <= %g", e, logitTolerance)
	}
}

// Llama 4's layer kinds on the GPU (MoE with a shared expert and top-2
// routing on the device, NoPE with the temperature, q/k norm, RoPE scaling)
// give the CPU's logits and greedy tokens, quantized; f32 weights are
// refused with ErrUnsupported.
func TestGPULlama4MatchesCPU(t *testing.T) {
	d := runnertest.Device(t)
	for _, f := range []*quant.Format{{Bits: 8, Group: 32}, {Bits: 4, Group: 32}} {
		t.Run(f.String(), func(t *testing.T) {
			m, g := syntheticOnGPU(t, d, "tiny-llama4", f)
			// Per layer the q, k, v GEMV, QKVHead, attention and the output
			// GEMV; a dense layer's two GEMVs, an MoE layer's router GEMV,
			// top-k, shared gate/up and down and two of each per expert.
			want := 1 + 2*(4+2) + 2*(4+4+2*2) + 3
			if n := g.DispatchesPerStep(); n != want {
				t.Errorf("%d dispatches per step, want %d", n, want)
			}
			matchesCPU(t, g, m, false)
			// Prompts run batched: the MoE layers' router and top k per
			// row, the shared expert and every routed expert over the
			// batch; with float and int8 caches.
			prompt := []int{1, 9, 400, 33, 2, 500, 77, 8}
			for _, kv8 := range []bool{false, true} {
				batched(t, d, m, prompt, kv8)
			}
		})
	}
	m, err := Synthetic("tiny-llama4", SyntheticOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if g, err := NewGPU(d, m, GPUOptions{Context: 32}); !errors.Is(err, ErrUnsupported) {
		if g != nil {
			g.Release()
		}
		t.Errorf("f32 Llama 4 on the GPU: %v, want ErrUnsupported", err)
	}
}

// A K-split GEMV from the profile runs as its two dispatches (the parts'
// sums, then their reduce): for the output projection adding into the
// residual stream and for the plain GEMV; the fused variants that fall
// back to the plain GEMV's kernel take it without the split. The logits
// are the CPU's.
func TestGPUSplitGemvMatchesCPU(t *testing.T) {
	d := runnertest.Device(t)
	f := quant.Format{Bits: 4, Group: 32}
	m, err := Synthetic("tiny", SyntheticOptions{Format: &f, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	p := profiles.New(profiles.Adapter{Name: "test"})
	p.Put(profiles.Entry{Op: "gemv", Dtype: f.String(), Shape: []int{4096, 4096}, Kernel: "gemv", ID: "wg=32/rows=4/vec=1/unpack=half/fold=false/split=4"})
	p.Put(profiles.Entry{Op: "gemv-acc", Dtype: f.String(), Shape: []int{4096, 4096}, Kernel: "gemv", ID: "wg=64/rows=2/vec=2/unpack=shift/fold=false/split=2"})
	g, err := NewGPU(d, m, GPUOptions{Context: 16, Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	splits := map[string]string{}
	for _, k := range g.Kernels {
		if strings.HasPrefix(k.Op, "gemv") {
			splits[k.Op] = k.Params
		}
	}
	for op, split := range map[string]bool{"gemv-acc": true, "gemv-norm": false, "gemv-glu+acc": false} {
		if strings.Contains(splits[op], "split=") != split {
			t.Errorf("%s runs %s; want a K split %t", op, splits[op], split)
		}
	}
	if e := compareLogits(t, g, m, []int{1, 17, 300, 5, 511}); e > logitTolerance {
		t.Errorf("largest logit error %.2g of the largest logit, want <= %g", e, logitTolerance)
	}
	// A batched prompt ends in the plain classifier GEMV.
	if e, _ := promptError(t, g, m, []int{1, 2, 3}); e > logitTolerance {
		t.Errorf("logits after the prompt: error %.2g of the largest, want <= %g", e, logitTolerance)
	}
	if i := slices.IndexFunc(g.Kernels, func(k KernelChoice) bool { return k.Op == "gemv" }); i < 0 || !strings.Contains(g.Kernels[i].Params, "split=4") {
		t.Errorf("the classifier's plain GEMV is not the profile's K split: %v", g.Kernels)
	}
}

// tieredGPU is the tiny model (weights from seed) on a GPU with a context
// of 600 and a profile whose decode attention splits 256, 512 and 600
// positions into 16, 32 and 64: step programs for 16, 256, 512 and 600
// positions. It is released when the test ends.
func tieredGPU(t *testing.T, seed uint64) (*GPU, *Model) {
	t.Helper()
	d := runnertest.Device(t)
	spec := syntheticSpecs["tiny"]
	spec.SeqLen = 1024
	m, err := spec.generate("tiny", SyntheticOptions{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	o := m.Options
	p := profiles.New(profiles.Adapter{Name: "test"})
	for _, e := range []struct{ ctx, split int }{{256, 16}, {512, 32}, {600, 64}} {
		p.Put(profiles.Entry{Op: "attention-decode", Dtype: "f32", Shape: []int{e.ctx, o.NumHeads, o.NumKVHeads, o.HeadDim},
			Kernel: "flash-decode", ID: fmt.Sprintf("wg=64/bt=8/split=%d/stagev=true", e.split)})
	}
	g, err := NewGPU(d, m, GPUOptions{Context: 600, Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Release)
	return g, m
}
