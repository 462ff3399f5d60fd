package llama

import (
	"math"
	"testing"
)

// Calibration records every projection's input range: the Q, K and V
// projections share an input, as do gate and up; the classifier's input
// is the final norm's output; the ranges match a pass that recomputes the
// inputs by hand for the first token.
func TestCalibrate(t *testing.T) {
	m := loadStories(t, "stories260K.gguf")
	tokens := m.Tokenizer.Encode("Once upon a time", true, false)
	got, err := m.Calibrate(tokens)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range m.Layers {
		a := l.Attention
		q := got[a.Query.Name]
		if q <= 0 || got[a.Key.Name] != q || got[a.Value.Name] != q {
			t.Errorf("layer %d: q, k, v inputs %g %g %g", i, q, got[a.Key.Name], got[a.Value.Name])
		}
		if g := got[l.MLP.Gate.Name]; g <= 0 || got[l.MLP.Up.Name] != g || got[l.MLP.Down.Name] <= 0 || got[a.Output.Name] <= 0 {
			t.Errorf("layer %d: missing ranges: %v", i, got)
		}
	}
	if got[m.Output.Name] <= 0 {
		t.Errorf("no classifier range")
	}
	// One token: layer 0's Q input is rmsnorm(embedding) exactly.
	one, err := m.Calibrate(tokens[:1])
	if err != nil {
		t.Fatal(err)
	}
	x := rmsNorm(m.TokenEmbedding.RowTo(tokens[0], make([]float32, m.Dim)), m.Layers[0].AttentionNorm.Data, m.RMSEps)
	var want float32
	for _, v := range x {
		want = max(want, float32(math.Abs(float64(v))))
	}
	if q := one[m.Layers[0].Attention.Query.Name]; q != want {
		t.Errorf("layer 0 q input absmax %g, want %g", q, want)
	}
	if one[m.Layers[0].Attention.Query.Name] > got[m.Layers[0].Attention.Query.Name] {
		t.Errorf("a longer text shrank a range")
	}
	for _, w := range m.Weights() {
		if w.observe != nil {
			t.Fatalf("%s still observed after calibration", w.Name)
		}
	}
	if _, err := m.Calibrate(nil); err == nil {
		t.Error("no tokens accepted")
	}
	if _, err := m.Calibrate([]int{m.VocabSize}); err == nil {
		t.Error("token outside the vocabulary accepted")
	}
}
