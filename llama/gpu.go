package llama

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// GPUOptions choose the weight format and where kernel params come from.
type GPUOptions struct {
	// Quant is the format of the projection weights; nil keeps them f32.
	// Matrices whose input width does not fit the format (not a multiple
	// of 32 or of the group) stay f32, as in ggml's quantized files.
	Quant *quant.Format
	// Profile supplies tuned GEMV params per shape; nil means built-in
	// defaults.
	Profile *profiles.Profile
	// Context is the most positions the KV cache holds.
	Context int
	// Progress, if set, is called after each layer is uploaded.
	Progress func(done, total int)
}

// GPU is a model resident on a device: weights, KV cache, activations and
// the recorded dispatches of one decode step. A step is one submission; only
// the sampled token id comes back.
type GPU struct {
	m    *Model
	dev  *runner.Device
	ctx  int
	step []runner.Dispatch

	tokenIn, tokenOut *runner.Buffer
	ropeQ, ropeK      *runner.Buffer // per-step uniforms: they hold the position
	kvU, attU         *runner.Buffer
	logits            *runner.Buffer

	kernels map[string]*runner.Kernel
	bufs    []*runner.Buffer
	// Quantized counts the matrices stored in opts.Quant's format.
	Quantized int
	// Prefill and Decode accumulate the time and positions of the steps of
	// Generate whose next token was forced (the prompt) and sampled.
	Prefill, Decode Timing
}

// Timing is time spent on a number of positions.
type Timing struct {
	Positions int
	Seconds   float64
}

// Rate is positions per second.
func (t Timing) Rate() float64 {
	if t.Seconds == 0 {
		return 0
	}
	return float64(t.Positions) / t.Seconds
}

// Built-in kernel params, used where no profile entry applies.
var (
	defaultWG   = 64
	defaultGemv = templates.Gemv{WG: 64, Rows: 2, Vec: 1, Unpack: "shift"}
)

// NewGPU uploads m to d and records a decode step.
func NewGPU(d *runner.Device, m *Model, opts GPUOptions) (*GPU, error) {
	o := m.Options
	g := &GPU{m: m, dev: d, ctx: opts.Context, kernels: map[string]*runner.Kernel{}}
	if g.ctx <= 0 || g.ctx > o.SeqLen {
		g.ctx = o.SeqLen
	}
	if err := g.build(opts); err != nil {
		g.Release()
		return nil, err
	}
	return g, nil
}

// Release frees every buffer and kernel.
func (g *GPU) Release() {
	for _, b := range g.bufs {
		b.Release()
	}
	for _, k := range g.kernels {
		k.Release()
	}
	g.bufs, g.kernels = nil, nil
}

func (g *GPU) buffer(label string, bytes int) (*runner.Buffer, error) {
	b, err := g.dev.NewBuffer(label, uint64((bytes+15)/16*16)) // vec4 loads need whole vectors
	if err != nil {
		return nil, err
	}
	g.bufs = append(g.bufs, b)
	return b, nil
}

func (g *GPU) floats(label string, v []float32) (*runner.Buffer, error) {
	b, err := g.buffer(label, 4*len(v))
	if err != nil {
		return nil, err
	}
	return b, b.Write(0, f32Bytes(v))
}

func (g *GPU) words(label string, v []uint32) (*runner.Buffer, error) {
	b, err := g.buffer(label, 4*len(v))
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], x)
	}
	return b, b.Write(0, buf)
}

// uniform makes a 16-byte uniform of four u32 fields.
func (g *GPU) uniform(label string, f ...uint32) (*runner.Buffer, error) {
	u := make([]uint32, 4)
	copy(u, f)
	return g.words(label, u)
}

func f32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// kernel compiles k once per distinct source.
func (g *GPU) kernel(k templates.Kernel, bindings []runner.Binding) (*runner.Kernel, error) {
	src, err := templates.Render(k)
	if err != nil {
		return nil, err
	}
	key := string(src)
	if kern, ok := g.kernels[key]; ok {
		return kern, nil
	}
	kern, err := g.dev.Compile(k.Name(), key, bindings, k.WorkgroupSize())
	if err != nil {
		return nil, err
	}
	g.kernels[key] = kern
	return kern, nil
}

// add records one dispatch of k.
func (g *GPU) add(k templates.Kernel, bindings []runner.Binding, groups [3]uint32, bufs ...*runner.Buffer) error {
	kern, err := g.kernel(k, bindings)
	if err != nil {
		return err
	}
	g.step = append(g.step, runner.Dispatch{Kernel: kern, Buffers: bufs, Groups: groups})
	return nil
}

var (
	u  = runner.Uniform
	ro = runner.ReadOnly
	rw = runner.ReadWrite
)

