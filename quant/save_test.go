package quant

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tune-gpu/tune/gguf"
)

func testWeights(t testing.TB) *Weights {
	w := &Weights{
		Meta: gguf.Metadata{
			{Key: "general.architecture", Value: "llama"},
			{Key: "tune.quant.stale", Value: "int2-g32-sym"}, // Save drops it
		},
		Quant: map[string]*Tensor{},
		Float: map[string]Float{
			"norm": {Dims: []uint64{4}, Data: []float32{1, 2, 3, 4.5}},
			"emb":  {Dims: []uint64{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		},
	}
	for i, f := range Formats() {
		q, err := Quantize(randMatrix(3, 256, uint64(i)), 3, 256, f, Method(i%2))
		if err != nil {
			t.Fatal(err)
		}
		w.Quant["m."+f.String()] = q
	}
	// Scales that are not f16-exact must not be forced into Q4_0.
	q, _ := Quantize(randMatrix(1, 32, 1), 1, 32, Format{4, 32, false}, RTN)
	q.Scales[0] *= 1 + 1.0/4096
	w.Quant["m.f32scale"] = q
	return w
}

func TestSaveLoad(t *testing.T) {
	w := testWeights(t)
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := Save(path, w); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Quant, w.Quant) {
		for name, q := range w.Quant {
			if !reflect.DeepEqual(got.Quant[name], q) {
				t.Errorf("tensor %s differs after Save and Load", name)
			}
		}
	}
	if !reflect.DeepEqual(got.Float, w.Float) {
		t.Errorf("floats: got %v", got.Float)
	}
	wantMeta := gguf.Metadata{w.Meta[0], {Key: "general.quantization_version", Value: uint32(2)}}
	if !reflect.DeepEqual(got.Meta, wantMeta) {
		t.Errorf("meta: got %v, want %v", got.Meta, wantMeta)
	}

	// How each tensor was stored.
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tc := range []struct {
		name   string
		typ    gguf.Type
		dims   []uint64
		format string // tune.quant metadata, "" for none
	}{
		{"m.int8-g32-sym", gguf.Q8_0, []uint64{256, 3}, ""},
		{"m.int4-g32-sym", gguf.Q4_0, []uint64{256, 3}, ""},
		{"m.int4-g32-asym", gguf.Q4_1, []uint64{256, 3}, ""},
		{"m.int2-g64-asym", gguf.I32, []uint64{16, 3}, "int2-g64-asym"},
		{"m.int2-g64-asym.scales", gguf.F16, []uint64{4, 3}, ""},
		{"m.int2-g64-asym.mins", gguf.F16, []uint64{4, 3}, ""},
		{"m.int8-row-sym", gguf.I32, []uint64{64, 3}, "int8-row-sym"},
		{"m.int8-row-sym.scales", gguf.F16, []uint64{1, 3}, ""},
		{"m.f32scale", gguf.I32, []uint64{4, 1}, "int4-g32-sym"},
		{"m.f32scale.scales", gguf.F32, []uint64{1, 1}, ""},
		{"norm", gguf.F32, []uint64{4}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ti, ok := f.Tensor(tc.name)
			if !ok || ti.Type != tc.typ || !reflect.DeepEqual(ti.Dims, tc.dims) {
				t.Errorf("stored as %v %v (found %v), want %v %v", ti.Type, ti.Dims, ok, tc.typ, tc.dims)
			}
			if s, err := f.Metadata.String(MetaPrefix + tc.name); tc.format != "" && s != tc.format || tc.format == "" && err == nil {
				t.Errorf("metadata %q, %v; want %q", s, err, tc.format)
			}
		})
	}
	if _, ok := f.Tensor("m.int4-g32-sym.scales"); ok {
		t.Error("Q4_0 tensor has a separate scales tensor")
	}
}

