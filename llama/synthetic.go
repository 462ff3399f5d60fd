package llama

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tune-gpu/tune/gguf"
	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
)

// SyntheticPrefix starts the name of a synthetic model, as tune run takes
// it: "synthetic:llama-2-7b".
const SyntheticPrefix = "synthetic:"

// A syntheticSpec is the shape of a synthetic model: a real model's
// hyperparameters, or a small one for tests.
type syntheticSpec struct {
	Options
	Tied  bool   // the classifier is the embedding
	About string // one line for listings
	// Llama 4 layer pattern (zero for Llama 2 and 3): layer i is an MoE
	// layer when (i+1)%MoEStep == 0 and a NoPE layer when (i+1)%NoRopeStep
	// == 0; RoPE layers normalise q and k (QKNorm) and attend in chunks of
	// Chunk positions.
	MoEStep, NoRopeStep, Chunk int
	QKNorm                     bool
	// Scaling is the model's "llama3" RoPE scaling, or nil for none.
	Scaling *ropeScaling
}

// ropeScaling is a config.json's llama3 rope_scaling (ops.Llama3RopeFreqs).
type ropeScaling struct {
	Factor, Low, High float64
	OrigCtx           int
}

// llama31Scaling is Llama 3.1's, llama32Scaling Llama 3.2's.
var (
	llama31Scaling = &ropeScaling{Factor: 8, Low: 1, High: 4, OrigCtx: 8192}
	llama32Scaling = &ropeScaling{Factor: 32, Low: 1, High: 4, OrigCtx: 8192}
)

// The shapes and RoPE scaling are the models' config.json values (see
// shared/reference/formats.md §4, §4b).
var syntheticSpecs = map[string]syntheticSpec{
	"tiny": {Options: Options{Dim: 128, HiddenDim: 256, NumLayers: 2, NumHeads: 4, NumKVHeads: 2, VocabSize: 512,
		SeqLen: 256, HeadDim: 32, RopeDim: 32, RopeTheta: 10000, RMSEps: 1e-5}, Tied: true,
		About: "2 layers, dim 128, 4 heads of 32 sharing 2 kv heads, vocab 512, tied; for tests"},
	"llama-3.2-1b": {Options: Options{Dim: 2048, HiddenDim: 8192, NumLayers: 16, NumHeads: 32, NumKVHeads: 8, VocabSize: 128256,
		SeqLen: 131072, HeadDim: 64, RopeDim: 64, RopeTheta: 500000, RMSEps: 1e-5}, Tied: true, Scaling: llama32Scaling,
		About: "Llama 3.2 1B: 16 layers, dim 2048, 32 heads of 64, 8 kv heads, FFN 8192, vocab 128256, tied"},
	"llama-3.2-3b": {Options: Options{Dim: 3072, HiddenDim: 8192, NumLayers: 28, NumHeads: 24, NumKVHeads: 8, VocabSize: 128256,
		SeqLen: 131072, HeadDim: 128, RopeDim: 128, RopeTheta: 500000, RMSEps: 1e-5}, Tied: true, Scaling: llama32Scaling,
		About: "Llama 3.2 3B: 28 layers, dim 3072, 24 heads of 128, 8 kv heads, FFN 8192, vocab 128256, tied"},
	"llama-3.1-8b": {Options: Options{Dim: 4096, HiddenDim: 14336, NumLayers: 32, NumHeads: 32, NumKVHeads: 8, VocabSize: 128256,
		SeqLen: 131072, HeadDim: 128, RopeDim: 128, RopeTheta: 500000, RMSEps: 1e-5}, Scaling: llama31Scaling,
		About: "Llama 3.1 8B: 32 layers, dim 4096, 32 heads of 128, 8 kv heads, FFN 14336, vocab 128256"},
	"llama-2-7b": {Options: Options{Dim: 4096, HiddenDim: 11008, NumLayers: 32, NumHeads: 32, NumKVHeads: 32, VocabSize: 32000,
		SeqLen: 4096, HeadDim: 128, RopeDim: 128, RopeTheta: 10000, RMSEps: 1e-5},
		About: "Llama 2 7B: 32 layers, dim 4096, 32 heads of 128 (no GQA), FFN 11008, vocab 32000"},
	"tiny-llama4": {Options: Options{Dim: 128, HiddenDim: 256, NumLayers: 4, NumHeads: 4, NumKVHeads: 2, VocabSize: 512,
		SeqLen: 256, HeadDim: 32, RopeDim: 32, RopeTheta: 500000, RMSEps: 1e-5, Experts: 4, ExpertsUsed: 2, ExpertHidden: 64},
		MoEStep: 2, NoRopeStep: 4, Chunk: 256, QKNorm: true, Scaling: &ropeScaling{Factor: 16, Low: 1, High: 1, OrigCtx: 64},
		About: "Llama 4's layer kinds at tiny width: 4 layers, dim 128, 4 heads of 32, 2 kv heads, MoE every 2nd layer (4 experts, top 2, FFN 64, + shared), NoPE every 4th, q/k norm, vocab 512; for tests"},
	// Llama 4 Scout's layer pattern at about a fifth of its width and a
	// sixth of its depth: every layer MoE with 16 routed experts (top 1) and
	// a shared expert; every 4th layer NoPE, the others RoPE with q/k norm
	// and chunked attention.
	"llama-4-mini": {Options: Options{Dim: 1024, HiddenDim: 2048, NumLayers: 8, NumHeads: 16, NumKVHeads: 4, VocabSize: 32768,
		SeqLen: 8192, HeadDim: 64, RopeDim: 64, RopeTheta: 500000, RMSEps: 1e-5, Experts: 16, ExpertsUsed: 1, ExpertHidden: 512},
		MoEStep: 1, NoRopeStep: 4, Chunk: 8192, QKNorm: true, Scaling: &ropeScaling{Factor: 16, Low: 1, High: 1, OrigCtx: 8192},
		About: "Llama 4 Scout's pattern, scaled down: 8 layers, dim 1024, 16 heads of 64, 4 kv heads, 16 experts (top 1, FFN 512) + shared expert, NoPE every 4th layer, vocab 32768"},
}

