package ops

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// The references below state the contracts of the block kernels in
// templates (RMSNorm, Rope, SwiGLU, Add, Embed, KVStore, Attention, Argmax,
// MatVec) as plain Go. They repeat llama2.c's run.c step for step in
// float32: explicit float32(a*b) conversions keep Go from fusing a product
// into an add, and float32 math functions are the float64 ones rounded
// once, as a correctly rounded libm's expf, powf, cosf and sinf are.

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }

// RMSNormRef sets out (rows x n, row-major) to x normalised row by row with
// weight (n = len(weight), rows = len(x)/n): ss = sum x², ss /= n,
// ss += eps, ss = 1/sqrt(ss), out = weight * (ss * x).
func RMSNormRef(out, x, weight []float32, eps float32) {
	n := len(weight)
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		var ss float32
		for _, v := range row {
			ss += float32(v * v)
		}
		ss /= float32(n)
		ss += eps
		ss = 1 / float32(math.Sqrt(float64(ss)))
		for j, v := range row {
			out[r+j] = weight[j] * float32(ss*v)
		}
	}
}

// RopeReduce splits angle a as the RoPE kernels do before their cosine
// and sine: a = k*pi/2 + r with k = round(a * 2/pi) and |r| <= pi/4 up to
// rounding, r computed in f32 as (a - k*RopePiOver2Hi) - k*RopePiOver2Lo
// (templates' Cody-Waite constants).
func RopeReduce(a float32) (k int, r float32) {
	kf := float32(math.RoundToEven(float64(a * templates.RopeTwoOverPi)))
	return int(kf), float32(a-float32(kf*templates.RopePiOver2Hi)) - float32(kf*templates.RopePiOver2Lo)
}

// ropeCosSin is cos and sin of k*pi/2 + r for a's RopeReduce: float64 cos
// and sin of r, turned by k quarter turns, rounded once.
func ropeCosSin(a float32) (fcr, fci float32) {
	k, r := RopeReduce(a)
	s, c := math.Sincos(float64(r))
	switch k & 3 {
	case 1:
		c, s = -s, c
	case 2:
		c, s = -c, -s
	case 3:
		c, s = s, -c
	}
	return float32(c), float32(s)
}

// RopeRef rotates, in place, the first ropeDim dimensions of each of heads
// vectors of headDim in v by position pos. Pair i turns by the angle
// pos * (1 / theta^((2i)/ropeDim)); it is (v[2i], v[2i+1]) (llama2.c, GGUF),
// or (v[i], v[i+ropeDim/2]) when half (Hugging Face). cos and sin are of
// the angle as RopeReduce splits it, as in the kernels.
func RopeRef(v []float32, heads, headDim, ropeDim, pos int, theta float32, half bool) {
	pairs := ropeDim / 2
	for i := 0; i < pairs; i++ {
		freq := 1 / float32(math.Pow(float64(theta), float64(float32(2*i)/float32(ropeDim))))
		val := float32(pos) * freq
		fcr, fci := ropeCosSin(val)
		for h := 0; h < heads; h++ {
			i0, i1 := h*headDim+2*i, h*headDim+2*i+1
			if half {
				i0, i1 = h*headDim+i, h*headDim+i+pairs
			}
			v0, v1 := v[i0], v[i1]
			v[i0] = float32(v0*fcr) - float32(v1*fci)
			v[i1] = float32(v0*fci) + float32(v1*fcr)
		}
	}
}

// SwiGLURef sets gate to (gate * sigmoid(gate)) * up in place:
// val *= 1/(1 + exp(-val)); val *= up.
func SwiGLURef(gate, up []float32) {
	for i, val := range gate {
		val *= 1 / (1 + expf(-val))
		val *= up[i]
		gate[i] = val
	}
}

// AddRef adds y into x.
func AddRef(x, y []float32) {
	for i, v := range y {
		x[i] += v
	}
}

// EmbedRef copies row token of table (rows of len(out)) into out.
func EmbedRef(out, table []float32, token int) {
	copy(out, table[token*len(out):(token+1)*len(out)])
}

