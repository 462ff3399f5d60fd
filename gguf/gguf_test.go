package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/tune-gpu/tune/internal/testmodels"
	"math"
	"os"
	"reflect"
	"testing"
)

var models = testmodels.Dir()

func open(t *testing.T, path string) *File {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestStories(t *testing.T) {
	f := open(t, models+"stories260K.gguf")
	if f.Version != 3 || len(f.Tensors) != 48 || f.Alignment != 32 {
		t.Fatalf("version %d, %d tensors, alignment %d; want 3, 48, 32", f.Version, len(f.Tensors), f.Alignment)
	}
	for _, tc := range []struct {
		name string
		dims []uint64
	}{
		{"token_embd.weight", []uint64{64, 512}},
		{"output_norm.weight", []uint64{64}},
		{"blk.0.attn_k.weight", []uint64{64, 32}},
		{"blk.4.ffn_down.weight", []uint64{172, 64}},
		{"blk.2.ffn_gate.weight", []uint64{64, 172}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ti, ok := f.Tensor(tc.name)
			if !ok {
				t.Fatal("missing")
			}
			if !reflect.DeepEqual(ti.Dims, tc.dims) || ti.Type != F32 || ti.Size != int64(ti.Elements()*4) {
				t.Errorf("got %v %s size %d, want %v F32", ti.Dims, ti.Type, ti.Size, tc.dims)
			}
			b, err := f.TensorData(tc.name)
			if err != nil || int64(len(b)) != ti.Size {
				t.Fatalf("TensorData: %d bytes, %v", len(b), err)
			}
			// RMS norm weights and trained matrices are finite and not all zero.
			var nonzero bool
			for i := 0; i < len(b); i += 4 {
				v := math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("element %d is %v", i/4, v)
				}
				nonzero = nonzero || v != 0
			}
			if !nonzero {
				t.Error("all zero")
			}
		})
	}
	for key, want := range map[string]uint64{
		"llama.embedding_length": 64, "llama.block_count": 5, "llama.rope.dimension_count": 8,
		"llama.attention.head_count": 8, "llama.attention.head_count_kv": 4, "llama.feed_forward_length": 172,
		"tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
	} {
		if got, err := f.Metadata.Uint(key); err != nil || got != want {
			t.Errorf("%s = %d, %v; want %d", key, got, err, want)
		}
	}
	if eps, err := f.Metadata.Float("llama.attention.layer_norm_rms_epsilon"); err != nil || float32(eps) != 1e-5 {
		t.Errorf("rms epsilon = %v, %v", eps, err)
	}
	if arch, err := f.Metadata.String("general.architecture"); err != nil || arch != "llama" {
		t.Errorf("architecture = %q, %v", arch, err)
	}
	toks, err := f.Metadata.Strings("tokenizer.ggml.tokens")
	if err != nil || len(toks) != 512 || toks[0] != "<unk>" || toks[1] != "<s>" || toks[3] != "<0x00>" {
		t.Errorf("tokens: %d, %v, first %q", len(toks), err, toks[:min(4, len(toks))])
	}
	if _, err := f.TensorData("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("TensorData(nope) = %v, want ErrNotFound", err)
	}
}

func TestVocabOnly(t *testing.T) {
	f := open(t, models+"ggml-vocab-llama-spm.gguf")
	if len(f.Tensors) != 0 {
		t.Errorf("%d tensors, want 0", len(f.Tensors))
	}
	toks, err := f.Metadata.Strings("tokenizer.ggml.tokens")
	if err != nil || len(toks) != 32000 {
		t.Fatalf("tokens: %d, %v", len(toks), err)
	}
	// SentencePiece marks word starts with U+2581; byte tokens follow the 3 specials.
	if toks[1] != "<s>" || toks[3] != "<0x00>" || toks[258] != "<0xFF>" || toks[259] != "▁▁" {
		t.Errorf("unexpected tokens %q %q %q %q", toks[1], toks[3], toks[258], toks[259])
	}
	scores, err := f.Metadata.Floats("tokenizer.ggml.scores")
	if err != nil || len(scores) != 32000 {
		t.Fatalf("scores: %d, %v", len(scores), err)
	}
	types, err := f.Metadata.Ints("tokenizer.ggml.token_type")
	if err != nil || len(types) != 32000 {
		t.Fatalf("token types: %d, %v", len(types), err)
	}
	// 1 normal, 2 unknown, 3 control, 6 byte.
	if types[0] != 2 || types[1] != 3 || types[3] != 6 || types[300] != 1 {
		t.Errorf("token types %v ... %d", types[:4], types[300])
	}
	if n, err := f.Metadata.Uint("llama.vocab_size"); err != nil || n != 32000 {
		t.Errorf("vocab_size = %d, %v", n, err)
	}
}

