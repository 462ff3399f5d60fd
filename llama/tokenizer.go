package llama

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/tune-gpu/tune/gguf"
)

// TokenType is a GGUF tokenizer.ggml.token_type value.
type TokenType int32

// The token types of a SentencePiece vocabulary.
const (
	TokenNormal      TokenType = 1
	TokenUnknown     TokenType = 2
	TokenControl     TokenType = 3 // <s>, </s>
	TokenUserDefined TokenType = 4
	TokenUnused      TokenType = 5
	TokenByte        TokenType = 6 // <0x00>..<0xFF>
)

// Tokenizer is a SentencePiece-style BPE vocabulary: pieces with scores,
// merged greedily by score, with byte-fallback tokens for text no piece
// covers.
//
// It follows one of two references. From a llama2.c tokenizer.bin it does
// what run.c does: pieces hold spaces as ' ', Encode prepends run.c's dummy
// ' ' to non-empty text, and every piece decodes to its own text (so EOS
// is "\n</s>\n"). From GGUF metadata it does what llama.cpp's SPM tokenizer
// does: pieces hold spaces as "▁", Encode prepends a space (unless
// tokenizer.ggml.add_space_prefix is false) and escapes spaces, and control
// tokens decode to nothing. On valid UTF-8 both encode the same text to the
// same ids.
type Tokenizer struct {
	Pieces []string    // text of each token id
	Scores []float32   // merge priority: the higher, the earlier
	Types  []TokenType // kind of each token
	BOS    int         // beginning of sequence, 1 in Llama vocabularies
	EOS    int         // end of sequence, 2
	Unk    int         // unknown, 0; stands in for a missing byte token

	spm         bool // llama.cpp conventions rather than run.c's
	spacePrefix bool // SPM: prepend a space to the text
	ids         map[string]int
	bytes       [256]int // byte-fallback token of each byte
}

// newTokenizer indexes the vocabulary; types may be nil (bytes are then
// recognised by their <0xXX> pieces).
func newTokenizer(pieces []string, scores []float32, types []TokenType, bos, eos, unk int, spm bool) (*Tokenizer, error) {
	n := len(pieces)
	if len(scores) != n || (types != nil && len(types) != n) {
		return nil, fmt.Errorf("%w: %d tokens but %d scores and %d types", ErrFormat, n, len(scores), len(types))
	}
	for _, id := range []int{bos, eos, unk} {
		if id < 0 || id >= n {
			return nil, fmt.Errorf("%w: special token %d outside a vocabulary of %d", ErrFormat, id, n)
		}
	}
	t := &Tokenizer{Pieces: pieces, Scores: scores, Types: types, BOS: bos, EOS: eos, Unk: unk,
		spm: spm, spacePrefix: true, ids: make(map[string]int, n)}
	if types == nil {
		t.Types = make([]TokenType, n)
		for i, p := range pieces {
			t.Types[i] = TokenNormal
			if _, ok := parseByte(p); ok {
				t.Types[i] = TokenByte
			}
		}
		t.Types[unk], t.Types[bos], t.Types[eos] = TokenUnknown, TokenControl, TokenControl
	}
	for i := range t.bytes {
		t.bytes[i] = unk
	}
	for i := range pieces { // the last of duplicate pieces wins, as in llama.cpp
		t.ids[pieces[i]] = i
		if b, ok := parseByte(pieces[i]); ok && t.Types[i] == TokenByte {
			t.bytes[b] = i
		}
	}
	return t, nil
}

// parseByte recognises a byte-fallback piece "<0xXX>".
func parseByte(p string) (byte, bool) {
	if len(p) != 6 || !strings.HasPrefix(p, "<0x") || p[5] != '>' {
		return 0, false
	}
	b, err := strconv.ParseUint(p[3:5], 16, 8)
	return byte(b), err == nil
}

// LoadTokenizerBin reads a llama2.c tokenizer.bin holding vocabSize tokens
// (the vocabulary size comes from the model, not the file).
func LoadTokenizerBin(path string, vocabSize int) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	t, err := ReadTokenizerBin(f, st.Size(), vocabSize)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return t, nil
}

