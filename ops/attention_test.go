package ops_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tune-gpu/tune/ops"
)

// splitPartials is split decode attention's first half on the CPU, in
// float64: per split and query head, the unnormalised output and the
// maximum and sum of exp(score - maximum), as FlashDecode writes them.
func splitPartials(q, kc, vc []float32, a ops.Attn) (opart, mlpart []float32) {
	p, hd, kvDim := a.QPos, a.HeadDim, a.KVDim()
	lo, splits := a.FirstKey(p), a.Splits()
	opart, mlpart = make([]float32, splits*a.Heads*hd), make([]float32, splits*a.Heads*2)
	t := float64(a.Temperature(p))
	for s := 0; s < splits; s++ {
		start, end := lo+s*a.Split, min(lo+(s+1)*a.Split, p+1)
		for h := 0; h < a.Heads; h++ {
			g := h / (a.Heads / a.KVHeads)
			sc := make([]float64, end-start)
			m := math.Inf(-1)
			for j := range sc {
				var d float64
				for c := 0; c < hd; c++ {
					d += float64(q[h*hd+c]) * t * float64(kc[(start+j)*kvDim+g*hd+c])
				}
				sc[j] = d / math.Sqrt(float64(hd))
				m = max(m, sc[j])
			}
			var l float64
			o := make([]float64, hd)
			for j, v := range sc {
				e := math.Exp(v - m)
				l += e
				for c := range o {
					o[c] += e * float64(vc[(start+j)*kvDim+g*hd+c])
				}
			}
			at := s*a.Heads + h
			for c, v := range o {
				opart[at*hd+c] = float32(v)
			}
			mlpart[2*at], mlpart[2*at+1] = float32(m), float32(l)
		}
	}
	return opart, mlpart
}

// Partials of split attention computed on the CPU and combined by
// FlashReduceRef give CausalAttentionRef's output, with one split and
// with several whose maxima differ.
func TestFlashReduceRefCombinesSplits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, a := range []ops.Attn{
		{Heads: 4, KVHeads: 2, HeadDim: 32, QLen: 1, QPos: 70, Split: 16},
		{Heads: 2, KVHeads: 1, HeadDim: 8, QLen: 1, QPos: 5, Split: 64},
		{Heads: 3, KVHeads: 1, HeadDim: 16, QLen: 1, QPos: 40, Split: 7, Chunk: 19, FloorScale: 4, AttnScale: 0.1},
	} {
		rows := a.QPos + 1
		q := make([]float32, a.Heads*a.HeadDim)
		kc, vc := make([]float32, rows*a.KVDim()), make([]float32, rows*a.KVDim())
		for _, v := range [][]float32{q, kc, vc} {
			for i := range v {
				v[i] = 2*r.Float32() - 1
			}
		}
		for i := range q {
			q[i] *= 4
		}
		want := make([]float32, len(q))
		ops.CausalAttentionRef(want, q, kc, vc, a)
		opart, mlpart := splitPartials(q, kc, vc, a)
		got := make([]float32, len(q))
		ops.FlashReduceRef(got, opart, mlpart, a)
		tol := ops.FlashReduceTolerance(opart, mlpart, a)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%+v: out[%d] = %g, want %g", a, i, got[i], want[i])
			}
			if !(tol[i] > 0 && tol[i] < 1e-4) {
				t.Fatalf("%+v: tolerance[%d] = %g, want a few ulp of outputs in [-1, 1]", a, i, tol[i])
			}
		}
		if a.Splits() > 1 {
			// Without the rescaling the combination is wrong.
			for i := 1; i < len(mlpart); i += 2 {
				mlpart[i-1] = 0
			}
			ops.FlashReduceRef(got, opart, mlpart, a)
			if same := func() bool {
				for i := range want {
					if math.Abs(float64(got[i]-want[i])) > 1e-3 {
						return false
					}
				}
				return true
			}(); same {
				t.Errorf("%+v: partials with their maxima zeroed combine to the same output", a)
			}
		}
	}
}