// KVStoreRef writes k and v (kv_dim = len(k)) at position pos of the
// caches.
func KVStoreRef(kcache, vcache, k, v []float32, pos int) {
	copy(kcache[pos*len(k):], k)
	copy(vcache[pos*len(v):], v)
}

// AttentionRef is decode attention over positions 0..length-1 of the caches
// (rows of kv_dim = kvHeads*headDim): for each head h, reading kv head
// h/(heads/kvHeads), score[t] = dot(q_h, k_t) / sqrt(headDim), softmax over
// t (subtract the maximum, exp, divide by the sum), out_h = sum_t
// softmax[t] * v_t, each sum taken in index order.
func AttentionRef(out, q, kcache, vcache []float32, heads, kvHeads, headDim, length int) {
	kvDim, kvMul := kvHeads*headDim, heads/kvHeads
	att := make([]float32, length)
	for h := 0; h < heads; h++ {
		qh := q[h*headDim : (h+1)*headDim]
		kvo := (h / kvMul) * headDim
		for t := range att {
			kt := kcache[t*kvDim+kvo:]
			var score float32
			for i, qv := range qh {
				score += float32(qv * kt[i])
			}
			score /= float32(math.Sqrt(float64(headDim)))
			att[t] = score
		}
		SoftmaxRef(att)
		o := out[h*headDim : (h+1)*headDim]
		clear(o)
		for t, w := range att {
			vt := vcache[t*kvDim+kvo:]
			for i := range o {
				o[i] += float32(w * vt[i])
			}
		}
	}
}

// SoftmaxRef is run.c's softmax, in place: subtract the maximum, exp,
// normalise.
func SoftmaxRef(x []float32) {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	var sum float32
	for i, v := range x {
		x[i] = expf(v - m)
		sum += x[i]
	}
	for i := range x {
		x[i] /= sum
	}
}