// ReadTokenizerBin reads a llama2.c tokenizer.bin of size bytes from r: an
// int32 max_token_length, then per token a float32 score, an int32 length
// and that many bytes. BOS, EOS and unknown are ids 1, 2 and 0, as run.c
// assumes, so vocabSize must be at least 3. Bytes after the last token are
// ignored, as run.c does.
func ReadTokenizerBin(r io.ReaderAt, size int64, vocabSize int) (*Tokenizer, error) {
	if vocabSize < 3 {
		return nil, fmt.Errorf("%w: tokenizer of %d tokens lacks <unk>, BOS and EOS", ErrFormat, vocabSize)
	}
	if size < 4 || uint64(vocabSize) > uint64(size-4)/8 {
		return nil, fmt.Errorf("%w: tokenizer file of %d bytes cannot hold %d tokens", ErrFormat, size, vocabSize)
	}
	b := make([]byte, size)
	if err := readAt(r, b, 0); err != nil {
		return nil, readErr("tokenizer", err)
	}
	pieces, scores := make([]string, vocabSize), make([]float32, vocabSize)
	off := 4 // max_token_length: run.c sizes a buffer with it; not needed here
	for i := range vocabSize {
		if len(b)-off < 8 {
			return nil, fmt.Errorf("%w: tokenizer truncated at token %d", ErrFormat, i)
		}
		scores[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[off:]))
		n := int64(int32(binary.LittleEndian.Uint32(b[off+4:])))
		off += 8
		if n < 0 || n > int64(len(b)-off) {
			return nil, fmt.Errorf("%w: token %d has length %d with %d bytes left", ErrFormat, i, n, len(b)-off)
		}
		pieces[i] = string(b[off : off+int(n)])
		off += int(n)
	}
	return newTokenizer(pieces, scores, nil, 1, 2, 0, false)
}

// LoadGGUFTokenizer reads the tokenizer from the metadata of the GGUF file
// at path, which may be a vocabulary-only file without tensors.
func LoadGGUFTokenizer(path string) (*Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	defer f.Close()
	return GGUFTokenizer(f.Metadata)
}

