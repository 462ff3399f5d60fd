package llama

import (
	"fmt"
	"math"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// Batched prefill runs a block of prompt positions in one submission: the
// projections as quantized GEMMs over all the rows at once (ops/gemm.go's
// kernel), the other steps with the rows count of their uniforms, an MoE
// layer's experts each over the whole batch (recordPrefillMoE), and
// attention as one flash-prefill dispatch, or position by position with the
// decode kernel for heads it does not take (prefillAttention).
// The caches, the argmax after the last position (in g.tok) and the
// history end up as if the positions had been decoded one by one.

// prefillBuffers are the activations of a batch of up to Batch rows.
type prefillBuffers struct {
	tokens             *runner.Buffer
	x, y, xb           *runner.Buffer
	qkv, q, att, gu, h *runner.Buffer
	// An MoE model's router logits and choices, a routed expert's input
	// and output.
	logits, chosen, scores, xe, ye *runner.Buffer
}

// prefillProgram is the bound batch for one number of rows.
type prefillProgram struct {
	rows   int
	prog   *runner.Program
	stepU  *runner.Buffer // qkvrope step uniform: theta, first position, rows
	flashU *runner.Buffer // flash prefill's uniform: rows from the first position
	// Without flash prefill, per row: the attention length, and where the
	// row's query and output are copied from and to.
	attU, copyIn, copyOut []*runner.Buffer
}

// batchable reports whether prompts can run batched: every projection
// quantized in one buffer, as the GEMM kernel binds it.
func (g *GPU) batchable() bool {
	for _, l := range g.layers {
		if l.moe != nil && l.moe.experts == nil {
			return false // the experts' weights cannot be bound one by one
		}
		for _, lin := range []*linear{l.qkv, l.out, l.gateUp, l.down} {
			if lin.f == nil || len(lin.parts) != 1 {
				return false
			}
		}
	}
	return true
}

// Batchable reports whether Generate runs a prompt in batches of up to
// GPUOptions.Batch positions per submission, rather than one position at
// a time.
func (g *GPU) Batchable() bool { return g.batchable() }

// prefill runs tokens at positions pos0.. in one submission, without
// waiting: len(tokens) <= Batch.
func (g *GPU) prefill(tokens []int, pos0 int) error {
	rows := len(tokens)
	if rows == 0 || rows > g.opts.Batch || pos0 < 0 || pos0+rows > g.ctx {
		return fmt.Errorf("prefill of %d positions from %d: want 1..%d positions within the context of %d", rows, pos0, g.opts.Batch, g.ctx)
	}
	o := g.m.Options
	ids := make([]uint32, rows)
	for i, t := range tokens {
		if t < 0 || t >= o.VocabSize {
			return fmt.Errorf("token %d outside the vocabulary of %d", t, o.VocabSize)
		}
		ids[i] = uint32(t)
	}
	p, err := g.prefillProgram(rows)
	if err != nil {
		return err
	}
	pf := g.pf
	if g.m.TokenEmbedding.Q != nil {
		if err := pf.tokens.Write(0, u32Bytes(ids)); err != nil {
			return err
		}
	} else {
		// A float32 table is looked up on the host.
		x := make([]float32, rows*o.Dim)
		for i, t := range tokens {
			g.m.TokenEmbedding.RowTo(t, x[i*o.Dim:])
		}
		if err := pf.x.Write(0, f32Bytes(x)); err != nil {
			return err
		}
	}
	if err := p.stepU.Write(0, u32Bytes([]uint32{math.Float32bits(o.RopeTheta), uint32(pos0), uint32(rows), 0})); err != nil {
		return err
	}
	if p.flashU != nil {
		if err := p.flashU.Write(0, u32Bytes(g.attnUniform(rows, pos0, 0))); err != nil {
			return err
		}
	}
	for r, b := range p.attU {
		if err := b.Write(0, u32Bytes([]uint32{uint32(o.NumHeads), uint32(o.NumKVHeads), uint32(o.HeadDim), uint32(pos0 + r + 1)})); err != nil {
			return err
		}
	}
	return p.prog.Submit(runner.Copy{Src: g.tok, Dst: g.hist, DstOffset: uint64(4 * (pos0 + rows)), Size: 4})
}

// prefillProgram returns the bound batch of rows rows, recording it the
// first time.
func (g *GPU) prefillProgram(rows int) (*prefillProgram, error) {
	if p := g.batches[rows]; p != nil {
		return p, nil
	}
	if !g.batchable() {
		return nil, fmt.Errorf("batched prefill needs every projection quantized in one buffer")
	}
	o := g.m.Options
	if g.pf == nil {
		b := g.opts.Batch
		var err error
		act := func(label string, n int) *runner.Buffer {
			if err != nil {
				return nil
			}
			var buf *runner.Buffer
			buf, err = g.buffer(label, 4*n)
			return buf
		}
		hidden := max(o.HiddenDim, o.ExpertHidden)
		g.pf = &prefillBuffers{tokens: act("batch.tokens", b),
			x: act("batch.x", b*o.Dim), y: act("batch.y", b*o.Dim), xb: act("batch.xb", b*o.Dim),
			qkv: act("batch.qkv", b*(o.QDim()+2*o.KVDim())), q: act("batch.q", b*o.QDim()), att: act("batch.att", b*o.QDim()),
			gu: act("batch.gu", b*2*hidden), h: act("batch.h", b*hidden)}
		if o.Experts > 0 {
			g.pf.logits, g.pf.chosen, g.pf.scores = act("batch.expert_logits", b*o.Experts), act("batch.chosen", b*o.ExpertsUsed), act("batch.route_scores", b*o.ExpertsUsed)
			g.pf.xe, g.pf.ye = act("batch.expert_x", b*o.Dim), act("batch.expert_y", b*o.Dim)
		}
		if err != nil {
			return nil, err
		}
	}
	pf := g.pf
	p := &prefillProgram{rows: rows}
	r := &recorder{g: g}
	var err error
	uniform := func(label string, f ...uint32) *runner.Buffer {
		if err != nil {
			return nil
		}
		var b *runner.Buffer
		b, err = g.uniform(label, f...)
		return b
	}
	normU := uniform("batch.rmsnorm", uint32(o.Dim), math.Float32bits(o.RMSEps), uint32(rows))
	p.stepU = uniform("batch.step", math.Float32bits(o.RopeTheta), 0, uint32(rows))
	hidU := uniform("batch.hidden", uint32(o.HiddenDim), uint32(rows))
	var expertU, addU *runner.Buffer
	var expertInU []*runner.Buffer // ExpertInput's uniform per expert
	if o.Experts > 0 {
		expertU = uniform("batch.expert_hidden", uint32(o.ExpertHidden), uint32(rows))
		addU = uniform("batch.add", uint32(rows*o.Dim))
		for x := range o.Experts {
			expertInU = append(expertInU, uniform("batch.expert_input", uint32(rows), uint32(o.Dim), uint32(o.ExpertsUsed), uint32(x)))
		}
	}
	lastU := uniform("batch.last", uint32(o.Dim), uint32((rows-1)*o.Dim), 0)
	if err != nil {
		return nil, err
	}
	if e := g.m.TokenEmbedding; e.Q != nil {
		t := g.cls
		if g.m.Output != e {
			// The untied table's parts were made for the decode lookup.
			t = g.embedTable
		}
		ds, err := g.embedQuant(t, rows, pf.tokens, pf.x)
		if err != nil {
			return nil, err
		}
		r.extend(ds)
	}
	rms, addNorm, glu := g.blk.rms, g.blk.addNorm, g.blk.glu
	// gemmOf multiplies the rows of a by pt, rows of l's weights (a part,
	// or one expert's view).
	gemmOf := func(l *linear, pt linearPart, a, c *runner.Buffer) error {
		n := pt.rows
		k := g.gemmParams(*l.f, rows, n, l.cols)
		dims, err := g.uniform(l.name+".gemm", uint32(rows), uint32(n), uint32(l.cols), uint32(l.f.GroupLen(l.cols)))
		if err != nil {
			return err
		}
		bufs := []*runner.Buffer{dims, a, pt.w, pt.s, c}
		if l.f.Asym {
			bufs = append(bufs, pt.m)
		}
		return r.add(k, ops.GemmBindingsFor(k), k.Groups(rows, n), bufs...)
	}
	gemm := func(l *linear, a, c *runner.Buffer) error { return gemmOf(l, l.parts[0], a, c) }
	for i, ly := range g.layers {
		var err error
		if i == 0 {
			err = r.add(rms, []runner.Binding{u, ro, ro, rw}, rms.Groups(rows), normU, pf.x, ly.attNorm, pf.xb)
		} else {
			err = r.add(addNorm, []runner.Binding{u, rw, ro, ro, rw}, addNorm.Groups(rows), normU, pf.x, pf.y, ly.attNorm, pf.xb)
		}
		steps := []func() error{
			func() error { return err },
			func() error { return gemm(ly.qkv, pf.xb, pf.qkv) },
			func() error {
				return g.recordQKVRope(r, rows, p.stepU, pf.qkv, pf.q, ly)
			},
			func() error { return g.prefillAttention(r, p, ly) },
			func() error { return gemm(ly.out, pf.att, pf.y) },
			func() error {
				return r.add(addNorm, []runner.Binding{u, rw, ro, ro, rw}, addNorm.Groups(rows), normU, pf.x, pf.y, ly.mlpNorm, pf.xb)
			},
		}
		if e := ly.moe; e != nil {
			steps = append(steps, func() error { return g.recordPrefillMoE(r, rows, e, ly, gemmOf, expertU, addU, expertInU) })
		} else {
			steps = append(steps,
				func() error { return gemm(ly.gateUp, pf.xb, pf.gu) },
				func() error {
					return r.add(glu, []runner.Binding{u, ro, rw}, glu.Groups(rows*o.HiddenDim), hidU, pf.gu, pf.h)
				},
				func() error { return gemm(ly.down, pf.h, pf.y) })
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return nil, err
			}
		}
	}
	if err := r.add(addNorm, []runner.Binding{u, rw, ro, ro, rw}, addNorm.Groups(rows), normU, pf.x, pf.y, g.outNorm, pf.xb); err != nil {
		return nil, err
	}
	cp := templates.CopyRange{WG: defaultWG}
	if err := r.add(cp, []runner.Binding{u, ro, rw}, cp.Groups(o.Dim), lastU, pf.xb, g.xb); err != nil {
		return nil, err
	}
	if err := g.classify(r, g.xb, nil); err != nil {
		return nil, err
	}
	if p.prog, err = g.dev.NewProgram(r.ds...); err != nil {
		return nil, err
	}
	g.batches[rows] = p
	return p, nil
}

