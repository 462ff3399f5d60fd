package quant

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPackBesideByHand checks one row of an int4 g32 asymmetric tensor,
// two blocks, against the words worked out from the layout's definition.
func TestPackBesideByHand(t *testing.T) {
	f := Format{Bits: 4, Group: 32, Asym: true}
	cols := 2 * BlockGroups * 32
	tn := &Tensor{Format: f, Rows: 1, Cols: cols, Words: make([]uint32, cols/8), Scales: make([]float32, 8), Mins: make([]float32, 8)}
	for i := range tn.Words {
		tn.Words[i] = uint32(0x1000 + i)
	}
	for g := range 8 {
		tn.Scales[g] = float32(g) + 0.5
		tn.Mins[g] = -float32(g)
	}
	got, err := tn.PackBeside()
	if err != nil {
		t.Fatal(err)
	}
	// A block: 16 code words (four groups of four), four scales, four mins.
	var want []uint32
	for b := range 2 {
		for i := range 16 {
			want = append(want, uint32(0x1000+16*b+i))
		}
		for g := range 4 {
			want = append(want, math.Float32bits(float32(4*b+g)+0.5))
		}
		for g := range 4 {
			want = append(want, math.Float32bits(-float32(4*b+g)))
		}
	}
	if f.BlockWords() != 24 || !slices.Equal(got, want) {
		t.Fatalf("block of %d words; packed\n%x\nwant\n%x", f.BlockWords(), got, want)
	}
}

func TestBesideRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range Formats() {
		if f.Group == 0 {
			if _, err := (&Tensor{Format: f}).PackBeside(); err == nil {
				t.Errorf("%s: per-row scales packed beside", f)
			}
			continue
		}
		rows, cols := 3, 2*BlockGroups*f.Group
		w := make([]float32, rows*cols)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		tn, err := Quantize(w, rows, cols, f, RTN)
		if err != nil {
			t.Fatal(err)
		}
		words, err := tn.PackBeside()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(words) != rows*2*f.BlockWords() {
			t.Fatalf("%s: %d words, want %d", f, len(words), rows*2*f.BlockWords())
		}
		back, err := UnpackBeside(f, rows, cols, words)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !slices.Equal(back.Words, tn.Words) || !slices.Equal(back.Scales, tn.Scales) || !slices.Equal(back.Mins, tn.Mins) {
			t.Errorf("%s: the round trip changed the tensor", f)
		}
		if _, err := UnpackBeside(f, rows, cols, words[:len(words)-1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: a word short: %v, want ErrInvalid", f, err)
		}
	}
}

func TestCheckLayout(t *testing.T) {
	g32 := Format{Bits: 4, Group: 32}
	for _, c := range []struct {
		f    Format
		cols int
		l    Layout
		ok   bool
	}{
		{g32, 128, Apart, true},
		{g32, 64, Apart, true},
		{g32, 128, Beside, true},
		{g32, 64, Beside, false}, // half a block
		{Format{Bits: 4}, 128, Beside, false},
		{g32, 128, Layout(7), false},
	} {
		if err := CheckLayout(c.f, c.cols, c.l); (err == nil) != c.ok {
			t.Errorf("CheckLayout(%s, %d, %v) = %v, want ok %t", c.f, c.cols, c.l, err, c.ok)
		}
	}
	for _, l := range Layouts {
		if got, err := ParseLayout(l.String()); err != nil || got != l {
			t.Errorf("ParseLayout(%q) = %v, %v", l, got, err)
		}
	}
	if _, err := ParseLayout("interleaved"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseLayout(interleaved): %v, want ErrInvalid", err)
	}
}

func FuzzUnpackBeside(f *testing.F) {
	f.Add(uint8(4), uint8(1), true, 1, 128, []byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, bits, group uint8, asym bool, rows, cols int, data []byte) {
		fm := Format{Bits: int(bits), Group: 32 * int(group), Asym: asym}
		words := make([]uint32, len(data)/4)
		for i := range words {
			words[i] = uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24
		}
		tn, err := UnpackBeside(fm, rows, cols, words)
		if err != nil {
			return
		}
		again, err := tn.PackBeside()
		if err != nil || !slices.Equal(again, words) {
			t.Fatalf("unpacked %d words that pack back as %d (%v)", len(words), len(again), err)
		}
	})
}