// GGUFTokenizer builds the tokenizer described by tokenizer.ggml.* metadata.
// Only the SentencePiece model "llama" (Llama 1 and 2 vocabularies) is
// implemented; "gpt2" (Llama 3) and others wrap ErrUnsupported.
// User-defined tokens are merged like normal ones, not split out of the text
// first as llama.cpp does.
func GGUFTokenizer(md gguf.Metadata) (*Tokenizer, error) {
	model, err := md.String("tokenizer.ggml.model")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if model != "llama" {
		return nil, fmt.Errorf("%w: tokenizer model %q", ErrUnsupported, model)
	}
	pieces, err := md.Strings("tokenizer.ggml.tokens")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	scores := make([]float32, len(pieces))
	if fs, err := md.Floats("tokenizer.ggml.scores"); err == nil {
		if len(fs) != len(pieces) {
			return nil, fmt.Errorf("%w: %d tokens but %d scores", ErrFormat, len(pieces), len(fs))
		}
		for i, f := range fs {
			scores[i] = float32(f)
		}
	} else if !errors.Is(err, gguf.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	types := make([]TokenType, len(pieces))
	for i := range types {
		types[i] = TokenNormal
	}
	if ts, err := md.Ints("tokenizer.ggml.token_type"); err == nil {
		if len(ts) != len(pieces) {
			return nil, fmt.Errorf("%w: %d tokens but %d token types", ErrFormat, len(pieces), len(ts))
		}
		for i, v := range ts {
			types[i] = TokenType(v)
		}
	} else if !errors.Is(err, gguf.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	id := func(key string, def int) (int, error) {
		v, err := md.Uint(key)
		switch {
		case errors.Is(err, gguf.ErrNotFound):
			return def, nil
		case err != nil:
			return 0, fmt.Errorf("%w: %w", ErrFormat, err)
		case v >= uint64(len(pieces)):
			return 0, fmt.Errorf("%w: %s %d outside a vocabulary of %d", ErrFormat, key, v, len(pieces))
		}
		return int(v), nil
	}
	bos, err1 := id("tokenizer.ggml.bos_token_id", 1)
	eos, err2 := id("tokenizer.ggml.eos_token_id", 2)
	unk, err3 := id("tokenizer.ggml.unknown_token_id", 0)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	t, err := newTokenizer(pieces, scores, types, bos, eos, unk, true)
	if err != nil {
		return nil, err
	}
	if v, err := md.Bool("tokenizer.ggml.add_space_prefix"); err == nil {
		t.spacePrefix = v
	}
	return t, nil
}

// Len returns the number of tokens.
func (t *Tokenizer) Len() int { return len(t.Pieces) }

// Encode returns the tokens of text, after BOS if bos and before EOS if eos.
func (t *Tokenizer) Encode(text string, bos, eos bool) []int {
	var ids []int
	if bos {
		ids = append(ids, t.BOS)
	}
	var syms []symbol
	if t.spm {
		if text != "" && t.spacePrefix {
			text = " " + text
		}
		text = strings.ReplaceAll(text, " ", "▁")
		syms = splitSPM(text)
	} else {
		text, _, _ = strings.Cut(text, "\x00") // run.c reads a C string
		if text != "" {
			text = " " + text // run.c's dummy prefix
		}
		syms = splitRunC(text)
	}
	ids = append(ids, t.merge(text, syms)...)
	if eos {
		ids = append(ids, t.EOS)
	}
	return ids
}

// symbol is a span text[start:end] of the text being encoded, linked to its
// neighbours; a span merged into its left neighbour is emptied.
type symbol struct{ start, end, prev, next int }

// splitSPM splits text into UTF-8 characters the way llama.cpp does: the
// lead byte alone says how long a character is.
func splitSPM(text string) []symbol {
	var syms []symbol
	for i := 0; i < len(text); {
		n := min([16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}[text[i]>>4], len(text)-i)
		syms = append(syms, symbol{start: i, end: i + n})
		i += n
	}
	return link(syms)
}

// splitRunC splits text into UTF-8 characters the way run.c does: a byte
// and the up to three continuation bytes that follow it.
func splitRunC(text string) []symbol {
	var syms []symbol
	for i := 0; i < len(text); {
		n := 1
		for n < 4 && i+n < len(text) && text[i+n]&0xC0 == 0x80 {
			n++
		}
		syms = append(syms, symbol{start: i, end: i + n})
		i += n
	}
	return link(syms)
}

func link(syms []symbol) []symbol {
	for i := range syms {
		syms[i].prev, syms[i].next = i-1, i+1
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	return syms
}

// bigram is a candidate merge of adjacent symbols left and right into a
// piece of the given score and byte length.
type bigram struct {
	left, right, size int
	score             float32
}

// bigrams is a max-heap: best score first, then leftmost.
type bigrams []bigram

func (q bigrams) Len() int { return len(q) }
func (q bigrams) Less(i, j int) bool {
	return q[i].score > q[j].score || (q[i].score == q[j].score && q[i].left < q[j].left)
}
func (q bigrams) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *bigrams) Push(x any)   { *q = append(*q, x.(bigram)) }
func (q *bigrams) Pop() any {
	old := *q
	b := old[len(old)-1]
	*q = old[:len(old)-1]
	return b
}

// merge repeatedly merges the adjacent pair of symbols whose concatenation
// is the best-scoring piece (the leftmost among equals) until no pair forms
// a piece, then maps each symbol to its token, or to byte tokens when it is
// not a piece. This is run.c's loop, done with llama.cpp's priority queue.
func (t *Tokenizer) merge(text string, syms []symbol) []int {
	var q bigrams
	try := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].start:syms[r].end]
		id, ok := t.ids[s]
		// run.c starts its search for the best score at -1e10, so it never
		// merges into a piece scored lower.
		if !ok || (!t.spm && t.Scores[id] <= -1e10) {
			return
		}
		heap.Push(&q, bigram{left: l, right: r, size: len(s), score: t.Scores[id]})
	}
	for i := 1; i < len(syms); i++ {
		try(i-1, i)
	}
	for q.Len() > 0 {
		b := heap.Pop(&q).(bigram)
		l, r := &syms[b.left], &syms[b.right]
		if l.start == l.end || r.start == r.end || (l.end-l.start)+(r.end-r.start) != b.size {
			continue // one side has changed since this candidate was queued
		}
		l.end, r.start = r.end, r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		try(l.prev, b.left)
		try(b.left, l.next)
	}
	var ids []int
	for i := 0; i >= 0 && i < len(syms); i = syms[i].next {
		s := text[syms[i].start:syms[i].end]
		if id, ok := t.ids[s]; ok {
			ids = append(ids, id)
			continue
		}
		for _, c := range []byte(s) {
			ids = append(ids, t.bytes[c])
		}
	}
	return ids
}

// Decode returns the text of token id following token prev (-1 for none):
// byte tokens become their raw byte, a leading space is dropped right after
// BOS, and in GGUF vocabularies "▁" becomes a space and control tokens
// become "". Both ids must be in the vocabulary (or prev -1).
func (t *Tokenizer) Decode(prev, id int) string {
	p := t.Pieces[id]
	switch t.Types[id] {
	case TokenByte:
		if b, ok := parseByte(p); ok {
			return string([]byte{b})
		}
	case TokenControl:
		if t.spm {
			return ""
		}
	}
	if t.spm {
		p = strings.ReplaceAll(p, "▁", " ")
	}
	if prev == t.BOS {
		p = strings.TrimPrefix(p, " ")
	}
	return p
}
