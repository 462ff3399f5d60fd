package ops

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// Attn is an attention call as the flash kernels take it (templates.Attn):
// the heads, the queries' positions, and Llama 4's masks and scaling.
type Attn struct {
	Heads, KVHeads, HeadDim int
	QLen, QPos              int // queries, and the position of the first
	// Chunk, when not 0, lets a query at p see keys from (p/Chunk)*Chunk
	// only (Llama 4's chunked attention).
	Chunk int
	// FloorScale, when not 0, scales a query at p by
	// log(floor((p+1)/FloorScale)+1)*AttnScale + 1 (Llama 4's layers
	// without RoPE).
	FloorScale, AttnScale float32
	Split                 int // decode: positions per workgroup
}

// KVDim is the width of a cache row.
func (a Attn) KVDim() int { return a.KVHeads * a.HeadDim }

// FirstKey is the first key position a query at p sees.
func (a Attn) FirstKey(p int) int {
	if a.Chunk == 0 {
		return 0
	}
	return p / a.Chunk * a.Chunk
}

// Temperature is the factor a query at p is scaled by: 1 without
// temperature tuning.
func (a Attn) Temperature(p int) float32 {
	if a.FloorScale == 0 {
		return 1
	}
	f := float32(math.Floor(float64(float32(p+1) / a.FloorScale)))
	return float32(float32(math.Log(float64(f+1)))*a.AttnScale) + 1
}

// Splits is the number of decode workgroups per key/value head.
func (a Attn) Splits() int {
	p := a.QPos + a.QLen - 1
	return (p - a.FirstKey(p) + a.Split) / a.Split
}

// Uniform is the kernels' 32-byte uniform.
func (a Attn) Uniform() []uint32 {
	return []uint32{uint32(a.Heads), uint32(a.KVHeads), uint32(a.QLen), uint32(a.QPos), uint32(a.Chunk),
		uint32(a.Split), math.Float32bits(a.FloorScale), math.Float32bits(a.AttnScale)}
}

// Check reports an Attn the kernels cannot run.
func (a Attn) Check() error {
	switch {
	case a.Heads < 1 || a.KVHeads < 1 || a.Heads%a.KVHeads != 0:
		return fmt.Errorf("attention: %d heads over %d key/value heads", a.Heads, a.KVHeads)
	case a.QLen < 1 || a.QPos < 0:
		return fmt.Errorf("attention: %d queries from position %d", a.QLen, a.QPos)
	case a.Chunk < 0 || a.Split < 0:
		return fmt.Errorf("attention: chunk %d, split %d", a.Chunk, a.Split)
	}
	return nil
}

// CausalAttentionRef is attention for QLen queries (rows of heads*head_dim
// in q and out) at positions QPos.. over caches holding every position they
// see: each query at p, scaled by Temperature(p), against keys
// FirstKey(p)..p of its key/value head, as AttentionRef computes it.
func CausalAttentionRef(out, q, kcache, vcache []float32, a Attn) {
	dim := a.Heads * a.HeadDim
	a.eachQuery(q, kcache, vcache, func(i int, qs, kc, vc []float32, _ float32) {
		AttentionRef(out[i*dim:(i+1)*dim], qs, kc, vc, a.Heads, a.KVHeads, a.HeadDim, len(kc)/a.KVDim())
	})
}

// eachQuery calls f for each query i with its row scaled by its
// temperature t, and the cache rows it sees.
func (a Attn) eachQuery(q, kcache, vcache []float32, f func(i int, qs, kc, vc []float32, t float32)) {
	dim, kvDim := a.Heads*a.HeadDim, a.KVDim()
	qs := make([]float32, dim)
	for i := 0; i < a.QLen; i++ {
		p := a.QPos + i
		lo := a.FirstKey(p)
		t := a.Temperature(p)
		for j, v := range q[i*dim : (i+1)*dim] {
			qs[j] = v * t
		}
		f(i, qs, kcache[lo*kvDim:(p+1)*kvDim], vcache[lo*kvDim:(p+1)*kvDim], t)
	}
}

