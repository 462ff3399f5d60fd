package llama

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/quant"
)

// The same seed gives the same weights whatever the number of goroutines,
// and another seed other weights.
func TestSyntheticDeterministic(t *testing.T) {
	f := &quant.Format{Bits: 4, Group: 32}
	gen := func(procs int, seed uint64) *Model {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		m, err := Synthetic("synthetic:tiny", SyntheticOptions{Format: f, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b, c := gen(1, 7), gen(4, 7), gen(4, 8)
	for i, w := range a.Weights() {
		wb, wc := b.Weights()[i], c.Weights()[i]
		if w.Q == nil {
			continue // norms: all ones
		}
		if !slices.Equal(w.Q.Words, wb.Q.Words) || !slices.Equal(w.Q.Scales, wb.Q.Scales) {
			t.Errorf("%s differs between 1 and 4 goroutines", w.Name)
		}
		if slices.Equal(w.Q.Words, wc.Q.Words) {
			t.Errorf("%s is the same for seeds 7 and 8", w.Name)
		}
	}
}

// A quantized model is the f32 model of the same seed quantized: the same
// values drawn, rounded by quant.Quantize; and the CPU forward pass from
// the codes equals the forward pass over their dequantized values.
func TestSyntheticQuantizedAsGenerated(t *testing.T) {
	f32, err := Synthetic("tiny", SyntheticOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	f := quant.Format{Bits: 8, Group: 64}
	q, err := Synthetic("tiny", SyntheticOptions{Format: &f, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	deq := *q
	deq.Layers = slices.Clone(q.Layers)
	plain := func(w *Weight) *Weight {
		if w.Q == nil {
			return w
		}
		return &Weight{Name: w.Name, Rows: w.Rows, Cols: w.Cols, Data: w.Q.Dequantize()}
	}
	for i, w := range f32.Weights() {
		qw := q.Weights()[i]
		if w.Name != qw.Name || w.Q != nil {
			t.Fatalf("weight %d: %s and %s", i, w.Name, qw.Name)
		}
		if qw.Q == nil {
			continue
		}
		want, err := quant.Quantize(w.Data, w.Rows, w.Cols, f, quant.RTN)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(want.Words, qw.Q.Words) || !slices.Equal(want.Scales, qw.Q.Scales) {
			t.Errorf("%s is not the f32 weight quantized", w.Name)
		}
		var std float64
		for _, v := range w.Data {
			std += float64(v) * float64(v)
		}
		if std = math.Sqrt(std / float64(len(w.Data))); math.Abs(std*math.Sqrt(float64(w.Cols))-1) > 0.05 {
			t.Errorf("%s: standard deviation %.4g, want 1/sqrt(%d)", w.Name, std, w.Cols)
		}
	}
	deq.TokenEmbedding = plain(q.TokenEmbedding)
	deq.Output = deq.TokenEmbedding // tiny is tied
	for i := range deq.Layers {
		l := &deq.Layers[i]
		a := *l.Attention
		a.Query, a.Key, a.Value, a.Output = plain(a.Query), plain(a.Key), plain(a.Value), plain(a.Output)
		mlp := MLP{Gate: plain(l.MLP.Gate), Up: plain(l.MLP.Up), Down: plain(l.MLP.Down)}
		l.Attention, l.MLP = &a, &mlp
	}
	cq, cd := q.NewKVCache(8), deq.NewKVCache(8)
	for pos, id := range []int{1, 200, 3, 511} {
		a, b := q.Forward(id, pos, cq), deq.Forward(id, pos, cd)
		if !slices.Equal(a, b) {
			t.Fatalf("pos %d: forward from codes differs from forward from their values", pos)
		}
		for _, v := range a {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 100 {
				t.Fatalf("pos %d: logit %v", pos, v)
			}
		}
	}
}

func TestSyntheticRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		f    *quant.Format
		want string
	}{
		{"synthetic:llama-9b", nil, "unknown synthetic model"},
		{"llama-2-7b", nil, "over the"},
		{"tiny", &quant.Format{Bits: 3, Group: 32}, "bits"},
		{"llama-2-7b", &quant.Format{Bits: 4, Group: 96}, "does not divide"},
	} {
		if _, err := Synthetic(c.name, SyntheticOptions{Format: c.f}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Synthetic(%s, %v): error %v, want one saying %q", c.name, c.f, err, c.want)
		}
	}
}

// The real models' sizes: parameter counts as published (Llama 2 7B 6.74 G,
// Llama 3.1 8B 8.03 G, Llama 3.2 1B 1.24 G and 3B 3.21 G).
func TestSyntheticShapes(t *testing.T) {
	for name, want := range map[string]float64{"llama-2-7b": 6.74e9, "llama-3.1-8b": 8.03e9, "llama-3.2-1b": 1.24e9, "llama-3.2-3b": 3.21e9} {
		spec, err := lookupSynthetic(name)
		if err != nil {
			t.Fatal(err)
		}
		n := float64(spec.f32Bytes()) / 4
		for range spec.NumLayers {
			n += 2 * float64(spec.Dim) // the norms
		}
		if math.Abs(n/want-1) > 0.005 {
			t.Errorf("%s: %.4g parameters, want %.4g", name, n, want)
		}
	}
}

// A small Llama 4 model runs on the CPU with finite logits, and its MoE
// layer computes what its definition says: the shared expert on x plus the
// best expert on x scaled by the sigmoid of its router score.
func TestSyntheticMoE(t *testing.T) {
	spec := syntheticSpecs["llama-4-mini"]
	spec.Dim, spec.HiddenDim, spec.NumHeads, spec.NumKVHeads, spec.HeadDim, spec.RopeDim = 64, 128, 4, 2, 16, 16
	spec.VocabSize, spec.Experts, spec.ExpertHidden, spec.Chunk = 100, 4, 32, 3
	m, err := spec.generate("mini", SyntheticOptions{Format: &quant.Format{Bits: 8, Group: 32}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Layers[3].Attention.NoRope || m.Layers[0].Attention.NoRope || !m.Layers[0].Attention.QKNorm || m.Layers[0].MoE == nil {
		t.Fatal("layer pattern is not Llama 4's")
	}
	cache := m.NewKVCache(8)
	for pos, id := range []int{1, 5, 99, 5, 6, 7} {
		for _, v := range m.Forward(id, pos, cache) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("pos %d: logit %v", pos, v)
			}
		}
	}
	moe := m.Layers[0].MoE
	x := uniformValues(rand.New(rand.NewPCG(1, 1)), 64, 1)
	scores := matmul(moe.Router, x)
	best := 0
	for e, s := range scores {
		if s > scores[best] {
			best = e
		}
	}
	scaled := make([]float32, len(x))
	s := 1 / (1 + float32(math.Exp(-float64(scores[best]))))
	for i, v := range x {
		scaled[i] = v * s
	}
	want := moe.Shared.Forward(x)
	add(want, moe.Experts[best].Forward(scaled))
	if got := moe.Forward(x); !slices.Equal(got, want) {
		t.Errorf("MoE output differs from shared + sigmoid-scaled best expert")
	}
}
