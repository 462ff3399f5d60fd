package gguf

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzRead(f *testing.F) {
	b := small(f)
	f.Add(b)
	meta, tensors := sample()
	f.Add(encode(f, meta, tensors))
	f.Add(b[:len(b)/2])
	f.Add([]byte(tensorFile([]uint64{16}, Q4_0, 0, 64)))
	f.Add([]byte(header(3, 1<<40, 0)))
	bad := bytes.Clone(b)
	bad[30] ^= 0xff
	f.Add(bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		gf, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error does not wrap ErrFormat: %v", err)
			}
			return
		}
		// Whatever parsed must have readable data and must survive a rewrite.
		var ts []Tensor
		for _, ti := range gf.Tensors {
			d, err := gf.TensorData(ti.Name)
			if err != nil {
				t.Fatal(err)
			}
			ts = append(ts, Tensor{ti.Name, ti.Dims, ti.Type, d})
		}
		var buf bytes.Buffer
		if err := Write(&buf, gf.Metadata, ts); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
			t.Fatal(err)
		}
	})
}