// CausalAttentionTolerance bounds |GPU - CausalAttentionRef| per output
// element, query by query, as AttentionTolerance does, plus the rounding of
// the temperature's log, which WGSL does not round correctly.
func CausalAttentionTolerance(q, kcache, vcache []float32, a Attn) []float64 {
	tol := make([]float64, 0, a.QLen*a.Heads*a.HeadDim)
	a.eachQuery(q, kcache, vcache, func(_ int, qs, kc, vc []float32, t float32) {
		row := AttentionTolerance(qs, kc, vc, a.Heads, a.KVHeads, a.HeadDim, len(kc)/a.KVDim())
		if t != 1 {
			// A relative error e in the temperature moves each score by e|s|
			// and an output by at most 2 e max|s| max|v|.
			var smax float64
			for _, v := range qs {
				smax += math.Abs(float64(v))
			}
			extra := 2 * 1e-5 * smax * absMax(kc) / math.Sqrt(float64(a.HeadDim)) * absMax(vc)
			for j := range row {
				row[j] += extra
			}
		}
		tol = append(tol, row...)
	})
	return tol
}

func absMax(v []float32) float64 {
	var m float64
	for _, x := range v {
		m = max(m, math.Abs(float64(x)))
	}
	return m
}

// AttentionFLOPs counts the multiply-adds of attention as 2 FLOPs each:
// 4 * head_dim per visible (query, key) pair and head.
func AttentionFLOPs(a Attn) float64 {
	var pairs float64
	for i := 0; i < a.QLen; i++ {
		p := a.QPos + i
		pairs += float64(p - a.FirstKey(p) + 1)
	}
	return 4 * float64(a.HeadDim) * float64(a.Heads) * pairs
}

// Quantize8Ref is KVStore8's contract for one row of one key/value head:
// scale = max|x| / 127, code = round-to-even(x / scale), 0 with a zero
// scale.
func Quantize8Ref(codes []int8, x []float32) (scale float32) {
	var mx float32
	for _, v := range x {
		mx = max(mx, float32(math.Abs(float64(v))))
	}
	scale = mx / 127
	for i, v := range x {
		if scale > 0 {
			codes[i] = int8(max(-127, min(127, math.RoundToEven(float64(v/scale)))))
		} else {
			codes[i] = 0
		}
	}
	return scale
}

// KV8 is an int8 cache as the kernels read it: codes packed four to a
// word, one scale per position and key/value head.
type KV8 struct {
	Words  []uint32
	Scales []float32
}

// QuantizeKV8 quantizes a cache (rows of kvHeads*headDim) as KVStore8 does.
func QuantizeKV8(cache []float32, kvHeads, headDim int) KV8 {
	rows := len(cache) / (kvHeads * headDim)
	c := KV8{Words: make([]uint32, len(cache)/4), Scales: make([]float32, rows*kvHeads)}
	codes := make([]int8, headDim)
	for r := 0; r < rows*kvHeads; r++ {
		c.Scales[r] = Quantize8Ref(codes, cache[r*headDim:(r+1)*headDim])
		for i := 0; i < headDim; i += 4 {
			c.Words[(r*headDim+i)/4] = uint32(uint8(codes[i])) | uint32(uint8(codes[i+1]))<<8 |
				uint32(uint8(codes[i+2]))<<16 | uint32(uint8(codes[i+3]))<<24
		}
	}
	return c
}

// Dequantize is the cache as f32 values, what the kernels compute with.
func (c KV8) Dequantize(headDim int) []float32 {
	out := make([]float32, 4*len(c.Words))
	for i, w := range c.Words {
		s := c.Scales[4*i/headDim]
		for j := 0; j < 4; j++ {
			out[4*i+j] = float32(int8(w>>(8*j))) * s
		}
	}
	return out
}

// FlashReduceRef is FlashReduce's contract, in float64: for each query
// head h, the a.Splits() partial outputs opart[(s*heads+h)*head_dim..]
// with their maxima and sums mlpart[(s*heads+h)*2], [..+1] rescaled to
// the largest maximum M, summed, and divided by the rescaled sums:
// out[h] = sum_s opart_s exp(m_s - M) / sum_s l_s exp(m_s - M).
func FlashReduceRef(out, opart, mlpart []float32, a Attn) {
	splits, hd := a.Splits(), a.HeadDim
	for h := 0; h < a.Heads; h++ {
		mx := math.Inf(-1)
		for s := 0; s < splits; s++ {
			mx = max(mx, float64(mlpart[(s*a.Heads+h)*2]))
		}
		var total float64
		o := make([]float64, hd)
		for s := 0; s < splits; s++ {
			at := s*a.Heads + h
			e := math.Exp(float64(mlpart[2*at]) - mx)
			total += float64(mlpart[2*at+1]) * e
			for d := range o {
				o[d] += float64(opart[at*hd+d]) * e
			}
		}
		for d, v := range o {
			out[h*hd+d] = float32(v / total)
		}
	}
}