// prefillAttention records causal attention for every row of the batch:
// the rows' q are in g.pf.q, their keys and values already in the caches;
// the output goes to g.pf.att. With the flash kernels it is one dispatch;
// otherwise each row's query is copied out, the decode kernel attends over
// positions 0..pos0+r, and the output is copied into the row.
func (g *GPU) prefillAttention(r *recorder, p *prefillProgram, ly gpuLayer) error {
	o := g.m.Options
	if g.flashAttention() {
		if p.flashU == nil {
			var err error
			if p.flashU, err = g.uniform("batch.attention", g.attnUniform(p.rows, 0, 0)...); err != nil {
				return err
			}
		}
		k := g.prefillKernel(p.rows)
		bufs := append(append([]*runner.Buffer{p.flashU, g.pf.q}, ly.caches()...), g.pf.att)
		return r.add(k, ops.FlashBindings(k), k.Groups(p.rows, o.NumHeads), bufs...)
	}
	qdim := o.QDim()
	att := templates.Attention{WG: defaultWG, MaxSeq: g.ctx}
	cp := templates.CopyRange{WG: defaultWG}
	for row := range p.rows {
		if row == len(p.attU) {
			in, err := g.uniform("batch.q.row", uint32(qdim), uint32(row*qdim), 0)
			if err != nil {
				return err
			}
			out, err := g.uniform("batch.att.row", uint32(qdim), 0, uint32(row*qdim))
			if err != nil {
				return err
			}
			attU, err := g.uniform("batch.attention", uint32(o.NumHeads), uint32(o.NumKVHeads), uint32(o.HeadDim), uint32(row+1))
			if err != nil {
				return err
			}
			p.attU = append(p.attU, attU)
			p.copyIn = append(p.copyIn, in)
			p.copyOut = append(p.copyOut, out)
		}
		if err := r.add(cp, []runner.Binding{u, ro, rw}, cp.Groups(qdim), p.copyIn[row], g.pf.q, g.q); err != nil {
			return err
		}
		if err := r.add(att, []runner.Binding{u, ro, ro, ro, rw}, att.Groups(o.NumHeads), p.attU[row], g.q, ly.kc, ly.vc, g.att); err != nil {
			return err
		}
		if err := r.add(cp, []runner.Binding{u, ro, rw}, cp.Groups(qdim), p.copyOut[row], g.att, g.pf.att); err != nil {
			return err
		}
	}
	return nil
}

