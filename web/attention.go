package web

import (
	"fmt"
	"math/rand/v2"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/templates"
)

// attnShape reads an attention entry's shape [SEQ, HEADS, KV_HEADS,
// HEAD_DIM] and its cache format.
func attnShape(e profiles.Entry) (ops.AttnShape, error) {
	if len(e.Shape) != 4 {
		return ops.AttnShape{}, fmt.Errorf("shape %v: want [SEQ, HEADS, KV_HEADS, HEAD_DIM]", e.Shape)
	}
	var kv8 bool
	switch e.Dtype {
	case "f32":
	case "kv-int8":
		kv8 = true
	default:
		return ops.AttnShape{}, fmt.Errorf("dtype %q: attention caches are f32 or kv-int8", e.Dtype)
	}
	s, err := ops.ParseAttnShapes(shapeString(e.Shape), kv8)
	if err != nil {
		return ops.AttnShape{}, err
	}
	return s[0], nil
}

// attnBuffers are the uniform, the queries and the caches of call a: f32
// rows of kv_heads*head_dim, or with kv8 the codes packed four to a word
// and one scale per position and key/value head (ops.KV8), in the order
// the flash kernels bind them (ops.FlashBindings).
func attnBuffers(a ops.Attn, kv8 bool) ([]Buffer, error) {
	rows := a.QPos + a.QLen
	wq, err := words(a.QLen, a.Heads*a.HeadDim)
	if err != nil {
		return nil, err
	}
	wc, err := words(rows, a.KVDim())
	if err != nil {
		return nil, err
	}
	bufs := []Buffer{
		{Name: "dims", Type: "u32", Words: 8, Uniform: a.Uniform()},
		{Name: "q", Type: "f32", Words: wq, Layout: rowMajor(a.QLen, a.Heads*a.HeadDim)},
	}
	if !kv8 {
		return append(bufs,
			Buffer{Name: "kcache", Type: "f32", Words: wc, Layout: rowMajor(rows, a.KVDim())},
			Buffer{Name: "vcache", Type: "f32", Words: wc, Layout: rowMajor(rows, a.KVDim())}), nil
	}
	return append(bufs,
		Buffer{Name: "kcache", Type: "u32", Words: wc / 4},
		Buffer{Name: "vcache", Type: "u32", Words: wc / 4},
		Buffer{Name: "kscale", Type: "f32", Words: rows * a.KVHeads, Layout: rowMajor(rows, a.KVHeads)},
		Buffer{Name: "vscale", Type: "f32", Words: rows * a.KVHeads, Layout: rowMajor(rows, a.KVHeads)}), nil
}

// attnInputs draws the queries and caches of call a as ops's flash
// evaluators do (the same seed and ranges), and returns them by buffer
// name with the cache values the kernels compute with (dequantized with
// kv8) for the reference.
func attnInputs(a ops.Attn, kv8 bool) (files map[string][]uint32, q, kc, vc []float32) {
	r := rand.New(rand.NewPCG(uint64(a.QPos+a.QLen)<<20|uint64(a.Heads), uint64(a.HeadDim)))
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 2*r.Float32() - 1
		}
		return v
	}
	// Queries span a wider range so that softmax is peaked as well as flat.
	q = fill(a.QLen * a.Heads * a.HeadDim)
	for i := range q {
		q[i] *= 4
	}
	rows := a.QPos + a.QLen
	kc, vc = fill(rows*a.KVDim()), fill(rows*a.KVDim())
	files = map[string][]uint32{"q": ops.F32Words(q)}
	if !kv8 {
		files["kcache"], files["vcache"] = ops.F32Words(kc), ops.F32Words(vc)
		return files, q, kc, vc
	}
	kq, vq := ops.QuantizeKV8(kc, a.KVHeads, a.HeadDim), ops.QuantizeKV8(vc, a.KVHeads, a.HeadDim)
	files["kcache"], files["vcache"] = kq.Words, vq.Words
	files["kscale"], files["vscale"] = ops.F32Words(kq.Scales), ops.F32Words(vq.Scales)
	return files, q, kq.Dequantize(a.HeadDim), vq.Dequantize(a.HeadDim)
}

// attnCheck checks every element of the listed queries of out (buffer
// index buf) against ops.CausalAttentionRef, query by query, as ops's
// flash evaluators check their timed shape.
func attnCheck(a ops.Attn, buf, guard int, queries []int, q, kc, vc []float32) Check {
	dim := a.Heads * a.HeadDim
	c := Check{Buffer: buf, Elements: a.QLen * dim, Guard: guard, Fill: ops.Sentinel}
	want := make([]float32, dim)
	for _, i := range queries {
		one := a
		one.QLen, one.QPos = 1, a.QPos+i
		qi := q[i*dim : (i+1)*dim]
		ops.CausalAttentionRef(want, qi, kc, vc, one)
		tol := ops.CausalAttentionTolerance(qi, kc, vc, one)
		for j, w := range want {
			c.Index = append(c.Index, i*dim+j)
			c.Want, c.Tol = append(c.Want, float64(w)), append(c.Tol, tol[j])
		}
	}
	return c
}

// attnKinds are the bindings of the caches after the queries.
func attnKinds(kv8 bool) []string {
	if kv8 {
		return []string{ReadOnly, ReadOnly, ReadOnly, ReadOnly}
	}
	return []string{ReadOnly, ReadOnly}
}

