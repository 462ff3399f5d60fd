package ops

import (
	"math"
	"math/rand/v2"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/templates"
)

// The host side of the matmul, GEMV and GEMM checks: the operands the
// evaluators validate a shape with (drawn from a seed of the shape, so
// every caller gets the same ones), the CPU reference of one output
// element with the tolerance a kernel's f32 value must meet, and the
// elements a large output is checked on. The evaluators use them on the
// device; package web writes them out for a browser to check with.

// MatmulInputs returns A (M x K) and B (K x N), row-major, uniform in
// [-1, 1).
func MatmulInputs(s Shape) (a, b []float32) {
	r := rand.New(rand.NewPCG(uint64(s.M)<<40|uint64(s.N)<<20|uint64(s.K), 2))
	return uniform(r, s.M*s.K), uniform(r, s.K*s.N)
}

// MatmulReference returns C[row][col] of A x B in float64 and the error
// allowed for an f32 kernel: Tolerance of the sum of |a*b| terms.
func MatmulReference(s Shape, a, b []float32, row, col int) (want, tol float64) {
	var mag float64
	for k := 0; k < s.K; k++ {
		p := float64(a[row*s.K+k]) * float64(b[k*s.N+col])
		want += p
		mag += math.Abs(p)
	}
	return want, Tolerance(s.K, mag)
}

// GemvInputs returns W (Rows x Cols in format f, random codes, scales and
// mins) and x (Cols, uniform in [-1, 1)).
func GemvInputs(s GemvShape, f quant.Format) (*quant.Tensor, []float32, error) {
	r := rand.New(rand.NewPCG(uint64(s.Rows)<<32|uint64(s.Cols), uint64(f.Bits)))
	t, err := randomTensor(r, f, s.Rows, s.Cols)
	if err != nil {
		return nil, nil, err
	}
	return t, uniform(r, s.Cols), nil
}

// GemvReference returns y[row] = DequantizeRow(row) . x in float64 and the
// error allowed: Tolerance of the sum of |w x| plus sum scale 2^bits |x|,
// the second term for unpackings that round a code by an ulp before the
// offset is taken away. scratch holds at least t.Cols values.
func GemvReference(t *quant.Tensor, x []float32, row int, scratch []float32) (want, tol float64) {
	w := scratch[:t.Cols]
	t.DequantizeRow(row, w)
	glen := t.GroupLen(t.Cols)
	var mag, codes float64
	for c, v := range w {
		p := float64(v) * float64(x[c])
		want += p
		mag += math.Abs(p)
		codes += float64(t.Scales[row*(t.Cols/glen)+c/glen]) * float64(int(1)<<t.Bits) * math.Abs(float64(x[c]))
	}
	return want, Tolerance(t.Cols, mag+codes)
}

// GemvFusion holds what a fused GEMV (templates.Gemv Norm, GLU, Acc)
// reads besides W and x.
type GemvFusion struct {
	Norm []float32 // the norm weight, Cols values in [-1.5, 1.5)
	// GU is the packed gate/up input of GLU: gate (Cols values in [-8, 8))
	// at 0, then up (Cols values in [-2, 2)) at Cols, SwiGLUCase's ranges.
	GU []float32
	Y0 []float32 // y before an accumulating run, Rows values in [-4, 4)
	// Eps is the norm's epsilon, Llama's.
	Eps float32
}

// GemvFusionInputs draws a GemvFusion for shape s from a seed of the
// shape, so every caller gets the same one.
func GemvFusionInputs(s GemvShape) GemvFusion {
	r := rand.New(rand.NewPCG(uint64(s.Rows)<<32|uint64(s.Cols), 19))
	gu := append(scaled(r, s.Cols, 8), scaled(r, s.Cols, 2)...)
	return GemvFusion{Norm: scaled(r, s.Cols, 1.5), GU: gu, Y0: scaled(r, s.Rows, 4), Eps: rmsEps}
}

// GemvUniform is a GEMV's uniform for k: {rows, cols, glen, row_offset},
// then with Norm or GLU {eps, gate, up, 0}, the gate and up offsets in
// floats (multiples of 4); with Expert, GemvExpertUniform adds the rest.
func GemvUniform(k templates.Gemv, rows, cols, glen, offset int, eps float32, gate, up int) []uint32 {
	u := []uint32{uint32(rows), uint32(cols), uint32(glen), uint32(offset)}
	if k.Norm || k.GLU {
		u = append(u, math.Float32bits(eps), uint32(gate), uint32(up), 0)
	}
	if k.Expert {
		u = append(u, 0, 0, 0, 0)
	}
	return u
}

// GemvExpertUniform is GemvUniform for a kernel with Expert computing the
// expert chosen[slot], its rows scaled by scores[slot] if scaled.
func GemvExpertUniform(k templates.Gemv, rows, cols, glen, offset int, eps float32, gate, up, slot int, scaled bool) []uint32 {
	u := GemvUniform(k, rows, cols, glen, offset, eps, gate, up)
	if k.Expert {
		n := len(u)
		u[n-4] = uint32(slot)
		if scaled {
			u[n-3] = 1
		}
	}
	return u
}

