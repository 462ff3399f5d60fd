package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// The fused kernels of the decode and prefill loops (templates/decode.go:
// QKVRope, AddRMSNorm, PackedSwiGLU, EmbedQuant, CopyRange; the two-stage
// argmax of templates/argmaxsplit.go, in argmaxsplit.go) are stated here
// by the block references they fuse, and checked on runs built like
// BlockCases': fixed seeds, ragged shapes for every workgroup size, exact
// words where the arithmetic is the same and the block kernels' tolerances
// where it is not.

// FusedBindings lists a fused kernel's bindings in order, as its doc
// comment in package templates states them. It panics on a kernel of
// another family.
func FusedBindings(k templates.Kernel) []runner.Binding {
	u, r, w := runner.Uniform, runner.ReadOnly, runner.ReadWrite
	switch k := k.(type) {
	case templates.QKVRope:
		if k.Freqs {
			return []runner.Binding{u, u, r, w, w, w, r}
		}
		return []runner.Binding{u, u, r, w, w, w}
	case templates.AddRMSNorm:
		return []runner.Binding{u, w, r, r, w}
	case templates.PackedSwiGLU, templates.CopyRange, templates.ArgmaxParts, templates.ArgmaxMerge:
		return []runner.Binding{u, r, w}
	case templates.EmbedQuant:
		if k.Asym {
			return []runner.Binding{u, r, r, r, w, r}
		}
		return []runner.Binding{u, r, r, r, w}
	}
	panic(fmt.Sprintf("ops: %s is not a fused kernel", k.Name()))
}

// FusedCases are the checked runs of a fused kernel (see BlockCase.Check,
// with the kernel compiled with FusedBindings).
func FusedCases(k templates.Kernel) ([]BlockCase, error) {
	var cs []BlockCase
	switch k := k.(type) {
	case templates.QKVRope:
		for _, s := range []struct {
			heads, kvHeads, headDim, ropeDim, rows, pos, seq int
			theta                                            float32
		}{
			{4, 2, 12, 8, 3, 5, 10, 10000},     // partial rotary, grouped kv heads, a batch
			{8, 8, 64, 64, 1, 300, 302, 10000}, // one token late in the sequence
			{6, 2, 32, 32, 5, 0, 7, 500000},    // a prompt from position 0
			{1, 1, 2, 2, 1, 0, 1, 10000},       // one pair of each
		} {
			var freqs []float32
			if k.Freqs {
				var err error
				if freqs, err = Llama3RopeFreqs(s.ropeDim, float64(s.theta), 8, 1, 4, 64); err != nil {
					return nil, err
				}
			}
			cs = append(cs, QKVRopeCase(k, s.heads, s.kvHeads, s.headDim, s.ropeDim, s.rows, s.pos, s.seq, s.theta, freqs))
		}
	case templates.AddRMSNorm:
		for _, s := range []struct {
			rows, n int
			scale   float32
		}{{3, 100, 2}, {1, 1, 2}, {2, 600, 2}, {2, 172, 0.003}} {
			cs = append(cs, AddRMSNormCase(k, s.rows, s.n, s.scale))
		}
	case templates.PackedSwiGLU:
		for _, s := range []struct{ rows, n int }{{3, 70}, {1, 1}, {2, 1000}} {
			cs = append(cs, PackedSwiGLUCase(k, s.rows, s.n))
		}
	case templates.EmbedQuant:
		tokens := []int{7, 0, 9, 5, 6}
		for _, g := range []int{32, 128, 0} {
			f := quant.Format{Bits: k.Bits, Group: g, Asym: k.Asym}
			// A table split in two parts: each writes only its tokens' rows.
			for _, part := range [][2]int{{0, 6}, {6, 10}} {
				c, err := EmbedQuantCase(k, f, 10, 128, tokens, part[0], part[1])
				if err != nil {
					return nil, err
				}
				cs = append(cs, c)
			}
		}
		// A token repeated, one group per row.
		c, err := EmbedQuantCase(k, quant.Format{Bits: k.Bits, Group: 32, Asym: k.Asym}, 3, 32, []int{2, 2, 0}, 0, 3)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	case templates.CopyRange:
		for _, s := range []struct{ n, src, dst, srcOff, dstOff int }{{37, 64, 50, 11, 5}, {1, 1, 3, 0, 2}, {1000, 1000, 1003, 0, 3}} {
			cs = append(cs, CopyRangeCase(k, s.n, s.src, s.dst, s.srcOff, s.dstOff))
		}
	case templates.ArgmaxParts:
		cs = argmaxPartsCases(k)
	case templates.ArgmaxMerge:
		cs = argmaxMergeCases(k)
	default:
		return nil, fmt.Errorf("ops: no fused cases for %s", k.Name())
	}
	return cs, nil
}

