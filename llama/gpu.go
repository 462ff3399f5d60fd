package llama

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// GPUOptions choose the weight format and where kernel params come from.
type GPUOptions struct {
	// Quant is the format float32 projection weights are quantized to at
	// upload; nil keeps them f32. Matrices whose input width does not fit
	// the format (not a multiple of 32 or of the group) stay f32, as in
	// ggml's quantized files, and so do the embedding and classifier. A
	// model generated quantized (Synthetic) is uploaded as it is: Quant
	// must then be nil or its format.
	Quant *quant.Format
	// Profile supplies tuned GEMV and GEMM params per shape (the nearest
	// tuned shape of the format), the fused GEMVs' from their own ops
	// (gemv-norm, gemv-acc, gemv-glu+acc) or else the plain GEMV's, with a
	// warning; nil means built-in defaults, with a warning.
	Profile *profiles.Profile
	// Context is the most positions the KV cache holds.
	Context int
	// Batch is the most prompt positions one prefill submission runs; 0
	// means 512. Batched prefill needs every projection quantized; other
	// models run prompt positions through the decode step one at a time.
	Batch int
	// Progress, if set, is called after each layer is uploaded.
	Progress func(done, total int)
	// KV8 keeps the KV cache in int8, a scale per position and key/value
	// head (a quarter of the bytes of float32, read by every decode step's
	// attention). The stores go through QKVHead, one dispatch per layer
	// more than the rope epilogue of a float cache; the flash attention
	// kernels must take the model's heads.
	KV8 bool

	// maxBinding, if positive, replaces the device's binding and buffer
	// size limits when tensors are split over buffers (tests).
	maxBinding uint64
}

// GPU is a model resident on a device: weights, KV cache, activations and
// the recorded dispatches of one decode step. A step is one submission of a
// program bound once; the sampled token stays on the device, where the next
// step's embedding lookup reads it, so greedy steps are submitted back to
// back and only token ids come back.
//
// A decode step of a model whose projections are all quantized is, per
// layer: one GEMV over the concatenated Q, K and V rows that normalises its
// input itself (RMSNorm fused in) and in its epilogue rotates q and k and
// stores k and v (RoPE and the KV-cache store; QKVRope after it where the
// tuned kernel cannot take the epilogue), attention (split flash decoding
// and its reduce, or one kernel for heads the flash kernels do not take;
// see attention.go), the output GEMV adding into the residual stream, one
// GEMV over the concatenated gate and up rows normalising its input, and
// the down GEMV computing SwiGLU as it loads and adding into the residual
// stream: six dispatches, five where attention is one (positions within one
// split, or the one-kernel path), more only where a tensor is split over
// buffers. Llama 4's layers add their own (llama4gpu.go). Then the
// classifier with the final norm fused in (a quantized classifier; else the
// norm, then the classifier) and argmax in two stages (chunks of the
// vocabulary in many workgroups, then one merging their winners).
//
// Other models run, per layer: RMSNorm (fused with the previous residual
// add), the Q, K, V product, QKVRope, attention, the output product, the
// residual add fused with the MLP's RMSNorm, the gate and up product,
// SwiGLU, and the down product: ten dispatches (nine); then the final norm
// (with the last residual add), the classifier and argmax.
type GPU struct {
	m    *Model
	dev  *runner.Device
	ctx  int
	opts GPUOptions

	// Quantized counts the matrices stored quantized.
	Quantized int
	// Kernels lists the GEMV and GEMM kernel chosen for each shape and why.
	Kernels []KernelChoice
	// Warnings are the shapes that got built-in kernels for want of a
	// tuned one.
	Warnings []string
	// Prefill and Decode accumulate the time and positions of the steps of
	// Generate whose next token was forced (the prompt) and sampled.
	Prefill, Decode Timing

	kernels  map[string]*runner.Kernel // by source
	byParams map[string]*runner.Kernel
	bufs     []*runner.Buffer
	pending  uint64 // bytes written since the last flush

	layers     []gpuLayer
	fused      bool // every layer's projections quantized: the fused step
	cls        *linear
	embedTable *linear           // a quantized embedding not tied to the classifier
	embed      []runner.Dispatch // the embedding lookup of one token from tok
	outNorm    *runner.Buffer
	normU      *runner.Buffer // rmsnorm/addrmsnorm uniform, one row
	ropeU      *runner.Buffer // qkvrope's constant uniform
	ropeFreqs  *runner.Buffer // Options.RopeFreqs, or nil

	blk         blockKernels
	steps       []stepProgram  // by the positions they attend over, ascending
	stepU       *runner.Buffer // qkvrope step uniform: theta, pos, rows 1
	stepTable   *runner.Buffer // stepU and the attention uniform of each step submitted together (submitSteps)
	stepSlot    int            // bytes of one step's uniforms in stepTable
	attn        decodeAttention
	tok         *runner.Buffer // the token a step embeds, and the argmax it writes
	vocabU      *runner.Buffer // argmax-parts' uniform: the vocabulary
	partsU      *runner.Buffer // argmax-merge's uniform: the chunks
	argmaxPairs *runner.Buffer // argmax-parts' (value, index) per chunk
	hist        *runner.Buffer // token ids by position, copied from tok after each step
	logits      *runner.Buffer
	x, y, xb    *runner.Buffer
	qkv, q      *runner.Buffer
	att, gu, h  *runner.Buffer

	// An MoE model's router uniform, logits and top-k choice, and the
	// chosen experts' packed gate/up outputs.
	routerU, expertLogits, chosen, routeScores, expertGU *runner.Buffer

	batches  map[int]*prefillProgram // by rows
	pf       *prefillBuffers
	partials *runner.Buffer // K-split GEMVs' partial sums, or nil
}

// gpuLayer is one layer's weights and caches on the device.
type gpuLayer struct {
	attNorm, mlpNorm       *runner.Buffer
	qkv, out, gateUp, down *linear
	kc, vc                 *runner.Buffer
	ks, vs                 *runner.Buffer // the int8 caches' scales, or nil
	head                   *runner.Buffer // QKVHead's uniform (Llama 4's attention, int8 caches), or nil
	moe                    *gpuMoE        // an MoE layer's router and routed experts; gateUp and down are its shared expert
}

// KernelChoice records the params used for one matrix shape.
type KernelChoice struct {
	Op, Dtype string // "gemv" or "gemm"; a quant format name
	Shape     []int  // rows x cols for gemv, M x N x K for gemm
	Params    string
	Source    string // "profile (exact shape)", "profile (nearest: 4096x4096)" or why a built-in default
}

func (c KernelChoice) String() string {
	return fmt.Sprintf("%s %s %s: %s from %s", c.Op, c.Dtype, joinInts(c.Shape, "x"), c.Params, c.Source)
}

func joinInts(v []int, sep string) string {
	s := ""
	for i, d := range v {
		if i > 0 {
			s += sep
		}
		s += fmt.Sprint(d)
	}
	return s
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
	defaultGemm = templates.Gemm{WGX: 16, WGY: 16, RM: 4, RN: 4, TK: 16, Vec: 4}
)

