package llama

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/tune-gpu/tune/gguf"
)

// tinyOptions is a small model with grouped-query attention (2 query heads
// per kv head) and partial RoPE (4 of 6 head dimensions).
var tinyOptions = Options{Dim: 12, HiddenDim: 20, NumLayers: 2, NumHeads: 2, NumKVHeads: 1, VocabSize: 7,
	SeqLen: 6, HeadDim: 6, RopeDim: 4, RopeTheta: 10000, RMSEps: 1e-5}

// randomModel returns a model of options o with weights drawn from a fixed
// seed, its classifier tied to the embedding or not.
func randomModel(t testing.TB, o Options, tied bool) *Model {
	t.Helper()
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	w := func(name string, rows, cols int) *Weight {
		x := &Weight{Name: name, Type: gguf.F32, Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64() * 0.5)
			if rows == 1 {
				x.Data[i] += 1
			}
		}
		return x
	}
	m := &Model{Options: o, Layers: make([]Layer, o.NumLayers)}
	m.TokenEmbedding = w("token_embd.weight", o.VocabSize, o.Dim)
	for i := range m.Layers {
		n := func(s string) string { return fmt.Sprintf("blk.%d.%s.weight", i, s) }
		m.Layers[i] = Layer{
			AttentionNorm: w(n("attn_norm"), 1, o.Dim),
			Attention: &Attention{Query: w(n("attn_q"), o.QDim(), o.Dim), Key: w(n("attn_k"), o.KVDim(), o.Dim),
				Value: w(n("attn_v"), o.KVDim(), o.Dim), Output: w(n("attn_output"), o.Dim, o.QDim())},
			MLPNorm: w(n("ffn_norm"), 1, o.Dim),
			MLP: &MLP{Gate: w(n("ffn_gate"), o.HiddenDim, o.Dim), Up: w(n("ffn_up"), o.HiddenDim, o.Dim),
				Down: w(n("ffn_down"), o.Dim, o.HiddenDim)},
		}
	}
	m.OutputNorm = w("output_norm.weight", 1, o.Dim)
	m.Output = m.TokenEmbedding
	if !tied {
		m.Output = w("output.weight", o.VocabSize, o.Dim)
	}
	return m
}

// llama2cBytes serializes m as a llama2.c legacy checkpoint. Its RoPE must
// be the llama2.c one (RopeDim == HeadDim, theta 10000).
func llama2cBytes(m *Model) []byte {
	var b bytes.Buffer
	vocab := m.VocabSize
	if m.Output != m.TokenEmbedding {
		vocab = -vocab
	}
	for _, v := range []int{m.Dim, m.HiddenDim, m.NumLayers, m.NumHeads, m.NumKVHeads, vocab, m.SeqLen} {
		binary.Write(&b, binary.LittleEndian, int32(v))
	}
	put := func(w *Weight) { binary.Write(&b, binary.LittleEndian, w.Data) }
	put(m.TokenEmbedding)
	for _, get := range []func(l *Layer) *Weight{
		func(l *Layer) *Weight { return l.AttentionNorm },
		func(l *Layer) *Weight { return l.Attention.Query },
		func(l *Layer) *Weight { return l.Attention.Key },
		func(l *Layer) *Weight { return l.Attention.Value },
		func(l *Layer) *Weight { return l.Attention.Output },
		func(l *Layer) *Weight { return l.MLPNorm },
		func(l *Layer) *Weight { return l.MLP.Gate },
		func(l *Layer) *Weight { return l.MLP.Down },
		func(l *Layer) *Weight { return l.MLP.Up },
	} {
		for i := range m.Layers {
			put(get(&m.Layers[i]))
		}
	}
	put(m.OutputNorm)
	b.Write(make([]byte, 4*m.SeqLen*m.HeadDim)) // freq_cis_real, freq_cis_imag
	if m.Output != m.TokenEmbedding {
		put(m.Output)
	}
	return b.Bytes()
}