// QKVRopeRef splits rows of [q | k | v] (rows of qkv, each q_dim + 2
// kv_dim wide) as QKVRope does: row r's q and k rotated by RopeRef (by
// RopeFreqsRef with freqs, where freqs is not nil) at position pos+r
// (adjacent pairs), q to row r of q, k and v to position pos+r of the
// caches.
func QKVRopeRef(q, kcache, vcache, qkv []float32, heads, kvHeads, headDim, ropeDim, pos int, theta float32, freqs []float32) {
	qdim, kvdim := heads*headDim, kvHeads*headDim
	width := qdim + 2*kvdim
	for r := 0; r+width <= len(qkv); r += width {
		row, p := qkv[r:r+width], pos+r/width
		qr, kc := q[r/width*qdim:][:qdim], kcache[p*kvdim:][:kvdim]
		copy(qr, row[:qdim])
		copy(kc, row[qdim:qdim+kvdim])
		copy(vcache[p*kvdim:][:kvdim], row[qdim+kvdim:])
		if freqs != nil {
			RopeFreqsRef(qr, heads, headDim, ropeDim, p, theta, freqs, false)
			RopeFreqsRef(kc, kvHeads, headDim, ropeDim, p, theta, freqs, false)
			continue
		}
		RopeRef(qr, heads, headDim, ropeDim, p, theta, false)
		RopeRef(kc, kvHeads, headDim, ropeDim, p, theta, false)
	}
}

// ropePairTol is RopeCase's bound on an element of pair i of ropeDim
// turned at pos by theta, the pair's elements of magnitudes summing to
// mag, with one ULP of the angle more for a division by a frequency factor
// of at least 1 (freqs).
func ropePairTol(i, ropeDim, pos int, theta float32, mag float64, freqs bool) float64 {
	e := float64(2*i) / float64(ropeDim)
	angle := float64(pos) * math.Pow(float64(theta), -e)
	ulps := 2*(3+2*e*math.Log2(float64(theta))) + 4
	if freqs {
		ulps++
	}
	return mag*(angle*ulps*unitRoundoff+2*ropeSinCos) + 8*unitRoundoff*mag
}

// ropeRowTols sets the tolerances of one packed q, k, v row x at position
// pos whose elements carry the input errors in (nil: exact): an element of
// a rotated pair within the sum of the pair's input errors and
// ropePairTol, any other within its own; q's into tolQ, k's into tolK at
// pos (kvdim per position).
func ropeRowTols(tolQ, tolK []float64, x []float32, in []float64, qdim, kvdim, headDim, ropeDim, pos int, theta float32, freqs bool) {
	err := func(e int) float64 {
		if in == nil {
			return 0
		}
		return in[e]
	}
	for e := 0; e < qdim+kvdim; e += 2 {
		t0, t1 := err(e), err(e+1)
		if d := e % headDim; d < ropeDim {
			rt := ropePairTol(d/2, ropeDim, pos, theta, math.Abs(float64(x[e]))+math.Abs(float64(x[e+1])), freqs)
			t0, t1 = t0+t1+rt, t0+t1+rt
		}
		if e < qdim {
			tolQ[e], tolQ[e+1] = t0, t1
		} else {
			o := pos*kvdim + e - qdim
			tolK[o], tolK[o+1] = t0, t1
		}
	}
}