// linear is an uploaded projection y = W x.
type linear struct {
	record func(x, y *runner.Buffer) error
}

func (g *GPU) linear(w *Weight, opts GPUOptions) (linear, error) {
	if f := opts.Quant; f != nil && w.Cols%32 == 0 && w.Cols%f.GroupLen(w.Cols) == 0 {
		t, err := quant.Quantize(w.Data, w.Rows, w.Cols, *f, quant.RTN)
		if err != nil {
			return linear{}, fmt.Errorf("quantizing %s: %w", w.Name, err)
		}
		k := g.gemvParams(*f, w.Rows, w.Cols, opts.Profile)
		dims, err := g.uniform(w.Name+".dims", uint32(w.Rows), uint32(w.Cols), uint32(f.GroupLen(w.Cols)), 0)
		if err != nil {
			return linear{}, err
		}
		words, err := g.words(w.Name, t.Words)
		if err != nil {
			return linear{}, err
		}
		scales, err := g.floats(w.Name+".scales", t.Scales)
		if err != nil {
			return linear{}, err
		}
		var mins *runner.Buffer
		if f.Asym {
			if mins, err = g.floats(w.Name+".mins", t.Mins); err != nil {
				return linear{}, err
			}
		}
		g.Quantized++
		return linear{func(x, y *runner.Buffer) error {
			bufs := []*runner.Buffer{dims, words, scales, x, y}
			if f.Asym {
				bufs = append(bufs, mins)
			}
			return g.add(k, ops.GemvBindingsFor(k), k.Groups(w.Rows), bufs...)
		}}, nil
	}
	dims, err := g.uniform(w.Name+".dims", uint32(w.Rows), uint32(w.Cols))
	if err != nil {
		return linear{}, err
	}
	data, err := g.floats(w.Name, w.Data)
	if err != nil {
		return linear{}, err
	}
	k := templates.MatVec{WG: defaultWG, Rows: 1}
	return linear{func(x, y *runner.Buffer) error {
		return g.add(k, []runner.Binding{u, ro, ro, rw}, k.Groups(w.Rows), dims, data, x, y)
	}}, nil
}

// gemvParams takes the profile's kernel for the nearest tuned GEMV shape
// of the format when it fits this matrix, else the default.
func (g *GPU) gemvParams(f quant.Format, rows, cols int, p *profiles.Profile) templates.Gemv {
	def := defaultGemv
	def.Bits, def.Group, def.Asym = f.Bits, f.Group, f.Asym
	if p == nil {
		return def
	}
	e, _, err := p.Lookup("gemv", f.String(), []int{rows, cols})
	if err != nil {
		return def
	}
	pt, err := ops.GemvSpace(f, ops.DeviceLimits(g.dev)).Parse(e.ID)
	if err != nil {
		return def
	}
	k := ops.GemvParams(pt, f)
	if !k.Fits(rows, cols) || k.Check() != nil {
		return def
	}
	return k
}

