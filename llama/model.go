package llama

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tune-gpu/tune/gguf"
	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
)

var (
	// ErrFormat marks a malformed or truncated model or tokenizer file.
	ErrFormat = errors.New("llama: bad format")
	// ErrUnsupported marks a well-formed file of a variant this package does
	// not implement (another architecture, MoE, RoPE scaling, ...).
	ErrUnsupported = errors.New("llama: unsupported")
)

// Options are the hyperparameters of a Llama model.
type Options struct {
	Dim        int     // width of the residual stream (embedding length)
	HiddenDim  int     // inner width of the SwiGLU MLP
	NumLayers  int     // transformer blocks
	NumHeads   int     // query heads
	NumKVHeads int     // key/value heads; fewer than NumHeads for grouped-query attention
	VocabSize  int     // tokens in the embedding and classifier
	SeqLen     int     // longest context the model was trained for
	HeadDim    int     // width of one attention head (Dim/NumHeads for Llama)
	RopeDim    int     // leading dimensions of each head that RoPE rotates (HeadDim for Llama)
	RopeTheta  float32 // RoPE base frequency, 10000 unless the file says otherwise
	RMSEps     float32 // RMSNorm epsilon, 1e-5 unless the file says otherwise
	// RopeFreqs divides each pair's RoPE angle (RopeDim/2 factors, at
	// least 1): Llama 3's rope_freqs table of its "llama3" scaling
	// (ops.Llama3RopeFreqs), or nil for plain RoPE.
	RopeFreqs []float32

	// Mixture of experts (Llama 4); zero for a dense model.
	Experts      int // routed experts of an MoE layer
	ExpertsUsed  int // experts each token is routed to (top-k)
	ExpertHidden int // inner width of each expert and of the shared expert
}

// QDim is the width of all query heads together.
func (o *Options) QDim() int { return o.NumHeads * o.HeadDim }

// KVDim is the width of all key (or value) heads together.
func (o *Options) KVDim() int { return o.NumKVHeads * o.HeadDim }

// check reports the first inconsistency in o.
func (o *Options) check() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"dim", o.Dim}, {"hidden dim", o.HiddenDim}, {"layers", o.NumLayers}, {"heads", o.NumHeads},
		{"kv heads", o.NumKVHeads}, {"vocab", o.VocabSize}, {"seq len", o.SeqLen}, {"head dim", o.HeadDim}} {
		if f.v <= 0 {
			return fmt.Errorf("%s %d is not positive", f.name, f.v)
		}
	}
	switch {
	case o.NumHeads%o.NumKVHeads != 0:
		return fmt.Errorf("%d heads are not a multiple of %d kv heads", o.NumHeads, o.NumKVHeads)
	case o.RopeDim <= 0 || o.RopeDim%2 != 0 || o.RopeDim > o.HeadDim:
		return fmt.Errorf("rope dim %d is not even and in 1..head dim %d", o.RopeDim, o.HeadDim)
	case !(o.RopeTheta > 0) || !(o.RMSEps > 0):
		return fmt.Errorf("rope theta %g and rms eps %g must be positive", o.RopeTheta, o.RMSEps)
	case o.RopeFreqs != nil && len(o.RopeFreqs) != o.RopeDim/2:
		return fmt.Errorf("%d rope frequency factors for %d pairs", len(o.RopeFreqs), o.RopeDim/2)
	case slices.ContainsFunc(o.RopeFreqs, func(f float32) bool { return !(f >= 1) || math.IsInf(float64(f), 0) }):
		return fmt.Errorf("rope frequency factors must be finite and at least 1")
	case o.Experts < 0 || o.Experts > 0 && (o.ExpertsUsed < 1 || o.ExpertsUsed > o.Experts || o.ExpertHidden < 1):
		return fmt.Errorf("%d experts, %d used, expert hidden dim %d: want 1 <= used <= experts and a positive width", o.Experts, o.ExpertsUsed, o.ExpertHidden)
	}
	return nil
}

// Weight is one weight tensor, row-major: Rows rows of Cols elements. A
// projection y = W x has Cols inputs and Rows outputs, as a GGUF tensor of
// Dims [Cols, Rows]; an RMSNorm weight has Rows 1. Its values are held in
// float32 (Data) or, for a model generated quantized, in one of package
// quant's formats (Q); exactly one of the two is set.
type Weight struct {
	Name       string    // GGUF tensor name, e.g. "blk.0.attn_q.weight"
	Type       gguf.Type // how the file stored it (F32 for llama2.c and quantized weights)
	Rows, Cols int
	Data       []float32
	Q          *quant.Tensor // Rows x Cols, when Data is nil

	observe func(x []float32) // sees every input of a CPU matmul; set by Calibrate
}