// QKVRopeCase splits rows rows of values in [-1, 1) at positions pos..
// into caches of seq positions whose earlier positions hold values and
// later ones the sentinel, both of which must survive. Rotated elements
// are within RopeCase's bound; the rest are copies, exact. freqs (nil
// unless k has Freqs) divides the angles.
func QKVRopeCase(k templates.QKVRope, heads, kvHeads, headDim, ropeDim, rows, pos, seq int, theta float32, freqs []float32) BlockCase {
	r := rand.New(rand.NewPCG(uint64(heads*headDim)<<20|uint64(rows), uint64(pos)))
	qdim, kvdim := heads*headDim, kvHeads*headDim
	width := qdim + 2*kvdim
	qkv := scaled(r, rows*width, 1)
	kc, vc := SentinelWords(seq*kvdim), SentinelWords(seq*kvdim)
	copy(kc, F32Words(scaled(r, pos*kvdim, 1)))
	copy(vc, F32Words(scaled(r, pos*kvdim, 1)))
	q := make([]float32, rows*qdim)
	kf, vf := make([]float32, seq*kvdim), make([]float32, seq*kvdim)
	QKVRopeRef(q, kf, vf, qkv, heads, kvHeads, headDim, ropeDim, pos, theta, freqs)
	wantK, wantV := append([]uint32(nil), kc...), append([]uint32(nil), vc...)
	copy(wantK[pos*kvdim:], F32Words(kf[pos*kvdim:(pos+rows)*kvdim]))
	copy(wantV[pos*kvdim:], F32Words(vf[pos*kvdim:(pos+rows)*kvdim]))
	tolQ, tolK := make([]float64, len(q)), make([]float64, len(kc))
	for row := range rows {
		ropeRowTols(tolQ[row*qdim:], tolK, qkv[row*width:], nil, qdim, kvdim, headDim, ropeDim, pos+row, theta, freqs != nil)
	}
	c := BlockCase{Name: fmt.Sprintf("heads=%d/kv=%d/hd=%d/rope=%d/rows=%d/pos=%d", heads, kvHeads, headDim, ropeDim, rows, pos),
		Groups: k.Groups(rows, width), Bufs: []BlockBuffer{
			{Name: "dims", Data: UniformWords(uint32(heads), uint32(kvHeads), uint32(headDim), uint32(ropeDim))},
			{Name: "step", Data: UniformWords(math.Float32bits(theta), uint32(pos), uint32(rows))},
			{Name: "qkv", Data: F32Words(qkv)},
			{Name: "q", Data: SentinelWords(len(q)), Want: F32Words(q), Tol: tolQ},
			{Name: "kcache", Data: kc, Want: wantK, Tol: tolK},
			{Name: "vcache", Data: vc, Want: wantV},
		}}
	if freqs != nil {
		c.Bufs = append(c.Bufs, BlockBuffer{Name: "freqs", Data: F32Words(freqs)})
	}
	return c
}

// AddRMSNormCase adds rows of n values in [-scale, scale) into as many and
// normalises the sums with a weight in [-1.5, 1.5): the sums exactly as
// AddRef, the output as RMSNormRef of them within RMSNormCase's bound.
func AddRMSNormCase(k templates.AddRMSNorm, rows, n int, scale float32) BlockCase {
	r := rand.New(rand.NewPCG(uint64(rows)<<32|uint64(n), 67))
	x, y, w := scaled(r, rows*n, scale), scaled(r, rows*n, scale), scaled(r, n, 1.5)
	sum := append([]float32(nil), x...)
	AddRef(sum, y)
	want := make([]float32, len(x))
	RMSNormRef(want, sum, w, rmsEps)
	tol := make([]float64, len(want))
	for i, v := range want {
		tol[i] = math.Abs(float64(v)) * float64(2*n+32) * unitRoundoff
	}
	return BlockCase{Name: fmt.Sprintf("rows=%d/n=%d/scale=%g", rows, n, scale), Groups: k.Groups(rows), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(n), math.Float32bits(rmsEps), uint32(rows))},
		{Name: "x", Data: F32Words(x), Want: F32Words(sum)},
		{Name: "y", Data: F32Words(y)},
		{Name: "weight", Data: F32Words(w)},
		{Name: "out", Data: SentinelWords(len(x)), Want: F32Words(want), Tol: tol},
	}}
}

