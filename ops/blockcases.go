package ops

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// The checked runs of the block kernels the tuner and the tests share:
// inputs drawn from fixed seeds, the expected outputs from the references in
// block.go, and each element's tolerance, derived below. u = 2^-24 is f32's
// unit roundoff and an ULP of x is at most 2u|x|. Sums the GPU takes in
// another order than the reference differ by at most 2 n u sum|terms|.
// Vulkan bounds exp to 3 + 2|x| ULP, pow as exp2(y log2 x), division to 2.5
// ULP and inversesqrt to 2 ULP; the references' float64 math rounded once
// is within 0.5 ULP. Copies, selections and the top-p sums (the same f32
// additions in the same order) are exact.

// BlockCase is one checked run of a block kernel: its dispatch and every
// binding, with the contents expected after the run for those written (see
// CheckBlock).
type BlockCase struct {
	Name   string
	Groups [3]uint32
	Bufs   []BlockBuffer
}

// Check runs the case with kern, compiled from its kernel with
// BlockBindings, and compares the outputs.
func (c BlockCase) Check(d *runner.Device, kern *runner.Kernel) error {
	if err := CheckBlock(d, kern, c.Groups, c.Bufs); err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	return nil
}

// BlockCases are the cases a block kernel must pass before it is timed:
// small shapes, ragged for every workgroup size, edge cases of its
// contract, and for the variants (NoWeight, Half, Freqs, a quantized
// format) the matching references. KVStore and Attention have none here.
func BlockCases(k templates.Kernel) ([]BlockCase, error) {
	var cs []BlockCase
	switch k := k.(type) {
	case templates.RMSNorm:
		// The fourth shape has x so small that eps matters; the last is Llama
		// 4's QK norm, 40 heads of 128.
		for _, s := range []struct {
			rows, n int
			scale   float32
		}{{3, 172, 2}, {1, 1, 2}, {2, 600, 2}, {2, 172, 0.003}, {40, 128, 1}} {
			cs = append(cs, RMSNormCase(k, s.rows, s.n, s.scale))
		}
	case templates.Rope:
		for _, s := range []struct {
			heads, headDim, ropeDim, pos int
			theta                        float32
		}{
			{8, 8, 8, 5, 10000},
			{4, 64, 32, 300, 10000}, // partial rotary: dims 32..63 untouched
			{3, 64, 64, 4095, 500000},
			{1, 128, 128, 0, 10000},
		} {
			var freqs []float32
			if k.Freqs {
				// Any positive divisors, spread over the range Llama uses.
				r := rand.New(rand.NewPCG(uint64(s.ropeDim), 7))
				freqs = make([]float32, s.ropeDim/2)
				for i := range freqs {
					freqs[i] = 0.5 + 16*r.Float32()
				}
			}
			cs = append(cs, RopeCase(k, s.heads, s.headDim, s.ropeDim, s.pos, s.theta, freqs))
		}
		if k.Freqs {
			// Llama 3.1 8B's table at a long position.
			freqs, err := Llama3RopeFreqs(128, 500000, 8, 1, 4, 8192)
			if err != nil {
				return nil, err
			}
			cs = append(cs, RopeCase(k, 8, 128, 128, 70000, 500000, freqs))
		}
	case templates.SwiGLU:
		for _, n := range []int{172, 1, 1000} {
			cs = append(cs, SwiGLUCase(k, n))
		}
	case templates.Add:
		for _, n := range []int{172, 1, 1000} {
			cs = append(cs, AddCase(k, n))
		}
	case templates.Embed:
		for _, s := range []struct{ vocab, dim, token int }{{512, 64, 317}, {37, 100, 36}, {5, 1, 0}} {
			cs = append(cs, EmbedCase(k, s.vocab, s.dim, s.token))
		}
	case templates.EmbedQ:
		f := quant.Format{Bits: k.Bits, Group: k.Group, Asym: k.Asym}
		g := max(32, k.Group)
		for _, s := range []struct{ rows, cols, token, offset int }{
			{37, 3 * g, 36, 0},  // the last row
			{5, g, 0, 0},        // one group per row
			{10, 2 * g, 25, 20}, // a later part of a split table
			{10, 2 * g, 3, 20},  // the token is in an earlier part: nothing written
			{10, 2 * g, 30, 20}, // a later part: nothing written
		} {
			c, err := EmbedQCase(k, f, s.rows, s.cols, s.token, s.offset)
			if err != nil {
				return nil, err
			}
			cs = append(cs, c)
		}
	case templates.Argmax:
		cs = argmaxCases(k)
	case templates.MatVec:
		for _, s := range []struct{ rows, cols int }{{67, 172}, {1, 1}, {5, 1025}, {2*k.Rows + 1, 64}} {
			cs = append(cs, MatVecCase(k, s.rows, s.cols))
		}
	case templates.Softmax:
		for _, s := range []struct {
			rows, n   int
			temp, mag float32
		}{{3, 172, 1, 10}, {1, 1, 0.7, 1}, {2, 1000, 1.3, 20}, {1, 5000, 0.5, 8}} {
			cs = append(cs, SoftmaxCase(k, s.rows, s.n, s.temp, s.mag))
		}
	case templates.TopP:
		cs = toppCases(k)
	case templates.Router:
		cs = routerCases(k)
	default:
		return nil, fmt.Errorf("ops: no block cases for %s", k.Name())
	}
	return cs, nil
}