// ArgmaxRef is the index of the largest value of x, the first on ties.
func ArgmaxRef(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// MatVecRef sets y = W x for W of len(y) rows and len(x) columns,
// row-major, each row summed in index order.
func MatVecRef(y, w, x []float32) {
	cols := len(x)
	for r := range y {
		var val float32
		for c, xv := range x {
			val += float32(w[r*cols+c] * xv)
		}
		y[r] = val
	}
}

// BlockBindings lists a block kernel's bindings in order: the contract the
// forward pass binds buffers by. It panics on a kernel of another family.
func BlockBindings(k templates.Kernel) []runner.Binding {
	u, r, w := runner.Uniform, runner.ReadOnly, runner.ReadWrite
	switch k := k.(type) {
	case templates.RMSNorm:
		if k.NoWeight {
			return []runner.Binding{u, r, w}
		}
		return []runner.Binding{u, r, r, w}
	case templates.Rope:
		if k.Freqs {
			return []runner.Binding{u, u, w, r}
		}
		return []runner.Binding{u, u, w}
	case templates.SwiGLU, templates.Add:
		return []runner.Binding{u, w, r}
	case templates.Embed:
		return []runner.Binding{u, r, r, w}
	case templates.KVStore:
		return []runner.Binding{u, r, r, w, w}
	case templates.Attention:
		return []runner.Binding{u, r, r, r, w}
	case templates.Argmax:
		return []runner.Binding{u, r, w}
	case templates.MatVec:
		return []runner.Binding{u, r, r, w}
	case templates.EmbedQ:
		if k.Asym {
			return []runner.Binding{u, r, r, r, w, r}
		}
		return []runner.Binding{u, r, r, r, w}
	case templates.Softmax:
		return []runner.Binding{u, r, w}
	case templates.TopP, templates.Router:
		return []runner.Binding{u, r, w, w}
	}
	panic(fmt.Sprintf("ops: %s is not a block kernel", k.Name()))
}

// BlockBuffer is one binding of a block kernel's checked run.
type BlockBuffer struct {
	Name string
	// Data is the buffer's contents before the run, as 32-bit words (f32
	// bits or u32 values).
	Data []uint32
	// Want is the contents expected after the run, or nil for a buffer
	// the kernel only reads. A written buffer gets GuardWords of sentinel
	// after Data that must stay untouched.
	Want []uint32
	// Tol is the absolute error allowed per element, read as f32; nil or
	// 0 means the word must match exactly.
	Tol []float64
	// Verify, if set, judges the words read back instead of Want and Tol
	// (Want still sizes the buffer's guard band); written is every
	// written buffer's words by name, for contents that span buffers,
	// such as codes and their scales.
	Verify func(got []uint32, written map[string][]uint32) error
}

// GuardWords is the guard band after every written buffer of CheckBlock.
const GuardWords = 256

// Sentinel is the word CheckBlock fills guard bands with, and callers fill
// write-only outputs with: a NaN no arithmetic produces.
const Sentinel uint32 = sentinel

// CheckBlock runs kern (compiled from k with BlockBindings(k)) once on
// fresh buffers holding bufs' Data, dispatching groups, and compares every
// written buffer with its Want: each element must be exact or within its
// Tol and finite, an element still holding Sentinel where something else
// is wanted was never written, and the guard band must be untouched.
func CheckBlock(d *runner.Device, kern *runner.Kernel, groups [3]uint32, bufs []BlockBuffer) error {
	if len(bufs) != len(kern.Bindings) {
		return fmt.Errorf("check %s: %d buffers for %d bindings", kern.Label, len(bufs), len(kern.Bindings))
	}
	gbufs := make([]*runner.Buffer, len(bufs))
	defer func() {
		for _, b := range gbufs {
			if b != nil {
				b.Release()
			}
		}
	}()
	for i, b := range bufs {
		words := append([]uint32(nil), b.Data...)
		if b.Want != nil {
			if len(b.Want) != len(b.Data) {
				return fmt.Errorf("check %s: %s wants %d words of %d", kern.Label, b.Name, len(b.Want), len(b.Data))
			}
			for range GuardWords {
				words = append(words, sentinel)
			}
		}
		raw := make([]byte, 4*len(words))
		for j, w := range words {
			binary.LittleEndian.PutUint32(raw[4*j:], w)
		}
		g, err := d.NewBuffer(b.Name, uint64(len(raw)))
		if err != nil {
			return err
		}
		gbufs[i] = g
		if err := g.Write(0, raw); err != nil {
			return err
		}
	}
	if err := d.Run(runner.Dispatch{Kernel: kern, Buffers: gbufs, Groups: groups}); err != nil {
		return err
	}
	written := map[string][]uint32{}
	for i, b := range bufs {
		if b.Want == nil {
			continue
		}
		raw, err := gbufs[i].Read()
		if err != nil {
			return err
		}
		n := len(b.Want)
		for j := 0; j < GuardWords; j++ {
			if binary.LittleEndian.Uint32(raw[4*(n+j):]) != sentinel {
				return fmt.Errorf("%w: wrote out of bounds, %d words past the end of %s", errMismatch, j, b.Name)
			}
		}
		words := make([]uint32, n)
		for j := range words {
			words[j] = binary.LittleEndian.Uint32(raw[4*j:])
		}
		written[b.Name] = words
	}
	for _, b := range bufs {
		if b.Want == nil {
			continue
		}
		raw := written[b.Name]
		if b.Verify != nil {
			if err := b.Verify(raw, written); err != nil {
				return fmt.Errorf("%w: %s: %v", errMismatch, b.Name, err)
			}
			continue
		}
		for j, want := range b.Want {
			got := raw[j]
			if got == want {
				continue
			}
			if got == sentinel {
				return fmt.Errorf("%w: %s[%d] never written", errMismatch, b.Name, j)
			}
			var tol float64
			if b.Tol != nil {
				tol = b.Tol[j]
			}
			g, w := float64(math.Float32frombits(got)), float64(math.Float32frombits(want))
			if tol == 0 {
				return fmt.Errorf("%w: %s[%d] = %#08x (u32 %d, f32 %g), want %#08x (u32 %d, f32 %g) exactly", errMismatch, b.Name, j, got, got, g, want, want, w)
			}
			if math.IsNaN(g) || math.IsInf(g, 0) {
				return fmt.Errorf("%w: %s[%d] = %v", errMismatch, b.Name, j, g)
			}
			if math.Abs(g-w) > tol {
				return fmt.Errorf("%w: %s[%d] = %g, want %g within %.3g", errMismatch, b.Name, j, g, w, tol)
			}
		}
	}
	return nil
}

// unitRoundoff is f32's unit roundoff, 2^-24.
const unitRoundoff = 1.0 / (1 << 24)

// AttentionTolerance bounds |GPU - reference| per output, from the inputs
// in float64:
//   - a score is a dot product of head_dim terms: the two orders differ by
//     es = (2 hd + 8) u sum|q k| / sqrt(hd), the 8 for the division;
//   - a probability p_t = exp(s_t - max) / sum then differs relatively by
//     2 es (its score and the maximum) + 2(3 + 2|s_t - max|) u (exp on both
//     sides) + (2 len + 8) u (the sum and the division);
//   - an output sum_t p_t v_t differs by sum_t p_t |v_t| (rel_t + 2 len u).
//
// The bound is doubled for the terms of second order.
func AttentionTolerance(q, kc, vc []float32, heads, kvHeads, headDim, length int) []float64 {
	kvDim, kvMul := kvHeads*headDim, heads/kvHeads
	tol := make([]float64, len(q))
	s := make([]float64, length)
	for h := 0; h < heads; h++ {
		kvo := (h / kvMul) * headDim
		var es, mx float64
		mx = math.Inf(-1)
		for t := range s {
			var dot, mag float64
			for i := 0; i < headDim; i++ {
				p := float64(q[h*headDim+i]) * float64(kc[t*kvDim+kvo+i])
				dot += p
				mag += math.Abs(p)
			}
			s[t] = dot / math.Sqrt(float64(headDim))
			es = max(es, float64(2*headDim+8)*unitRoundoff*mag/math.Sqrt(float64(headDim)))
			mx = max(mx, s[t])
		}
		var sum float64
		for _, v := range s {
			sum += math.Exp(v - mx)
		}
		for d := 0; d < headDim; d++ {
			var e float64
			for t, v := range s {
				p := math.Exp(v-mx) / sum
				rel := 2*es + 2*(3+2*math.Abs(v-mx))*unitRoundoff + float64(2*length+8)*unitRoundoff
				e += p * math.Abs(float64(vc[t*kvDim+kvo+d])) * (rel + float64(2*length)*unitRoundoff)
			}
			tol[h*headDim+d] = 2*e + 1e-30
		}
	}
	return tol
}

// F32Words is v as the words of a BlockBuffer.
func F32Words(v []float32) []uint32 {
	w := make([]uint32, len(v))
	for i, x := range v {
		w[i] = math.Float32bits(x)
	}
	return w
}

// UniformWords is a 16-byte uniform of the given fields, zero-padded.
func UniformWords(fields ...uint32) []uint32 {
	w := make([]uint32, 4)
	copy(w, fields)
	return w
}

// SentinelWords is n words of Sentinel: an output no kernel has written.
func SentinelWords(n int) []uint32 {
	w := make([]uint32, n)
	for i := range w {
		w[i] = Sentinel
	}
	return w
}

// RMSNormNoWeightRef is RMSNormRef without a weight, Llama 4's QK norm: each
// row of n in x is scaled by ss, computed as RMSNormRef computes it, so
// that out = ss * x is RMSNormRef's result for a weight of ones.
func RMSNormNoWeightRef(out, x []float32, n int, eps float32) {
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		var ss float32
		for _, v := range row {
			ss += float32(v * v)
		}
		ss /= float32(n)
		ss += eps
		ss = 1 / float32(math.Sqrt(float64(ss)))
		for j, v := range row {
			out[r+j] = float32(ss * v)
		}
	}
}