// planPrefill: flash attention over Seq queries from position 0, checked
// on a sample of queries, every element of each.
func planPrefill(e profiles.Entry) (*job, error) {
	s, err := attnShape(e)
	if err != nil {
		return nil, err
	}
	pt, err := point(ops.PrefillSpace(s.HeadDim, s.KV8, anyLimits), e)
	if err != nil {
		return nil, err
	}
	kern := ops.PrefillParams(pt, s.HeadDim, s.KV8)
	if err := kern.Check(); err != nil {
		return nil, err
	}
	a := ops.Attn{Heads: s.Heads, KVHeads: s.KVHeads, HeadDim: s.HeadDim, QLen: s.Seq}
	if err := a.Check(); err != nil {
		return nil, err
	}
	bufs, err := attnBuffers(a, s.KV8)
	if err != nil {
		return nil, err
	}
	wo, err := words(a.QLen, a.Heads*a.HeadDim)
	if err != nil {
		return nil, err
	}
	const guard = 1024
	out := len(bufs)
	bufs = append(bufs, Buffer{Name: "out", Type: "f32", Words: wo + guard, Fill: sentinel(), Layout: rowMajor(a.QLen, a.Heads*a.HeadDim)})
	kinds := append(append([]string{Uniform, ReadOnly}, attnKinds(s.KV8)...), ReadWrite)
	j := &job{kerns: []templates.Kernel{kern}}
	j.k = Kernel{
		Dims:       []string{"SEQ", "HEADS", "KV_HEADS", "HEAD_DIM"},
		Buffers:    bufs,
		Dispatches: single(kern.Groups(a.QLen, a.Heads), kinds...),
		Work:       ops.AttentionFLOPs(a), Unit: "FLOP/s",
	}
	j.outputs = func() (map[string][]uint32, []Check, error) {
		files, q, kc, vc := attnInputs(a, s.KV8)
		queries := checkAll(a.QLen, 8, func() []int { return ops.SampleRows(a.QLen, 8) })
		return files, []Check{attnCheck(a, out, guard, queries, q, kc, vc)}, nil
	}
	return j, nil
}

// planDecode: split decode attention for one query seeing Seq positions,
// two dispatches in order: flash-decode writes each split's partial output,
// maximum and sum, and flash-reduce combines them. Every output element is
// checked.
func planDecode(e profiles.Entry) (*job, error) {
	s, err := attnShape(e)
	if err != nil {
		return nil, err
	}
	g := s.Heads / s.KVHeads
	pt, err := point(ops.DecodeSpace(s.HeadDim, g, s.KV8, anyLimits), e)
	if err != nil {
		return nil, err
	}
	dk := ops.DecodeParams(pt, s.HeadDim, g, s.KV8)
	if err := dk.Check(); err != nil {
		return nil, err
	}
	a := ops.Attn{Heads: s.Heads, KVHeads: s.KVHeads, HeadDim: s.HeadDim, QLen: 1, QPos: s.Seq - 1, Split: dk.Split}
	if err := a.Check(); err != nil {
		return nil, err
	}
	if a.Splits() > templates.FlashMaxSplits {
		return nil, fmt.Errorf("split %d of %d positions makes %d splits, more than %d", a.Split, s.Seq, a.Splits(), templates.FlashMaxSplits)
	}
	bufs, err := attnBuffers(a, s.KV8)
	if err != nil {
		return nil, err
	}
	parts := a.Splits() * a.Heads
	caches := len(bufs) - 2
	opart, mlpart, out := len(bufs), len(bufs)+1, len(bufs)+2
	const guard = 1024
	bufs = append(bufs,
		Buffer{Name: "opart", Type: "f32", Words: parts * a.HeadDim, Fill: sentinel()},
		Buffer{Name: "mlpart", Type: "f32", Words: 2 * parts, Fill: sentinel()},
		Buffer{Name: "out", Type: "f32", Words: a.Heads*a.HeadDim + guard, Fill: sentinel()})
	dec := Dispatch{Bindings: []Binding{{Buffer: 0, Kind: Uniform}, {Buffer: 1, Kind: ReadOnly}}}
	for c := range caches {
		dec.Bindings = append(dec.Bindings, Binding{Buffer: 2 + c, Kind: ReadOnly})
	}
	dec.Bindings = append(dec.Bindings, Binding{Buffer: opart, Kind: ReadWrite}, Binding{Buffer: mlpart, Kind: ReadWrite})
	red := Dispatch{Bindings: []Binding{{Buffer: 0, Kind: Uniform}, {Buffer: opart, Kind: ReadOnly}, {Buffer: mlpart, Kind: ReadOnly}, {Buffer: out, Kind: ReadWrite}}}
	for _, d := range []*Dispatch{&dec, &red} {
		for i := range d.Bindings {
			d.Bindings[i].Index = i
		}
	}
	gd, gr := dk.Decode.Groups(a.Splits(), a.KVHeads), dk.Reduce.Groups(a.Heads)
	dec.Groups = [3]int{int(gd[0]), int(gd[1]), int(gd[2])}
	red.Groups = [3]int{int(gr[0]), int(gr[1]), int(gr[2])}
	// The work is what the timed decode reads of the caches: the positions
	// the query sees, and with kv8 their scales, as ops counts it.
	per := 4.0
	if s.KV8 {
		per = 1
	}
	work := 2 * float64(s.Seq) * float64(a.KVDim()) * per
	if s.KV8 {
		work += 2 * float64(s.Seq) * float64(a.KVHeads) * 4
	}
	j := &job{kerns: []templates.Kernel{dk.Decode, dk.Reduce}}
	j.k = Kernel{
		Dims:       []string{"SEQ", "HEADS", "KV_HEADS", "HEAD_DIM"},
		Buffers:    bufs,
		Dispatches: []Dispatch{dec, red},
		Work:       work, Unit: "B/s",
	}
	j.outputs = func() (map[string][]uint32, []Check, error) {
		files, q, kc, vc := attnInputs(a, s.KV8)
		return files, []Check{attnCheck(a, out, guard, []int{0}, q, kc, vc)}, nil
	}
	return j, nil
}