// NewGPU uploads m to d and records a decode step. Llama 4's layers
// (llama4gpu.go) need quantized weights and chunks no shorter than the
// context; otherwise they are ErrUnsupported.
func NewGPU(d *runner.Device, m *Model, opts GPUOptions) (*GPU, error) {
	o := m.Options
	if o.HeadDim%2 != 0 {
		return nil, fmt.Errorf("%w: odd head dim %d", ErrUnsupported, o.HeadDim)
	}
	g := &GPU{m: m, dev: d, ctx: opts.Context, opts: opts, kernels: map[string]*runner.Kernel{}, byParams: map[string]*runner.Kernel{}, batches: map[int]*prefillProgram{}}
	if g.ctx <= 0 || g.ctx > o.SeqLen {
		g.ctx = o.SeqLen
	}
	if g.ctx > templates.MaxAttentionSeq {
		return nil, fmt.Errorf("context of %d positions: the decode attention kernel holds at most %d", g.ctx, templates.MaxAttentionSeq)
	}
	if err := checkLlama4(m, g.ctx); err != nil {
		return nil, err
	}
	if opts.KV8 && !g.flashAttention() {
		return nil, fmt.Errorf("%w: an int8 KV cache needs the flash attention kernels, which do not take %d heads of %d (%d key/value heads)", ErrUnsupported, o.NumHeads, o.HeadDim, o.NumKVHeads)
	}
	if g.opts.Batch <= 0 {
		g.opts.Batch = 512
	}
	if err := g.build(); err != nil {
		g.Release()
		return nil, err
	}
	return g, nil
}

// Context is the most positions the KV cache holds.
func (g *GPU) Context() int { return g.ctx }

// Release frees every buffer, program and kernel.
func (g *GPU) Release() {
	if g.steps != nil {
		g.dev.Wait()
		for _, s := range g.steps {
			s.prog.Release()
		}
		g.steps = nil
	}
	for _, p := range g.batches {
		p.prog.Release()
	}
	g.batches = nil
	for _, b := range g.bufs {
		b.Release()
	}
	for _, k := range g.kernels {
		k.Release()
	}
	g.bufs, g.kernels, g.byParams = nil, nil, nil
}

func (g *GPU) buffer(label string, bytes int) (*runner.Buffer, error) {
	b, err := g.dev.NewBuffer(label, uint64((bytes+15)/16*16)) // vec4 loads need whole vectors
	if err != nil {
		return nil, err
	}
	g.bufs = append(g.bufs, b)
	return b, nil
}