// SyntheticNames lists the synthetic models, sorted.
func SyntheticNames() []string {
	var names []string
	for n := range syntheticSpecs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// SyntheticAbout describes a synthetic model's shape in one line.
func SyntheticAbout(name string) (string, error) {
	s, err := lookupSynthetic(name)
	return s.About, err
}

func lookupSynthetic(name string) (syntheticSpec, error) {
	s, ok := syntheticSpecs[strings.TrimPrefix(name, SyntheticPrefix)]
	if !ok {
		return s, fmt.Errorf("unknown synthetic model %q; known: %s", name, strings.Join(SyntheticNames(), ", "))
	}
	return s, nil
}

// MaxSyntheticF32Bytes bounds the float32 weights of a synthetic model: f32
// is for small models; large ones are generated quantized.
const MaxSyntheticF32Bytes = 2 << 30

// SyntheticOptions choose how a synthetic model is generated.
type SyntheticOptions struct {
	// Format is the format every projection and the embedding are
	// generated in; nil means float32, allowed up to MaxSyntheticF32Bytes.
	Format *quant.Format
	// Seed makes a different model; the same seed gives the same weights
	// whatever the number of goroutines.
	Seed uint64
	// Progress, if set, is called from one goroutine at a time with the
	// rows generated so far and the total.
	Progress func(done, total int64)
}

// SyntheticShape is the shape of synthetic model name, without
// generating its weights: what a sweep for the model needs.
func SyntheticShape(name string) (Options, error) {
	spec, err := lookupSynthetic(name)
	if err != nil {
		return Options{}, err
	}
	return spec.options(name)
}

// options are the model's Options with its RoPE scaling's table.
func (spec syntheticSpec) options(name string) (Options, error) {
	o := spec.Options
	if sc := spec.Scaling; sc != nil {
		f, err := ops.Llama3RopeFreqs(o.RopeDim, float64(o.RopeTheta), sc.Factor, sc.Low, sc.High, sc.OrigCtx)
		if err != nil {
			return o, fmt.Errorf("synthetic model %s: %w", name, err)
		}
		o.RopeFreqs = f
	}
	return o, nil
}

// Synthetic generates the named model (see SyntheticNames; the
// "synthetic:" prefix is optional) with deterministic random weights:
// every projection and the embedding N(0, 1/sqrt(fan in)), RMSNorm weights
// 1, so activations stay of order 1 through all layers. Quantized models
// are quantized (RTN) a block of rows at a time as they are generated, so
// the float32 matrices never exist whole. Rows are generated in parallel on
// GOMAXPROCS goroutines. The model has no tokenizer.
func Synthetic(name string, opts SyntheticOptions) (*Model, error) {
	spec, err := lookupSynthetic(name)
	if err != nil {
		return nil, err
	}
	return spec.generate(name, opts)
}

func (spec syntheticSpec) generate(name string, opts SyntheticOptions) (*Model, error) {
	o, err := spec.options(name)
	if err != nil {
		return nil, err
	}
	spec.Options = o
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("synthetic model %s: %w", name, err)
	}
	if f := opts.Format; f != nil {
		if err := f.Validate(); err != nil {
			return nil, err
		}
		if f.Group != 0 && (o.Dim%f.Group != 0 || o.HiddenDim%f.Group != 0 || o.QDim()%f.Group != 0 ||
			o.ExpertHidden > 0 && o.ExpertHidden%f.Group != 0) {
			return nil, fmt.Errorf("synthetic model %s: a group of %d does not divide its widths", name, f.Group)
		}
	} else if b := spec.f32Bytes(); b > MaxSyntheticF32Bytes {
		return nil, fmt.Errorf("synthetic model %s: its f32 weights need %.1f GB, over the %.1f GB allowed for f32; choose int8, int4 or int2",
			name, float64(b)/1e9, float64(MaxSyntheticF32Bytes)/1e9)
	}
	g := &generator{format: opts.Format, seed: opts.Seed}
	m := spec.build(g)
	if err := g.run(opts.Progress); err != nil {
		return nil, err
	}
	return m, nil
}