// Row returns row i of a float32 weight, sharing its storage; Q must be
// nil (see RowTo).
func (w *Weight) Row(i int) []float32 { return w.Data[i*w.Cols : (i+1)*w.Cols] }

// RowTo writes row i of w to dst, which holds at least Cols elements,
// dequantizing a quantized weight, and returns dst[:Cols].
func (w *Weight) RowTo(i int, dst []float32) []float32 {
	dst = dst[:w.Cols]
	if w.Q != nil {
		w.Q.DequantizeRow(i, dst)
	} else {
		copy(dst, w.Row(i))
	}
	return dst
}

// Bytes is the size of w's values as held: float32, or the quantized codes,
// scales and mins (scales and mins counted as float32, as the GPU holds
// them).
func (w *Weight) Bytes() int64 {
	if w.Q == nil {
		return 4 * int64(w.Rows) * int64(w.Cols)
	}
	return 4 * int64(len(w.Q.Words)+len(w.Q.Scales)+len(w.Q.Mins))
}

// Attention is grouped-query self-attention with rotary position embeddings.
// The zero values of the fields after the weights are Llama 2 and 3; the
// others are Llama 4's variants.
type Attention struct {
	Query, Key, Value, Output *Weight
	// NoRope marks a NoPE layer: no rotary embedding, and queries scaled by
	// Llama 4's attention temperature, which grows with the position.
	NoRope bool
	// QKNorm RMS-normalises each head of q and k, without a weight, after
	// RoPE.
	QKNorm bool
	// Chunk, if positive, restricts attention to the aligned chunk of Chunk
	// positions that holds the query (Llama 4's chunked attention).
	Chunk int
}

// Llama 4's attention temperature on NoPE layers: queries are scaled by
// log(floor((pos+1)/floorScale) + 1) * attnScale + 1.
const (
	llama4FloorScale = 8192
	llama4AttnScale  = 0.1
)

// Forward returns the attention output for x, the normalized residual
// stream at position pos. It stores this position's key and value in keys
// and values (one layer's cache, KVDim floats per position), as int8
// codes times their scale where kv8 is set (ops.Quantize8Ref per head, as
// the GPU's int8 cache holds them), and attends causally over positions
// 0..pos.
func (a *Attention) Forward(x []float32, pos int, keys, values []float32, kv8 bool, o *Options) []float32 {
	q, k, v := matmul(a.Query, x), matmul(a.Key, x), matmul(a.Value, x)
	kvDim, hd := o.KVDim(), o.HeadDim
	if !a.NoRope {
		rope(q, pos, o)
		rope(k, pos, o)
	}
	if a.QKNorm {
		headNorm(q, hd, o.RMSEps)
		headNorm(k, hd, o.RMSEps)
	}
	if a.NoRope {
		t := ops.Llama4Temperature(pos, llama4FloorScale, llama4AttnScale)
		for i := range q {
			q[i] *= t
		}
	}
	copy(keys[pos*kvDim:], k)
	copy(values[pos*kvDim:], v)
	if kv8 {
		roundTripKV8(keys[pos*kvDim:][:kvDim], hd)
		roundTripKV8(values[pos*kvDim:][:kvDim], hd)
	}

	first := 0 // the first position attended to
	if a.Chunk > 0 {
		first = pos / a.Chunk * a.Chunk
	}
	out := make([]float32, o.QDim())
	scores := make([]float32, pos+1-first)
	scale := float32(math.Sqrt(float64(hd)))
	group := o.NumHeads / o.NumKVHeads // query heads sharing one kv head
	keys, values = keys[first*kvDim:], values[first*kvDim:]
	for h := range o.NumHeads {
		qh, kv := q[h*hd:(h+1)*hd], (h/group)*hd
		for t := range scores {
			scores[t] = dot(qh, keys[t*kvDim+kv:][:hd]) / scale
		}
		softmax(scores)
		oh := out[h*hd : (h+1)*hd]
		for t, s := range scores {
			for i, vi := range values[t*kvDim+kv:][:hd] {
				oh[i] += float32(s * vi)
			}
		}
	}
	return matmul(a.Output, out)
}

// MLP is the SwiGLU feed-forward network: Down(silu(Gate x) * Up x).
type MLP struct {
	Gate, Up, Down *Weight
}

// Forward returns the MLP output for x, the normalized residual stream.
func (m *MLP) Forward(x []float32) []float32 {
	h, up := matmul(m.Gate, x), matmul(m.Up, x)
	for i, g := range h {
		h[i] = g * (1 / (1 + exp(-g))) * up[i]
	}
	return matmul(m.Down, h)
}