// gemmParams takes the profile's GEMM kernel for the nearest tuned shape of
// the format when it fits, else the default, and records the choice.
func (g *GPU) gemmParams(f quant.Format, m, n, k int) templates.Gemm {
	def := defaultGemm
	def.Bits, def.Group, def.Asym = f.Bits, f.Group, f.Asym
	c := KernelChoice{Op: "gemm", Dtype: f.String(), Shape: []int{m, n, k}}
	kern, why := def, ""
	e, exact, err := g.opts.Profile.Lookup("gemm", f.String(), c.Shape)
	switch {
	case g.opts.Profile == nil:
		why = "no profile"
	case err != nil:
		why = "no tuned " + f.String() + " GEMM in the profile"
	default:
		space := ops.GemmSpace(f, ops.DeviceLimits(g.dev))
		pt, err := space.Parse(e.ID)
		if err == nil {
			err = space.Check(pt)
		}
		if err == nil {
			if p := ops.GemmParams(pt, f); !p.Fits(m, n, k) {
				err = fmt.Errorf("%s does not fit %dx%dx%d", p, m, n, k)
			} else {
				kern = p
			}
		}
		if err != nil {
			why = fmt.Sprintf("the profile's kernel for %s is unusable here (%v)", joinInts(e.Shape, "x"), err)
		} else if exact {
			c.Source = "profile (exact shape)"
		} else {
			c.Source = "profile (nearest tuned shape " + joinInts(e.Shape, "x") + ")"
		}
	}
	if why != "" {
		c.Source = "built-in default: " + why
		g.warn(fmt.Sprintf("gemm %s %dx%dx%d: built-in kernel %s (%s)", f, m, n, k, def, why))
	}
	c.Params = kern.String()
	g.choose(c)
	return kern
}