// scaled is n values uniform in [-scale, scale).
func scaled(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * (2*r.Float32() - 1)
	}
	return v
}

// rmsEps is the epsilon of Llama's RMSNorms.
const rmsEps = 1e-5

// RMSNormCase normalises rows of n values in [-scale, scale) with a weight
// in [-1.5, 1.5) unless k.NoWeight. Tolerance: the sum of squares has
// positive terms, so the two orders differ by at most 2n u relative; the
// mean, eps, 1/sqrt and the products add under 16 ULP on either side.
func RMSNormCase(k templates.RMSNorm, rows, n int, scale float32) BlockCase {
	r := rand.New(rand.NewPCG(uint64(rows)<<32|uint64(n), 11))
	x, w := scaled(r, rows*n, scale), scaled(r, n, 1.5)
	want := make([]float32, len(x))
	if k.NoWeight {
		RMSNormNoWeightRef(want, x, n, rmsEps)
	} else {
		RMSNormRef(want, x, w, rmsEps)
	}
	tol := make([]float64, len(want))
	for i, v := range want {
		tol[i] = math.Abs(float64(v)) * float64(2*n+32) * unitRoundoff
	}
	bufs := []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(n), math.Float32bits(rmsEps), uint32(rows))},
		{Name: "x", Data: F32Words(x)},
	}
	if !k.NoWeight {
		bufs = append(bufs, BlockBuffer{Name: "weight", Data: F32Words(w)})
	}
	bufs = append(bufs, BlockBuffer{Name: "out", Data: SentinelWords(len(x)), Want: F32Words(want), Tol: tol})
	return BlockCase{Name: fmt.Sprintf("rows=%d/n=%d/scale=%g", rows, n, scale), Groups: k.Groups(rows), Bufs: bufs}
}

// ropeSinCos is the absolute error allowed in the RoPE kernels' cos and
// sin beyond the angle's own: they reduce the angle to k*pi/2 + r as
// RopeReduce does and evaluate polynomials on r, within 2^-23 + |a| 2^-35
// on any adapter (the |a| part is far below the angle term of the
// tolerances), not WGSL's sin and cos, which are bounded only on [-pi, pi]
// and only to 2^-11 (Chromium's SwiftShader is off by 2^-12.4 there).
const ropeSinCos = 1.0 / (1 << 21)