func TestQuantizedFiles(t *testing.T) {
	for _, want := range []Type{Q8_0, Q4_0, Q4_1, Q5_0} {
		t.Run(want.String(), func(t *testing.T) {
			f := open(t, models+"quantized/stories260K-"+want.String()+".gguf")
			if len(f.Tensors) != 48 {
				t.Fatalf("%d tensors", len(f.Tensors))
			}
			for _, ti := range f.Tensors {
				// Matrices whose rows are whole blocks are quantized; norms
				// and ffn_down (rows of 172) stay F32.
				typ := F32
				if len(ti.Dims) == 2 && ti.Dims[0]%32 == 0 {
					typ = want
				}
				if ti.Type != typ {
					t.Errorf("%s: %s, want %s", ti.Name, ti.Type, typ)
				}
				if _, err := f.TensorData(ti.Name); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestRewriteStories re-encodes the reference file: gguf-py and Write lay
// files out the same way, so the bytes match exactly.
func TestRewriteStories(t *testing.T) {
	for _, name := range []string{"stories260K.gguf", "quantized/stories260K-Q4_1.gguf", "ggml-vocab-llama-spm.gguf"} {
		t.Run(name, func(t *testing.T) {
			orig, err := os.ReadFile(models + name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Read(bytes.NewReader(orig), int64(len(orig)))
			if err != nil {
				t.Fatal(err)
			}
			var ts []Tensor
			for _, ti := range f.Tensors {
				b, err := f.TensorData(ti.Name)
				if err != nil {
					t.Fatal(err)
				}
				ts = append(ts, Tensor{ti.Name, ti.Dims, ti.Type, b})
			}
			var buf bytes.Buffer
			if err := Write(&buf, f.Metadata, ts); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			if len(f.Tensors) == 0 {
				// gguf-py pads even a file without tensors; ggml does not.
				orig = orig[:min(len(orig), len(got))]
			}
			if !bytes.Equal(got, orig) {
				t.Errorf("rewritten file differs: %d bytes vs %d", len(got), len(orig))
			}
		})
	}
}

// sample returns metadata with every value type, and a few tensors.
func sample() ([]KV, []Tensor) {
	meta := []KV{
		{"general.architecture", "llama"},
		{"u8", uint8(200)}, {"i8", int8(-5)}, {"u16", uint16(60000)}, {"i16", int16(-30000)},
		{"u32", uint32(1 << 31)}, {"i32", int32(-7)}, {"u64", uint64(1 << 63)}, {"i64", int64(-1 << 40)},
		{"f32", float32(1.5)}, {"f64", math.Pi}, {"yes", true}, {"no", false}, {"empty", ""},
		{"a.u8", []uint8{1, 2}}, {"a.i8", []int8{-1}}, {"a.u16", []uint16{3}}, {"a.i16", []int16{-3}},
		{"a.u32", []uint32{4, 5}}, {"a.i32", []int32{-4}}, {"a.u64", []uint64{6}}, {"a.i64", []int64{-6}},
		{"a.f32", []float32{0.25}}, {"a.f64", []float64{-0.5}}, {"a.bool", []bool{true, false}},
		{"a.str", []string{"a", "", "▁x"}}, {"a.empty", []uint32{}},
		{"a.nested", []any{[]string{"x"}, []any{[]int8{1}}, []float32{}}},
	}
	f32 := make([]byte, 4*3*2)
	for i := range 6 {
		binary.LittleEndian.PutUint32(f32[4*i:], math.Float32bits(float32(i)))
	}
	tensors := []Tensor{
		{"w", []uint64{3, 2}, F32, f32},
		{"q", []uint64{32, 1}, Q4_0, bytes.Repeat([]byte{0x3c}, 18)},
		{"scalar", nil, I32, []byte{1, 2, 3, 4}},
		{"empty", []uint64{0, 7}, F16, nil},
	}
	return meta, tensors
}

func encode(t testing.TB, meta []KV, tensors []Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, meta, tensors); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, align := range []uint32{0, 8, 64} {
		meta, tensors := sample()
		if align != 0 {
			meta = append(meta, KV{"general.alignment", align})
		}
		b := encode(t, meta, tensors)
		f, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("align %d: %v", align, err)
		}
		if !reflect.DeepEqual([]KV(f.Metadata), meta) {
			t.Errorf("align %d: metadata differs:\n got %#v\nwant %#v", align, f.Metadata, meta)
		}
		if want := max(int64(align), 32); align != 0 && f.Alignment != int64(align) || align == 0 && f.Alignment != want {
			t.Errorf("alignment %d", f.Alignment)
		}
		for _, tt := range tensors {
			ti, _ := f.Tensor(tt.Name)
			got, err := f.TensorData(tt.Name)
			if err != nil || !bytes.Equal(got, tt.Data) || ti.Type != tt.Type || len(ti.Dims) != len(tt.Dims) ||
				ti.Offset%f.Alignment != 0 || (f.DataOffset)%f.Alignment != 0 {
				t.Errorf("align %d: tensor %s: %+v data %v, %v", align, tt.Name, ti, got, err)
			}
		}
	}
}

func TestWriteErrors(t *testing.T) {
	meta, tensors := sample()
	for _, tc := range []struct {
		name    string
		meta    []KV
		tensors []Tensor
	}{
		{"duplicate key", append(meta[:1:1], meta[0]), nil},
		{"bad value", []KV{{"x", 3}}, nil},
		{"bad nested", []KV{{"x", []any{"not an array"}}}, nil},
		{"bad alignment", []KV{{"general.alignment", uint32(12)}}, nil},
		{"alignment type", []KV{{"general.alignment", uint64(32)}}, nil},
		{"duplicate tensor", nil, []Tensor{tensors[0], tensors[0]}},
		{"short data", nil, []Tensor{{"w", []uint64{4}, F32, make([]byte, 12)}}},
		{"partial block", nil, []Tensor{{"w", []uint64{16}, Q8_0, make([]byte, 17)}}},
		{"unknown type", nil, []Tensor{{"w", []uint64{1}, Type(4), nil}}},
		{"five dims", nil, []Tensor{{"w", []uint64{1, 1, 1, 1, 1}, F32, make([]byte, 4)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Write(&bytes.Buffer{}, tc.meta, tc.tensors); err == nil {
				t.Error("no error")
			}
		})
	}
}

// small is a valid file with one KV, one array and two tensors.
func small(t testing.TB) []byte {
	return encode(t, []KV{{"general.architecture", "llama"}, {"a", []string{"x", "yz"}}, {"n", []uint32{1, 2}}},
		[]Tensor{{"w", []uint64{2, 2}, F32, make([]byte, 16)}, {"q", []uint64{32}, Q8_0, make([]byte, 34)}})
}

func TestTruncated(t *testing.T) {
	b := small(t)
	f, err := Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The padding after the last tensor is optional; anything shorter is truncated.
	last := f.Tensors[len(f.Tensors)-1]
	end := f.DataOffset + last.Offset + last.Size
	if end == int64(len(b)) {
		t.Fatal("test file needs trailing padding")
	}
	for n := range int(end) {
		_, err := Read(bytes.NewReader(b[:n]), int64(n))
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("prefix of %d bytes: %v, want ErrFormat", n, err)
		}
	}
	// A reader shorter than the size claimed is a truncated file too.
	if _, err := Read(bytes.NewReader(b[:40]), int64(len(b))); !errors.Is(err, ErrFormat) {
		t.Errorf("short reader: %v", err)
	}
}

// le builds little-endian test files by hand.
type le []byte

func (b le) u32(v uint32) le { return binary.LittleEndian.AppendUint32(b, v) }
func (b le) u64(v uint64) le { return binary.LittleEndian.AppendUint64(b, v) }
func (b le) str(s string) le { return append(b.u64(uint64(len(s))), s...) }

func header(version uint32, tensors, kvs uint64) le {
	return le(nil).u32(magic).u32(version).u64(tensors).u64(kvs)
}

// tensorFile is a header with one tensor info followed by zero bytes of data.
func tensorFile(dims []uint64, typ Type, offset uint64, data int) le {
	b := header(3, 1, 0).str("t").u32(uint32(len(dims)))
	for _, d := range dims {
		b = b.u64(d)
	}
	b = b.u32(uint32(typ)).u64(offset)
	b = append(b, make([]byte, int(alignUp(int64(len(b)), 32))-len(b)+data)...)
	return b
}

func TestCorrupt(t *testing.T) {
	kv := func(key string, typ uint32) le { return header(3, 0, 1).str(key).u32(typ) }
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"magic", le(nil).u32(0x46554748).u32(3).u64(0).u64(0)},
		{"version 1", header(1, 0, 0)},
		{"version 4", header(4, 0, 0)},
		{"big endian", le(nil).u32(magic).u32(0x03000000).u64(0).u64(0)},
		{"tensor count", header(3, 1<<40, 0)},
		{"kv count", header(3, 0, math.MaxUint64)},
		{"key length", header(3, 0, 1).u64(1 << 62).u64(0).u64(0)},
		{"value type", kv("k", 13).u32(0)},
		{"bool", append(kv("k", uint32(tBool)), 2)},
		{"string length", kv("k", uint32(tString)).u64(1 << 50)},
		{"array count", kv("k", uint32(tArray)).u32(uint32(tUint64)).u64(1 << 30)},
		{"array of strings count", kv("k", uint32(tArray)).u32(uint32(tString)).u64(3).u64(0).u64(0)},
		{"array type", kv("k", uint32(tArray)).u32(99).u64(1).u32(0)},
		{"nesting", func() le {
			b := kv("k", uint32(tArray))
			for range 20 {
				b = b.u32(uint32(tArray)).u64(1)
			}
			return b.u32(uint32(tUint8)).u64(0)
		}()},
		{"duplicate key", header(3, 0, 2).str("k").u32(uint32(tUint8)).u32(0)[:len(header(3, 0, 2))+9+4+1].
			str("k").u32(uint32(tUint8)).u32(0)},
		{"alignment type", kv("general.alignment", uint32(tUint64)).u64(32)},
		{"alignment value", kv("general.alignment", uint32(tUint32)).u32(24)},
		{"five dims", tensorFile([]uint64{1, 1, 1, 1, 1}, F32, 0, 4)},
		{"negative dim", tensorFile([]uint64{1 << 63}, F32, 0, 4)},
		{"unknown type", tensorFile([]uint64{1}, Type(5), 0, 64)},
		{"partial block", tensorFile([]uint64{16}, Q4_0, 0, 64)},
		{"size overflow", tensorFile([]uint64{1 << 40, 1 << 40}, F32, 0, 4)},
		{"misaligned", tensorFile([]uint64{1}, F32, 4, 64)},
		{"past end", tensorFile([]uint64{17}, F32, 0, 64)},
		{"offset past end", tensorFile([]uint64{1}, F32, 1<<62, 64)},
		{"offset overflow", tensorFile([]uint64{1}, F32, math.MaxUint64-31, 64)},
		{"duplicate tensor", func() le {
			b := header(3, 2, 0)
			for range 2 {
				b = b.str("t").u32(1).u64(1).u32(0).u64(0)
			}
			return append(b, make([]byte, 64)...)
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.b), int64(len(tc.b)))
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("got %v, want ErrFormat", err)
			}
			t.Log(err)
		})
	}
}