// PackedSwiGLURef sets each row of n in out to SwiGLURef of that row of gu
// ([gate | up], 2n wide).
func PackedSwiGLURef(out, gu []float32, n int) {
	for r := 0; 2*r+2*n <= len(gu); r += n {
		copy(out[r:r+n], gu[2*r:2*r+n])
		SwiGLURef(out[r:r+n], gu[2*r+n:2*r+2*n])
	}
}

// PackedSwiGLUCase gates rows of n values in [-8, 8) by n in [-2, 2):
// SwiGLUCase's bound.
func PackedSwiGLUCase(k templates.PackedSwiGLU, rows, n int) BlockCase {
	r := rand.New(rand.NewPCG(uint64(rows)<<32|uint64(n), 71))
	gu := make([]float32, 0, 2*rows*n)
	for range rows {
		gu = append(append(gu, scaled(r, n, 8)...), scaled(r, n, 2)...)
	}
	want := make([]float32, rows*n)
	PackedSwiGLURef(want, gu, n)
	tol := make([]float64, len(want))
	for i := range want {
		g := gu[i/n*2*n+i%n]
		tol[i] = math.Abs(float64(want[i])) * (3 + 2*math.Abs(float64(g)) + 8) * unitRoundoff
	}
	return BlockCase{Name: fmt.Sprintf("rows=%d/n=%d", rows, n), Groups: k.Groups(rows * n), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(n), uint32(rows))},
		{Name: "gu", Data: F32Words(gu)},
		{Name: "out", Data: SentinelWords(len(want)), Want: F32Words(want), Tol: tol},
	}}
}

// EmbedQuantRef sets row r of out (rows of t.Cols) to EmbedQRef of
// tokens[r] for the tokens in lo..hi-1, and leaves the other rows alone:
// what one part of a table split by rows writes.
func EmbedQuantRef(out []float32, t *quant.Tensor, tokens []int, lo, hi int) {
	for r, tok := range tokens {
		if tok >= lo && tok < hi {
			EmbedQRef(out[r*t.Cols:(r+1)*t.Cols], t, tok)
		}
	}
}

// EmbedQuantCase looks tokens up in rows lo..hi-1 of a random vocab x dim
// table in format f, bound as a part of its own: rows of other tokens must
// stay the sentinel. Tolerance as EmbedQCase's.
func EmbedQuantCase(k templates.EmbedQuant, f quant.Format, vocab, dim int, tokens []int, lo, hi int) (BlockCase, error) {
	if f.Bits != k.Bits || f.Asym != k.Asym {
		return BlockCase{}, fmt.Errorf("ops: format %s for embedquant %s", f, k)
	}
	r := rand.New(rand.NewPCG(uint64(vocab)<<32|uint64(dim), uint64(f.Bits)))
	t, err := randomTensor(r, f, vocab, dim)
	if err != nil {
		return BlockCase{}, err
	}
	out := make([]float32, len(tokens)*dim)
	for i := range out {
		out[i] = math.Float32frombits(Sentinel)
	}
	EmbedQuantRef(out, t, tokens, lo, hi)
	want := F32Words(out)
	wpr, glen := t.WordsPerRow(), f.GroupLen(dim)
	gpr := dim / glen
	var tol []float64
	if f.Asym {
		tol = make([]float64, len(want))
		per := 32 / f.Bits
		for i, tok := range tokens {
			if tok < lo || tok >= hi {
				continue
			}
			for c := range dim {
				u := t.Words[tok*wpr+c/per] >> (c % per * f.Bits) & (1<<f.Bits - 1)
				s := t.Scales[tok*gpr+c/glen]
				tol[i*dim+c] = 2 * unitRoundoff * (math.Abs(float64(u)*float64(s)) + math.Abs(float64(out[i*dim+c])))
			}
		}
	}
	ids := make([]uint32, len(tokens))
	for i, tok := range tokens {
		ids[i] = uint32(tok)
	}
	bufs := []BlockBuffer{
		{Name: "dims", Data: []uint32{uint32(dim), uint32(glen), uint32(len(tokens)), uint32(lo), uint32(hi - lo), 0, 0, 0}},
		{Name: "tokens", Data: ids},
		{Name: "words", Data: t.Words[lo*wpr : hi*wpr]},
		{Name: "scales", Data: F32Words(t.Scales[lo*gpr : hi*gpr])},
		{Name: "out", Data: SentinelWords(len(want)), Want: want, Tol: tol},
	}
	if f.Asym {
		bufs = append(bufs, BlockBuffer{Name: "mins", Data: F32Words(t.Mins[lo*gpr : hi*gpr])})
	}
	return BlockCase{Name: fmt.Sprintf("%s/vocab=%d/dim=%d/tokens=%d/part=%d-%d", f, vocab, dim, len(tokens), lo, hi),
		Groups: k.Groups(len(tokens) * dim), Bufs: bufs}, nil
}