// RopeCase rotates heads vectors of headDim in [-1, 1) at position pos;
// freqs, of ropeDim/2, is the table of a kernel with Freqs. Tolerance of a
// rotated element: the angle carries pow's error, (3 + 2|y log2 theta|) ULP
// on both sides, the product's, and with freqs the division's; the
// kernel's cos and sin add ropeSinCos each, the products and the sum a few
// ULP. Untouched elements must match exactly.
func RopeCase(k templates.Rope, heads, headDim, ropeDim, pos int, theta float32, freqs []float32) BlockCase {
	r := rand.New(rand.NewPCG(uint64(heads*headDim), uint64(pos)))
	v := scaled(r, heads*headDim, 1)
	want := append([]float32(nil), v...)
	if k.Freqs {
		RopeFreqsRef(want, heads, headDim, ropeDim, pos, theta, freqs, k.Half)
	} else {
		RopeRef(want, heads, headDim, ropeDim, pos, theta, k.Half)
	}
	tol := make([]float64, len(v))
	for h := 0; h < heads; h++ {
		for i := 0; i < ropeDim/2; i++ {
			i0, i1 := h*headDim+2*i, h*headDim+2*i+1
			if k.Half {
				i0, i1 = h*headDim+i, h*headDim+i+ropeDim/2
			}
			e := float64(2*i) / float64(ropeDim)
			angle := float64(pos) * math.Pow(float64(theta), -e)
			ulps := 2*(3+2*e*math.Log2(float64(theta))) + 4
			if k.Freqs {
				angle /= float64(freqs[i])
				ulps += 6
			}
			mag := math.Abs(float64(v[i0])) + math.Abs(float64(v[i1]))
			tol[i0] = mag*(angle*ulps*unitRoundoff+2*ropeSinCos) + 8*unitRoundoff*mag
			tol[i1] = tol[i0]
		}
	}
	bufs := []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(heads), uint32(headDim), uint32(ropeDim), uint32(pos))},
		{Name: "theta", Data: UniformWords(math.Float32bits(theta))},
		{Name: "v", Data: F32Words(v), Want: F32Words(want), Tol: tol},
	}
	if k.Freqs {
		bufs = append(bufs, BlockBuffer{Name: "freqs", Data: F32Words(freqs)})
	}
	return BlockCase{Name: fmt.Sprintf("heads=%d/hd=%d/rope=%d/pos=%d", heads, headDim, ropeDim, pos), Groups: k.Groups(heads, ropeDim), Bufs: bufs}
}

// SwiGLUCase gates n values in [-8, 8) by n in [-2, 2). Tolerance: exp(-g)
// is within (3 + 2|g|) ULP on the GPU and correctly rounded here; 1 + e,
// the division and two products add about 6 ULP.
func SwiGLUCase(k templates.SwiGLU, n int) BlockCase {
	r := rand.New(rand.NewPCG(uint64(n), 13))
	gate, up := scaled(r, n, 8), scaled(r, n, 2)
	want := append([]float32(nil), gate...)
	SwiGLURef(want, up)
	tol := make([]float64, n)
	for i, g := range gate {
		tol[i] = math.Abs(float64(want[i])) * (3 + 2*math.Abs(float64(g)) + 8) * unitRoundoff
	}
	return BlockCase{Name: fmt.Sprintf("n=%d", n), Groups: k.Groups(n), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(n))},
		{Name: "gate", Data: F32Words(gate), Want: F32Words(want), Tol: tol},
		{Name: "up", Data: F32Words(up)},
	}}
}

// AddCase adds n values: one correctly rounded add each, exact.
func AddCase(k templates.Add, n int) BlockCase {
	r := rand.New(rand.NewPCG(uint64(n), 17))
	x, y := scaled(r, n, 4), scaled(r, n, 4)
	want := append([]float32(nil), x...)
	AddRef(want, y)
	return BlockCase{Name: fmt.Sprintf("n=%d", n), Groups: k.Groups(n), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(n))},
		{Name: "x", Data: F32Words(x), Want: F32Words(want)},
		{Name: "y", Data: F32Words(y)},
	}}
}

// EmbedCase copies row token of a vocab x dim table: exact.
func EmbedCase(k templates.Embed, vocab, dim, token int) BlockCase {
	r := rand.New(rand.NewPCG(uint64(vocab*dim), 19))
	table := scaled(r, vocab*dim, 1)
	want := make([]float32, dim)
	EmbedRef(want, table, token)
	return BlockCase{Name: fmt.Sprintf("vocab=%d/dim=%d/token=%d", vocab, dim, token), Groups: k.Groups(dim), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(dim))},
		{Name: "token", Data: []uint32{uint32(token)}},
		{Name: "table", Data: F32Words(table)},
		{Name: "out", Data: SentinelWords(dim), Want: F32Words(want)},
	}}
}

