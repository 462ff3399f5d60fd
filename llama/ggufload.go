package llama

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tune-gpu/tune/gguf"
	"github.com/tune-gpu/tune/quant"
)

// LoadGGUF reads a GGUF file (v2 or v3) of architecture "llama", with its
// tokenizer when the file has one.
func LoadGGUF(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	defer f.Close()
	m, err := modelFromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// LoadShape reads a model's hyperparameters without its weights: of
// synthetic:NAME, or of a GGUF file from its metadata.
func LoadShape(path string) (Options, error) {
	if strings.HasPrefix(path, SyntheticPrefix) {
		return SyntheticShape(path)
	}
	f, err := gguf.Open(path)
	if err != nil {
		return Options{}, fmt.Errorf("%w: %w (only GGUF files and synthetic models give their shape without loading)", ErrFormat, err)
	}
	defer f.Close()
	o, err := ggufOptions(f)
	if err != nil {
		return Options{}, fmt.Errorf("%w (%s)", err, path)
	}
	return o, nil
}

// ReadGGUF reads a GGUF model of size bytes from r, as LoadGGUF does.
func ReadGGUF(r io.ReaderAt, size int64) (*Model, error) {
	f, err := gguf.Read(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return modelFromGGUF(f)
}

// modelFromGGUF reads the llama.* hyperparameters, the tensors (dequantized
// to float32) and the tokenizer. The Q and K weights are used as stored:
// llama.cpp's converter permutes their rows so that RoPE turns adjacent
// pairs, which is what llama2.c checkpoints hold too and what rope does.
func modelFromGGUF(f *gguf.File) (*Model, error) {
	o, err := ggufOptions(f)
	if err != nil {
		return nil, err
	}
	md := f.Metadata
	var errs []error

	m := &Model{Options: o, Layers: make([]Layer, o.NumLayers)}

	load := func(name string, rows, cols int) *Weight {
		w, err := ggufWeight(f, name, rows, cols)
		if err != nil {
			errs = append(errs, err)
		}
		return w
	}
	d, q, kv := o.Dim, o.QDim(), o.KVDim()
	m.TokenEmbedding = load("token_embd.weight", o.VocabSize, d)
	for i := range m.Layers {
		name := func(s string) string { return fmt.Sprintf("blk.%d.%s.weight", i, s) }
		m.Layers[i] = Layer{
			AttentionNorm: load(name("attn_norm"), 1, d),
			Attention: &Attention{
				Query:  load(name("attn_q"), q, d),
				Key:    load(name("attn_k"), kv, d),
				Value:  load(name("attn_v"), kv, d),
				Output: load(name("attn_output"), d, q),
			},
			MLPNorm: load(name("ffn_norm"), 1, d),
			MLP: &MLP{
				Gate: load(name("ffn_gate"), o.HiddenDim, d),
				Up:   load(name("ffn_up"), o.HiddenDim, d),
				Down: load(name("ffn_down"), d, o.HiddenDim),
			},
		}
		if len(errs) > 0 {
			break
		}
	}
	m.OutputNorm = load("output_norm.weight", 1, d)
	m.Output = m.TokenEmbedding
	if _, ok := f.Tensor("output.weight"); ok {
		m.Output = load("output.weight", o.VocabSize, d)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	if _, ok := md.Get("tokenizer.ggml.model"); ok {
		if m.Tokenizer, err = GGUFTokenizer(md); err != nil {
			return nil, err
		}
		if m.Tokenizer.Len() != o.VocabSize {
			return nil, fmt.Errorf("%w: %d tokens for %d embeddings", ErrFormat, m.Tokenizer.Len(), o.VocabSize)
		}
	}
	return m, nil
}

// ggufWeight reads the named tensor, which must have cols elements per row
// and rows rows (a vector when rows is 1), as float32.
func ggufWeight(f *gguf.File, name string, rows, cols int) (*Weight, error) {
	ti, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("%w: missing tensor %s", ErrFormat, name)
	}
	want := []uint64{uint64(cols), uint64(rows)}
	if rows == 1 {
		want = want[:1]
	}
	dims := ti.Dims
	for len(dims) > len(want) && dims[len(dims)-1] == 1 {
		dims = dims[:len(dims)-1]
	}
	if !slices.Equal(dims, want) {
		return nil, fmt.Errorf("%w: tensor %s has dims %v, want %v", ErrFormat, name, ti.Dims, want)
	}
	data, err := f.TensorData(name)
	if err != nil {
		return nil, fmt.Errorf("%w: tensor %s: %w", ErrFormat, name, err)
	}
	w := &Weight{Name: name, Type: ti.Type, Rows: rows, Cols: cols}
	if w.Data, err = quant.DequantizeGGML(ti.Type, data, rows*cols); err != nil {
		if errors.Is(err, quant.ErrUnsupported) {
			return nil, fmt.Errorf("%w: tensor %s: %w", ErrUnsupported, name, err)
		}
		return nil, fmt.Errorf("%w: tensor %s: %w", ErrFormat, name, err)
	}
	return w, nil
}

// ggufOptions reads a llama GGUF file's hyperparameters: its llama.*
// metadata, the vocabulary from token_embd.weight's dims and Llama 3's
// rope_freqs.weight; the other tensors are not read.
func ggufOptions(f *gguf.File) (Options, error) {
	md := f.Metadata
	arch, err := md.String("general.architecture")
	if err != nil {
		return Options{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if arch != "llama" {
		return Options{}, fmt.Errorf("%w: architecture %q", ErrUnsupported, arch)
	}
	if n, err := md.Uint("llama.expert_count"); err == nil && n > 0 {
		return Options{}, fmt.Errorf("%w: mixture of %d experts", ErrUnsupported, n)
	}
	if s, err := md.String("llama.rope.scaling.type"); err == nil && s != "none" {
		return Options{}, fmt.Errorf("%w: rope scaling %q", ErrUnsupported, s)
	}
	if v, err := md.Float("llama.rope.scale_linear"); err == nil && v != 1 {
		return Options{}, fmt.Errorf("%w: linear rope scale %g", ErrUnsupported, v)
	}

	var errs []error
	get := func(key string, def int) int {
		v, err := md.Uint("llama." + key)
		switch {
		case errors.Is(err, gguf.ErrNotFound) && def >= 0:
			return def
		case err != nil:
			errs = append(errs, err)
		case v > 1<<31:
			errs = append(errs, fmt.Errorf("llama.%s %d is absurd", key, v))
		}
		return int(v)
	}
	getf := func(key string, def float32) float32 {
		v, err := md.Float("llama." + key)
		switch {
		case errors.Is(err, gguf.ErrNotFound):
			return def
		case err != nil:
			errs = append(errs, err)
		}
		return float32(v)
	}
	o := Options{
		Dim:       get("embedding_length", -1),
		HiddenDim: get("feed_forward_length", -1),
		NumLayers: get("block_count", -1),
		NumHeads:  get("attention.head_count", -1),
		SeqLen:    get("context_length", 2048),
		RopeTheta: getf("rope.freq_base", 10000),
		RMSEps:    getf("attention.layer_norm_rms_epsilon", 1e-5),
	}
	o.NumKVHeads = get("attention.head_count_kv", o.NumHeads)
	if o.NumHeads > 0 {
		o.HeadDim = get("attention.key_length", o.Dim/o.NumHeads)
		if v := get("attention.value_length", o.HeadDim); v != o.HeadDim {
			return Options{}, fmt.Errorf("%w: value length %d differs from key length %d", ErrUnsupported, v, o.HeadDim)
		}
	}
	o.RopeDim = get("rope.dimension_count", o.HeadDim)
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || len(emb.Dims) != 2 {
		return Options{}, fmt.Errorf("%w: no two-dimensional token_embd.weight", ErrFormat)
	}
	o.VocabSize = int(min(emb.Dims[1], 1<<31))
	if err := errors.Join(errs...); err != nil {
		return Options{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if _, ok := f.Tensor("rope_freqs.weight"); ok && o.RopeDim > 0 {
		// Llama 3's rope scaling: a divisor per pair of each head's angle.
		w, err := ggufWeight(f, "rope_freqs.weight", 1, o.RopeDim/2)
		if err != nil {
			return Options{}, err
		}
		o.RopeFreqs = w.Data
	}
	if err := o.check(); err != nil {
		return Options{}, fmt.Errorf("%w: llama metadata: %w", ErrFormat, err)
	}

	return o, nil
}