// ggufBytes serializes m as a GGUF file with F32 tensors, the llama.*
// metadata of its options, and the extra metadata given (replacing keys of
// the same name).
func ggufBytes(t testing.TB, m *Model, extra ...gguf.KV) []byte {
	t.Helper()
	meta := []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "llama.context_length", Value: uint32(m.SeqLen)},
		{Key: "llama.embedding_length", Value: uint32(m.Dim)},
		{Key: "llama.feed_forward_length", Value: uint32(m.HiddenDim)},
		{Key: "llama.block_count", Value: uint32(m.NumLayers)},
		{Key: "llama.attention.head_count", Value: uint32(m.NumHeads)},
		{Key: "llama.attention.head_count_kv", Value: uint32(m.NumKVHeads)},
		{Key: "llama.rope.dimension_count", Value: uint32(m.RopeDim)},
		{Key: "llama.rope.freq_base", Value: m.RopeTheta},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: m.RMSEps},
	}
	var ts []gguf.Tensor
	if f := m.RopeFreqs; f != nil {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, f)
		ts = append(ts, gguf.Tensor{Name: "rope_freqs.weight", Dims: []uint64{uint64(len(f))}, Type: gguf.F32, Data: b.Bytes()})
	}
	for _, w := range m.Weights() {
		dims := []uint64{uint64(w.Cols), uint64(w.Rows)}
		if w.Rows == 1 {
			dims = dims[:1]
		}
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, w.Data)
		ts = append(ts, gguf.Tensor{Name: w.Name, Dims: dims, Type: gguf.F32, Data: b.Bytes()})
	}
	for _, kv := range extra {
		if i := slices.IndexFunc(meta, func(x gguf.KV) bool { return x.Key == kv.Key }); i >= 0 {
			meta[i] = kv
		} else {
			meta = append(meta, kv)
		}
	}
	var b bytes.Buffer
	if err := gguf.Write(&b, meta, ts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// referenceLogits recomputes the logits at every position of tokens from
// scratch, in float64, straight from the definitions: causal attention as
// a masked softmax over the whole prefix, RoPE as a complex rotation, and
// kv head h/(NumHeads/NumKVHeads) serving query head h.
func referenceLogits(m *Model, tokens []int) [][]float64 {
	o := m.Options
	mul := func(w *Weight, x []float64) []float64 {
		y := make([]float64, w.Rows)
		for i := range y {
			for j, v := range w.Row(i) {
				y[i] += float64(v) * x[j]
			}
		}
		return y
	}
	norm := func(w *Weight, x []float64) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		s := 1 / math.Sqrt(ss/float64(len(x))+float64(o.RMSEps))
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = float64(w.Data[i]) * v * s
		}
		return y
	}
	rot := func(x []float64, pos int) {
		for h := 0; h < len(x); h += o.HeadDim {
			for j := 0; j < o.RopeDim/2; j++ {
				angle := float64(pos) * math.Pow(float64(o.RopeTheta), -2*float64(j)/float64(o.RopeDim))
				if o.RopeFreqs != nil {
					angle /= float64(o.RopeFreqs[j])
				}
				z := complex(x[h+2*j], x[h+2*j+1]) * cmplx.Exp(complex(0, angle))
				x[h+2*j], x[h+2*j+1] = real(z), imag(z)
			}
		}
	}
	n := len(tokens)
	xs := make([][]float64, n)
	for p, tok := range tokens {
		for _, v := range m.TokenEmbedding.Row(tok) {
			xs[p] = append(xs[p], float64(v))
		}
	}
	for _, l := range m.Layers {
		qs, ks, vs := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for p := range n {
			h := norm(l.AttentionNorm, xs[p])
			qs[p], ks[p], vs[p] = mul(l.Attention.Query, h), mul(l.Attention.Key, h), mul(l.Attention.Value, h)
			rot(qs[p], p)
			rot(ks[p], p)
		}
		for p := range n {
			att := make([]float64, o.QDim())
			for h := range o.NumHeads {
				kv := h / (o.NumHeads / o.NumKVHeads) * o.HeadDim
				w := make([]float64, p+1)
				var sum float64
				for t := range w {
					for i := range o.HeadDim {
						w[t] += qs[p][h*o.HeadDim+i] * ks[t][kv+i]
					}
					w[t] = math.Exp(w[t] / math.Sqrt(float64(o.HeadDim)))
					sum += w[t]
				}
				for t := range w {
					for i := range o.HeadDim {
						att[h*o.HeadDim+i] += w[t] / sum * vs[t][kv+i]
					}
				}
			}
			for i, v := range mul(l.Attention.Output, att) {
				xs[p][i] += v
			}
			h := norm(l.MLPNorm, xs[p])
			g, u := mul(l.MLP.Gate, h), mul(l.MLP.Up, h)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			for i, v := range mul(l.MLP.Down, g) {
				xs[p][i] += v
			}
		}
	}
	logits := make([][]float64, n)
	for p := range n {
		logits[p] = mul(m.Output, norm(m.OutputNorm, xs[p]))
	}
	return logits
}

// forwardAll runs tokens through m at positions 0.. with one cache.
func forwardAll(m *Model, tokens []int) [][]float32 {
	c := m.NewKVCache(len(tokens))
	var out [][]float32
	for p, tok := range tokens {
		out = append(out, m.Forward(tok, p, c))
	}
	return out
}

