package quant_test

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/tune-gpu/tune/gguf"
	"github.com/tune-gpu/tune/quant"
)

// Calibrated ranges survive Save and Load beside the tensors and other
// metadata, and replace earlier ones.
func TestActAbsmaxRoundTrip(t *testing.T) {
	w32 := make([]float32, 4*64)
	for i := range w32 {
		w32[i] = float32(i%17) - 8
	}
	tq, err := quant.Quantize(w32, 4, 64, quant.Format{Bits: 4, Group: 32}, quant.RTN)
	if err != nil {
		t.Fatal(err)
	}
	meta := gguf.Metadata{{Key: "general.name", Value: "m"}, {Key: quant.ActAbsmaxPrefix + "old", Value: float32(9)}}
	want := map[string]float32{"blk.0.attn_q.weight": 3.25, "blk.0.ffn_down.weight": 0}
	meta, err = quant.SetActAbsmax(meta, want)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := quant.Save(path, &quant.Weights{Meta: meta, Quant: map[string]*quant.Tensor{"blk.0.attn_q.weight": tq}}); err != nil {
		t.Fatal(err)
	}
	back, err := quant.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := quant.ActAbsmax(back.Meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read back %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %g, want %g", k, got[k], v)
		}
	}
	if s, _ := back.Meta.String("general.name"); s != "m" {
		t.Errorf("general.name lost: %q", s)
	}
	if quant.StaticScale(127) != 1 {
		t.Errorf("StaticScale(127) = %g", quant.StaticScale(127))
	}
}

func TestActAbsmaxRejectsBadValues(t *testing.T) {
	for _, bad := range []float32{-1, float32(math.Inf(1))} {
		if _, err := quant.SetActAbsmax(nil, map[string]float32{"w": bad}); !errors.Is(err, quant.ErrInvalid) {
			t.Errorf("SetActAbsmax(%g): %v", bad, err)
		}
	}
	for _, v := range []any{"3", float64(3), float32(-2)} {
		meta := gguf.Metadata{{Key: quant.ActAbsmaxPrefix + "w", Value: v}}
		if _, err := quant.ActAbsmax(meta); !errors.Is(err, gguf.ErrFormat) {
			t.Errorf("ActAbsmax(%v): %v", v, err)
		}
	}
}

// ActAbsmax never panics on metadata from a file, and what it accepts
// SetActAbsmax writes back unchanged.
func FuzzActAbsmax(f *testing.F) {
	f.Add("blk.0.attn_q.weight", float32(3.5), uint8(0))
	f.Add("", float32(-1), uint8(1))
	f.Add("w", float32(0), uint8(2))
	f.Fuzz(func(t *testing.T, name string, v float32, kind uint8) {
		var value any = v
		switch kind % 3 {
		case 1:
			value = float64(v)
		case 2:
			value = name
		}
		meta := gguf.Metadata{{Key: quant.ActAbsmaxPrefix + name, Value: value}}
		got, err := quant.ActAbsmax(meta)
		if err != nil {
			return
		}
		back, err := quant.SetActAbsmax(nil, got)
		if err != nil {
			t.Fatalf("accepted %v but cannot write it back: %v", got, err)
		}
		again, err := quant.ActAbsmax(back)
		if err != nil || len(again) != len(got) || again[name] != got[name] {
			t.Fatalf("round trip: %v -> %v (%v)", got, again, err)
		}
	})
}