// write copies data to b at offset in pieces, flushing the queue's staged
// writes now and then so that uploading a large model does not hold all of
// it in staging memory.
func (g *GPU) write(b *runner.Buffer, offset int, data []byte) error {
	const piece = 64 << 20
	for len(data) > 0 {
		n := min(len(data), piece)
		if err := b.Write(uint64(offset), data[:n]); err != nil {
			return err
		}
		offset += n
		data = data[n:]
		if g.pending += uint64(n); g.pending >= 512<<20 {
			if err := g.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush submits the staged writes and waits for them.
func (g *GPU) flush() error {
	g.pending = 0
	return g.dev.Run()
}

func (g *GPU) floats(label string, v []float32) (*runner.Buffer, error) {
	b, err := g.buffer(label, 4*len(v))
	if err != nil {
		return nil, err
	}
	return b, g.write(b, 0, f32Bytes(v))
}

// uniform makes a uniform of u32 fields, padded to a multiple of four.
func (g *GPU) uniform(label string, f ...uint32) (*runner.Buffer, error) {
	u := make([]uint32, (len(f)+3)/4*4)
	copy(u, f)
	b, err := g.buffer(label, 4*len(u))
	if err != nil {
		return nil, err
	}
	return b, b.Write(0, u32Bytes(u))
}

// littleEndian reports whether the host stores words as the device does, so
// that weights can be written without a copy.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func u32Bytes(v []uint32) []byte {
	if len(v) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func f32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	if littleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	}
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// kernel compiles k once per distinct source; params seen before are not
// even rendered again (a prefill program has tens of thousands of
// dispatches).
func (g *GPU) kernel(k templates.Kernel, bindings []runner.Binding) (*runner.Kernel, error) {
	params := fmt.Sprintf("%T%+v", k, k)
	if kern, ok := g.byParams[params]; ok {
		return kern, nil
	}
	src, err := templates.Render(k)
	if err != nil {
		return nil, err
	}
	key := string(src)
	kern, ok := g.kernels[key]
	if !ok {
		if kern, err = g.dev.Compile(k.Name(), key, bindings, k.WorkgroupSize()); err != nil {
			return nil, err
		}
		g.kernels[key] = kern
	}
	g.byParams[params] = kern
	return kern, nil
}

// recorder collects the dispatches of a program and what each computes.
type recorder struct {
	g    *GPU
	ds   []runner.Dispatch
	info []dispatchInfo // one per dispatch
}

// dispatchInfo says what a dispatch of a step computes, for the step's
// breakdown (GPU.ProfileStep).
type dispatchInfo struct {
	kernel string // the family, e.g. "gemv"
	shape  string // what sets its cost, e.g. "3072x2048" (rows x cols)
	role   string // its place in the model, e.g. "q, k, v"
	// bytes is what the dispatches of one part of the model (this one and
	// those recorded with it) move, inputs read and outputs written once,
	// for a step at a position; nil on all but the part's first dispatch.
	bytes func(pos int) int64
}

// add records one dispatch of k.
func (r *recorder) add(k templates.Kernel, bindings []runner.Binding, groups [3]uint32, bufs ...*runner.Buffer) error {
	kern, err := r.g.kernel(k, bindings)
	if err != nil {
		return err
	}
	r.ds = append(r.ds, runner.Dispatch{Kernel: kern, Buffers: bufs, Groups: groups})
	r.info = append(r.info, dispatchInfo{kernel: k.Name()})
	return nil
}

// extend records dispatches recorded before, without a description.
func (r *recorder) extend(ds []runner.Dispatch) {
	for _, d := range ds {
		r.ds = append(r.ds, d)
		r.info = append(r.info, dispatchInfo{kernel: d.Kernel.Label})
	}
}

// part records one part of the model with record and describes the
// dispatches it added: shape and role, and the bytes they move together.
func (r *recorder) part(shape, role string, bytes func(pos int) int64, record func() error) error {
	from := len(r.ds)
	if err := record(); err != nil {
		return err
	}
	for i := from; i < len(r.info); i++ {
		r.info[i].shape, r.info[i].role = shape, role
		if i == from {
			r.info[i].bytes = bytes
		}
	}
	return nil
}

// fixed is a part's bytes that do not depend on the position.
func fixed(n int64) func(int) int64 { return func(int) int64 { return n } }

var (
	u  = runner.Uniform
	ro = runner.ReadOnly
	rw = runner.ReadWrite
)

// bindingLimit is the largest buffer a tensor part may have.
func (g *GPU) bindingLimit() uint64 {
	if g.opts.maxBinding > 0 {
		return g.opts.maxBinding
	}
	return min(g.dev.Limits.MaxStorageBufferBindingSize, g.dev.Limits.MaxBufferSize)
}

// linear is an uploaded projection y = W x whose rows may be the
// concatenation of several weights (Q, K and V; gate and up), split by rows
// over buffers that fit the device's binding limit.
type linear struct {
	name       string
	rows, cols int
	f          *quant.Format // nil for f32
	parts      []linearPart
	gemv       map[ops.GemvVariant]templates.Gemv // quantized, per variant, chosen when first recorded
	bytes      int64                              // what one product reads of the weights
	expertDims map[int]*runner.Buffer             // a stack of experts' GEMV uniform per routing slot, made when first recorded
}

// linearPart is rows offset..offset+rows-1 of a linear.
type linearPart struct {
	offset, rows int
	dims         *runner.Buffer // GEMV uniform {rows, cols, glen, row_offset}
	// fdims is the fused GEMVs' uniform, made when first recorded: dims,
	// then {eps, gate 0, up cols, 0} for a packed [gate | up] input.
	fdims   *runner.Buffer
	w, s, m *runner.Buffer // codes, scales, mins; f32 values in w
	// reduceDims is a K-split GEMV's reduce uniform {rows, row_offset},
	// made when first recorded.
	reduceDims *runner.Buffer
}

// newLinear uploads the row-wise concatenation of ws, which share Cols.
// quantize is the format f32 weights are quantized to, or nil.
func (g *GPU) newLinear(name string, ws []*Weight, quantize *quant.Format) (*linear, error) {
	l := &linear{name: name, cols: ws[0].Cols}
	var ts []*quant.Tensor
	for _, w := range ws {
		if w.Cols != l.cols {
			return nil, fmt.Errorf("%s: %s has %d columns, want %d", name, w.Name, w.Cols, l.cols)
		}
		l.rows += w.Rows
		switch {
		case w.Q != nil:
			if g.opts.Quant != nil && *g.opts.Quant != w.Q.Format {
				return nil, fmt.Errorf("%s is %s; the model cannot be uploaded as %s", w.Name, w.Q.Format, *g.opts.Quant)
			}
			ts = append(ts, w.Q)
		case quantize != nil && l.cols%32 == 0 && l.cols%quantize.GroupLen(l.cols) == 0:
			t, err := quant.Quantize(w.Data, w.Rows, w.Cols, *quantize, quant.RTN)
			if err != nil {
				return nil, fmt.Errorf("quantizing %s: %w", w.Name, err)
			}
			ts = append(ts, t)
		}
	}
	if len(ts) != 0 && len(ts) != len(ws) || len(ts) > 0 && slices.ContainsFunc(ts, func(t *quant.Tensor) bool { return t.Format != ts[0].Format }) {
		return nil, fmt.Errorf("%s: weights of different formats cannot share one product", name)
	}
	if len(ts) > 0 {
		f := ts[0].Format
		l.f = &f
		return l, g.uploadQuant(l, ts)
	}
	return l, g.uploadF32(l, ws)
}

func (g *GPU) uploadQuant(l *linear, ts []*quant.Tensor) error {
	f := *l.f
	wpr, gpr := l.cols*f.Bits/32, l.cols/f.GroupLen(l.cols)
	per := max(1, int(g.bindingLimit()/uint64(4*wpr)))
	for off := 0; off < l.rows; off += per {
		p := linearPart{offset: off, rows: min(per, l.rows-off)}
		var err error
		if p.dims, err = g.uniform(l.name+".dims", uint32(p.rows), uint32(l.cols), uint32(f.GroupLen(l.cols)), uint32(off)); err != nil {
			return err
		}
		if p.w, err = g.buffer(l.name, 4*p.rows*wpr); err != nil {
			return err
		}
		if p.s, err = g.buffer(l.name+".scales", 4*p.rows*gpr); err != nil {
			return err
		}
		if f.Asym {
			if p.m, err = g.buffer(l.name+".mins", 4*p.rows*gpr); err != nil {
				return err
			}
		}
		// Copy the rows of each source tensor that fall in this part.
		r0 := 0
		for _, t := range ts {
			a, b := max(off, r0), min(off+p.rows, r0+t.Rows)
			if a < b {
				if err := g.write(p.w, 4*(a-off)*wpr, u32Bytes(t.Words[(a-r0)*wpr:(b-r0)*wpr])); err != nil {
					return err
				}
				if err := g.write(p.s, 4*(a-off)*gpr, f32Bytes(t.Scales[(a-r0)*gpr:(b-r0)*gpr])); err != nil {
					return err
				}
				if f.Asym {
					if err := g.write(p.m, 4*(a-off)*gpr, f32Bytes(t.Mins[(a-r0)*gpr:(b-r0)*gpr])); err != nil {
						return err
					}
				}
			}
			r0 += t.Rows
		}
		l.parts = append(l.parts, p)
	}
	l.bytes = 4 * int64(l.rows) * int64(wpr+gpr)
	if f.Asym {
		l.bytes += 4 * int64(l.rows) * int64(gpr)
	}
	g.Quantized += len(ts)
	return nil
}

func (g *GPU) uploadF32(l *linear, ws []*Weight) error {
	bytes := 4 * uint64(l.rows) * uint64(l.cols)
	if bytes > g.bindingLimit() {
		return fmt.Errorf("f32 matrix %s of %d bytes exceeds the device's binding limit of %d bytes; quantize it", l.name, bytes, g.bindingLimit())
	}
	p := linearPart{rows: l.rows}
	var err error
	if p.dims, err = g.uniform(l.name+".dims", uint32(l.rows), uint32(l.cols)); err != nil {
		return err
	}
	if p.w, err = g.buffer(l.name, int(bytes)); err != nil {
		return err
	}
	off := 0
	for _, w := range ws {
		if err := g.write(p.w, off, f32Bytes(w.Data)); err != nil {
			return err
		}
		off += 4 * len(w.Data)
	}
	l.parts = []linearPart{p}
	l.bytes = int64(bytes)
	return nil
}

// gemvFusion is what a quantized product does around y = W x (see
// templates.Gemv): normalise x by RMSNorm with weight norm, take x as the
// packed [gate | up] output and feed silu(gate) * up (glu), add into y
// (acc). The zero value is the plain product.
type gemvFusion struct {
	norm     *runner.Buffer
	glu, acc bool
	rope     *ropeEpilogue
}

// ropeEpilogue is what the q, k, v GEMV binds to rotate q and k and store
// k and v itself (templates.Gemv.Rope): the rope and step uniforms, the
// layer's caches, and the frequency factors (nil for none).
type ropeEpilogue struct{ dims, step, kc, vc, freqs *runner.Buffer }

// recordQKVRope records qkvrope over rows rows of packed q, k, v from qkv
// into q and ly's caches at the positions step says; QKVHead where the
// layer has its uniform.
func (g *GPU) recordQKVRope(r *recorder, rows int, step, qkv, q *runner.Buffer, ly gpuLayer) error {
	if ly.head != nil {
		return g.recordQKVHead(r, rows, step, qkv, q, ly)
	}
	k := g.blk.qkvRope
	bufs := []*runner.Buffer{g.ropeU, step, qkv, q, ly.kc, ly.vc}
	if k.Freqs {
		bufs = append(bufs, g.ropeFreqs)
	}
	return r.add(k, ops.FusedBindings(k), k.Groups(rows, ly.qkv.rows), bufs...)
}

// decode records y = W x for one token, with fusion fu; only quantized
// products fuse.
func (l *linear) decode(r *recorder, x, y *runner.Buffer, fu gemvFusion) error {
	fused := fu.norm != nil || fu.glu || fu.acc || fu.rope != nil
	if l.f == nil {
		if fused {
			return fmt.Errorf("%s: an f32 product has no fused variant", l.name)
		}
		k := templates.MatVec{WG: defaultWG, Rows: 1}
		p := l.parts[0]
		return r.add(k, []runner.Binding{u, ro, ro, rw}, k.Groups(l.rows), p.dims, p.w, x, y)
	}
	v := ops.GemvVariant{Norm: fu.norm != nil, GLU: fu.glu, Acc: fu.acc}
	k := l.kernel(r.g, v)
	if fu.rope != nil {
		var ok bool
		if k, ok = l.ropeKernel(r.g, v); !ok {
			return fmt.Errorf("%s: no rope epilogue for %s", l.name, k)
		}
	}
	for i := range l.parts {
		p := &l.parts[i]
		dims := p.dims
		if k.UniformWords() > 4 {
			if p.fdims == nil {
				var err error
				glen := l.f.GroupLen(l.cols)
				if p.fdims, err = r.g.uniform(l.name+".fdims", ops.GemvUniform(k, p.rows, l.cols, glen, p.offset, r.g.m.Options.RMSEps, 0, l.cols)...); err != nil {
					return err
				}
			}
			dims = p.fdims
		}
		out := y
		if k.Splits() > 1 {
			var err error
			if out, err = r.g.splitPartials(k.Splits() * p.rows); err != nil {
				return err
			}
		}
		bufs := []*runner.Buffer{dims, p.w, p.s, x, out}
		if l.f.Asym {
			bufs = append(bufs, p.m)
		}
		if fu.norm != nil {
			bufs = append(bufs, fu.norm)
		}
		if e := fu.rope; e != nil {
			bufs = append(bufs, e.dims, e.step, e.kc, e.vc)
			if e.freqs != nil {
				bufs = append(bufs, e.freqs)
			}
		}
		if err := r.add(k, ops.GemvBindingsFor(k), k.Groups(p.rows), bufs...); err != nil {
			return err
		}
		if k.Splits() > 1 {
			if p.reduceDims == nil {
				var err error
				if p.reduceDims, err = r.g.uniform(l.name+".reduce", uint32(p.rows), uint32(p.offset), 0, 0); err != nil {
					return err
				}
			}
			red := k.Reduce()
			if err := r.add(red, ops.GemvReduceBindings, red.Groups(p.rows), p.reduceDims, out, y); err != nil {
				return err
			}
		}
	}
	return nil
}

// splitPartials is a buffer of at least n floats for a K-split GEMV's
// partial sums, shared by every such GEMV of the model (they run in turn).
func (g *GPU) splitPartials(n int) (*runner.Buffer, error) {
	if g.partials == nil || g.partials.Size < uint64(4*n) {
		b, err := g.buffer("gemv-partials", 4*n)
		if err != nil {
			return nil, err
		}
		g.partials = b
	}
	return g.partials, nil
}

// kernel is the GEMV of variant v, chosen when first asked for.
func (l *linear) kernel(g *GPU, v ops.GemvVariant) templates.Gemv {
	k, ok := l.gemv[v]
	if !ok {
		k = g.gemvParams(*l.f, v, l.rows, l.cols)
		if l.gemv == nil {
			l.gemv = map[ops.GemvVariant]templates.Gemv{}
		}
		l.gemv[v] = k
	}
	return k
}

// ropeKernel is variant v with the rope epilogue, and whether it can run
// it: the rows of a pair must share a workgroup (an odd row count per
// workgroup, one where the tuned kernel has a single row, is doubled) and
// the matrix one part.
func (l *linear) ropeKernel(g *GPU, v ops.GemvVariant) (templates.Gemv, bool) {
	k := l.kernel(g, v)
	k.Rope, k.RopeFreqs = true, g.m.Options.RopeFreqs != nil
	if k.Rows%2 == 1 {
		k.Rows *= 2
	}
	ok := l.f != nil && len(l.parts) == 1 && k.Check() == nil && k.WorkgroupBytes() <= ops.DeviceLimits(g.dev).WorkgroupBytes
	return k, ok
}

// fitGemv fits a fused variant of tuned params to the device: the norm's
// sum of squares takes workgroup memory the tuned kernel may not have
// left, so its rows per workgroup halve until it fits.
func (g *GPU) fitGemv(k templates.Gemv, rows, cols int) templates.Gemv {
	lim := ops.DeviceLimits(g.dev).WorkgroupBytes
	tuned := k
	for k.WorkgroupBytes() > lim && k.Rows > 1 {
		k.Rows /= 2
	}
	if k.Rows != tuned.Rows {
		g.warn(fmt.Sprintf("gemv %s %dx%d: %s runs with %d rows per workgroup to fit %d B of workgroup memory", k.Format(), rows, cols, tuned, k.Rows, lim))
	}
	return k
}

// gemvParams chooses the params of variant v of the GEMV for a rows x cols
// matrix of format f and records the choice: the profile's kernel for the
// nearest tuned shape of the variant's own op (ops.GemvVariant.Op) when it
// fits this matrix; for a fused variant without one, the plain GEMV's,
// with a warning, fitted to the device by fitGemv; else the built-in
// default, with a warning.
func (g *GPU) gemvParams(f quant.Format, v ops.GemvVariant, rows, cols int) templates.Gemv {
	c := KernelChoice{Op: v.Op(), Dtype: f.String(), Shape: []int{rows, cols}}
	k, src, err := g.gemvLookup(f, v, rows, cols)
	if err != nil && v.Fused() && g.opts.Profile != nil {
		if pk, psrc, perr := g.gemvLookup(f, ops.GemvVariant{}, rows, cols); perr == nil {
			g.warn(fmt.Sprintf("%s %s %dx%d: %v; runs the plain GEMV's kernel %s", v.Op(), f, rows, cols, err, pk.TunedID()))
			k, src, err = pk, "the plain GEMV's "+psrc, nil
		}
	}
	if err != nil {
		k = defaultGemv
		k.Bits, k.Group, k.Asym = f.Bits, f.Group, f.Asym
		src = "built-in default: " + err.Error()
		g.warn(fmt.Sprintf("%s %s %dx%d: built-in kernel %s (%v)", v.Op(), f, rows, cols, k.TunedID(), err))
	}
	k = v.Apply(k)
	if k.Beside() {
		g.warn(fmt.Sprintf("%s %s %dx%d: %s reads its scales beside the codes; the model's weights are uploaded apart, and it runs so", v.Op(), f, rows, cols, k.TunedID()))
		k.Layout = ""
	}
	if k.Splits() > 1 && k.Check() != nil {
		k.Split = 0 // the plain GEMV's K split, which this variant's fusions cannot take
	}
	if v.Fused() {
		k = g.fitGemv(k, rows, cols)
	}
	c.Params, c.Source = k.TunedID(), src
	g.choose(c)
	return k
}

// gemvLookup reads the profile's kernel for variant v of the GEMV at the
// nearest tuned shape of format f, and says where it came from; an error
// says why there is none that fits a rows x cols matrix on this device.
func (g *GPU) gemvLookup(f quant.Format, v ops.GemvVariant, rows, cols int) (templates.Gemv, string, error) {
	if g.opts.Profile == nil {
		return templates.Gemv{}, "", errors.New("no profile")
	}
	e, exact, err := g.opts.Profile.Lookup(v.Op(), f.String(), []int{rows, cols})
	if err != nil {
		what := "GEMV"
		if v.Fused() {
			what = v.Op()
		}
		return templates.Gemv{}, "", fmt.Errorf("no tuned %s %s in the profile", f, what)
	}
	space := ops.GemvVariantSpace(f, v, ops.DeviceLimits(g.dev))
	pt, err := ops.ParseGemvID(space, e.ID)
	if err == nil {
		err = space.Check(pt)
	}
	var k templates.Gemv
	if err == nil {
		if k = ops.GemvParams(pt, f); !k.Fits(rows, cols) {
			err = fmt.Errorf("%s does not fit %dx%d", k, rows, cols)
		}
	}
	switch {
	case err != nil:
		return templates.Gemv{}, "", fmt.Errorf("the profile's kernel for %s is unusable here (%v)", joinInts(e.Shape, "x"), err)
	case exact:
		return k, "profile (exact shape)", nil
	}
	return k, "profile (nearest tuned shape " + joinInts(e.Shape, "x") + ")", nil
}

// choose records a kernel choice once per op, format and shape.
func (g *GPU) choose(c KernelChoice) {
	if !slices.ContainsFunc(g.Kernels, func(k KernelChoice) bool {
		return k.Op == c.Op && k.Dtype == c.Dtype && slices.Equal(k.Shape, c.Shape)
	}) {
		g.Kernels = append(g.Kernels, c)
	}
}

func (g *GPU) warn(s string) {
	if !slices.Contains(g.Warnings, s) {
		g.Warnings = append(g.Warnings, s)
	}
}

// build uploads the weights, allocates the caches and activations and
// records the decode step.
func (g *GPU) build() error {
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
	qkvDim := o.QDim() + 2*o.KVDim()
	g.x, g.y, g.xb = act("x", o.Dim), act("y", o.Dim), act("xb", o.Dim)
	g.qkv, g.q, g.att = act("qkv", qkvDim), act("q", o.QDim()), act("att", o.QDim())
	g.gu, g.h = act("gu", 2*o.HiddenDim), act("h", o.HiddenDim)
	g.logits = act("logits", o.VocabSize)
	g.tok, g.hist = act("token", 1), act("history", g.ctx+1)
	if err != nil {
		return err
	}
	eps := math.Float32bits(o.RMSEps)
	if g.normU, err = g.uniform("rmsnorm", uint32(o.Dim), eps, 1); err != nil {
		return err
	}
	if g.ropeU, err = g.uniform("qkvrope", uint32(o.NumHeads), uint32(o.NumKVHeads), uint32(o.HeadDim), uint32(o.RopeDim)); err != nil {
		return err
	}
	if g.stepU, err = g.uniform("step", math.Float32bits(o.RopeTheta), 0, 1); err != nil {
		return err
	}
	if o.RopeFreqs != nil {
		if g.ropeFreqs, err = g.floats("rope_freqs", o.RopeFreqs); err != nil {
			return err
		}
	}
	if g.attn, err = g.newDecodeAttention(); err != nil {
		return err
	}
	_, attnWords := g.attn.uniformAt(g, 0)
	g.stepSlot = 16 + (4*len(attnWords)+15)/16*16
	if g.stepTable, err = g.buffer("step-table", greedyChunk*g.stepSlot); err != nil {
		return err
	}
	g.chooseBlocks()

	// The classifier first: a tied quantized embedding looks tokens up in
	// its buffers.
	var clsQuant *quant.Format
	if m.Output.Q != nil {
		clsQuant = &m.Output.Q.Format
	}
	if g.cls, err = g.newLinear("output", []*Weight{m.Output}, clsQuant); err != nil {
		return err
	}
	if err := g.buildEmbed(); err != nil {
		return err
	}
	for l := range m.Layers {
		ly, err := g.uploadLayer(l)
		if err != nil {
			return err
		}
		g.layers = append(g.layers, ly)
		if g.opts.Progress != nil {
			g.opts.Progress(l+1, len(m.Layers))
		}
	}
	if g.outNorm, err = g.floats("output_norm", m.OutputNorm.Data); err != nil {
		return err
	}
	g.fused = !slices.ContainsFunc(g.layers, func(ly gpuLayer) bool {
		return ly.qkv.f == nil || ly.out.f == nil || ly.gateUp.f == nil || ly.down.f == nil ||
			ly.moe != nil && (ly.moe.router.f == nil || ly.moe.gateUp.f == nil || ly.moe.down.f == nil)
	})
	if !g.fused && slices.ContainsFunc(m.Layers, func(l Layer) bool { return llama4(&l) }) {
		return fmt.Errorf("%w: Llama 4 layers run on the GPU with quantized weights only (--quant)", ErrUnsupported)
	}
	if err := g.moeBuffers(); err != nil {
		return err
	}
	if err := g.flush(); err != nil {
		return err
	}
	for _, n := range g.stepTiers() {
		r := &recorder{g: g}
		if err := g.recordStep(r, n); err != nil {
			return err
		}
		prog, err := g.dev.NewProgram(r.ds...)
		if err != nil {
			return err
		}
		g.steps = append(g.steps, stepProgram{n, prog, r.info})
	}
	return nil
}

// stepProgram is the decode step for positions below limit.
type stepProgram struct {
	limit int
	prog  *runner.Program
	info  []dispatchInfo // per dispatch
}

// stepTiers are the context lengths decode steps are recorded for. Split
// decode attention dispatches workgroups for every split of the positions
// a program covers, and the ones past a step's position start only to
// find no keys: a step at a short position takes the program of the
// smallest tier above it (decodeAttention's tiers). Without split
// attention one program serves all.
func (g *GPU) stepTiers() []int {
	if g.attn.tiers == nil {
		return []int{g.ctx}
	}
	var tiers []int
	for _, t := range g.attn.tiers {
		tiers = append(tiers, t.limit)
	}
	return tiers
}

// buildEmbed records the lookup of the token in g.tok into g.x.
func (g *GPU) buildEmbed() error {
	m, o := g.m, g.m.Options
	dimU, err := g.uniform("dim", uint32(o.Dim))
	if err != nil {
		return err
	}
	r := &recorder{g: g}
	e := m.TokenEmbedding
	if e.Q == nil {
		table, err := g.floats("token_embd", e.Data)
		if err != nil {
			return err
		}
		k := templates.Embed{WG: g.blk.embedWG}
		if err := r.add(k, []runner.Binding{u, ro, ro, rw}, k.Groups(o.Dim), dimU, g.tok, table, g.x); err != nil {
			return err
		}
		g.embed = r.ds
		return nil
	}
	t := g.cls
	if m.Output != e {
		if t, err = g.newLinear("token_embd", []*Weight{e}, nil); err != nil {
			return err
		}
		g.embedTable = t
	}
	ds, err := g.embedQuant(t, 1, g.tok, g.x)
	g.embed = ds
	return err
}

// embedQuant returns the dispatches that look up rows tokens (in tokens)
// in the quantized table t, writing rows*Dim floats to out.
func (g *GPU) embedQuant(t *linear, rows int, tokens, out *runner.Buffer) ([]runner.Dispatch, error) {
	r := &recorder{g: g}
	f := *t.f
	k := templates.EmbedQuant{Bits: f.Bits, Asym: f.Asym, WG: g.blk.embedWG}
	b := []runner.Binding{u, ro, ro, ro, rw}
	if f.Asym {
		b = append(b, ro)
	}
	for _, p := range t.parts {
		dims, err := g.uniform(t.name+".embed", uint32(t.cols), uint32(f.GroupLen(t.cols)), uint32(rows), uint32(p.offset), uint32(p.rows))
		if err != nil {
			return nil, err
		}
		bufs := []*runner.Buffer{dims, tokens, p.w, p.s, out}
		if f.Asym {
			bufs = append(bufs, p.m)
		}
		if err := r.add(k, b, k.Groups(rows*t.cols), bufs...); err != nil {
			return nil, err
		}
	}
	return r.ds, nil
}

func (g *GPU) uploadLayer(i int) (gpuLayer, error) {
	o, l := g.m.Options, &g.m.Layers[i]
	var ly gpuLayer
	var err error
	if ly.attNorm, err = g.floats(l.AttentionNorm.Name, l.AttentionNorm.Data); err != nil {
		return ly, err
	}
	if ly.mlpNorm, err = g.floats(l.MLPNorm.Name, l.MLPNorm.Data); err != nil {
		return ly, err
	}
	a, f := l.Attention, l.MLP
	if l.MoE != nil {
		f = l.MoE.Shared
	}
	n := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
	q := g.opts.Quant
	if ly.qkv, err = g.newLinear(n("attn_qkv"), []*Weight{a.Query, a.Key, a.Value}, q); err != nil {
		return ly, err
	}
	if ly.out, err = g.newLinear(n("attn_output"), []*Weight{a.Output}, q); err != nil {
		return ly, err
	}
	if ly.gateUp, err = g.newLinear(n("ffn_gate_up"), []*Weight{f.Gate, f.Up}, q); err != nil {
		return ly, err
	}
	if ly.down, err = g.newLinear(n("ffn_down"), []*Weight{f.Down}, q); err != nil {
		return ly, err
	}
	if err := g.uploadLlama4(i, &ly); err != nil {
		return ly, err
	}
	if !g.opts.KV8 {
		if ly.kc, err = g.buffer(n("kcache"), 4*g.ctx*o.KVDim()); err != nil {
			return ly, err
		}
		ly.vc, err = g.buffer(n("vcache"), 4*g.ctx*o.KVDim())
		return ly, err
	}
	if ly.head == nil {
		if ly.head, err = g.uniform(n("qkvhead"), uint32(o.NumHeads), uint32(o.NumKVHeads), uint32(o.HeadDim), uint32(o.RopeDim),
			math.Float32bits(o.RMSEps), 0, math.Float32bits(llama4FloorScale), 0); err != nil {
			return ly, err
		}
	}
	for _, c := range []struct {
		b     **runner.Buffer
		name  string
		bytes int
	}{{&ly.kc, "kcache", g.ctx * o.KVDim()}, {&ly.vc, "vcache", g.ctx * o.KVDim()},
		{&ly.ks, "kscale", 4 * g.ctx * o.NumKVHeads}, {&ly.vs, "vscale", 4 * g.ctx * o.NumKVHeads}} {
		if *c.b, err = g.buffer(n(c.name), c.bytes); err != nil {
			return ly, err
		}
	}
	return ly, nil
}

// caches are the layer's key and value caches, then their scales where
// they are int8, as the attention kernels bind them.
func (ly gpuLayer) caches() []*runner.Buffer {
	if ly.ks != nil {
		return []*runner.Buffer{ly.kc, ly.vc, ly.ks, ly.vs}
	}
	return []*runner.Buffer{ly.kc, ly.vc}
}

// kvRowBytes is what one position of one layer's keys and values takes
// in the cache.
func (g *GPU) kvRowBytes() int64 {
	o := g.m.Options
	if g.opts.KV8 {
		return 2 * int64(o.KVDim()+4*o.NumKVHeads)
	}
	return 8 * int64(o.KVDim())
}

// recordStep records one decode step for positions below limit: embed
// g.tok, the layers, the final norm, the classifier and argmax into g.tok.
// Each part is described for the step's breakdown, with the bytes it
// moves.
func (g *GPU) recordStep(r *recorder, limit int) error {
	o := g.m.Options
	b := g.blk
	dim, hid, qkvDim := int64(o.Dim), int64(o.HiddenDim), int64(o.QDim()+2*o.KVDim())
	hidU, err := g.uniform("hidden", uint32(o.HiddenDim), 1)
	if err != nil {
		return err
	}
	embedRow := 4 * dim
	if t := g.embedLinear(); t != nil {
		embedRow = t.bytes / int64(t.rows)
	}
	err = r.part(fmt.Sprint(o.Dim), "embedding", fixed(4+embedRow+4*dim), func() error {
		r.extend(g.embed)
		return nil
	})
	if err != nil {
		return err
	}
	// addNorm is the residual add and the norm after it: x and y read, x
	// and out written, the weight read.
	addNorm := func(role string, weight *runner.Buffer) error {
		return r.part(fmt.Sprint(o.Dim), role, fixed(20*dim), func() error {
			return r.add(b.addNorm, []runner.Binding{u, rw, ro, ro, rw}, b.addNorm.Groups(1), g.normU, g.x, g.y, weight, g.xb)
		})
	}
	if g.fused {
		return g.recordFusedLayers(r, limit)
	}
	for i, ly := range g.layers {
		steps := []func() error{
			func() error {
				if i > 0 {
					return addNorm("attention norm", ly.attNorm)
				}
				return r.part(fmt.Sprint(o.Dim), "attention norm", fixed(12*dim), func() error {
					return r.add(b.rms, []runner.Binding{u, ro, ro, rw}, b.rms.Groups(1), g.normU, g.x, ly.attNorm, g.xb)
				})
			},
			func() error { return ly.qkv.record(r, "q, k, v", g.xb, g.qkv, gemvFusion{}) },
			func() error {
				return r.part(fmt.Sprint(qkvDim), "rope, kv store", fixed(8*qkvDim), func() error {
					return g.recordQKVRope(r, 1, g.stepU, g.qkv, g.q, ly)
				})
			},
			func() error { return g.attn.record(g, r, ly, g.q, g.att, limit) },
			func() error { return ly.out.record(r, "attention output", g.att, g.y, gemvFusion{}) },
			func() error { return addNorm("MLP norm", ly.mlpNorm) },
			func() error { return ly.gateUp.record(r, "gate, up", g.xb, g.gu, gemvFusion{}) },
			func() error {
				return r.part(fmt.Sprint(o.HiddenDim), "SwiGLU", fixed(12*hid), func() error {
					return r.add(b.glu, []runner.Binding{u, ro, rw}, b.glu.Groups(o.HiddenDim), hidU, g.gu, g.h)
				})
			},
			func() error { return ly.down.record(r, "down", g.h, g.y, gemvFusion{}) },
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
	}
	if err := addNorm("final norm", g.outNorm); err != nil {
		return err
	}
	return g.classify(r, g.xb, nil)
}

// recordFusedLayers records the layers of a step whose projections are all
// quantized, the norms, residual adds and SwiGLU fused into the GEMVs
// around them: the residual stream stays in g.x, which the norming GEMVs
// read and the output and down GEMVs add into. Then the final norm (fused
// into a quantized classifier) and the classifier.
func (g *GPU) recordFusedLayers(r *recorder, limit int) error {
	o := g.m.Options
	qkvDim := int64(o.QDim() + 2*o.KVDim())
	for i, ly := range g.layers {
		qkv := []func() error{
			func() error {
				return ly.qkv.record(r, "norm; q, k, v", g.x, g.qkv, gemvFusion{norm: ly.attNorm})
			},
			func() error {
				return r.part(fmt.Sprint(qkvDim), "rope, kv store", fixed(8*qkvDim), func() error {
					return g.recordQKVRope(r, 1, g.stepU, g.qkv, g.q, ly)
				})
			},
		}
		if ly.head != nil {
			qkv[1] = func() error {
				role := "q/k rope, norm, temperature; kv store"
				if !llama4(&g.m.Layers[i]) {
					role = "rope, int8 kv store"
				}
				return r.part(fmt.Sprint(qkvDim), role, fixed(8*qkvDim), func() error {
					return g.recordQKVHead(r, 1, g.stepU, g.qkv, g.q, ly)
				})
			}
		} else if _, ok := ly.qkv.ropeKernel(g, ops.GemvVariant{Norm: true}); ok {
			qkv = []func() error{func() error {
				rope := &ropeEpilogue{g.ropeU, g.stepU, ly.kc, ly.vc, g.ropeFreqs}
				return ly.qkv.record(r, "norm; q, k, v; rope, kv store", g.x, g.q, gemvFusion{norm: ly.attNorm, rope: rope})
			}}
		}
		steps := append(qkv,
			func() error { return g.attn.record(g, r, ly, g.q, g.att, limit) },
			func() error {
				return ly.out.record(r, "attention output; residual add", g.att, g.x, gemvFusion{acc: true})
			},
		)
		if ly.moe != nil {
			steps = append(steps, func() error { return g.recordMoE(r, ly) })
		} else {
			steps = append(steps,
				func() error {
					return ly.gateUp.record(r, "norm; gate, up", g.x, g.gu, gemvFusion{norm: ly.mlpNorm})
				},
				func() error {
					return ly.down.record(r, "SwiGLU; down; residual add", g.gu, g.x, gemvFusion{glu: true, acc: true})
				})
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
	}
	if g.cls.f != nil {
		return g.classify(r, g.x, g.outNorm)
	}
	dim := int64(o.Dim)
	err := r.part(fmt.Sprint(o.Dim), "final norm", fixed(12*dim), func() error {
		return r.add(g.blk.rms, []runner.Binding{u, ro, ro, rw}, g.blk.rms.Groups(1), g.normU, g.x, g.outNorm, g.xb)
	})
	if err != nil {
		return err
	}
	return g.classify(r, g.xb, nil)
}

// embedLinear is the quantized table the embedding looks tokens up in, or
// nil for a float32 table.
func (g *GPU) embedLinear() *linear {
	switch {
	case g.m.TokenEmbedding.Q == nil:
		return nil
	case g.embedTable != nil:
		return g.embedTable
	}
	return g.cls
}

// record records l.decode as a part of the step: l's shape, and the
// weights, x and y moved once, with what the fusion adds: the norm weight,
// the up half of a packed input, y read as well as written.
func (l *linear) record(r *recorder, role string, x, y *runner.Buffer, fu gemvFusion) error {
	moved := l.bytes + 4*int64(l.rows+l.cols)
	if fu.norm != nil || fu.glu {
		moved += 4 * int64(l.cols)
	}
	if fu.acc {
		moved += 4 * int64(l.rows)
	}
	return r.part(fmt.Sprintf("%dx%d", l.rows, l.cols), role, fixed(moved), func() error { return l.decode(r, x, y, fu) })
}

// classify records the classifier on x, normalised with weight norm in
// the product if norm is set (a quantized classifier), and the two-stage
// argmax of the logits into g.tok.
func (g *GPU) classify(r *recorder, x, norm *runner.Buffer) error {
	role := "classifier"
	if norm != nil {
		role = "final norm; classifier"
	}
	if err := g.cls.record(r, role, x, g.logits, gemvFusion{norm: norm}); err != nil {
		return err
	}
	vocab := g.m.VocabSize
	parts := g.blk.argParts.Parts(vocab)
	if g.argmaxPairs == nil {
		var err error
		if g.vocabU, err = g.uniform("vocab", uint32(vocab)); err != nil {
			return err
		}
		if g.partsU, err = g.uniform("argmax.parts", uint32(parts)); err != nil {
			return err
		}
		if g.argmaxPairs, err = g.buffer("argmax.pairs", 8*parts); err != nil {
			return err
		}
	}
	ap, am := g.blk.argParts, g.blk.argMerge
	pairs := 8 * int64(parts)
	err := r.part(fmt.Sprint(vocab), "argmax", fixed(4*int64(vocab)+pairs), func() error {
		return r.add(ap, ops.FusedBindings(ap), ap.Groups(vocab), g.vocabU, g.logits, g.argmaxPairs)
	})
	if err != nil {
		return err
	}
	return r.part(fmt.Sprint(vocab), "argmax", fixed(pairs+4), func() error {
		return r.add(am, ops.FusedBindings(am), am.Groups(), g.partsU, g.argmaxPairs, g.tok)
	})
}

// DispatchesPerStep is the number of dispatches of one decode step at the
// first positions (the shortest tier; later tiers may add a reduce).
func (g *GPU) DispatchesPerStep() int { return g.steps[0].prog.Len() }

// DispatchesAt is the number of dispatches of the decode step at pos.
func (g *GPU) DispatchesAt(pos int) int { return g.stepFor(pos).prog.Len() }

// WeightBytes is what one decode step reads of the weights: every
// projection's codes, scales and mins (or f32 values), the classifier, and
// one row of the embedding.
func (g *GPU) WeightBytes() int64 {
	n := g.cls.bytes + g.cls.bytes/int64(g.cls.rows) // the embedding row, as large as a classifier row
	if e := g.m.TokenEmbedding; e != g.m.Output {
		n += e.Bytes() / int64(e.Rows)
	}
	o := g.m.Options
	for _, l := range g.layers {
		n += l.qkv.bytes + l.out.bytes + l.gateUp.bytes + l.down.bytes
		if l.moe != nil {
			n += l.moe.weightBytes(o.ExpertsUsed, o.Experts)
		}
	}
	return n
}

// KVBytes is what the attention of one decode step at position pos reads
// of the caches: keys and values of positions 0..pos in every layer.
func (g *GPU) KVBytes(pos int) int64 {
	return int64(g.m.Options.NumLayers) * int64(pos+1) * g.kvRowBytes()
}

// setStep writes the per-step uniforms for position pos.
func (g *GPU) setStep(pos int) error {
	if pos < 0 || pos >= g.ctx {
		return fmt.Errorf("position %d outside the context of %d", pos, g.ctx)
	}
	if err := g.stepU.Write(0, u32Bytes(g.stepWords(pos))); err != nil {
		return err
	}
	return g.attn.set(g, pos)
}

// stepWords is stepU at pos.
func (g *GPU) stepWords(pos int) []uint32 {
	return []uint32{math.Float32bits(g.m.Options.RopeTheta), uint32(pos), 1, 0}
}

// submitSteps submits the steps at positions lo..hi-1, each on the token
// the one before left in g.tok, in one submission: the steps' uniforms go
// to stepTable in one write and each is copied into place ahead of its
// step; each argmax is copied to hist[pos+1]. It does not wait.
func (g *GPU) submitSteps(lo, hi int) error {
	if lo < 0 || hi > g.ctx || lo >= hi || hi-lo > greedyChunk {
		return fmt.Errorf("steps %d..%d: at most %d within the context of %d", lo, hi-1, greedyChunk, g.ctx)
	}
	table := make([]uint32, (hi-lo)*g.stepSlot/4)
	subs := make([]runner.Submission, 0, hi-lo)
	for p := lo; p < hi; p++ {
		off := (p - lo) * g.stepSlot
		u, words := g.attn.uniformAt(g, p)
		copy(table[off/4:], g.stepWords(p))
		copy(table[off/4+4:], words)
		subs = append(subs, runner.Submission{
			Before: []runner.Copy{
				{Src: g.stepTable, SrcOffset: uint64(off), Dst: g.stepU, Size: 16},
				{Src: g.stepTable, SrcOffset: uint64(off + 16), Dst: u, Size: uint64(4 * len(words))},
			},
			Program: g.stepFor(p).prog,
			After:   []runner.Copy{{Src: g.tok, Dst: g.hist, DstOffset: uint64(4 * (p + 1)), Size: 4}},
		})
	}
	if err := g.stepTable.Write(0, u32Bytes(table)); err != nil {
		return err
	}
	return g.dev.SubmitAll(subs...)
}

// submitGreedy submits the steps at positions lo..hi-1 as submitSteps
// does, in submissions of 1, 2, 4, ... steps: the host records each while
// the GPU runs the one before, half its length, and the queue sees a few
// submissions instead of one per step.
func (g *GPU) submitGreedy(lo, hi int) error {
	for n := 1; lo < hi; n = min(2*n, greedyChunk) {
		k := min(n, hi-lo)
		if err := g.submitSteps(lo, lo+k); err != nil {
			return err
		}
		lo += k
	}
	return nil
}

// setToken makes token the input of the next step.
func (g *GPU) setToken(token int) error {
	if token < 0 || token >= g.m.VocabSize {
		return fmt.Errorf("token %d outside the vocabulary of %d", token, g.m.VocabSize)
	}
	return g.tok.Write(0, u32Bytes([]uint32{uint32(token)}))
}

// submit submits one decode step at pos on the token in g.tok, without
// waiting; the argmax is copied to hist[pos+1].
func (g *GPU) submit(pos int) error { return g.submitSteps(pos, pos+1) }

// run runs the step on token at pos and waits for it.
func (g *GPU) run(token, pos int) error {
	if err := g.setToken(token); err != nil {
		return err
	}
	if err := g.submit(pos); err != nil {
		return err
	}
	g.dev.Wait()
	return nil
}

// Step runs the model on token at pos in one submission and returns the
// argmax of the logits, the greedy next token.
func (g *GPU) Step(token, pos int) (int, error) {
	if err := g.run(token, pos); err != nil {
		return 0, err
	}
	out, err := g.tok.Read()
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
	return g.readLogits()
}

func (g *GPU) readLogits() ([]float32, error) {
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

// readHistory returns the token ids the steps copied to positions lo..hi-1.
func (g *GPU) readHistory(lo, hi int) ([]int, error) {
	raw, err := g.hist.Read()
	if err != nil {
		return nil, err
	}
	ids := make([]int, hi-lo)
	for i := range ids {
		ids[i] = int(binary.LittleEndian.Uint32(raw[4*(lo+i):]))
	}
	return ids, nil
}

// Generate is generation on the GPU with run.c's conventions: the prompt's
// tokens are forced, generation stops before BOS. A nil sampler or one at
// temperature 0 takes the argmax on the GPU and reads back only token ids;
// otherwise the logits come back and s samples them.
func (g *GPU) Generate(prompt []int, steps int, s ...*Sampler) (*Generation, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	for _, id := range prompt {
		if id < 0 || id >= g.m.VocabSize {
			return nil, fmt.Errorf("generate: prompt token %d outside a vocabulary of %d", id, g.m.VocabSize)
		}
	}
	steps = min(max(steps, 1), g.ctx)
	if len(s) > 0 && s[0] != nil && s[0].Temperature > 0 {
		return g.generateSampled(prompt, steps, s[0])
	}
	return g.generateGreedy(prompt, steps)
}

func (g *GPU) generateSampled(prompt []int, steps int, s *Sampler) (*Generation, error) {
	var stepErr error
	gen := GenerateFunc(func(token, pos int) []float32 {
		if stepErr != nil {
			return make([]float32, g.m.VocabSize)
		}
		defer g.clock(time.Now(), 1, pos+1 < len(prompt))
		logits, err := g.StepLogits(token, pos)
		if err != nil {
			stepErr = err
			logits = make([]float32, g.m.VocabSize)
		}
		return logits
	}, g.m.Tokenizer, prompt, steps, s)
	return gen, stepErr
}

// greedyChunk is how many greedy steps are submitted before their tokens
// are read back to look for BOS; steps after a BOS are wasted, not wrong.
const greedyChunk = 32

// generateGreedy runs the prompt (batched where the model allows), then
// submits greedy steps back to back, reading the token ids back a chunk at
// a time; the Generation is then GenerateTokens' over those ids.
func (g *GPU) generateGreedy(prompt []int, steps int) (*Generation, error) {
	// next[p] is the token after position p: forced or the GPU's argmax.
	next := make([]int, steps)
	forced := min(len(prompt)-1, steps) // positions whose next token is the prompt's
	copy(next, prompt[1:1+forced])
	bos := 1
	if g.m.Tokenizer != nil {
		bos = g.m.Tokenizer.BOS
	}
	pos := 0
	if forced > 0 {
		n := forced
		if n == len(prompt)-1 && n < steps {
			n++ // the last prompt position samples the first token
		}
		if err := g.prepareBatches(n); err != nil {
			return nil, err
		}
		start := time.Now()
		if err := g.runPrompt(prompt[:n]); err != nil {
			return nil, err
		}
		if n > forced {
			ids, err := g.readHistory(n, n+1)
			if err != nil {
				return nil, err
			}
			next[n-1] = ids[0]
		} else {
			g.dev.Wait()
		}
		g.clock(start, n, true)
		pos = n
	} else if err := g.setToken(prompt[0]); err != nil {
		return nil, err
	}
	start := time.Now()
	for pos < steps && !slices.Contains(next[forced:pos], bos) {
		hi := min(steps, pos+greedyChunk)
		if err := g.submitGreedy(pos, hi); err != nil {
			return nil, err
		}
		ids, err := g.readHistory(pos+1, hi+1)
		if err != nil {
			return nil, err
		}
		copy(next[pos:], ids)
		g.Decode.Positions += hi - pos
		pos = hi
	}
	g.Decode.Seconds += time.Since(start).Seconds()
	gen := GenerateTokens(func(token, pos int, _ bool) int { return next[pos] }, g.m.Tokenizer, prompt, steps)
	return gen, nil
}

// runPrompt runs the model on tokens at positions 0..len-1, filling the
// caches and leaving the argmax after the last one in g.tok and in the
// history at len; batched where the model allows, else one step per
// position.
func (g *GPU) runPrompt(tokens []int) error {
	if g.batchable() {
		for p := 0; p < len(tokens); p += g.opts.Batch {
			if err := g.prefill(tokens[p:min(len(tokens), p+g.opts.Batch)], p); err != nil {
				return err
			}
		}
		return nil
	}
	for p, t := range tokens {
		if err := g.setToken(t); err != nil {
			return err
		}
		if err := g.submit(p); err != nil {
			return err
		}
	}
	return nil
}

// prepareBatches records the prefill programs a prompt of n positions
// uses, so that recording and compiling are not timed as prefill.
func (g *GPU) prepareBatches(n int) error {
	if !g.batchable() {
		return nil
	}
	for p := 0; p < n; p += g.opts.Batch {
		if _, err := g.prefillProgram(min(n-p, g.opts.Batch)); err != nil {
			return err
		}
	}
	return nil
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

// clock adds the time since start of n positions to the prefill or decode
// total.
func (g *GPU) clock(start time.Time, n int, prefill bool) {
	t := &g.Decode
	if prefill {
		t = &g.Prefill
	}
	t.Positions += n
	t.Seconds += time.Since(start).Seconds()
}