func TestForwardMatchesDefinition(t *testing.T) {
	llama2c := tinyOptions
	llama2c.RopeDim = llama2c.HeadDim
	mha := llama2c
	mha.NumKVHeads = mha.NumHeads
	scaled := llama2c
	scaled.RopeFreqs = make([]float32, scaled.RopeDim/2)
	for i := range scaled.RopeFreqs {
		scaled.RopeFreqs[i] = 1 + float32(i) // pair 0 as plain RoPE, the others slower
	}
	for _, tc := range []struct {
		name string
		o    Options
	}{{"gqa partial rope", tinyOptions}, {"gqa", llama2c}, {"mha", mha}, {"llama3 rope scaling", scaled}} {
		t.Run(tc.name, func(t *testing.T) {
			m := randomModel(t, tc.o, true)
			tokens := []int{1, 4, 6, 0, 4, 2}
			want := referenceLogits(m, tokens)
			for p, logits := range forwardAll(m, tokens) {
				for i, v := range logits {
					if d := math.Abs(float64(v) - want[p][i]); d > 1e-4*(1+math.Abs(want[p][i])) || math.IsNaN(float64(v)) {
						t.Fatalf("pos %d logit %d: got %g, want %g", p, i, v, want[p][i])
					}
				}
			}
		})
	}
}

// TestLoadersAgree writes the same random model as a llama2.c checkpoint
// and as a GGUF file: both load to the same weights and the same logits,
// bit for bit.
func TestLoadersAgree(t *testing.T) {
	o := tinyOptions
	o.RopeDim = o.HeadDim // llama2.c rotates whole heads
	for _, tied := range []bool{true, false} {
		t.Run(fmt.Sprintf("tied=%v", tied), func(t *testing.T) {
			m := randomModel(t, o, tied)
			b := llama2cBytes(m)
			a, err := ReadLlama2C(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			g := ggufBytes(t, m)
			c, err := ReadGGUF(bytes.NewReader(g), int64(len(g)))
			if err != nil {
				t.Fatal(err)
			}
			for _, got := range []*Model{a, c} {
				if !reflect.DeepEqual(got.Options, m.Options) {
					t.Fatalf("options %+v, want %+v", got.Options, m.Options)
				}
				if (got.Output == got.TokenEmbedding) != tied {
					t.Fatalf("classifier tied = %v, want %v", !tied, tied)
				}
				assertSameWeights(t, got, m)
			}
			tokens := []int{1, 3, 3, 5, 0, 6}
			want := forwardAll(m, tokens)
			for _, got := range []*Model{a, c} {
				for p, logits := range forwardAll(got, tokens) {
					assertBitEqual(t, fmt.Sprintf("pos %d logits", p), logits, want[p])
				}
			}
		})
	}
}

func assertSameWeights(t *testing.T, got, want *Model) {
	t.Helper()
	gw, ww := got.Weights(), want.Weights()
	if len(gw) != len(ww) {
		t.Fatalf("%d weights, want %d", len(gw), len(ww))
	}
	for i, w := range ww {
		g := gw[i]
		if g.Name != w.Name || g.Rows != w.Rows || g.Cols != w.Cols {
			t.Fatalf("weight %d is %s %dx%d, want %s %dx%d", i, g.Name, g.Rows, g.Cols, w.Name, w.Rows, w.Cols)
		}
		assertBitEqual(t, w.Name, g.Data, w.Data)
	}
}

func assertBitEqual(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

func TestMatmulParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := &Weight{Rows: 301, Cols: 257, Data: make([]float32, 301*257)}
	x := make([]float32, w.Cols)
	for i := range w.Data {
		w.Data[i] = float32(rng.NormFloat64())
	}
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	if w.Rows*w.Cols < parallelWork {
		t.Fatal("matrix too small to take the parallel path")
	}
	want := make([]float32, w.Rows)
	for i := range want {
		want[i] = dot(w.Row(i), x)
	}
	assertBitEqual(t, "matmul", matmul(w, x), want)
}

func TestWeightsListing(t *testing.T) {
	for _, tied := range []bool{true, false} {
		m := randomModel(t, tinyOptions, tied)
		ws := m.Weights()
		want := 2 + 9*m.NumLayers
		if !tied {
			want++
		}
		seen := map[string]bool{}
		for _, w := range ws {
			if seen[w.Name] {
				t.Errorf("%s listed twice", w.Name)
			}
			seen[w.Name] = true
		}
		if len(ws) != want {
			t.Errorf("tied=%v: %d weights, want %d", tied, len(ws), want)
		}
	}
}