// f32Bytes is the size of the model's weights in float32.
func (s syntheticSpec) f32Bytes() int64 {
	var n int64
	s.build(&generator{count: func(rows, cols int) { n += 4 * int64(rows) * int64(cols) }})
	return n
}

// build lays the model out, registering every weight with g.
func (s syntheticSpec) build(g *generator) *Model {
	o := s.Options
	m := &Model{Options: o, Layers: make([]Layer, o.NumLayers)}
	d, q, kv := o.Dim, o.QDim(), o.KVDim()
	m.TokenEmbedding = g.matrix("token_embd.weight", o.VocabSize, d)
	mlp := func(prefix, suffix string, hidden int) *MLP {
		return &MLP{Gate: g.matrix(prefix+"gate"+suffix, hidden, d), Up: g.matrix(prefix+"up"+suffix, hidden, d),
			Down: g.matrix(prefix+"down"+suffix, d, hidden)}
	}
	for i := range m.Layers {
		n := func(t string) string { return fmt.Sprintf("blk.%d.%s.weight", i, t) }
		l := Layer{
			AttentionNorm: g.norm(n("attn_norm"), d),
			Attention: &Attention{Query: g.matrix(n("attn_q"), q, d), Key: g.matrix(n("attn_k"), kv, d),
				Value: g.matrix(n("attn_v"), kv, d), Output: g.matrix(n("attn_output"), d, q)},
			MLPNorm: g.norm(n("ffn_norm"), d),
		}
		if s.NoRopeStep > 0 && (i+1)%s.NoRopeStep == 0 {
			l.Attention.NoRope = true
		} else {
			l.Attention.QKNorm, l.Attention.Chunk = s.QKNorm, s.Chunk
		}
		if s.MoEStep > 0 && (i+1)%s.MoEStep == 0 {
			l.MoE = &MoE{Router: g.matrix(n("ffn_gate_inp"), o.Experts, d), Used: o.ExpertsUsed,
				Shared: mlp(fmt.Sprintf("blk.%d.ffn_", i), "_shexp.weight", o.ExpertHidden)}
			for e := range o.Experts {
				l.MoE.Experts = append(l.MoE.Experts, *mlp(fmt.Sprintf("blk.%d.ffn_", i), fmt.Sprintf("_exps.%d.weight", e), o.ExpertHidden))
			}
		} else {
			l.MLP = mlp(fmt.Sprintf("blk.%d.ffn_", i), ".weight", o.HiddenDim)
		}
		m.Layers[i] = l
	}
	m.OutputNorm = g.norm("output_norm.weight", d)
	m.Output = m.TokenEmbedding
	if !s.Tied {
		m.Output = g.matrix("output.weight", o.VocabSize, d)
	}
	return m
}