// EmbedQCase looks token up in a part of a table in format f: rows random
// rows of cols starting at row offset. A token outside the part must leave
// out untouched. Tolerance: symmetric formats multiply an exact integer by
// the scale once, as DequantizeRow does, so they are exact; asymmetric ones
// may have u*scale + min fused, which skips the product's rounding (u|u
// scale|) and changes the sum's (u|result|).
func EmbedQCase(k templates.EmbedQ, f quant.Format, rows, cols, token, offset int) (BlockCase, error) {
	r := rand.New(rand.NewPCG(uint64(rows)<<32|uint64(cols), uint64(f.Bits)))
	t, err := randomTensor(r, f, rows, cols)
	if err != nil {
		return BlockCase{}, err
	}
	out := BlockBuffer{Name: "out", Data: SentinelWords(cols), Want: SentinelWords(cols)}
	if row := token - offset; row >= 0 && row < rows {
		want := make([]float32, cols)
		EmbedQRef(want, t, row)
		out.Want = F32Words(want)
		if f.Asym {
			per, glen := 32/f.Bits, f.GroupLen(cols)
			out.Tol = make([]float64, cols)
			for c, v := range want {
				u := t.Words[row*t.WordsPerRow()+c/per] >> (c % per * f.Bits) & (1<<f.Bits - 1)
				s := t.Scales[row*(cols/glen)+c/glen]
				out.Tol[c] = 2 * unitRoundoff * (math.Abs(float64(u)*float64(s)) + math.Abs(float64(v)))
			}
		}
	}
	bufs := []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(rows), uint32(cols), uint32(f.GroupLen(cols)), uint32(offset))},
		{Name: "token", Data: []uint32{uint32(token)}},
		{Name: "words", Data: t.Words},
		{Name: "scales", Data: F32Words(t.Scales)},
		out,
	}
	if f.Asym {
		bufs = append(bufs, BlockBuffer{Name: "mins", Data: F32Words(t.Mins)})
	}
	return BlockCase{Name: fmt.Sprintf("%s/rows=%d/cols=%d/token=%d/offset=%d", f, rows, cols, token, offset), Groups: k.Groups(cols), Bufs: bufs}, nil
}

// ArgmaxCase finds the largest of x: exact.
func ArgmaxCase(k templates.Argmax, name string, x []float32) BlockCase {
	return BlockCase{Name: name, Groups: k.Groups(), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(len(x)))},
		{Name: "x", Data: F32Words(x)},
		{Name: "out", Data: SentinelWords(1), Want: []uint32{uint32(ArgmaxRef(x))}},
	}}
}

// argmaxCases put the maximum twice where different threads scan it at
// every workgroup size (the first must win), make all values equal, and
// take a single one.
func argmaxCases(k templates.Argmax) []BlockCase {
	r := rand.New(rand.NewPCG(1, 2))
	x := scaled(r, 172, 1)
	x[150], x[37] = 5, 5
	y := scaled(r, 1000, 1)
	y[999], y[0] = 3, 3
	return []BlockCase{
		ArgmaxCase(k, "tie/n=172", x),
		ArgmaxCase(k, "tie-first-last/n=1000", y),
		ArgmaxCase(k, "all-equal/n=300", make([]float32, 300)),
		ArgmaxCase(k, "n=1", []float32{-7}),
	}
}

// MatVecCase is y = W x for a rows x cols W in [-1, 1): Tolerance of the
// sum of |w x|.
func MatVecCase(k templates.MatVec, rows, cols int) BlockCase {
	r := rand.New(rand.NewPCG(uint64(rows)<<32|uint64(cols), 23))
	w, x := scaled(r, rows*cols, 1), scaled(r, cols, 1)
	want := make([]float32, rows)
	MatVecRef(want, w, x)
	tol := make([]float64, rows)
	for i := range tol {
		var mag float64
		for c, xv := range x {
			mag += math.Abs(float64(w[i*cols+c]) * float64(xv))
		}
		tol[i] = Tolerance(cols, mag)
	}
	return BlockCase{Name: fmt.Sprintf("%dx%d", rows, cols), Groups: k.Groups(rows), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(rows), uint32(cols))},
		{Name: "w", Data: F32Words(w)},
		{Name: "x", Data: F32Words(x)},
		{Name: "y", Data: SentinelWords(rows), Want: F32Words(want), Tol: tol},
	}}
}

