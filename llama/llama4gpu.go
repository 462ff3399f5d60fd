package llama

import (
	"fmt"
	"math"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// Llama 4 on the GPU. Its attention layers run the q, k, v GEMV with the
// norm fused in and then QKVHead (RoPE or, on a NoPE layer, none; the q/k
// norm; the attention temperature; the cache stores) in place of the rope
// epilogue. Its MoE layers run, after the output GEMV: the router GEMV
// (norm fused in), Router's top k on the device, the shared expert's and
// each chosen expert's gate/up GEMV (the norm fused in; the expert's rows
// read from the stack of all experts by the chosen index and scaled by the
// routing score, which Llama 4 puts on the input), then their down GEMVs
// computing SwiGLU as they load and adding into the residual stream. Only
// the chosen experts' weights are read. Both need the fused (quantized)
// step. A prompt runs batched (prefill.go): the router as a GEMM, Router's
// top k a workgroup per row, then every expert over the whole batch, its
// input each row scaled by the score the row gave it or zeroed, its GEMMs
// binding its rows of the stacked weights.

// gpuMoE is an MoE layer's router and routed experts on the device; the
// shared expert is the layer's gateUp and down.
type gpuMoE struct {
	router       *linear // Experts rows
	gateUp, down *linear // every expert's [gate | up] rows, and down rows, stacked
	hidden       int     // ExpertHidden
	// experts are each expert's rows of gateUp and down as views a batched
	// prefill's GEMMs bind; nil where the device's offset alignment does
	// not fall on an expert's first row, and prompts then run through the
	// decode step.
	experts []expertWeights
}

// expertWeights are one expert's [gate | up] and down matrices.
type expertWeights struct{ gateUp, down linearPart }

// expertViews makes e.experts: views of each expert's rows of the stacked
// weights, or nil where one is not aligned.
func (e *gpuMoE) expertViews(experts int) {
	if e.gateUp.f == nil || e.down.f == nil || len(e.gateUp.parts) != 1 || len(e.down.parts) != 1 {
		return // float32 experts do not run on the GPU at all
	}
	view := func(l *linear, x int) (linearPart, bool) {
		p, n := l.parts[0], l.rows/experts
		f := *l.f
		wpr, gpr := int64(l.cols*f.Bits/32), int64(l.cols/f.GroupLen(l.cols))
		v := linearPart{offset: 0, rows: n}
		var err error
		if v.w, err = p.w.View(uint64(4*int64(x*n)*wpr), uint64(4*int64(n)*wpr)); err != nil {
			return v, false
		}
		if v.s, err = p.s.View(uint64(4*int64(x*n)*gpr), uint64(4*int64(n)*gpr)); err != nil {
			return v, false
		}
		if f.Asym {
			if v.m, err = p.m.View(uint64(4*int64(x*n)*gpr), uint64(4*int64(n)*gpr)); err != nil {
				return v, false
			}
		}
		return v, true
	}
	var out []expertWeights
	for x := range experts {
		gu, ok1 := view(e.gateUp, x)
		dn, ok2 := view(e.down, x)
		if !ok1 || !ok2 {
			return
		}
		out = append(out, expertWeights{gu, dn})
	}
	e.experts = out
}

// llama4 reports whether layer l needs this file's kernels.
func llama4(l *Layer) bool {
	return l.MoE != nil || l.Attention.NoRope || l.Attention.QKNorm || l.Attention.Chunk > 0
}

// checkLlama4 says why the GPU cannot run m's Llama 4 layers at a context
// of ctx positions, or nil.
func checkLlama4(m *Model, ctx int) error {
	for i := range m.Layers {
		l := &m.Layers[i]
		if a := l.Attention; (a.NoRope || a.QKNorm) && m.Options.HeadDim > templates.MaxHeadDim {
			return fmt.Errorf("%w: head dim %d above the %d Llama 4's q/k kernel holds", ErrUnsupported, m.Options.HeadDim, templates.MaxHeadDim)
		}
		if c := l.Attention.Chunk; c > 0 && c < ctx {
			return fmt.Errorf("%w: layer %d attends in chunks of %d positions, fewer than the context of %d; the GPU attends over the whole context", ErrUnsupported, i, c, ctx)
		}
		if l.MoE != nil && l.MoE.Used > templates.MaxRouterK {
			return fmt.Errorf("%w: layer %d routes to %d experts, the router kernel at most %d", ErrUnsupported, i, l.MoE.Used, templates.MaxRouterK)
		}
	}
	return nil
}

// uploadLlama4 uploads layer i's Llama 4 parts: the q/k kernel's uniform
// for an attention with NoPE or q/k norm, and an MoE layer's router and
// routed experts (the shared expert went up as the layer's MLP).
func (g *GPU) uploadLlama4(i int, ly *gpuLayer) error {
	o, l := g.m.Options, &g.m.Layers[i]
	n := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
	var err error
	if a := l.Attention; a.NoRope || a.QKNorm {
		ropeDim, temp, qknorm := o.RopeDim, float32(0), uint32(0)
		if a.NoRope {
			ropeDim, temp = 0, llama4AttnScale
		}
		if a.QKNorm {
			qknorm = 1
		}
		if ly.head, err = g.uniform(n("qkvhead"), uint32(o.NumHeads), uint32(o.NumKVHeads), uint32(o.HeadDim), uint32(ropeDim),
			math.Float32bits(o.RMSEps), qknorm, math.Float32bits(llama4FloorScale), math.Float32bits(temp)); err != nil {
			return err
		}
	}
	moe := l.MoE
	if moe == nil {
		return nil
	}
	e := &gpuMoE{hidden: o.ExpertHidden}
	q := g.opts.Quant
	if e.router, err = g.newLinear(n("ffn_gate_inp"), []*Weight{moe.Router}, q); err != nil {
		return err
	}
	var gateUp, down []*Weight
	for _, x := range moe.Experts {
		gateUp = append(gateUp, x.Gate, x.Up)
		down = append(down, x.Down)
	}
	if e.gateUp, err = g.newLinear(n("ffn_gate_up_exps"), gateUp, q); err != nil {
		return err
	}
	if e.down, err = g.newLinear(n("ffn_down_exps"), down, q); err != nil {
		return err
	}
	for _, lin := range []*linear{e.gateUp, e.down} {
		if len(lin.parts) != 1 {
			return fmt.Errorf("%w: %s does not fit one buffer of the device", ErrUnsupported, lin.name)
		}
	}
	e.expertViews(o.Experts)
	ly.moe = e
	return nil
}

// moeBuffers makes the router's outputs and the chosen experts' gate/up
// output, once, shared by the model's MoE layers (the layers run in turn).
func (g *GPU) moeBuffers() error {
	o := g.m.Options
	if o.Experts == 0 || g.chosen != nil {
		return nil
	}
	var err error
	if g.routerU, err = g.uniform("router", uint32(o.Experts), uint32(o.ExpertsUsed)); err != nil {
		return err
	}
	if g.expertLogits, err = g.buffer("expert_logits", 4*o.Experts); err != nil {
		return err
	}
	if g.chosen, err = g.buffer("chosen", 4*templates.MaxRouterK); err != nil {
		return err
	}
	if g.routeScores, err = g.buffer("route_scores", 4*templates.MaxRouterK); err != nil {
		return err
	}
	g.expertGU, err = g.buffer("expert_gu", 4*2*o.ExpertHidden*o.ExpertsUsed)
	return err
}

// recordQKVHead records QKVHead over rows rows of packed q, k, v from qkv
// into q and ly's caches at the positions step says.
func (g *GPU) recordQKVHead(r *recorder, rows int, step, qkv, q *runner.Buffer, ly gpuLayer) error {
	o := g.m.Options
	k := templates.QKVHead{WG: defaultWG, Freqs: g.ropeFreqs != nil, KV8: ly.ks != nil}
	bufs := append([]*runner.Buffer{ly.head, step, qkv, q}, ly.caches()...)
	if k.Freqs {
		bufs = append(bufs, g.ropeFreqs)
	}
	return r.add(k, ops.QKVHeadBindings(k), k.Groups(rows, o.NumHeads+2*o.NumKVHeads), bufs...)
}

// recordMoE records an MoE layer's feed-forward network on the residual
// stream g.x, as this file's comment lists.
func (g *GPU) recordMoE(r *recorder, ly gpuLayer) error {
	o, e := g.m.Options, ly.moe
	used := o.ExpertsUsed
	norm := gemvFusion{norm: ly.mlpNorm}
	if err := e.router.record(r, "norm; router", g.x, g.expertLogits, norm); err != nil {
		return err
	}
	router := templates.Router{WG: defaultWG}
	err := r.part(fmt.Sprintf("%dx%d", o.Experts, used), "top-k routing", fixed(int64(4*o.Experts+8*used)), func() error {
		return r.add(router, []runner.Binding{u, ro, rw, rw}, router.Groups(1), g.routerU, g.expertLogits, g.chosen, g.routeScores)
	})
	if err != nil {
		return err
	}
	if err := ly.gateUp.record(r, "norm; shared gate, up", g.x, g.gu, norm); err != nil {
		return err
	}
	h := e.hidden
	for s := range used {
		err := e.gateUp.recordExpert(r, "norm; expert gate, up", g.x, g.expertGU, norm, 2*h, s*2*h, s, true, 0, 0)
		if err != nil {
			return err
		}
	}
	if err := ly.down.record(r, "SwiGLU; shared down; residual add", g.gu, g.x, gemvFusion{glu: true, acc: true}); err != nil {
		return err
	}
	for s := range used {
		err := e.down.recordExpert(r, "SwiGLU; expert down; residual add", g.expertGU, g.x, gemvFusion{glu: true, acc: true}, o.Dim, 0, s, false, s*2*h, s*2*h+h)
		if err != nil {
			return err
		}
	}
	return nil
}

// recordExpert records, as a part of the step, the GEMV of the expert
// g.chosen[slot] of l, a stack of experts of rows rows each, with fusion
// fu: y at offset out, the rows scaled by the routing score if scaled, a
// GLU input's gate and up halves at offsets gate and up of x.
func (l *linear) recordExpert(r *recorder, role string, x, y *runner.Buffer, fu gemvFusion, rows, out, slot int, scaled bool, gate, up int) error {
	g := r.g
	v := ops.GemvVariant{Norm: fu.norm != nil, GLU: fu.glu, Acc: fu.acc}
	k, ok := l.gemv[v]
	if !ok {
		k = g.gemvParams(*l.f, v, rows, l.cols)
		if l.gemv == nil {
			l.gemv = map[ops.GemvVariant]templates.Gemv{}
		}
		l.gemv[v] = k
	}
	k.Expert = true
	moved := l.bytes/int64(l.rows/rows) + 4*int64(rows+l.cols)
	if fu.norm != nil || fu.glu {
		moved += 4 * int64(l.cols)
	}
	if fu.acc {
		moved += 4 * int64(rows)
	}
	return r.part(fmt.Sprintf("%dx%d", rows, l.cols), role, fixed(moved), func() error {
		p := l.parts[0]
		dims := l.expertDims[slot]
		if dims == nil {
			var err error
			if dims, err = g.uniform(fmt.Sprintf("%s.slot%d", l.name, slot), ops.GemvExpertUniform(k, rows, l.cols, l.f.GroupLen(l.cols), out, g.m.Options.RMSEps, gate, up, slot, scaled)...); err != nil {
				return err
			}
			if l.expertDims == nil {
				l.expertDims = map[int]*runner.Buffer{}
			}
			l.expertDims[slot] = dims
		}
		bufs := []*runner.Buffer{dims, p.w, p.s, x, y}
		if l.f.Asym {
			bufs = append(bufs, p.m)
		}
		if fu.norm != nil {
			bufs = append(bufs, fu.norm)
		}
		bufs = append(bufs, g.chosen, g.routeScores)
		return r.add(k, ops.GemvBindingsFor(k), k.Groups(rows), bufs...)
	})
}

// weightBytes is what a decode step reads of an MoE layer's router and
// routed experts: the router and the chosen experts' share of the stacks.
func (e *gpuMoE) weightBytes(used, experts int) int64 {
	return e.router.bytes + (e.gateUp.bytes+e.down.bytes)*int64(used)/int64(experts)
}