// CopyRangeCase copies n of src values into dst values at the offsets:
// exact, and the rest of dst untouched.
func CopyRangeCase(k templates.CopyRange, n, srcLen, dstLen, srcOff, dstOff int) BlockCase {
	r := rand.New(rand.NewPCG(uint64(n), 73))
	src, dst := scaled(r, srcLen, 1), scaled(r, dstLen, 1)
	want := append([]float32(nil), dst...)
	copy(want[dstOff:dstOff+n], src[srcOff:srcOff+n])
	return BlockCase{Name: fmt.Sprintf("n=%d/src=%d/dst=%d", n, srcOff, dstOff), Groups: k.Groups(n), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(n), uint32(srcOff), uint32(dstOff))},
		{Name: "src", Data: F32Words(src)},
		{Name: "dst", Data: F32Words(dst), Want: F32Words(want)},
	}}
}

// GemvRopeCases are the checked runs of a GEMV with the rope epilogue
// (templates.Gemv.Rope; compiled with GemvBindingsFor): the product of
// GemvInputs (normalised as GemvFusionInputs says where k has Norm) is a
// token's packed q, k and v, split as QKVRopeRef splits it at the case's
// position into caches whose other positions hold the sentinel, which must
// survive. An element is within GemvFusedReference's tolerance of its row,
// a rotated one within the sum of its pair's plus RopeCase's bound.
func GemvRopeCases(k templates.Gemv) ([]BlockCase, error) {
	if !k.Rope {
		return nil, fmt.Errorf("ops: %s has no rope epilogue", k)
	}
	f := quant.Format{Bits: k.Bits, Group: k.Group, Asym: k.Asym}
	g := max(128, k.Group, k.Elems())
	var cs []BlockCase
	for _, c := range []struct {
		heads, kvHeads, headDim, ropeDim, pos, seq, cols int
		theta                                            float32
	}{
		{4, 2, 16, 16, 5, 8, g, 10000},         // grouped kv heads
		{3, 3, 12, 8, 300, 302, 2 * g, 500000}, // partial rotary late in the sequence; rows not a multiple of most row counts
		{2, 1, 8, 8, 0, 1, g, 10000},           // position 0
	} {
		qdim, kvdim := c.heads*c.headDim, c.kvHeads*c.headDim
		s := GemvShape{Rows: qdim + 2*kvdim, Cols: c.cols}
		var freqs []float32
		if k.RopeFreqs {
			var err error
			if freqs, err = Llama3RopeFreqs(c.ropeDim, float64(c.theta), 8, 1, 4, 64); err != nil {
				return nil, err
			}
		}
		t, x, err := GemvInputs(s, f)
		if err != nil {
			return nil, err
		}
		fu := GemvFusionInputs(s)
		vals, tols := make([]float32, s.Rows), make([]float64, s.Rows)
		row := make([]float32, s.Cols)
		for r := range s.Rows {
			want, tol := GemvFusedReference(t, x, fu, k, r, row)
			vals[r], tols[r] = float32(want), tol+unitRoundoff*math.Abs(want)
		}
		q := make([]float32, qdim)
		kf, vf := make([]float32, c.seq*kvdim), make([]float32, c.seq*kvdim)
		QKVRopeRef(q, kf, vf, vals, c.heads, c.kvHeads, c.headDim, c.ropeDim, c.pos, c.theta, freqs)
		tolQ, tolK, tolV := make([]float64, qdim), make([]float64, c.seq*kvdim), make([]float64, c.seq*kvdim)
		ropeRowTols(tolQ, tolK, vals, tols, qdim, kvdim, c.headDim, c.ropeDim, c.pos, c.theta, freqs != nil)
		copy(tolV[c.pos*kvdim:], tols[qdim+kvdim:])
		wantK, wantV := SentinelWords(c.seq*kvdim), SentinelWords(c.seq*kvdim)
		copy(wantK[c.pos*kvdim:], F32Words(kf[c.pos*kvdim:(c.pos+1)*kvdim]))
		copy(wantV[c.pos*kvdim:], F32Words(vf[c.pos*kvdim:(c.pos+1)*kvdim]))
		dims := GemvUniform(k, s.Rows, s.Cols, t.GroupLen(s.Cols), 0, fu.Eps, 0, s.Cols)
		qb := BlockBuffer{Name: "q", Data: SentinelWords(qdim), Want: F32Words(q), Tol: tolQ}
		bufs := append(gemvCaseBuffers(k, dims, t, x, qb, fu),
			BlockBuffer{Name: "rope", Data: UniformWords(uint32(c.heads), uint32(c.kvHeads), uint32(c.headDim), uint32(c.ropeDim))},
			BlockBuffer{Name: "step", Data: UniformWords(math.Float32bits(c.theta), uint32(c.pos), 1)},
			BlockBuffer{Name: "kcache", Data: SentinelWords(c.seq * kvdim), Want: wantK, Tol: tolK},
			BlockBuffer{Name: "vcache", Data: SentinelWords(c.seq * kvdim), Want: wantV, Tol: tolV},
		)
		if freqs != nil {
			bufs = append(bufs, BlockBuffer{Name: "freqs", Data: F32Words(freqs)})
		}
		cs = append(cs, BlockCase{Name: fmt.Sprintf("heads=%d/kv=%d/hd=%d/rope=%d/pos=%d/cols=%d", c.heads, c.kvHeads, c.headDim, c.ropeDim, c.pos, c.cols),
			Groups: k.Groups(s.Rows), Bufs: bufs})
	}
	return cs, nil
}