// build uploads the weights and records the step: embed, then per layer
// attention and MLP with their norms and residuals, the final norm, the
// classifier and argmax.
func (g *GPU) build(opts GPUOptions) error {
	m, o := g.m, g.m.Options
	var err error
	act := func(label string, n int) *runner.Buffer {
		if err != nil {
			return nil
		}
		var b *runner.Buffer
		b, err = g.buffer(label, 4*n)
		return b
	}
	x, xb, xb2 := act("x", o.Dim), act("xb", o.Dim), act("xb2", o.QDim())
	q, k, v := act("q", o.QDim()), act("k", o.KVDim()), act("v", o.KVDim())
	hb, hb2 := act("hb", o.HiddenDim), act("hb2", o.HiddenDim)
	g.logits = act("logits", o.VocabSize)
	g.tokenIn, g.tokenOut = act("token", 1), act("next", 1)
	if err != nil {
		return err
	}
	norm := func(w *Weight) (*runner.Buffer, error) { return g.floats(w.Name, w.Data) }
	eps := math.Float32bits(o.RMSEps)
	normU, err := g.uniform("rmsnorm", uint32(o.Dim), eps, 1)
	if err != nil {
		return err
	}
	if g.ropeQ, err = g.uniform("rope.q", uint32(o.NumHeads), uint32(o.HeadDim), uint32(o.RopeDim)); err != nil {
		return err
	}
	if g.ropeK, err = g.uniform("rope.k", uint32(o.NumKVHeads), uint32(o.HeadDim), uint32(o.RopeDim)); err != nil {
		return err
	}
	thetaU, err := g.uniform("theta", math.Float32bits(o.RopeTheta))
	if err != nil {
		return err
	}
	if g.kvU, err = g.uniform("kvstore", uint32(o.KVDim())); err != nil {
		return err
	}
	if g.attU, err = g.uniform("attention", uint32(o.NumHeads), uint32(o.NumKVHeads), uint32(o.HeadDim), 1); err != nil {
		return err
	}
	dimU, err := g.uniform("dim", uint32(o.Dim))
	if err != nil {
		return err
	}
	hidU, err := g.uniform("hidden", uint32(o.HiddenDim))
	if err != nil {
		return err
	}
	vocabU, err := g.uniform("vocab", uint32(o.VocabSize))
	if err != nil {
		return err
	}
	table, err := norm(m.TokenEmbedding)
	if err != nil {
		return err
	}

	rms := templates.RMSNorm{WG: defaultWG}
	rope := templates.Rope{WG: defaultWG}
	att := templates.Attention{WG: defaultWG, MaxSeq: g.ctx}
	embed := templates.Embed{WG: defaultWG}
	if err := g.add(embed, []runner.Binding{u, ro, ro, rw}, embed.Groups(o.Dim), dimU, g.tokenIn, table, x); err != nil {
		return err
	}
	for l := range m.Layers {
		ly := &m.Layers[l]
		kc, vc := act(fmt.Sprintf("kcache.%d", l), g.ctx*o.KVDim()), act(fmt.Sprintf("vcache.%d", l), g.ctx*o.KVDim())
		if err != nil {
			return err
		}
		attNorm, err := norm(ly.AttentionNorm)
		if err != nil {
			return err
		}
		mlpNorm, err := norm(ly.MLPNorm)
		if err != nil {
			return err
		}
		var lin [7]linear
		for i, w := range []*Weight{ly.Attention.Query, ly.Attention.Key, ly.Attention.Value, ly.Attention.Output, ly.MLP.Gate, ly.MLP.Up, ly.MLP.Down} {
			if lin[i], err = g.linear(w, opts); err != nil {
				return err
			}
		}
		steps := []func() error{
			func() error { return g.add(rms, []runner.Binding{u, ro, ro, rw}, rms.Groups(1), normU, x, attNorm, xb) },
			func() error { return lin[0].record(xb, q) },
			func() error { return lin[1].record(xb, k) },
			func() error { return lin[2].record(xb, v) },
			func() error {
				return g.add(rope, []runner.Binding{u, u, rw}, rope.Groups(o.NumHeads, o.RopeDim), g.ropeQ, thetaU, q)
			},
			func() error {
				return g.add(rope, []runner.Binding{u, u, rw}, rope.Groups(o.NumKVHeads, o.RopeDim), g.ropeK, thetaU, k)
			},
			func() error {
				ks := templates.KVStore{WG: defaultWG}
				return g.add(ks, []runner.Binding{u, ro, ro, rw, rw}, ks.Groups(o.KVDim()), g.kvU, k, v, kc, vc)
			},
			func() error {
				return g.add(att, []runner.Binding{u, ro, ro, ro, rw}, att.Groups(o.NumHeads), g.attU, q, kc, vc, xb2)
			},
			func() error { return lin[3].record(xb2, xb) },
			func() error {
				a := templates.Add{WG: defaultWG}
				return g.add(a, []runner.Binding{u, rw, ro}, a.Groups(o.Dim), dimU, x, xb)
			},
			func() error { return g.add(rms, []runner.Binding{u, ro, ro, rw}, rms.Groups(1), normU, x, mlpNorm, xb) },
			func() error { return lin[4].record(xb, hb) },
			func() error { return lin[5].record(xb, hb2) },
			func() error {
				s := templates.SwiGLU{WG: defaultWG}
				return g.add(s, []runner.Binding{u, rw, ro}, s.Groups(o.HiddenDim), hidU, hb, hb2)
			},
			func() error { return lin[6].record(hb, xb) },
			func() error {
				a := templates.Add{WG: defaultWG}
				return g.add(a, []runner.Binding{u, rw, ro}, a.Groups(o.Dim), dimU, x, xb)
			},
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
		if opts.Progress != nil {
			opts.Progress(l+1, len(m.Layers))
		}
	}
	final, err := norm(m.OutputNorm)
	if err != nil {
		return err
	}
	if err := g.add(rms, []runner.Binding{u, ro, ro, rw}, rms.Groups(1), normU, x, final, xb); err != nil {
		return err
	}
	cls, err := g.linear(m.Output, GPUOptions{})
	if err != nil {
		return err
	}
	if err := cls.record(xb, g.logits); err != nil {
		return err
	}
	am := templates.Argmax{WG: 256}
	return g.add(am, []runner.Binding{u, ro, rw}, am.Groups(), vocabU, g.logits, g.tokenOut)
}

// Step runs the model on token at pos in one submission and returns the
// argmax of the logits, the greedy next token.
func (g *GPU) Step(token, pos int) (int, error) {
	if err := g.run(token, pos); err != nil {
		return 0, err
	}
	out, err := g.tokenOut.Read()
	if err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint32(out)), nil
}