// RopeFreqsRef is RopeRef with a table of frequency factors, Llama 3.1's
// rope_freqs (ropeDim/2 divisors): pair i turns by the angle (pos * (1 /
// theta^((2i)/ropeDim))) / freqs[i], the division last as ggml does it.
func RopeFreqsRef(v []float32, heads, headDim, ropeDim, pos int, theta float32, freqs []float32, half bool) {
	pairs := ropeDim / 2
	for i := 0; i < pairs; i++ {
		freq := 1 / float32(math.Pow(float64(theta), float64(float32(2*i)/float32(ropeDim))))
		val := float32(pos) * freq
		val /= freqs[i]
		fcr, fci := ropeCosSin(val)
		for h := 0; h < heads; h++ {
			i0, i1 := h*headDim+2*i, h*headDim+2*i+1
			if half {
				i0, i1 = h*headDim+i, h*headDim+i+pairs
			}
			v0, v1 := v[i0], v[i1]
			v[i0] = float32(v0*fcr) - float32(v1*fci)
			v[i1] = float32(v0*fci) + float32(v1*fcr)
		}
	}
}

// EmbedQRef sets out (t.Cols values) to row token of the quantized table t,
// dequantized as the GEMV kernels read it.
func EmbedQRef(out []float32, t *quant.Tensor, token int) {
	t.DequantizeRow(token, out)
}

