package llama

import (
	"fmt"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// Attention on the GPU takes one of two paths. Where the head dimension
// suits the flash kernels (a multiple of 4 in 32..256), decode is split
// attention (ops.DecodeKernels: workgroups over position ranges and key/value
// heads, then a reduce) and a prefill batch is one flash-prefill dispatch per
// layer, their params from the profile's attention-decode and
// attention-prefill entries or ops' baselines. Otherwise (stories260K's head
// dimension is 8) decode is templates.Attention, one workgroup per head in
// run.c's order, and a prefill batch runs it row by row.

// flashAttention reports whether the flash kernels take this model's heads.
func (g *GPU) flashAttention() bool {
	o := g.m.Options
	return o.HeadDim%4 == 0 && o.HeadDim >= 32 && o.HeadDim <= 256 && o.NumHeads/o.NumKVHeads <= 16
}

// attnUniform is the flash kernels' uniform for qLen queries from qPos.
func (g *GPU) attnUniform(qLen, qPos, split int) []uint32 {
	o := g.m.Options
	return ops.Attn{Heads: o.NumHeads, KVHeads: o.NumKVHeads, HeadDim: o.HeadDim, QLen: qLen, QPos: qPos, Split: split}.Uniform()
}

// defaultDecodeSplit is the positions per decode workgroup without a
// profile entry: a long context then spreads over many workgroups even with
// few key/value heads.
const defaultDecodeSplit = 64

// decodeKernels chooses split decode attention for steps at positions
// below limit: the profile's kernel for the nearest tuned context, as the
// best split for a short context spreads it over more workgroups than the
// best for a long one.
func (g *GPU) decodeKernels(limit int) ops.DecodeKernels {
	o := g.m.Options
	hd, grp, kv8 := o.HeadDim, o.NumHeads/o.NumKVHeads, g.opts.KV8
	def := ops.DecodeBaseline(hd, grp, kv8)
	def.Split = defaultDecodeSplit
	shape := ops.AttnShape{Seq: limit, Heads: o.NumHeads, KVHeads: o.NumKVHeads, HeadDim: hd, KV8: kv8}
	k := def
	c, ok := g.lookup("attention-decode", shape.Dtype(), shape.Dims(), ops.DecodeSpace(hd, grp, kv8, ops.DeviceLimits(g.dev)), def.String(), func(p search.Point) (string, error) {
		k = ops.DecodeParams(p, hd, grp, kv8)
		if k.Split*templates.FlashMaxSplits < limit {
			return "", fmt.Errorf("split %d leaves more than %d splits", k.Split, templates.FlashMaxSplits)
		}
		return k.String(), nil
	})
	if !ok {
		k = def
	}
	g.choose(c)
	return k
}

// prefillKernel chooses the flash-prefill kernel for batches of rows.
func (g *GPU) prefillKernel(rows int) templates.FlashPrefill {
	o := g.m.Options
	kv8 := g.opts.KV8
	def := ops.PrefillBaseline(o.HeadDim, kv8)
	k := def
	shape := ops.AttnShape{Seq: rows, Heads: o.NumHeads, KVHeads: o.NumKVHeads, HeadDim: o.HeadDim, KV8: kv8}
	c, ok := g.lookup("attention-prefill", shape.Dtype(), shape.Dims(), ops.PrefillSpace(o.HeadDim, kv8, ops.DeviceLimits(g.dev)), def.String(), func(p search.Point) (string, error) {
		k = ops.PrefillParams(p, o.HeadDim, kv8)
		return k.String(), nil
	})
	if !ok {
		k = def
	}
	g.choose(c)
	return k
}

// lookup finds the profile's entry for the nearest tuned shape of op and
// dtype, parses it in space and hands the point to use, which returns the
// params' description or why they do not apply. ok is false when the
// default (described by def) is to be used; the choice is returned either
// way, and a default is warned about.
func (g *GPU) lookup(op, dtype string, shape []int, space *search.Space, def string, use func(search.Point) (string, error)) (KernelChoice, bool) {
	c, why := g.lookupEntry(op, dtype, shape, space, def, use)
	if why != "" {
		g.warn(fmt.Sprintf("%s %s %s: built-in kernel %s (%s)", op, dtype, joinInts(shape, "x"), def, why))
		return c, false
	}
	return c, true
}

// lookupEntry is lookup without the warning: why says why the default is
// used, or is empty.
func (g *GPU) lookupEntry(op, dtype string, shape []int, space *search.Space, def string, use func(search.Point) (string, error)) (c KernelChoice, why string) {
	c = KernelChoice{Op: op, Dtype: dtype, Shape: shape, Params: def}
	e, exact, err := g.opts.Profile.Lookup(op, dtype, shape)
	switch {
	case g.opts.Profile == nil:
		why = "no profile"
	case err != nil:
		why = "no tuned " + op + " in the profile"
	default:
		pt, err := space.Parse(e.ID)
		if err == nil {
			err = space.Check(pt)
		}
		var params string
		if err == nil {
			params, err = use(pt)
		}
		switch {
		case err != nil:
			why = fmt.Sprintf("the profile's kernel for %s is unusable here (%v)", joinInts(e.Shape, "x"), err)
		case exact:
			c.Params, c.Source = params, "profile (exact shape)"
		default:
			c.Params, c.Source = params, "profile (nearest tuned shape "+joinInts(e.Shape, "x")+")"
		}
	}
	if why != "" {
		c.Source = "built-in default: " + why
	}
	return c, why
}

// decodeAttention holds what a decode step's attention binds.
type decodeAttention struct {
	// tiers are the split decode kernels of the step programs, by
	// ascending limit; nil means templates.Attention.
	tiers        []attnTier
	u            *runner.Buffer // templates.Attention's per-step uniform
	opart, mlart *runner.Buffer // the splits' partial outputs
}

// attnTier is the split decode of the step program for positions below
// limit, with its own per-step uniform (which carries the split).
type attnTier struct {
	limit int
	k     ops.DecodeKernels
	u     *runner.Buffer
}

// newDecodeAttention chooses the decode attention of every step program
// and allocates its buffers. The programs cover the positions below 256,
// 512, ... up to the context, each with the kernel tuned nearest its
// limit; where the first one's split is shorter, a first program covers
// one split, whose attention needs no reduce.
func (g *GPU) newDecodeAttention() (decodeAttention, error) {
	o := g.m.Options
	var a decodeAttention
	var err error
	if !g.flashAttention() {
		a.u, err = g.uniform("attention", uint32(o.NumHeads), uint32(o.NumKVHeads), uint32(o.HeadDim), 1)
		return a, err
	}
	var limits []int
	for n := 256; n < g.ctx; n *= 2 {
		limits = append(limits, n)
	}
	limits = append(limits, g.ctx)
	splits := 0
	for _, n := range limits {
		t := attnTier{limit: n, k: g.decodeKernels(n)}
		if len(a.tiers) == 0 && t.k.Split < n {
			a.tiers = append(a.tiers, attnTier{limit: t.k.Split, k: t.k})
		}
		a.tiers = append(a.tiers, t)
		splits = max(splits, (n+t.k.Split-1)/t.k.Split)
	}
	for i := range a.tiers {
		t := &a.tiers[i]
		if t.u, err = g.uniform(fmt.Sprintf("attention.%d", t.limit), g.attnUniform(1, 0, t.k.Split)...); err != nil {
			return a, err
		}
	}
	if a.opart, err = g.buffer("attention.parts", 4*splits*o.QDim()); err != nil {
		return a, err
	}
	a.mlart, err = g.buffer("attention.maxsum", 4*splits*o.NumHeads*2)
	return a, err
}

// tier is the tier of the step program for positions below limit, or of
// the one a step at pos takes where limit is 0.
func (a decodeAttention) tier(limit, pos int) attnTier {
	for _, t := range a.tiers {
		if t.limit == limit || limit == 0 && pos < t.limit {
			return t
		}
	}
	return a.tiers[len(a.tiers)-1]
}

// record records attention of the query in q over ly's caches into out,
// for a query at a position below limit. The flash decode dispatch covers
// the splits of limit positions; those past the step's position find no
// keys and the reduce, which reads the position from the uniform, ignores
// them.
//
// Where limit positions are one split, the decode is final: it normalises
// and writes out itself, and there is no reduce.
//
// The bytes each part moves: q read and the output written once, the keys
// and values of positions 0..pos, and for split attention each split's
// partial output, maximum and sum, written by the decode for every split
// of the program and read by the reduce for those up to pos.
func (a decodeAttention) record(g *GPU, r *recorder, ly gpuLayer, q, out *runner.Buffer, limit int) error {
	o := g.m.Options
	qdim, heads := int64(o.QDim()), int64(o.NumHeads)
	kv := func(pos int) int64 { return int64(pos+1) * g.kvRowBytes() }
	if a.tiers == nil {
		att := templates.Attention{WG: defaultWG, MaxSeq: g.ctx}
		shape := fmt.Sprintf("%dx%dx%d", o.NumHeads, o.NumKVHeads, o.HeadDim)
		return r.part(shape, "attention", func(pos int) int64 { return 8*qdim + kv(pos) }, func() error {
			return r.add(att, []runner.Binding{u, ro, ro, ro, rw}, att.Groups(o.NumHeads), a.u, q, ly.kc, ly.vc, out)
		})
	}
	t := a.tier(limit, 0)
	k := t.k
	splits := (limit + k.Split - 1) / k.Split
	partial := 4*qdim + 8*heads // one split's output, maximum and sum
	shape := fmt.Sprintf("%dx%dx%d", o.NumHeads, o.NumKVHeads, o.HeadDim)
	if splits == 1 {
		fin := k.Decode
		fin.Final = true
		role := fmt.Sprintf("attention, one split of %d", k.Split)
		return r.part(shape, role, func(pos int) int64 { return 8*qdim + kv(pos) }, func() error {
			bufs := append(append([]*runner.Buffer{t.u, q}, ly.caches()...), out)
			return r.add(fin, ops.FlashBindings(fin), fin.Groups(1, o.NumKVHeads), bufs...)
		})
	}
	role := fmt.Sprintf("attention, %d splits of %d", splits, k.Split)
	err := r.part(shape, role, func(pos int) int64 { return 4*qdim + kv(pos) + int64(splits)*partial }, func() error {
		bufs := append(append([]*runner.Buffer{t.u, q}, ly.caches()...), a.opart, a.mlart)
		return r.add(k.Decode, ops.FlashBindings(k.Decode), k.Decode.Groups(splits, o.NumKVHeads), bufs...)
	})
	if err != nil {
		return err
	}
	used := func(pos int) int64 { return int64(pos/k.Split + 1) }
	return r.part(shape, role, func(pos int) int64 { return used(pos)*partial + 4*qdim }, func() error {
		return r.add(k.Reduce, []runner.Binding{u, ro, ro, rw}, k.Reduce.Groups(o.NumHeads), t.u, a.opart, a.mlart, out)
	})
}

// set writes the uniform for the query at pos, of the program that
// takes it.
func (a decodeAttention) set(g *GPU, pos int) error {
	u, words := a.uniformAt(g, pos)
	return u.Write(0, u32Bytes(words))
}

// uniformAt is the uniform a step at pos reads its attention's position
// from, and what it holds there.
func (a decodeAttention) uniformAt(g *GPU, pos int) (*runner.Buffer, []uint32) {
	o := g.m.Options
	if a.tiers == nil {
		return a.u, []uint32{uint32(o.NumHeads), uint32(o.NumKVHeads), uint32(o.HeadDim), uint32(pos + 1)}
	}
	t := a.tier(0, pos)
	return t.u, g.attnUniform(1, pos, t.k.Split)
}
