package llama

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/tune-gpu/tune/gguf"
)

// llama2cHeader is the size of the legacy header: dim, hidden_dim, n_layers,
// n_heads, n_kv_heads, vocab_size, seq_len as int32.
const llama2cHeader = 7 * 4

// llama2cMagic starts the newer llama2.c exports (version 1 and 2), which
// run.c does not read either.
const llama2cMagic = 0x616b3432

// LoadLlama2C reads a llama2.c legacy ("version 0") checkpoint, the format
// run.c reads. The model has no Tokenizer; load one with LoadTokenizerBin.
func LoadLlama2C(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	m, err := ReadLlama2C(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return m, nil
}

// ReadLlama2C reads a llama2.c legacy checkpoint of size bytes from r. The
// input is untrusted: the header is checked for consistency, and the sizes
// it implies against size, before any weight is allocated.
//
// The header holds dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size and seq_len; a negative vocab_size means the classifier is
// stored after the other weights instead of being tied to the embedding.
// The float32 weights follow, grouped by kind across layers: token
// embedding, attention norms, wq, wk, wv, wo, MLP norms, w1 (gate), w2
// (down), w3 (up), the final norm, run.c's unused RoPE tables
// (freq_cis_real and _imag, seq_len*head_size/2 each, skipped) and the
// classifier if untied.
func ReadLlama2C(r io.ReaderAt, size int64) (*Model, error) {
	var hdr [llama2cHeader]byte
	if size < llama2cHeader {
		return nil, fmt.Errorf("%w: llama2.c file of %d bytes is shorter than its header", ErrFormat, size)
	}
	if err := readAt(r, hdr[:], 0); err != nil {
		return nil, readErr("header", err)
	}
	var h [7]int
	for i := range h {
		h[i] = int(int32(binary.LittleEndian.Uint32(hdr[4*i:])))
	}
	if uint32(h[0]) == llama2cMagic {
		return nil, fmt.Errorf("%w: llama2.c version %d export; only legacy checkpoints are read", ErrUnsupported, h[1])
	}
	tied := h[5] > 0
	o := Options{Dim: h[0], HiddenDim: h[1], NumLayers: h[2], NumHeads: h[3], NumKVHeads: h[4], VocabSize: max(h[5], -h[5]),
		SeqLen: h[6], RopeTheta: 10000, RMSEps: 1e-5}
	if o.NumHeads > 0 {
		o.HeadDim = o.Dim / o.NumHeads
		o.RopeDim = o.HeadDim
	}
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%w: llama2.c header %v: %w", ErrFormat, h, err)
	}
	if o.Dim%o.NumHeads != 0 {
		return nil, fmt.Errorf("%w: llama2.c header %v: dim %d is not a multiple of %d heads", ErrFormat, h, o.Dim, o.NumHeads)
	}

	// Count the floats the header promises, each product checked against
	// what the file can hold so that nothing overflows.
	limit := uint64(size-llama2cHeader) / 4
	d, f, l, q, kv := o.Dim, o.HiddenDim, o.NumLayers, o.QDim(), o.KVDim()
	counts := [][]int{{o.VocabSize, d}, {l, d}, {l, q, d}, {l, kv, d}, {l, kv, d}, {l, d, q},
		{l, d}, {l, f, d}, {l, d, f}, {l, f, d}, {d}, {o.SeqLen, o.HeadDim}}
	if !tied {
		counts = append(counts, []int{o.VocabSize, d})
	}
	var total uint64
	for _, c := range counts {
		n, ok := product(limit, c...)
		if !ok {
			return nil, fmt.Errorf("%w: llama2.c header %v describes more weights than the file's %d bytes", ErrFormat, h, size)
		}
		total += n
	}
	if want := llama2cHeader + 4*total; want != uint64(size) {
		return nil, fmt.Errorf("%w: llama2.c header %v implies %d bytes, file has %d", ErrFormat, h, want, size)
	}

	rd := &f32Reader{r: r, off: llama2cHeader}
	m := &Model{Options: o, Layers: make([]Layer, l)}
	m.TokenEmbedding = rd.next("token_embd.weight", o.VocabSize, d)
	perLayer := func(name string, rows, cols int, set func(*Layer, *Weight)) {
		for i := range m.Layers {
			set(&m.Layers[i], rd.next(fmt.Sprintf("blk.%d.%s.weight", i, name), rows, cols))
		}
	}
	for i := range m.Layers {
		m.Layers[i].Attention, m.Layers[i].MLP = &Attention{}, &MLP{}
	}
	perLayer("attn_norm", 1, d, func(l *Layer, w *Weight) { l.AttentionNorm = w })
	perLayer("attn_q", q, d, func(l *Layer, w *Weight) { l.Attention.Query = w })
	perLayer("attn_k", kv, d, func(l *Layer, w *Weight) { l.Attention.Key = w })
	perLayer("attn_v", kv, d, func(l *Layer, w *Weight) { l.Attention.Value = w })
	perLayer("attn_output", d, q, func(l *Layer, w *Weight) { l.Attention.Output = w })
	perLayer("ffn_norm", 1, d, func(l *Layer, w *Weight) { l.MLPNorm = w })
	perLayer("ffn_gate", f, d, func(l *Layer, w *Weight) { l.MLP.Gate = w })
	perLayer("ffn_down", d, f, func(l *Layer, w *Weight) { l.MLP.Down = w })
	perLayer("ffn_up", f, d, func(l *Layer, w *Weight) { l.MLP.Up = w })
	m.OutputNorm = rd.next("output_norm.weight", 1, d)
	rd.off += int64(o.SeqLen) * int64(o.HeadDim) * 4 // freq_cis_real, freq_cis_imag
	m.Output = m.TokenEmbedding
	if !tied {
		m.Output = rd.next("output.weight", o.VocabSize, d)
	}
	if rd.err != nil {
		return nil, rd.err
	}
	return m, nil
}

// product returns the product of xs, or false when it exceeds limit.
func product(limit uint64, xs ...int) (uint64, bool) {
	p := uint64(1)
	for _, x := range xs {
		if x < 0 || (x > 0 && p > limit/uint64(x)) {
			return 0, false
		}
		p *= uint64(x)
	}
	return p, p <= limit
}

// f32Reader reads consecutive little-endian float32 weights, keeping the
// first error.
type f32Reader struct {
	r   io.ReaderAt
	off int64
	err error
}

func (rd *f32Reader) next(name string, rows, cols int) *Weight {
	w := &Weight{Name: name, Type: gguf.F32, Rows: rows, Cols: cols}
	if rd.err != nil {
		return w
	}
	buf := make([]byte, 4*rows*cols)
	if err := readAt(rd.r, buf, rd.off); err != nil {
		rd.err = readErr(name, err)
		return w
	}
	rd.off += int64(len(buf))
	w.Data = make([]float32, rows*cols)
	for i := range w.Data {
		w.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
	}
	return w
}

// readAt fills p from r at off; io.ReaderAt may report io.EOF along with a
// full read that ends at the end of the input.
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	return err
}

// readErr wraps an error reading what, calling running out of data a format
// error.
func readErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: reading %s: file is truncated", ErrFormat, what)
	}
	return fmt.Errorf("llama: reading %s: %w", what, err)
}