// FlashReduceTolerance bounds |GPU - FlashReduceRef| per output element
// for the same partials: each exp(m_s - M) within (3 + 2|d|) ulp of its
// argument d (WGSL's bound for exp) after the subtraction's rounding, the
// sums of splits+1 terms in f32, the division within 2.5 ulp, and the
// final rounding; doubled.
func FlashReduceTolerance(opart, mlpart []float32, a Attn) []float64 {
	splits, hd := a.Splits(), a.HeadDim
	tol := make([]float64, a.Heads*hd)
	ref := make([]float32, a.Heads*hd)
	FlashReduceRef(ref, opart, mlpart, a)
	for h := 0; h < a.Heads; h++ {
		mx := math.Inf(-1)
		for s := 0; s < splits; s++ {
			mx = max(mx, float64(mlpart[(s*a.Heads+h)*2]))
		}
		var total, dtotal float64
		do := make([]float64, hd)
		for s := 0; s < splits; s++ {
			at := s*a.Heads + h
			d := float64(mlpart[2*at]) - mx
			e := math.Exp(d)
			rel := (math.Abs(d) + 2*(3+2*math.Abs(d)) + float64(splits+1)) * unitRoundoff
			total += float64(mlpart[2*at+1]) * e
			dtotal += math.Abs(float64(mlpart[2*at+1])) * e * rel
			for c := range do {
				do[c] += math.Abs(float64(opart[at*hd+c])) * e * rel
			}
		}
		for c := range do {
			r := math.Abs(float64(ref[h*hd+c]))
			tol[h*hd+c] = 2 * ((do[c]+r*dtotal)/total + 6*unitRoundoff*r)
		}
	}
	return tol
}

// FlashBindings lists an attention kernel's bindings in order.
func FlashBindings(k templates.Kernel) []runner.Binding {
	u, r, w := runner.Uniform, runner.ReadOnly, runner.ReadWrite
	caches := func(kv8 bool) []runner.Binding {
		if kv8 {
			return []runner.Binding{r, r, r, r}
		}
		return []runner.Binding{r, r}
	}
	switch k := k.(type) {
	case templates.FlashPrefill:
		return append(append([]runner.Binding{u, r}, caches(k.KV8)...), w)
	case templates.FlashDecode:
		if k.Final {
			return append(append([]runner.Binding{u, r}, caches(k.KV8)...), w)
		}
		return append(append([]runner.Binding{u, r}, caches(k.KV8)...), w, w)
	case templates.FlashReduce:
		return []runner.Binding{u, r, r, w}
	case templates.KVStore8:
		return []runner.Binding{u, r, r, w, w, w, w}
	}
	panic(fmt.Sprintf("ops: %s is not an attention kernel", k.Name()))
}

// CheckKVStore8 runs k on KVStore8Input's rows stored at position pos of
// caches of seq positions, filled with the sentinel, and compares them
// with CompareKVStore8.
func CheckKVStore8(d *runner.Device, k templates.KVStore8, kvHeads, rows, pos, seq int) error {
	kern, why := build(d, nil, k, FlashBindings(k))
	if kern == nil {
		return fmt.Errorf("%s: %s", k, why)
	}
	defer kern.Release()
	kvDim := kvHeads * k.HD
	uniform, keys, values := KVStore8Input(k, kvHeads, rows, pos)
	var bufs []*runner.Buffer
	defer func() {
		for _, b := range bufs {
			b.Release()
		}
	}()
	for _, w := range [][]uint32{uniform, F32Words(keys), F32Words(values),
		sentinels(seq * kvDim / 4), sentinels(seq * kvHeads), sentinels(seq * kvDim / 4), sentinels(seq * kvHeads)} {
		b, err := uploadWords(d, w)
		if err != nil {
			return err
		}
		bufs = append(bufs, b)
	}
	if err := d.Run(runner.Dispatch{Kernel: kern, Buffers: bufs, Groups: k.Groups(rows, kvHeads)}); err != nil {
		return err
	}
	var caches [4][]byte
	for i := range caches {
		raw, err := bufs[3+i].Read()
		if err != nil {
			return err
		}
		caches[i] = raw
	}
	return CompareKVStore8(k, kvHeads, rows, pos, seq, keys, values, caches)
}