// Llama4Temperature is Llama 4's attention temperature at pos on NoPE
// layers, log(floor((pos+1)/floorScale) + 1) * scale + 1, as the CPU
// forward pass and QKVHead compute it.
func Llama4Temperature(pos int, floorScale, scale float32) float32 {
	return float32(math.Log(math.Floor(float64(pos+1)/float64(floorScale))+1)*float64(scale) + 1)
}

// QKVHeadRef is templates.QKVHead for one row of packed q, k, v at pos:
// QKVRopeRef where ropeDim > 0, then with qknorm each q and k head
// RMS-normalised without a weight, then q scaled by Llama4Temperature.
func QKVHeadRef(q, kcache, vcache, qkv []float32, heads, kvHeads, headDim, ropeDim, pos int, theta float32, freqs []float32, qknorm bool, eps, tempFloor, tempScale float32) {
	qdim, kvdim := heads*headDim, kvHeads*headDim
	copy(q, qkv[:qdim])
	kc := kcache[pos*kvdim:][:kvdim]
	copy(kc, qkv[qdim:qdim+kvdim])
	copy(vcache[pos*kvdim:][:kvdim], qkv[qdim+kvdim:qdim+2*kvdim])
	if ropeDim > 0 {
		if freqs != nil {
			RopeFreqsRef(q, heads, headDim, ropeDim, pos, theta, freqs, false)
			RopeFreqsRef(kc, kvHeads, headDim, ropeDim, pos, theta, freqs, false)
		} else {
			RopeRef(q, heads, headDim, ropeDim, pos, theta, false)
			RopeRef(kc, kvHeads, headDim, ropeDim, pos, theta, false)
		}
	}
	if qknorm {
		ones := make([]float32, headDim)
		for i := range ones {
			ones[i] = 1
		}
		RMSNormRef(q, q, ones, eps)
		RMSNormRef(kc, kc, ones, eps)
	}
	t := Llama4Temperature(pos, tempFloor, tempScale)
	for i := range q {
		q[i] *= t
	}
}