// Layer is one transformer block: pre-norm attention and a pre-norm
// feed-forward network, a dense MLP or a mixture of experts, each added back
// into the residual stream.
type Layer struct {
	AttentionNorm *Weight
	Attention     *Attention
	MLPNorm       *Weight
	MLP           *MLP // nil in an MoE layer
	MoE           *MoE // nil in a dense layer
}

// Forward updates the residual stream x in place for position pos and
// returns it; keys and values are this layer's cache (int8 with kv8).
func (l *Layer) Forward(x []float32, pos int, keys, values []float32, kv8 bool, o *Options) []float32 {
	add(x, l.Attention.Forward(rmsNorm(x, l.AttentionNorm.Data, o.RMSEps), pos, keys, values, kv8, o))
	h := rmsNorm(x, l.MLPNorm.Data, o.RMSEps)
	if l.MoE != nil {
		add(x, l.MoE.Forward(h))
	} else {
		add(x, l.MLP.Forward(h))
	}
	return x
}

// Model is a Llama model with float32 weights on the host.
type Model struct {
	Options
	TokenEmbedding *Weight // VocabSize rows of Dim
	Layers         []Layer
	OutputNorm     *Weight
	Output         *Weight    // the classifier; the same Weight as TokenEmbedding when tied
	Tokenizer      *Tokenizer // nil for a llama2.c checkpoint until the caller sets one
}

// Weights lists every weight of m once, in GGUF file order: the embedding,
// each layer's norms and projections (an MoE layer's router, experts and
// shared expert), the output norm and, unless it is tied to the embedding,
// the classifier.
func (m *Model) Weights() []*Weight {
	ws := []*Weight{m.TokenEmbedding}
	for _, l := range m.Layers {
		a := l.Attention
		ws = append(ws, l.AttentionNorm, a.Query, a.Key, a.Value, a.Output, l.MLPNorm)
		if l.MoE != nil {
			ws = append(ws, l.MoE.weights()...)
		} else {
			ws = append(ws, l.MLP.Gate, l.MLP.Up, l.MLP.Down)
		}
	}
	ws = append(ws, m.OutputNorm)
	if m.Output != m.TokenEmbedding {
		ws = append(ws, m.Output)
	}
	return ws
}

// KVCache holds the keys and values of the positions seen so far.
type KVCache struct {
	Len          int         // positions it holds
	Keys, Values [][]float32 // per layer, Len*KVDim floats: position p at [p*KVDim:]
	// Int8 stores every key and value head as int8 codes and a scale, as
	// GPUOptions.KV8 does (held here decoded).
	Int8 bool
}

// roundTripKV8 replaces each head of row by its int8 codes times their
// scale.
func roundTripKV8(row []float32, headDim int) {
	codes := make([]int8, headDim)
	for h := 0; h < len(row); h += headDim {
		head := row[h : h+headDim]
		s := ops.Quantize8Ref(codes, head)
		for i, c := range codes {
			head[i] = float32(c) * s
		}
	}
}

// NewKVCache returns an empty cache for positions 0..n-1; n <= 0 or above
// SeqLen means SeqLen.
func (m *Model) NewKVCache(n int) *KVCache {
	if n <= 0 || n > m.SeqLen {
		n = m.SeqLen
	}
	c := &KVCache{Len: n, Keys: make([][]float32, m.NumLayers), Values: make([][]float32, m.NumLayers)}
	for i := range m.Layers {
		c.Keys[i] = make([]float32, n*m.KVDim())
		c.Values[i] = make([]float32, n*m.KVDim())
	}
	return c
}

// Forward runs token at position pos through the model and returns the
// VocabSize logits for the next token. Positions 0..pos-1 must already be in
// cache; 0 <= token < VocabSize and 0 <= pos < cache.Len.
func (m *Model) Forward(token, pos int, cache *KVCache) []float32 {
	if token < 0 || token >= m.VocabSize || pos < 0 || pos >= cache.Len {
		panic(fmt.Sprintf("llama: Forward(token %d, pos %d) outside vocab %d, cache %d", token, pos, m.VocabSize, cache.Len))
	}
	x := m.TokenEmbedding.RowTo(token, make([]float32, m.Dim))
	for i := range m.Layers {
		x = m.Layers[i].Forward(x, pos, cache.Keys[i], cache.Values[i], cache.Int8, &m.Options)
	}
	return matmul(m.Output, rmsNorm(x, m.OutputNorm.Data, m.RMSEps))
}