// SoftmaxCase is the softmax of rows of n logits in [-mag, mag) over temp.
// Tolerance, per row with V = max|x/temp| and d_i = x_i/temp - max: the
// GPU's division is within 5u|v| (2.5 ULP), the reference's u|v|, so each
// d_i moves by 12uV plus its subtraction's 2u|d_i|; exp adds 2(3 +
// 2|d_i|)u and the reference's u, which makes rho_i = u(12V + 6|d_i| + 7)
// relative on e_i. The sum of positive e_i is then within max rho + 2nu,
// and the division adds 6u. p_i's bound is twice the sum of these, for the
// terms of second order, plus 2^-125 for results the GPU flushes to zero.
func SoftmaxCase(k templates.Softmax, rows, n int, temp, mag float32) BlockCase {
	r := rand.New(rand.NewPCG(uint64(rows)<<32|uint64(n), 29))
	x := scaled(r, rows*n, mag)
	want := make([]float32, len(x))
	SoftmaxRowsRef(want, x, n, temp)
	tol := make([]float64, len(x))
	for row := 0; row < rows; row++ {
		xs := x[row*n : (row+1)*n]
		var V, m float64
		m = math.Inf(-1)
		for _, v := range xs {
			d := float64(v) / float64(temp)
			V, m = max(V, math.Abs(d)), max(m, d)
		}
		rho := func(v float32) float64 {
			return unitRoundoff * (12*V + 6*math.Abs(float64(v)/float64(temp)-m) + 7)
		}
		var maxRho float64
		for _, v := range xs {
			maxRho = max(maxRho, rho(v))
		}
		for j, v := range xs {
			p := float64(want[row*n+j])
			tol[row*n+j] = 2*p*(rho(v)+maxRho+float64(2*n+6)*unitRoundoff) + 0x1p-125
		}
	}
	return BlockCase{Name: fmt.Sprintf("rows=%d/n=%d/T=%g", rows, n, temp), Groups: k.Groups(rows), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(n), uint32(rows), math.Float32bits(temp))},
		{Name: "x", Data: F32Words(x)},
		{Name: "out", Data: SentinelWords(len(x)), Want: F32Words(want), Tol: tol},
	}}
}

// TopPCase samples from probs with topp and coin: the index and the
// nucleus (running sums and indices) must equal TopPRef's exactly, and the
// nucleus buffer past its end must be left as it was.
func TopPCase(k templates.TopP, name string, probs []float32, topp, coin float32) BlockCase {
	n := len(probs)
	idx, nucleus := TopPRef(probs, topp, coin)
	want := SentinelWords(2 * n)
	for s, e := range nucleus {
		want[2*s], want[2*s+1] = math.Float32bits(e.Sum), uint32(e.Index)
	}
	return BlockCase{Name: name, Groups: k.Groups(), Bufs: []BlockBuffer{
		{Name: "params", Data: UniformWords(uint32(n), math.Float32bits(topp), math.Float32bits(TopPCutoff(topp, n)), math.Float32bits(coin))},
		{Name: "probs", Data: F32Words(probs)},
		{Name: "nucleus", Data: SentinelWords(2 * n), Want: want},
		{Name: "out", Data: SentinelWords(1), Want: []uint32{uint32(idx)}},
	}}
}

// SoftmaxProbs is the softmax of n logits uniform in [-mag, mag) over
// temp, from seed: a distribution like a model's after the temperature.
func SoftmaxProbs(seed uint64, n int, mag, temp float32) []float32 {
	r := rand.New(rand.NewPCG(seed, 31))
	x := scaled(r, n, mag)
	p := make([]float32, n)
	SoftmaxRowsRef(p, x, n, temp)
	return p
}

// ZipfProbs is n probabilities proportional to rank^-alpha, the ranks
// shuffled by seed: a long tail like a language model's. With alpha 1.5
// and 128256 tokens the 0.9 nucleus holds about 60 tokens and about 6000
// pass the cutoff.
func ZipfProbs(seed uint64, n int, alpha float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 37))
	w := make([]float64, n)
	var sum float64
	for i := range w {
		w[i] = math.Pow(float64(i+1), -alpha)
		sum += w[i]
	}
	p := make([]float32, n)
	for i, j := range r.Perm(n) {
		p[j] = float32(w[i] / sum)
	}
	return p
}