// QKVHeadBindings are templates.QKVHead's bindings.
func QKVHeadBindings(k templates.QKVHead) []runner.Binding {
	b := []runner.Binding{runner.Uniform, runner.Uniform, runner.ReadOnly, runner.ReadWrite, runner.ReadWrite, runner.ReadWrite}
	if k.KV8 {
		b = append(b, runner.ReadWrite, runner.ReadWrite)
	}
	if k.Freqs {
		b = append(b, runner.ReadOnly)
	}
	return b
}

// kv8CacheBuffers are the int8 key and value caches of seq positions and
// their scales, all sentinel before a kernel stores the row of keys and
// values (kvHeads heads of headDim) at pos: checked with checkKV8Head
// against keys within kslack and values as they are, every other position
// untouched.
func kv8CacheBuffers(seq, kvHeads, headDim, pos int, keys []float32, kslack []float64, values []float32) []BlockBuffer {
	words, scales := seq*kvHeads*headDim/4, seq*kvHeads
	verify := func(row []float32, slack []float64, scaleName string) func([]uint32, map[string][]uint32) error {
		return func(got []uint32, written map[string][]uint32) error {
			sc := written[scaleName]
			codes := make([]int8, headDim)
			for i := range scales {
				p, g := i/kvHeads, i%kvHeads
				w := got[i*headDim/4:][:headDim/4]
				if p != pos {
					if sc[i] != Sentinel || slices.ContainsFunc(w, func(v uint32) bool { return v != Sentinel }) {
						return fmt.Errorf("position %d written", p)
					}
					continue
				}
				var sl []float64
				if slack != nil {
					sl = slack[g*headDim:][:headDim]
				}
				if err := checkKV8Head(w, sc[i], row[g*headDim:][:headDim], sl, codes); err != nil {
					return fmt.Errorf("position %d head %d: %w", p, g, err)
				}
			}
			return nil
		}
	}
	none := func([]uint32, map[string][]uint32) error { return nil } // checked with the codes
	return []BlockBuffer{
		{Name: "kcache", Data: SentinelWords(words), Want: SentinelWords(words), Verify: verify(keys, kslack, "kscale")},
		{Name: "vcache", Data: SentinelWords(words), Want: SentinelWords(words), Verify: verify(values, nil, "vscale")},
		{Name: "kscale", Data: SentinelWords(scales), Want: SentinelWords(scales), Verify: none},
		{Name: "vscale", Data: SentinelWords(scales), Want: SentinelWords(scales), Verify: none},
	}
}

