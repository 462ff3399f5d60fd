package llama

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/tune-gpu/tune/gguf"
)

// header returns a llama2.c legacy header.
func header(v ...int32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	return b.Bytes()
}

func TestReadLlama2CErrors(t *testing.T) {
	good := llama2cBytes(randomModel(t, Options{Dim: 8, HiddenDim: 12, NumLayers: 1, NumHeads: 2, NumKVHeads: 1,
		VocabSize: 5, SeqLen: 4, HeadDim: 4, RopeDim: 4, RopeTheta: 10000, RMSEps: 1e-5}, false))
	if _, err := ReadLlama2C(bytes.NewReader(good), int64(len(good))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrFormat},
		{"short header", good[:20], ErrFormat},
		{"header only", good[:28], ErrFormat},
		{"truncated", good[:len(good)-1], ErrFormat},
		{"trailing byte", append(bytes.Clone(good), 0), ErrFormat},
		{"garbage", bytes.Repeat([]byte{0xff}, 100), ErrFormat},
		{"zero dim", header(0, 12, 1, 2, 1, 5, 4), ErrFormat},
		{"kv heads do not divide heads", header(8, 12, 1, 2, 3, 5, 4), ErrFormat},
		{"dim not a multiple of heads", header(9, 12, 1, 2, 1, 5, 4), ErrFormat},
		{"odd head size", header(6, 12, 1, 2, 1, 5, 4), ErrFormat},
		{"absurd sizes", header(1<<30, 1<<30, 1<<30, 1<<10, 1<<10, 1<<30, 1<<30), ErrFormat},
		{"most negative vocab", header(8, 12, 1, 2, 1, -1<<31, 4), ErrFormat},
		{"version 1 export", append(header(0x616b3432, 1), make([]byte, 300)...), ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadLlama2C(bytes.NewReader(tc.data), int64(len(tc.data)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	stories, err := os.ReadFile(models + "stories260K.bin")
	if err != nil {
		t.Fatal(err)
	}
	storiesGGUF, err := os.ReadFile(models + "stories260K.gguf")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tiny := randomModel(t, tinyOptions, true)
	for _, tc := range []struct {
		name string
		load func(string) (*Model, error)
		path string
		want error
	}{
		{"missing llama2.c", LoadLlama2C, filepath.Join(dir, "nope.bin"), fs.ErrNotExist},
		{"truncated llama2.c", LoadLlama2C, write("trunc.bin", stories[:len(stories)/2]), ErrFormat},
		{"gguf as llama2.c", LoadLlama2C, models + "stories260K.gguf", ErrFormat},
		{"llama2.c as gguf", LoadGGUF, models + "stories260K.bin", ErrFormat},
		{"truncated gguf", LoadGGUF, write("trunc.gguf", storiesGGUF[:len(storiesGGUF)-100]), ErrFormat},
		{"vocabulary-only gguf", LoadGGUF, models + "ggml-vocab-llama-spm.gguf", ErrFormat},
		{"other architecture", LoadGGUF, write("arch.gguf", ggufBytes(t, tiny, gguf.KV{Key: "general.architecture", Value: "gemma"})), ErrUnsupported},
		{"rope scaling", LoadGGUF, write("rope.gguf", ggufBytes(t, tiny, gguf.KV{Key: "llama.rope.scaling.type", Value: "yarn"})), ErrUnsupported},
		{"experts", LoadGGUF, write("moe.gguf", ggufBytes(t, tiny, gguf.KV{Key: "llama.expert_count", Value: uint32(8)})), ErrUnsupported},
		{"gpt2 tokenizer", LoadGGUF, write("gpt2.gguf", ggufBytes(t, tiny, gguf.KV{Key: "tokenizer.ggml.model", Value: "gpt2"})), ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.load(tc.path)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestReadGGUFTensorErrors breaks one tensor of a good file at a time.
func TestReadGGUFTensorErrors(t *testing.T) {
	m := randomModel(t, tinyOptions, false)
	for _, tc := range []struct {
		name   string
		change func(ts []gguf.Tensor) []gguf.Tensor
		want   error
	}{
		{"missing tensor", func(ts []gguf.Tensor) []gguf.Tensor { return ts[:len(ts)-2] }, ErrFormat},
		{"wrong shape", func(ts []gguf.Tensor) []gguf.Tensor {
			ts[3].Dims = []uint64{ts[3].Dims[1], ts[3].Dims[0]} // attn_k, 12x6
			return ts
		}, ErrFormat},
		{"undecodable type", func(ts []gguf.Tensor) []gguf.Tensor {
			ts[0].Type, ts[0].Data = gguf.F64, make([]byte, 8*len(ts[0].Data)/4)
			return ts
		}, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good := ggufBytes(t, m)
			f, err := gguf.Read(bytes.NewReader(good), int64(len(good)))
			if err != nil {
				t.Fatal(err)
			}
			var ts []gguf.Tensor
			for _, ti := range f.Tensors {
				d, err := f.TensorData(ti.Name)
				if err != nil {
					t.Fatal(err)
				}
				ts = append(ts, gguf.Tensor{Name: ti.Name, Dims: ti.Dims, Type: ti.Type, Data: d})
			}
			var b bytes.Buffer
			if err := gguf.Write(&b, f.Metadata, tc.change(ts)); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadGGUF(bytes.NewReader(b.Bytes()), int64(b.Len())); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestStoriesFormatsAgree checks the decision not to undo llama.cpp's Q/K
// permutation: the GGUF conversion of stories260K holds the very rows of
// the llama2.c checkpoint (both are laid out for adjacent-pair RoPE), and
// the hyperparameters agree except for the context length.
func TestStoriesFormatsAgree(t *testing.T) {
	a, b := loadStories(t, "stories260K.bin"), loadStories(t, "stories260K.gguf")
	ao, bo := a.Options, b.Options
	if ao.SeqLen != 512 || bo.SeqLen != 2048 {
		t.Errorf("seq len %d and %d, want 512 (llama2.c header) and 2048 (GGUF context_length)", ao.SeqLen, bo.SeqLen)
	}
	ao.SeqLen = bo.SeqLen
	if !reflect.DeepEqual(ao, bo) {
		t.Fatalf("options differ:\n%+v\n%+v", ao, bo)
	}
	// The GGUF file stores the tied classifier again as output.weight.
	b.Output = b.TokenEmbedding
	assertSameWeights(t, b, a)
}

// A GGUF file's rope_freqs.weight (Llama 3's rope scaling) becomes the
// model's RopeFreqs; a table of the wrong length or with a factor below 1
// is a format error.
func TestReadGGUFRopeFreqs(t *testing.T) {
	o := tinyOptions
	o.RopeFreqs = []float32{1, 2.5}
	m := randomModel(t, o, false)
	b := ggufBytes(t, m)
	got, err := ReadGGUF(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.RopeFreqs, o.RopeFreqs) {
		t.Errorf("rope freqs %v, want %v", got.RopeFreqs, o.RopeFreqs)
	}
	for _, bad := range [][]float32{{1, 2, 3}, {1, 0.5}} {
		m.RopeFreqs = bad
		b := ggufBytes(t, m)
		if _, err := ReadGGUF(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrFormat) {
			t.Errorf("rope freqs %v: got %v, want %v", bad, err, ErrFormat)
		}
	}
}

// LoadShape reads a GGUF file's hyperparameters (rope_freqs included)
// without its weights, and a synthetic model's without generating it.
func TestLoadShape(t *testing.T) {
	o := tinyOptions
	o.RopeFreqs = []float32{1, 3}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := os.WriteFile(path, ggufBytes(t, randomModel(t, o, false)), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadShape(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, o) {
		t.Errorf("shape %+v, want %+v", got, o)
	}
	s, err := LoadShape("synthetic:llama-3.1-8b")
	if err != nil {
		t.Fatal(err)
	}
	if s.Dim != 4096 || s.HiddenDim != 14336 || s.NumKVHeads != 8 || len(s.RopeFreqs) != 64 || s.RopeFreqs[63] != 8 {
		t.Errorf("synthetic:llama-3.1-8b: %+v", s)
	}
	if _, err := LoadShape(filepath.Join(t.TempDir(), "none.gguf")); !errors.Is(err, ErrFormat) {
		t.Errorf("a missing file: %v, want %v", err, ErrFormat)
	}
}