func TestMetadataLookups(t *testing.T) {
	m := Metadata{
		{"u8", uint8(7)}, {"neg", int32(-3)}, {"big", uint64(math.MaxUint64)}, {"s", "x"},
		{"f", float32(0.5)}, {"b", true}, {"ss", []string{"a"}}, {"fs", []float32{1}},
		{"is", []int32{-1, 2}}, {"us", []uint64{math.MaxUint64}},
	}
	for _, tc := range []struct {
		name string
		call func() (any, error)
		want any
		err  error
	}{
		{"uint from u8", func() (any, error) { return m.Uint("u8") }, uint64(7), nil},
		{"uint from u64", func() (any, error) { return m.Uint("big") }, uint64(math.MaxUint64), nil},
		{"uint of negative", func() (any, error) { return m.Uint("neg") }, uint64(0), ErrFormat},
		{"uint of string", func() (any, error) { return m.Uint("s") }, uint64(0), ErrFormat},
		{"uint missing", func() (any, error) { return m.Uint("nope") }, uint64(0), ErrNotFound},
		{"int of negative", func() (any, error) { return m.Int("neg") }, int64(-3), nil},
		{"int overflow", func() (any, error) { return m.Int("big") }, int64(0), ErrFormat},
		{"float", func() (any, error) { return m.Float("f") }, 0.5, nil},
		{"float of int", func() (any, error) { return m.Float("u8") }, 0.0, ErrFormat},
		{"bool", func() (any, error) { return m.Bool("b") }, true, nil},
		{"string", func() (any, error) { return m.String("s") }, "x", nil},
		{"string missing", func() (any, error) { return m.String("nope") }, "", ErrNotFound},
		{"strings", func() (any, error) { return m.Strings("ss") }, []string{"a"}, nil},
		{"floats", func() (any, error) { return m.Floats("fs") }, []float64{1}, nil},
		{"floats of strings", func() (any, error) { return m.Floats("ss") }, []float64(nil), ErrFormat},
		{"ints", func() (any, error) { return m.Ints("is") }, []int64{-1, 2}, nil},
		{"ints overflow", func() (any, error) { return m.Ints("us") }, []int64(nil), ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.call()
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestTypeSize(t *testing.T) {
	for _, tc := range []struct {
		t    Type
		dims []uint64
		want int64
		ok   bool
	}{
		{F32, []uint64{64, 512}, 131072, true},
		{F16, []uint64{3}, 6, true},
		{BF16, []uint64{2, 2}, 8, true},
		{Q4_0, []uint64{64, 64}, 2304, true},
		{Q4_1, []uint64{32}, 20, true},
		{Q5_0, []uint64{32}, 22, true},
		{Q5_1, []uint64{32}, 24, true},
		{Q8_0, []uint64{64, 172}, 2 * 34 * 172, true},
		{Q2_K, []uint64{256, 2}, 168, true},
		{Q3_K, []uint64{512}, 220, true},
		{Q4_K, []uint64{256}, 144, true},
		{Q5_K, []uint64{256}, 176, true},
		{Q6_K, []uint64{256}, 210, true},
		{Q8_K, []uint64{256}, 292, true},
		{Q4_K, []uint64{128}, 0, false},
		{Type(4), []uint64{32}, 0, false},
		{Type(1000), []uint64{32}, 0, false},
		{F32, []uint64{1 << 62}, 0, false},
		{F32, nil, 4, true},
	} {
		t.Run(tc.t.String(), func(t *testing.T) {
			got, err := tc.t.Size(tc.dims)
			if got != tc.want || (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrFormat)) {
				t.Errorf("Size(%v) = %d, %v; want %d", tc.dims, got, err, tc.want)
			}
		})
	}
	if Q4_K.String() != "Q4_K" || Type(99).String() != "Type(99)" || Type(4).Known() {
		t.Error("names")
	}
}