// QKVHeadCases check k on a RoPE layer with q/k norm, a NoPE layer at a
// position where the temperature is above 1, and a partial rotation,
// against QKVHeadRef: each element within its pair's rotation bound
// (ropePairTol) times the norm's scale, plus the norm's (2 head_dim + 32)
// ULP and a few more for the temperature.
func QKVHeadCases(k templates.QKVHead) ([]BlockCase, error) {
	var cs []BlockCase
	for _, c := range []struct {
		heads, kvHeads, headDim, ropeDim, pos, seq int
		theta, tempScale                           float32
		qknorm                                     bool
	}{
		{4, 2, 64, 64, 5, 8, 500000, 0, true},
		{3, 1, 32, 0, 9000, 9001, 500000, 0.1, false},
		{2, 2, 128, 64, 300, 302, 10000, 0, true},
	} {
		qdim, kvdim := c.heads*c.headDim, c.kvHeads*c.headDim
		r := rand.New(rand.NewPCG(uint64(c.pos), uint64(c.headDim)))
		qkv := uniform(r, qdim+2*kvdim)
		var freqs []float32
		if k.Freqs {
			var err error
			if freqs, err = Llama3RopeFreqs(max(c.ropeDim, 2), float64(c.theta), 16, 1, 1, 8192); err != nil {
				return nil, err
			}
		}
		const eps, tempFloor = 1e-5, 8192
		q := make([]float32, qdim)
		kf, vf := make([]float32, c.seq*kvdim), make([]float32, c.seq*kvdim)
		QKVHeadRef(q, kf, vf, qkv, c.heads, c.kvHeads, c.headDim, c.ropeDim, c.pos, c.theta, freqs, c.qknorm, eps, tempFloor, c.tempScale)
		temp := float64(Llama4Temperature(c.pos, tempFloor, c.tempScale))
		tol := func(want []float32, in []float32, temp float64) []float64 {
			out := make([]float64, len(want))
			for h := 0; h < len(want); h += c.headDim {
				scale := 1.0
				if c.qknorm {
					var ss float64
					for _, v := range in[h : h+c.headDim] {
						ss += float64(v) * float64(v)
					}
					scale = 1 / math.Sqrt(ss/float64(c.headDim)+eps)
				}
				for d := 0; d < c.headDim; d++ {
					e := 0.0
					if d < c.ropeDim {
						p := h + d&^1
						e = ropePairTol(d/2, c.ropeDim, c.pos, c.theta, math.Abs(float64(in[p]))+math.Abs(float64(in[p+1])), freqs != nil)
					}
					out[h+d] = (e*scale+float64(2*c.headDim+40)*unitRoundoff*math.Abs(float64(want[h+d])))*temp + 1e-30
				}
			}
			return out
		}
		tolQ := tol(q, qkv[:qdim], temp)
		tolK := make([]float64, c.seq*kvdim)
		copy(tolK[c.pos*kvdim:], tol(kf[c.pos*kvdim:(c.pos+1)*kvdim], qkv[qdim:qdim+kvdim], 1))
		wantK, wantV := SentinelWords(c.seq*kvdim), SentinelWords(c.seq*kvdim)
		copy(wantK[c.pos*kvdim:], F32Words(kf[c.pos*kvdim:(c.pos+1)*kvdim]))
		copy(wantV[c.pos*kvdim:], F32Words(vf[c.pos*kvdim:(c.pos+1)*kvdim]))
		qknorm := uint32(0)
		if c.qknorm {
			qknorm = 1
		}
		bufs := []BlockBuffer{
			{Name: "dims", Data: []uint32{uint32(c.heads), uint32(c.kvHeads), uint32(c.headDim), uint32(c.ropeDim),
				math.Float32bits(eps), qknorm, math.Float32bits(tempFloor), math.Float32bits(c.tempScale)}},
			{Name: "step", Data: UniformWords(math.Float32bits(c.theta), uint32(c.pos), 1)},
			{Name: "qkv", Data: F32Words(qkv)},
			{Name: "q", Data: SentinelWords(qdim), Want: F32Words(q), Tol: tolQ},
			{Name: "kcache", Data: SentinelWords(c.seq * kvdim), Want: wantK, Tol: tolK},
			{Name: "vcache", Data: SentinelWords(c.seq * kvdim), Want: wantV},
		}
		if k.KV8 {
			at := func(v []float32) []float32 { return v[c.pos*kvdim : (c.pos+1)*kvdim] }
			bufs = append(bufs[:4], kv8CacheBuffers(c.seq, c.kvHeads, c.headDim, c.pos, at(kf), tolK[c.pos*kvdim:(c.pos+1)*kvdim], at(vf))...)
		}
		if freqs != nil {
			bufs = append(bufs, BlockBuffer{Name: "freqs", Data: F32Words(freqs)})
		}
		cs = append(cs, BlockCase{Name: fmt.Sprintf("heads=%d/kv=%d/hd=%d/rope=%d/pos=%d/qknorm=%t", c.heads, c.kvHeads, c.headDim, c.ropeDim, c.pos, c.qknorm),
			Groups: k.Groups(1, c.heads+2*c.kvHeads), Bufs: bufs})
	}
	return cs, nil
}
