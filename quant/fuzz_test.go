package quant

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tune-gpu/tune/gguf"
)

func FuzzDequantizeGGML(f *testing.F) {
	f.Add(uint32(gguf.Q4_0), cat(u16(h2), nibbles), 32)
	f.Add(uint32(gguf.Q4_K), cat(u16(h1), u16(h05), kScales, kQs), 256)
	f.Add(uint32(gguf.Q2_K), make([]byte, 84), 256)
	f.Add(uint32(gguf.F16), []byte{1, 2, 3}, 1)
	f.Add(uint32(gguf.IQ2_XXS), make([]byte, 66), 256)
	f.Fuzz(func(t *testing.T, typ uint32, data []byte, n int) {
		y, err := DequantizeGGML(gguf.Type(typ), data, n)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(y) != n {
			t.Fatalf("%d values, want %d", len(y), n)
		}
	})
}

func FuzzFromGGML(f *testing.F) {
	f.Add(uint32(gguf.Q4_0), cat(u16(h2), nibbles), 1, 32)
	f.Add(uint32(gguf.Q8_0), make([]byte, 68), 1, 64)
	f.Add(uint32(gguf.Q4_1), make([]byte, 40), 2, 32)
	f.Add(uint32(gguf.Q5_0), make([]byte, 22), 1, 32)
	f.Fuzz(func(t *testing.T, typ uint32, data []byte, rows, cols int) {
		q, err := FromGGML(gguf.Type(typ), data, rows, cols)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNoDirectLayout) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if err := q.Validate(); err != nil {
			t.Fatal(err)
		}
		want, err := DequantizeGGML(gguf.Type(typ), data, rows*cols)
		if err != nil {
			t.Fatal(err)
		}
		got := q.Dequantize()
		for i := range got {
			if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) { // NaN == NaN here
				t.Fatalf("element %d: %v, want %v", i, got[i], want[i])
			}
		}
	})
}

// FuzzLoad feeds arbitrary GGUF files to Load's decoder.
func FuzzLoad(f *testing.F) {
	w := &Weights{Quant: map[string]*Tensor{}, Float: map[string]Float{"n": {Dims: []uint64{2}, Data: []float32{1, 2}}}}
	for i, fm := range []Format{{2, 32, true}, {4, 32, false}, {8, 0, false}} {
		q, err := Quantize(randMatrix(2, 64, uint64(i)), 2, 64, fm, RTN)
		if err != nil {
			f.Fatal(err)
		}
		w.Quant[fm.String()] = q
	}
	meta, ts, err := encode(w)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if err := gguf.Write(&buf, meta, ts); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		gf, err := gguf.Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		w, err := decode(gf)
		if err != nil {
			if !errors.Is(err, gguf.ErrFormat) {
				t.Fatalf("error does not wrap gguf.ErrFormat: %v", err)
			}
			return
		}
		for name, q := range w.Quant {
			if err := q.Validate(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	})
}
