package llama

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tune-gpu/tune/gguf"
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
	}
	return nil
}

// Weight is one weight tensor in float32, row-major: Rows rows of Cols
// elements. A projection y = W x has Cols inputs and Rows outputs, as a GGUF
// tensor of Dims [Cols, Rows]; an RMSNorm weight has Rows 1.
type Weight struct {
	Name       string    // GGUF tensor name, e.g. "blk.0.attn_q.weight"
	Type       gguf.Type // how the file stored it (F32 for llama2.c)
	Rows, Cols int
	Data       []float32
}

// Row returns row i of w, sharing its storage.
func (w *Weight) Row(i int) []float32 { return w.Data[i*w.Cols : (i+1)*w.Cols] }

// Attention is grouped-query self-attention with rotary position embeddings.
type Attention struct {
	Query, Key, Value, Output *Weight
}

// Forward returns the attention output for x, the normalized residual
// stream at position pos. It stores this position's key and value in keys
// and values (one layer's cache, KVDim floats per position) and attends
// causally over positions 0..pos.
func (a *Attention) Forward(x []float32, pos int, keys, values []float32, o *Options) []float32 {
	q, k, v := matmul(a.Query, x), matmul(a.Key, x), matmul(a.Value, x)
	rope(q, pos, o)
	rope(k, pos, o)
	kvDim, hd := o.KVDim(), o.HeadDim
	copy(keys[pos*kvDim:], k)
	copy(values[pos*kvDim:], v)

	out := make([]float32, o.QDim())
	scores := make([]float32, pos+1)
	scale := float32(math.Sqrt(float64(hd)))
	group := o.NumHeads / o.NumKVHeads // query heads sharing one kv head
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

// Layer is one transformer block: pre-norm attention and pre-norm MLP, each
// added back into the residual stream.
type Layer struct {
	AttentionNorm *Weight
	Attention     *Attention
	MLPNorm       *Weight
	MLP           *MLP
}

// Forward updates the residual stream x in place for position pos and
// returns it; keys and values are this layer's cache.
func (l *Layer) Forward(x []float32, pos int, keys, values []float32, o *Options) []float32 {
	add(x, l.Attention.Forward(rmsNorm(x, l.AttentionNorm.Data, o.RMSEps), pos, keys, values, o))
	add(x, l.MLP.Forward(rmsNorm(x, l.MLPNorm.Data, o.RMSEps)))
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
// each layer's norms and projections, the output norm and, unless it is
// tied to the embedding, the classifier.
func (m *Model) Weights() []*Weight {
	ws := []*Weight{m.TokenEmbedding}
	for _, l := range m.Layers {
		a, f := l.Attention, l.MLP
		ws = append(ws, l.AttentionNorm, a.Query, a.Key, a.Value, a.Output, l.MLPNorm, f.Gate, f.Up, f.Down)
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
	x := slices.Clone(m.TokenEmbedding.Row(token))
	for i := range m.Layers {
		x = m.Layers[i].Forward(x, pos, cache.Keys[i], cache.Values[i], &m.Options)
	}
	return matmul(m.Output, rmsNorm(x, m.OutputNorm.Data, m.RMSEps))
}