// generator fills the weights a model registers with it: matrix allocates
// and queues, run generates in parallel.
type generator struct {
	format *quant.Format
	seed   uint64
	count  func(rows, cols int) // if set, matrices are only counted
	jobs   []genJob
	rows   int64
}

// A genJob is a block of consecutive rows of one weight, generated from its
// own random stream.
type genJob struct {
	w      *Weight
	r0, r1 int
	seed   [2]uint64
}

// blockElems bounds a job's rows: small enough that quant.Quantize uses one
// goroutine for it and the scratch stays in cache.
const blockElems = 1 << 15

func (g *generator) norm(name string, n int) *Weight {
	w := &Weight{Name: name, Type: gguf.F32, Rows: 1, Cols: n}
	if g.count == nil {
		w.Data = make([]float32, n)
		for i := range w.Data {
			w.Data[i] = 1
		}
	}
	return w
}

func (g *generator) matrix(name string, rows, cols int) *Weight {
	w := &Weight{Name: name, Type: gguf.F32, Rows: rows, Cols: cols}
	if g.count != nil {
		g.count(rows, cols)
		return w
	}
	if f := g.format; f != nil {
		t := &quant.Tensor{Format: *f, Rows: rows, Cols: cols}
		t.Words = make([]uint32, rows*t.WordsPerRow())
		t.Scales = make([]float32, rows*t.GroupsPerRow())
		if f.Asym {
			t.Mins = make([]float32, len(t.Scales))
		}
		w.Q = t
	} else {
		w.Data = make([]float32, rows*cols)
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	per := max(1, blockElems/cols-1) // below blockElems, so one quantizing goroutine
	for r := 0; r < rows; r += per {
		g.jobs = append(g.jobs, genJob{w: w, r0: r, r1: min(rows, r+per), seed: [2]uint64{g.seed ^ h.Sum64(), uint64(r)}})
	}
	g.rows += int64(rows)
	return w
}

// run generates every queued block on GOMAXPROCS goroutines.
func (g *generator) run(progress func(done, total int64)) error {
	var next, done atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			var scratch []float32
			for {
				i := int(next.Add(1) - 1)
				if i >= len(g.jobs) {
					return
				}
				j := g.jobs[i]
				var err error
				scratch, err = g.generate(j, scratch)
				n := done.Add(int64(j.r1 - j.r0))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if progress != nil {
					progress(n, g.rows)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return firstErr
}

// generate draws one block's values and stores them, quantized if the model
// is; scratch is reused between calls.
func (g *generator) generate(j genJob, scratch []float32) ([]float32, error) {
	w := j.w
	n := (j.r1 - j.r0) * w.Cols
	dst := w.Data
	if w.Q != nil {
		scratch = slices.Grow(scratch[:0], n)[:n]
		dst = scratch
	} else {
		dst = dst[j.r0*w.Cols : j.r1*w.Cols]
	}
	rng := rand.New(rand.NewPCG(j.seed[0], j.seed[1]))
	std := 1 / math.Sqrt(float64(w.Cols))
	for i := range dst {
		dst[i] = float32(rng.NormFloat64() * std)
	}
	if w.Q == nil {
		return scratch, nil
	}
	t, err := quant.Quantize(dst, j.r1-j.r0, w.Cols, w.Q.Format, quant.RTN)
	if err != nil {
		return scratch, fmt.Errorf("quantizing %s: %w", w.Name, err)
	}
	q := w.Q
	copy(q.Words[j.r0*q.WordsPerRow():], t.Words)
	copy(q.Scales[j.r0*q.GroupsPerRow():], t.Scales)
	if q.Asym {
		copy(q.Mins[j.r0*q.GroupsPerRow():], t.Mins)
	}
	return scratch, nil
}