// toppCases cover run.c's paths: a nucleus inside the first chunk and
// spread over several, ties broken by index across chunk boundaries,
// candidates that never pass topp, a single token, topp outside (0, 1) and
// coins at both ends.
func toppCases(k templates.TopP) []BlockCase {
	levels := make([]float32, 2000) // four levels: ties decided by index
	r := rand.New(rand.NewPCG(41, 43))
	var sum float32
	for i := range levels {
		levels[i] = float32(1 + r.IntN(4))
		sum += levels[i]
	}
	for i := range levels {
		levels[i] /= sum
	}
	flat := make([]float32, 600)
	for i := range flat {
		flat[i] = 1.0 / 600
	}
	short := make([]float32, 1000) // sums to 0.5: every candidate is taken
	for i := range short {
		short[i] = 0.0005
	}
	return []BlockCase{
		TopPCase(k, "softmax/n=1000/coin=0.3", SoftmaxProbs(1, 1000, 5, 1), 0.9, 0.3),
		TopPCase(k, "softmax-hot/n=3000/coin=0.9", SoftmaxProbs(2, 3000, 2, 1.5), 0.95, 0.9),
		TopPCase(k, "zipf/n=20000/coin=0.5", ZipfProbs(3, 20000, 1.5), 0.9, 0.5),
		TopPCase(k, "zipf-flat/n=5000/coin=0.7", ZipfProbs(4, 5000, 0.6), 0.8, 0.7),
		TopPCase(k, "levels/n=2000/coin=0.1", levels, 0.9, 0.1),
		TopPCase(k, "flat/n=600/coin=0.999", flat, 0.9, 0.999),
		TopPCase(k, "short-mass/n=1000/coin=0.6", short, 0.9, 0.6),
		TopPCase(k, "coin=0", SoftmaxProbs(5, 700, 4, 1), 0.5, 0),
		TopPCase(k, "coin=max", SoftmaxProbs(6, 700, 4, 1), 0.5, 0x1.fffffep-1),
		// The sum reaches topp exactly at the second: only passing it ends
		// the nucleus, at the third.
		TopPCase(k, "sum-equals-topp", []float32{0.25, 0.25, 0.25, 0.25}, 0.5, 0.7),
		TopPCase(k, "n=1", []float32{1}, 0.9, 0.5),
		TopPCase(k, "topp=1/mult", SoftmaxProbs(7, 500, 3, 1), 1, 0.42),
		TopPCase(k, "topp=0/mult", SoftmaxProbs(8, 500, 3, 1), 0, 0.77),
	}
}

// RouterCase picks kk of the logits: the choices exactly; each score, the
// sigmoid, within exp's 2(3 + 2|v|)u relative (the derivative of
// 1/(1+e) relative to e's error is below 1) plus 8u for 1 + e and the
// division, twice.
func RouterCase(k templates.Router, name string, logits []float32, kk int) BlockCase {
	return routerRowsCase(k, name, logits, len(logits), kk)
}

// routerRowsCase is RouterCase for rows of experts logits each.
func routerRowsCase(k templates.Router, name string, logits []float32, experts, kk int) BlockCase {
	rows := len(logits) / experts
	cw := make([]uint32, rows*kk)
	sw := make([]float32, rows*kk)
	tol := make([]float64, rows*kk)
	for r := range rows {
		row := logits[r*experts : (r+1)*experts]
		chosen, scores := RouterRef(row, kk)
		copy(sw[r*kk:], scores)
		for j, i := range chosen {
			cw[r*kk+j] = uint32(i)
			tol[r*kk+j] = 2 * float64(scores[j]) * (2*(3+2*math.Abs(float64(row[i]))) + 8) * unitRoundoff
		}
	}
	return BlockCase{Name: name, Groups: k.Groups(rows), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(experts), uint32(kk))},
		{Name: "logits", Data: F32Words(logits)},
		{Name: "chosen", Data: SentinelWords(rows * kk), Want: cw},
		{Name: "scores", Data: SentinelWords(rows * kk), Want: F32Words(sw), Tol: tol},
	}}
}

// routerCases: Llama 4's 16 and 128 experts, k up to MaxRouterK, more
// experts than threads, ties, all chosen, and a single expert.
func routerCases(k templates.Router) []BlockCase {
	r := rand.New(rand.NewPCG(47, 53))
	ties := scaled(r, 128, 4)
	ties[100], ties[7], ties[64] = 9, 9, 9 // three tied maxima: 7, 64, 100 in that order
	ties[3], ties[90] = -9, 8
	neg := scaled(r, 5, 3)
	for i := range neg {
		neg[i] -= 10
	}
	return []BlockCase{
		RouterCase(k, "experts=16/k=1", scaled(r, 16, 3), 1),
		RouterCase(k, "experts=128/k=1", scaled(r, 128, 3), 1),
		RouterCase(k, "ties/experts=128/k=8", ties, templates.MaxRouterK),
		RouterCase(k, "experts=300/k=3", scaled(r, 300, 5), 3),
		RouterCase(k, "all/experts=5/k=5", neg, 5),
		RouterCase(k, "experts=1/k=1", []float32{0.25}, 1),
		routerRowsCase(k, "rows=5/experts=16/k=2", scaled(r, 5*16, 3), 16, 2),
	}
}