// TestLoadStories: a ggml-quantized file loads as Tensors and saves back
// to the same blocks.
func TestLoadStories(t *testing.T) {
	src := models + "quantized/stories260K-Q4_1.gguf"
	w, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Quant) != 32 || len(w.Float) != 16 {
		t.Fatalf("%d quantized and %d float tensors", len(w.Quant), len(w.Float))
	}
	if q := w.Quant["blk.0.attn_k.weight"]; q.Format != (Format{4, 32, true}) || q.Rows != 32 || q.Cols != 64 {
		t.Errorf("attn_k: %v %dx%d", q.Format, q.Rows, q.Cols)
	}
	if n, err := w.Meta.Uint("llama.block_count"); err != nil || n != 5 {
		t.Errorf("block_count %d, %v", n, err)
	}
	path := filepath.Join(t.TempDir(), "copy.gguf")
	if err := Save(path, w); err != nil {
		t.Fatal(err)
	}
	_, orig := readGGUF(t, src)
	infos, copied := readGGUF(t, path)
	for _, ti := range infos {
		if !bytes.Equal(copied[ti.Name], orig[ti.Name]) {
			t.Errorf("%s (%v) differs from the source file", ti.Name, ti.Type)
		}
	}
	if len(infos) != 48 {
		t.Errorf("%d tensors", len(infos))
	}
}

func TestSaveErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		edit func(w *Weights)
	}{
		{"name clash", func(w *Weights) { w.Float["m.int2-g64-asym.mins"] = Float{Dims: []uint64{1}, Data: []float32{1}} }},
		{"float dims", func(w *Weights) { w.Float["bad"] = Float{Dims: []uint64{3}, Data: []float32{1}} }},
		{"bad tensor", func(w *Weights) { w.Quant["m.int4-g32-sym"].Scales = nil }},
		{"bad meta", func(w *Weights) { w.Meta = append(w.Meta, gguf.KV{Key: "x", Value: struct{}{}}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := testWeights(t)
			tc.edit(w)
			path := filepath.Join(dir, tc.name)
			if err := Save(path, w); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("failed Save left a file: %v", err)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("temp files left: %v", entries)
	}
}

func TestLoadErrors(t *testing.T) {
	w := testWeights(t)
	for _, tc := range []struct {
		name string
		edit func(meta []gguf.KV, ts []gguf.Tensor) ([]gguf.KV, []gguf.Tensor)
	}{
		{"bad format key", func(m []gguf.KV, ts []gguf.Tensor) ([]gguf.KV, []gguf.Tensor) {
			return append(m, gguf.KV{Key: MetaPrefix + "norm", Value: "int3-g32-sym"}), ts
		}},
		{"format of a float tensor", func(m []gguf.KV, ts []gguf.Tensor) ([]gguf.KV, []gguf.Tensor) {
			return append(m, gguf.KV{Key: MetaPrefix + "norm", Value: "int4-g32-sym"}), ts
		}},
		{"missing scales", func(m []gguf.KV, ts []gguf.Tensor) ([]gguf.KV, []gguf.Tensor) {
			return m, dropTensor(ts, "m.int2-g64-asym.scales")
		}},
		{"missing words", func(m []gguf.KV, ts []gguf.Tensor) ([]gguf.KV, []gguf.Tensor) {
			return m, dropTensor(ts, "m.int2-g64-asym")
		}},
		{"unsupported type", func(m []gguf.KV, ts []gguf.Tensor) ([]gguf.KV, []gguf.Tensor) {
			return m, append(ts, gguf.Tensor{Name: "iq", Dims: []uint64{256}, Type: gguf.IQ2_XXS, Data: make([]byte, 66)})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			meta, ts, err := encode(w)
			if err != nil {
				t.Fatal(err)
			}
			meta, ts = tc.edit(meta, ts)
			var buf bytes.Buffer
			if err := gguf.Write(&buf, meta, ts); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decode(f); !errors.Is(err, gguf.ErrFormat) {
				t.Errorf("got %v, want gguf.ErrFormat", err)
			}
		})
	}
}

func dropTensor(ts []gguf.Tensor, name string) []gguf.Tensor {
	var out []gguf.Tensor
	for _, t := range ts {
		if t.Name != name {
			out = append(out, t)
		}
	}
	return out
}
