package llama

import (
	"fmt"
	"math"
)

// Calibrate runs the CPU forward pass over tokens, at positions 0, 1, ...
// of one cache, and returns for every matrix the pass multiplies (by
// tensor name: the attention and MLP or expert projections, and the
// classifier) the largest |x| of its input vectors: the range a static
// int8 activation scale is taken from (quant.ActAbsmaxPrefix). A matrix
// the tokens never reach (an expert no token was routed to) is left out.
// tokens must be non-empty, within the vocabulary and at most SeqLen long.
func (m *Model) Calibrate(tokens []int) (map[string]float32, error) {
	if len(tokens) == 0 || len(tokens) > m.SeqLen {
		return nil, fmt.Errorf("llama: calibrating on %d tokens, want 1 to %d", len(tokens), m.SeqLen)
	}
	for i, t := range tokens {
		if t < 0 || t >= m.VocabSize {
			return nil, fmt.Errorf("llama: calibration token %d is %d, outside the vocabulary of %d", i, t, m.VocabSize)
		}
	}
	absmax := map[string]float32{}
	ws := m.Weights()
	for _, w := range ws {
		w.observe = func(x []float32) {
			a := absmax[w.Name]
			for _, v := range x {
				a = max(a, float32(math.Abs(float64(v))))
			}
			absmax[w.Name] = a
		}
	}
	defer func() {
		for _, w := range ws {
			w.observe = nil
		}
	}()
	cache := m.NewKVCache(len(tokens))
	for pos, t := range tokens {
		m.Forward(t, pos, cache)
	}
	return absmax, nil
}