// GemvFusedReference is GemvReference for k's fusions, the GLU input and
// the norm computed in float64:
//
//	GLU:  x'[c] = silu(gate[c]) * up[c]; each is within (3 + 2|gate| + 8)
//	      ULP on the device (SwiGLUCase's bound), added per term;
//	Norm: x'[c] = norm[c] * x[c] and the sum times 1/sqrt(mean(x²) + eps);
//	      the product adds a rounding per term, the scale (2 cols + 32) ULP
//	      relative (RMSNormCase's bound) of the sum and its error;
//	Acc:  Y0[row] plus the sum, one rounding more.
//
// The codes term of GemvReference is taken over |x'|. scratch holds at least
// t.Cols values.
func GemvFusedReference(t *quant.Tensor, x []float32, fu GemvFusion, k templates.Gemv, row int, scratch []float32) (want, tol float64) {
	w := scratch[:t.Cols]
	t.DequantizeRow(row, w)
	glen := t.GroupLen(t.Cols)
	n := t.Cols
	var mag, codes, extra, ss float64
	for c, v := range w {
		xc, rel := float64(x[c]), 0.0
		switch {
		case k.GLU:
			g, up := float64(fu.GU[c]), float64(fu.GU[n+c])
			xc = g / (1 + math.Exp(-g)) * up
			rel = (3 + 2*math.Abs(g) + 8) * unitRoundoff
		case k.Norm:
			ss += xc * xc
			xc *= float64(fu.Norm[c])
			rel = unitRoundoff
		}
		p := float64(v) * xc
		want += p
		mag += math.Abs(p)
		extra += math.Abs(p) * rel
		codes += float64(t.Scales[row*(t.Cols/glen)+c/glen]) * float64(int(1)<<t.Bits) * math.Abs(xc)
	}
	tol = Tolerance(n, mag+codes) + extra
	if k.Norm {
		scale := 1 / math.Sqrt(ss/float64(n)+float64(fu.Eps))
		want *= scale
		tol *= scale
		tol += (math.Abs(want) + tol) * float64(2*n+32) * unitRoundoff
	}
	if k.Acc {
		y0 := float64(fu.Y0[row])
		tol += (math.Abs(want) + math.Abs(y0) + tol) * unitRoundoff
		want += y0
	}
	return want, tol
}

// GemmInputs returns W (N output channels x K in format f, random codes,
// scales and mins) and A (M x K, uniform in [-1, 1)).
func GemmInputs(s GemmShape, f quant.Format) (*quant.Tensor, []float32, error) {
	r := rand.New(rand.NewPCG(uint64(s.M)<<40|uint64(s.N)<<20|uint64(s.K), uint64(f.Bits)))
	t, err := randomTensor(r, f, s.N, s.K)
	if err != nil {
		return nil, nil, err
	}
	return t, uniform(r, s.M*s.K), nil
}

// GemmReference returns C[row][col] = A[row] . W[col] in float64, w being
// row col of W as DequantizeRow gives it, and the error allowed: Tolerance
// of the sum of |a*w| terms and, for asymmetric formats, of
// |a|*(|u*scale| + |min|), since u*scale + min may round differently (or
// be fused) on the device. Unpacking itself is exact.
func GemmReference(t *quant.Tensor, a, w []float32, row, col int) (want, tol float64) {
	k := t.Cols
	glen := t.GroupLen(k)
	var mag float64
	for l := 0; l < k; l++ {
		av := float64(a[row*k+l])
		p := av * float64(w[l])
		want += p
		mag += math.Abs(p)
		if t.Asym {
			m := float64(t.Mins[col*(k/glen)+l/glen])
			mag += math.Abs(av) * (math.Abs(float64(w[l])-m) + math.Abs(m))
		}
	}
	return want, Tolerance(k, mag)
}

// GemvBytes is the memory one GEMV streams: W's codes, scales and mins, x
// and y. It is the work of the B/s rates GEMV measurements report.
func GemvBytes(s GemvShape, f quant.Format) float64 {
	return float64(quantBytes(s, f)) + float64(4*s.Cols) + float64(4*s.Rows)
}

// SampleIndices picks n elements of an M x N output (row-major indices):
// the four corners, and the rest spread by a fixed seed.
func SampleIndices(s Shape, n int) []int {
	total := s.M * s.N
	idx := []int{0, s.N - 1, (s.M - 1) * s.N, total - 1}
	r := rand.New(rand.NewPCG(7, 11))
	for len(idx) < n && len(idx) < total {
		idx = append(idx, r.IntN(total))
	}
	return idx
}

// SampleRows picks n of rows output rows: the first, the last and the rest
// by a fixed seed.
func SampleRows(rows, n int) []int {
	out := []int{0, rows - 1}
	r := rand.New(rand.NewPCG(3, 5))
	for len(out) < n && len(out) < rows {
		out = append(out, r.IntN(rows))
	}
	return out
}

// randomTensor makes a rows x cols tensor of format f with random codes,
// scales in [0.5, 1.5) / 2^bits and mins in (-0.5, 0].
func randomTensor(r *rand.Rand, f quant.Format, rows, cols int) (*quant.Tensor, error) {
	t := &quant.Tensor{Format: f, Rows: rows, Cols: cols}
	t.Words = make([]uint32, rows*t.WordsPerRow())
	for i := range t.Words {
		t.Words[i] = r.Uint32()
	}
	groups := rows * (cols / f.GroupLen(cols))
	t.Scales = make([]float32, groups)
	for i := range t.Scales {
		t.Scales[i] = (0.5 + r.Float32()) / float32(int(1)<<f.Bits)
	}
	if f.Asym {
		t.Mins = make([]float32, groups)
		for i := range t.Mins {
			t.Mins[i] = -0.5 * r.Float32()
		}
	}
	return t, t.Validate()
}

func uniform(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*r.Float32() - 1
	}
	return v
}