// KVStore8Input is the uniform and the rows of keys and values
// CheckKVStore8 stores: random, of magnitudes up to 7, the first key row
// of head 0 all zeros (scale 0, zero codes).
func KVStore8Input(k templates.KVStore8, kvHeads, rows, pos int) (uniform []uint32, keys, values []float32) {
	kvDim := kvHeads * k.HD
	r := rand.New(rand.NewPCG(uint64(rows), uint64(pos)))
	keys, values = make([]float32, rows*kvDim), make([]float32, rows*kvDim)
	for _, v := range [][]float32{keys, values} {
		for i := range v {
			v[i] = (2*r.Float32() - 1) * float32(1+i%7)
		}
	}
	clear(keys[:k.HD])
	return []uint32{uint32(kvHeads), uint32(rows), uint32(pos), 0}, keys, values
}

// CompareKVStore8 checks caches after k stored rows of keys and values at
// position pos of caches of seq positions that held the sentinel before:
// caches are kcache, kscale, vcache and vscale as read back. Against
// Quantize8Ref: scales within 4 ulp (WGSL division is not correctly
// rounded), every code within one of the reference's and its value within
// half a step (plus the scale's error) of the input, other positions
// untouched.
func CompareKVStore8(k templates.KVStore8, kvHeads, rows, pos, seq int, keys, values []float32, caches [4][]byte) error {
	kvDim := kvHeads * k.HD
	if len(keys) != rows*kvDim || len(values) != rows*kvDim {
		return fmt.Errorf("kvstore8: %d keys and %d values for %d rows of %d", len(keys), len(values), rows, kvDim)
	}
	for i, c := range caches {
		if want := 4 * seq * []int{kvDim / 4, kvHeads}[i%2]; len(c) < want {
			return fmt.Errorf("kvstore8: cache %d holds %d bytes, want %d", i, len(c), want)
		}
	}
	codes := make([]int8, k.HD)
	for t, name := range []string{"k", "v"} {
		cw, sw := caches[2*t], caches[2*t+1]
		x := [][]float32{keys, values}[t]
		for i := 0; i < seq*kvHeads; i++ {
			p, g := i/kvHeads, i%kvHeads
			scale := binary.LittleEndian.Uint32(sw[4*i:])
			if p < pos || p >= pos+rows {
				if scale != sentinel {
					return fmt.Errorf("%w: %s scale at position %d written", errMismatch, name, p)
				}
				for w := 0; w < k.HD/4; w++ {
					if binary.LittleEndian.Uint32(cw[4*(i*k.HD/4+w):]) != sentinel {
						return fmt.Errorf("%w: %s codes at position %d written", errMismatch, name, p)
					}
				}
				continue
			}
			row := x[((p-pos)*kvHeads+g)*k.HD:][:k.HD]
			words := make([]uint32, k.HD/4)
			for w := range words {
				words[w] = binary.LittleEndian.Uint32(cw[4*(i*k.HD/4+w):])
			}
			if err := checkKV8Head(words, scale, row, nil, codes); err != nil {
				return fmt.Errorf("%w: %s at position %d head %d: %v", errMismatch, name, p, g, err)
			}
		}
	}
	return nil
}

// checkKV8Head checks one head's int8 codes (words, four to a word) and
// scale (f32 bits) against Quantize8Ref of row: the scale within 4 ulp
// (WGSL division is not correctly rounded), every code within one of the
// reference's and its value within half a step (plus the scale's error)
// of row. slack, if set, is how far each element of row may be from the
// one the kernel quantized (computed the same way in float32), which
// widens every bound by as much; codes is scratch of len(row).
func checkKV8Head(words []uint32, scaleBits uint32, row []float32, slack []float64, codes []int8) error {
	want := Quantize8Ref(codes, row)
	got := math.Float32frombits(scaleBits)
	var most float64
	for _, e := range slack {
		most = max(most, e)
	}
	if math.Abs(float64(got-want)) > 4*float64(want)*unitRoundoff*2+most/127 {
		return fmt.Errorf("scale %g, want %g", got, want)
	}
	for j, v := range row {
		c := int8(words[j/4] >> (8 * (j % 4)))
		if d := int(c) - int(codes[j]); d < -1 || d > 1 || c == -128 {
			return fmt.Errorf("code [%d] = %d, want %d", j, c, codes[j])
		}
		e := 0.0
		if slack != nil {
			e = slack[j]
		}
		if err := math.Abs(float64(c)*float64(got) - float64(v)); err > 0.5*float64(got)*(1+1e-5)+e+1e-30 {
			return fmt.Errorf("[%d] = %g decodes to %g", j, v, float64(c)*float64(got))
		}
	}
	return nil
}

func sentinels(n int) []uint32 {
	w := make([]uint32, n)
	for i := range w {
		w[i] = sentinel
	}
	return w
}