// recordPrefillMoE records an MoE layer's feed-forward network for a batch
// of rows, from the normalised rows in g.pf.xb to their sum in g.pf.y: the
// router's logits (a GEMM) and each row's top k (Router, a workgroup per
// row), the shared expert, then every routed expert over the whole batch,
// its input each row times the score the row gave it or 0 (ExpertInput),
// its GEMMs binding its rows of the stacked weights, its output added into
// y. A row that did not choose an expert adds its zeros: the batch runs
// all experts' weights once instead of the chosen ones' once per row.
func (g *GPU) recordPrefillMoE(r *recorder, rows int, e *gpuMoE, ly gpuLayer, gemmOf func(*linear, linearPart, *runner.Buffer, *runner.Buffer) error,
	hidU, addU *runner.Buffer, inputU []*runner.Buffer) error {
	o, pf := g.m.Options, g.pf
	gemm := func(l *linear, a, c *runner.Buffer) error { return gemmOf(l, l.parts[0], a, c) }
	glu, router := g.blk.glu, templates.Router{WG: defaultWG}
	in, add := templates.ExpertInput{WG: defaultWG}, templates.Add{WG: defaultWG}
	if err := gemm(e.router, pf.xb, pf.logits); err != nil {
		return err
	}
	if err := r.add(router, []runner.Binding{u, ro, rw, rw}, router.Groups(rows), g.routerU, pf.logits, pf.chosen, pf.scores); err != nil {
		return err
	}
	if err := gemm(ly.gateUp, pf.xb, pf.gu); err != nil { // the shared expert
		return err
	}
	if err := r.add(glu, []runner.Binding{u, ro, rw}, glu.Groups(rows*o.ExpertHidden), hidU, pf.gu, pf.h); err != nil {
		return err
	}
	if err := gemm(ly.down, pf.h, pf.y); err != nil {
		return err
	}
	for x, w := range e.experts {
		if err := r.add(in, ops.ExpertInputBindings(in), in.Groups(rows, o.Dim), inputU[x], pf.xb, pf.chosen, pf.scores, pf.xe); err != nil {
			return err
		}
		if err := gemmOf(e.gateUp, w.gateUp, pf.xe, pf.gu); err != nil {
			return err
		}
		if err := r.add(glu, []runner.Binding{u, ro, rw}, glu.Groups(rows*o.ExpertHidden), hidU, pf.gu, pf.h); err != nil {
			return err
		}
		if err := gemmOf(e.down, w.down, pf.h, pf.ye); err != nil {
			return err
		}
		if err := r.add(add, []runner.Binding{u, rw, ro}, add.Groups(rows*o.Dim), addU, pf.y, pf.ye); err != nil {
			return err
		}
	}
	return nil
}
