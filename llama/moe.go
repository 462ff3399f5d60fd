package llama

import (
	"cmp"
	"slices"

	"github.com/tune-gpu/tune/ops"
)

// MoE is Llama 4's mixture-of-experts feed-forward network. The router
// scores every expert for the token; each of the ExpertsUsed best runs on
// the input scaled by the sigmoid of its score (the scale goes on the
// input, not the output, as in Hugging Face's Llama4TextMoe and llama.cpp);
// a shared expert always runs on the unscaled input, and the outputs are
// added.
type MoE struct {
	Router  *Weight // Experts rows of Dim
	Experts []MLP
	Shared  *MLP
	Used    int // experts per token, Options.ExpertsUsed
}

// Forward returns the MoE output for x, the normalized residual stream.
func (m *MoE) Forward(x []float32) []float32 {
	out := m.Shared.Forward(x)
	scores := matmul(m.Router, x)
	for _, e := range topK(scores, m.Used) {
		s := 1 / (1 + exp(-scores[e]))
		in := make([]float32, len(x))
		for i, v := range x {
			in[i] = v * s
		}
		add(out, m.Experts[e].Forward(in))
	}
	return out
}

// topK returns the indices of the k largest scores, best first, the lower
// index first among equals.
func topK(scores []float32, k int) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	return idx[:k]
}

func (m *MoE) weights() []*Weight {
	ws := []*Weight{m.Router}
	for _, e := range m.Experts {
		ws = append(ws, e.Gate, e.Up, e.Down)
	}
	return append(ws, m.Shared.Gate, m.Shared.Up, m.Shared.Down)
}

// headNorm RMS-normalises each head of hd values of x in place, with unit
// weights: Llama 4's L2 norm of queries and keys.
func headNorm(x []float32, hd int, eps float32) {
	ones := make([]float32, hd)
	for i := range ones {
		ones[i] = 1
	}
	out := make([]float32, hd)
	for h := 0; h < len(x); h += hd {
		ops.RMSNormRef(out, x[h:h+hd], ones, eps)
		copy(x[h:h+hd], out)
	}
}