// StepLogits runs the model like Step and reads back the logits, for
// sampling on the host.
func (g *GPU) StepLogits(token, pos int) ([]float32, error) {
	if err := g.run(token, pos); err != nil {
		return nil, err
	}
	raw, err := g.logits.Read()
	if err != nil {
		return nil, err
	}
	out := make([]float32, g.m.VocabSize)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// run writes the step's token and position and submits the step.
func (g *GPU) run(token, pos int) error {
	o := g.m.Options
	if pos < 0 || pos >= g.ctx {
		return fmt.Errorf("position %d outside the context of %d", pos, g.ctx)
	}
	if token < 0 || token >= o.VocabSize {
		return fmt.Errorf("token %d outside the vocabulary of %d", token, o.VocabSize)
	}
	writes := []struct {
		b *runner.Buffer
		v []uint32
	}{
		{g.tokenIn, []uint32{uint32(token)}},
		{g.ropeQ, []uint32{uint32(o.NumHeads), uint32(o.HeadDim), uint32(o.RopeDim), uint32(pos)}},
		{g.ropeK, []uint32{uint32(o.NumKVHeads), uint32(o.HeadDim), uint32(o.RopeDim), uint32(pos)}},
		{g.kvU, []uint32{uint32(o.KVDim()), uint32(pos)}},
		{g.attU, []uint32{uint32(o.NumHeads), uint32(o.NumKVHeads), uint32(o.HeadDim), uint32(pos + 1)}},
	}
	for _, w := range writes {
		buf := make([]byte, 4*len(w.v))
		for i, x := range w.v {
			binary.LittleEndian.PutUint32(buf[4*i:], x)
		}
		if err := w.b.Write(0, buf); err != nil {
			return err
		}
	}
	return g.dev.Run(g.step...)
}

// Generate is generation on the GPU with run.c's conventions: the prompt's
// tokens are forced, generation stops before BOS. A nil sampler or one at
// temperature 0 takes the argmax on the GPU and reads back only the token;
// otherwise the logits come back and s samples them.
func (g *GPU) Generate(prompt []int, steps int, s ...*Sampler) (*Generation, error) {
	if len(s) > 0 && s[0] != nil && s[0].Temperature > 0 {
		return g.generateSampled(prompt, steps, s[0])
	}
	return g.generateGreedy(prompt, steps)
}

func (g *GPU) generateSampled(prompt []int, steps int, s *Sampler) (*Generation, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	steps = min(max(steps, 1), g.ctx)
	var stepErr error
	gen := GenerateFunc(func(token, pos int) []float32 {
		if stepErr != nil {
			return make([]float32, g.m.VocabSize)
		}
		defer g.clock(time.Now(), pos+1 < len(prompt))
		logits, err := g.StepLogits(token, pos)
		if err != nil {
			stepErr = err
			logits = make([]float32, g.m.VocabSize)
		}
		return logits
	}, g.m.Tokenizer, prompt, steps, s)
	return gen, stepErr
}

func (g *GPU) generateGreedy(prompt []int, steps int) (*Generation, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	steps = min(max(steps, 1), g.ctx)
	bos := 1
	if g.m.Tokenizer != nil {
		bos = g.m.Tokenizer.BOS
	}
	var stepErr error
	gen := GenerateTokens(func(token, pos int, forced bool) int {
		if stepErr != nil {
			return bos // stop
		}
		defer g.clock(time.Now(), forced)
		next, err := g.Step(token, pos)
		if err != nil {
			stepErr = err
			return bos
		}
		return next
	}, g.m.Tokenizer, prompt, steps)
	return gen, stepErr
}

// NLL runs the model over ids and returns the summed negative log
// likelihood of each token after the first, and how many were scored.
func (g *GPU) NLL(ids []int) (float64, int, error) {
	n := min(len(ids), g.ctx)
	var sum float64
	for pos := 0; pos+1 < n; pos++ {
		logits, err := g.StepLogits(ids[pos], pos)
		if err != nil {
			return 0, 0, err
		}
		sum -= logSoftmax(logits, ids[pos+1])
	}
	return sum, max(n-1, 0), nil
}

// logSoftmax is log p(i) under softmax(logits), in float64.
func logSoftmax(logits []float32, i int) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v) - mx)
	}
	return float64(logits[i]) - mx - math.Log(z)
}

// clock adds the time since start to the prefill or decode total.
func (g *GPU) clock(start time.Time, prefill bool) {
	t := &g.Decode
	if prefill {
		t = &g.Prefill
	}
	t.Positions++
	t.Seconds += time.Since(start).Seconds()
}