// SoftmaxRowsRef sets each row of n in out to the softmax of that row of x
// over temperature, as run.c samples: x / temperature, then SoftmaxRef.
func SoftmaxRowsRef(out, x []float32, n int, temperature float32) {
	for r := 0; r+n <= len(x); r += n {
		row := out[r : r+n]
		for j, v := range x[r : r+n] {
			row[j] = v / temperature
		}
		SoftmaxRef(row)
	}
}

// TopPCutoff is run.c's (1 - topp) / (n - 1) in f32, the least probability
// that can be in the nucleus; +Inf for n = 1.
func TopPCutoff(topp float32, n int) float32 { return (1 - topp) / float32(n-1) }

// TopPEntry is one member of a top-p nucleus, in the nucleus's order.
type TopPEntry struct {
	Index int
	Sum   float32 // the running sum of probabilities up to and including this one
}

// TopPRef is run.c's sampling from probabilities for a given coin in [0,
// 1), as llama.Sampler does it: for 0 < topp < 1, sample_topp (the
// candidates >= TopPCutoff sorted by probability, descending and stable,
// summed until the sum exceeds topp; r = coin * sum; the first whose running
// sum exceeds r, else the last), which it returns with the nucleus; with
// topp outside (0, 1) or no candidate, sample_mult over all of probs (the
// first index whose running sum exceeds coin, else the last) and a nil
// nucleus.
func TopPRef(probs []float32, topp, coin float32) (int, []TopPEntry) {
	if topp > 0 && topp < 1 {
		cutoff := TopPCutoff(topp, len(probs))
		var cands []int
		for i, p := range probs {
			if p >= cutoff {
				cands = append(cands, i)
			}
		}
		if len(cands) > 0 {
			slices.SortStableFunc(cands, func(a, b int) int { return cmp.Compare(probs[b], probs[a]) })
			var nucleus []TopPEntry
			var sum float32
			for _, i := range cands {
				sum += probs[i]
				nucleus = append(nucleus, TopPEntry{i, sum})
				if sum > topp {
					break
				}
			}
			r := coin * sum
			for _, e := range nucleus {
				if r < e.Sum {
					return e.Index, nucleus
				}
			}
			return nucleus[len(nucleus)-1].Index, nucleus
		}
	}
	var cdf float32
	for i, p := range probs {
		cdf += p
		if coin < cdf {
			return i, nil
		}
	}
	return len(probs) - 1, nil
}

// RouterRef is the Router kernel's contract: the k largest logits in
// descending order, the lower index first among equals, each with its
// sigmoid 1 / (1 + exp(-logit)).
func RouterRef(logits []float32, k int) (chosen []int, scores []float32) {
	order := make([]int, len(logits))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(logits[b], logits[a]) })
	chosen = order[:k]
	for _, i := range chosen {
		scores = append(scores, 1/(1+expf(-logits[i])))
	}
	return chosen, scores
}

// MoERouterRef is Llama 4's router for one token (Llama4Router): logits =
// W x for W of experts rows of len(x), row-major, summed as MatVecRef does;
// then the top k of the raw logits and their sigmoids, as RouterRef. The
// caller scales the chosen expert's input by its score.
func MoERouterRef(w, x []float32, experts, k int) (chosen []int, scores []float32) {
	logits := make([]float32, experts)
	MatVecRef(logits, w, x)
	return RouterRef(logits, k)
}
