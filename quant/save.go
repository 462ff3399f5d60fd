package quant

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tune-gpu/tune/gguf"
)

// MetaPrefix starts the metadata key that records the Format of a tensor
// stored in the custom encoding: "tune.quant.<name>" = "int2-g64-asym".
const MetaPrefix = "tune.quant."

// Weights is a set of named tensors and the metadata that goes with them.
type Weights struct {
	Meta  gguf.Metadata      // file metadata, without MetaPrefix keys (Save derives those)
	Quant map[string]*Tensor // quantized matrices
	Float map[string]Float   // everything kept in float32 (norms, ...)
}

// Float is an unquantized tensor.
type Float struct {
	Dims []uint64 // ggml order: Dims[0] is the contiguous row length
	Data []float32
}

// Save writes w to a GGUF file at path, atomically (temp file and rename).
//
// A quantized tensor is stored as the matching ggml type when there is one
// and its scales and mins are float16-exact (always true for Tensors from
// Quantize and FromGGML): int8-g32-sym as Q8_0, int4-g32-sym as Q4_0,
// int4-g32-asym as Q4_1, with ggml dims [Cols, Rows]; llama.cpp can read
// those. Any other tensor <name> uses the custom encoding:
//
//	<name>         I32 [Cols*Bits/32, Rows]  the packed words, as in Tensor
//	<name>.scales  F16 or F32 [G, Rows]      F16 when every scale is f16-exact
//	<name>.mins    F16 or F32 [G, Rows]      asymmetric formats only
//	metadata "tune.quant.<name>" = Format.String()
//
// Float tensors are stored as F32. Tensors are written in name order, and
// general.quantization_version = 2 is added when a ggml-quantized tensor is
// written and meta lacks it. Load reads every Tensor back bit for bit. The
// encoded tensors are held in memory until the file is written.
func Save(path string, w *Weights) error {
	meta, tensors, err := encode(w)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("quant: saving: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	err = gguf.Write(tmp, meta, tensors)
	if err == nil {
		err = tmp.Chmod(0o644) // CreateTemp makes it 0600; model files are shared
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("quant: saving %s: %w", path, err)
	}
	return nil
}

func encode(w *Weights) ([]gguf.KV, []gguf.Tensor, error) {
	var meta []gguf.KV
	for _, kv := range w.Meta {
		if !strings.HasPrefix(kv.Key, MetaPrefix) {
			meta = append(meta, kv)
		}
	}
	var tensors []gguf.Tensor
	ggmlQuant := false
	for _, name := range slices.Sorted(maps.Keys(w.Quant)) {
		t := w.Quant[name]
		if err := t.Validate(); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if typ, ok := ggmlType(t); ok {
			ggmlQuant = true
			tensors = append(tensors, gguf.Tensor{Name: name, Dims: dims(t.Cols, t.Rows), Type: typ, Data: toGGML(t, typ)})
			continue
		}
		meta = append(meta, gguf.KV{Key: MetaPrefix + name, Value: t.Format.String()})
		words := make([]byte, 0, 4*len(t.Words))
		for _, x := range t.Words {
			words = binary.LittleEndian.AppendUint32(words, x)
		}
		tensors = append(tensors, gguf.Tensor{Name: name, Dims: dims(t.WordsPerRow(), t.Rows), Type: gguf.I32, Data: words})
		tensors = append(tensors, floats(name+".scales", dims(t.GroupsPerRow(), t.Rows), t.Scales))
		if t.Asym {
			tensors = append(tensors, floats(name+".mins", dims(t.GroupsPerRow(), t.Rows), t.Mins))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(w.Float)) {
		f := w.Float[name]
		if n, ok := elements(f.Dims); !ok || n != uint64(len(f.Data)) {
			return nil, nil, fmt.Errorf("%w: float tensor %q has %d values for dims %v", ErrInvalid, name, len(f.Data), f.Dims)
		}
		tensors = append(tensors, gguf.Tensor{Name: name, Dims: f.Dims, Type: gguf.F32, Data: f32Bytes(f.Data)})
	}
	seen := make(map[string]bool, len(tensors))
	for _, t := range tensors {
		if seen[t.Name] {
			return nil, nil, fmt.Errorf("%w: tensor name %q used twice (custom tensors add .scales and .mins)", ErrInvalid, t.Name)
		}
		seen[t.Name] = true
	}
	if _, ok := w.Meta.Get("general.quantization_version"); ggmlQuant && !ok {
		meta = append(meta, gguf.KV{Key: "general.quantization_version", Value: uint32(2)})
	}
	return meta, tensors, nil
}

func dims(cols, rows int) []uint64 { return []uint64{uint64(cols), uint64(rows)} }

func elements(dims []uint64) (uint64, bool) {
	n := uint64(1)
	for _, d := range dims {
		if d != 0 && n > math.MaxInt/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}

func f32Bytes(s []float32) []byte {
	b := make([]byte, 0, 4*len(s))
	for _, v := range s {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// floats stores scales or mins, as F16 when that loses nothing.
func floats(name string, d []uint64, s []float32) gguf.Tensor {
	if !allF16(s) {
		return gguf.Tensor{Name: name, Dims: d, Type: gguf.F32, Data: f32Bytes(s)}
	}
	b := make([]byte, 0, 2*len(s))
	for _, v := range s {
		b = binary.LittleEndian.AppendUint16(b, f32ToF16(v))
	}
	return gguf.Tensor{Name: name, Dims: d, Type: gguf.F16, Data: b}
}

// Load reads a GGUF file written by Save, or any GGUF file: Q8_0, Q4_0 and
// Q4_1 tensors become Tensors through FromGGML (a tensor with more than two
// dims is flattened to rows = Dims[1]*Dims[2]*...), tensors in the custom
// encoding become Tensors of their recorded format, and every other tensor
// of a type DequantizeGGML decodes becomes a Float. Errors about the file's
// contents wrap gguf.ErrFormat.
func Load(path string) (*Weights, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("quant: %w", err)
	}
	defer f.Close()
	w, err := decode(f)
	if err != nil {
		return nil, fmt.Errorf("quant: %s: %w", path, err)
	}
	return w, nil
}

func decode(f *gguf.File) (*Weights, error) {
	w := &Weights{Quant: map[string]*Tensor{}, Float: map[string]Float{}}
	custom := map[string]Format{}
	for _, kv := range f.Metadata {
		name, ok := strings.CutPrefix(kv.Key, MetaPrefix)
		if !ok {
			w.Meta = append(w.Meta, kv)
			continue
		}
		s, _ := kv.Value.(string)
		fm, err := ParseFormat(s)
		if err != nil {
			return nil, fmt.Errorf("%w: metadata %s: %w", gguf.ErrFormat, kv.Key, err)
		}
		custom[name] = fm
	}
	consumed := map[string]bool{}
	for name, fm := range custom {
		t, err := decodeCustom(f, name, fm)
		if err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %w", gguf.ErrFormat, name, err)
		}
		w.Quant[name] = t
		consumed[name], consumed[name+".scales"], consumed[name+".mins"] = true, true, fm.Asym
	}
	for _, ti := range f.Tensors {
		if consumed[ti.Name] {
			continue
		}
		data, err := f.TensorData(ti.Name)
		if err != nil {
			return nil, err
		}
		if _, ok := ggmlFormats[ti.Type]; ok && len(ti.Dims) > 0 {
			rows, _ := elements(ti.Dims[1:])
			t, err := FromGGML(ti.Type, data, int(rows), int(ti.Dims[0]))
			if err != nil {
				return nil, fmt.Errorf("%w: tensor %q: %w", gguf.ErrFormat, ti.Name, err)
			}
			w.Quant[ti.Name] = t
			continue
		}
		y, err := DequantizeGGML(ti.Type, data, int(ti.Elements()))
		if err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %w", gguf.ErrFormat, ti.Name, err)
		}
		w.Float[ti.Name] = Float{Dims: ti.Dims, Data: y}
	}
	return w, nil
}

func decodeCustom(f *gguf.File, name string, fm Format) (*Tensor, error) {
	wi, ok := f.Tensor(name)
	if !ok || wi.Type != gguf.I32 || len(wi.Dims) != 2 {
		return nil, fmt.Errorf("%w: want a 2-dim I32 tensor of words", ErrInvalid)
	}
	if wi.Dims[0] > math.MaxInt/32 {
		return nil, fmt.Errorf("%w: words dims %v", ErrInvalid, wi.Dims)
	}
	t := &Tensor{Format: fm, Rows: int(wi.Dims[1]), Cols: int(wi.Dims[0]) * 32 / fm.Bits}
	if err := checkShape(fm, t.Rows, t.Cols); err != nil {
		return nil, fmt.Errorf("%w: words dims %v do not fit %s", ErrInvalid, wi.Dims, fm)
	}
	data, err := f.TensorData(name)
	if err != nil {
		return nil, err
	}
	t.Words = make([]uint32, len(data)/4)
	for i := range t.Words {
		t.Words[i] = binary.LittleEndian.Uint32(data[4*i:])
	}
	if t.Scales, err = loadFloats(f, name+".scales", t); err == nil && fm.Asym {
		t.Mins, err = loadFloats(f, name+".mins", t)
	}
	if err != nil {
		return nil, err
	}
	return t, t.Validate()
}

func loadFloats(f *gguf.File, name string, t *Tensor) ([]float32, error) {
	ti, ok := f.Tensor(name)
	want := dims(t.GroupsPerRow(), t.Rows)
	if !ok || (ti.Type != gguf.F32 && ti.Type != gguf.F16) || !slices.Equal(ti.Dims, want) {
		return nil, fmt.Errorf("%w: %s: want an F32 or F16 tensor of dims %v", ErrInvalid, name, want)
	}
	data, err := f.TensorData(name)
	if err != nil {
		return nil, err
	}
	return DequantizeGGML(ti.Type, data, int(ti.Elements()))
}
