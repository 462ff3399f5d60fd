package quant

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuantizeHand checks codes and scales worked out by hand.
func TestQuantizeHand(t *testing.T) {
	grid4 := make([]float32, 32) // 0.25*(i%16 - 8): exactly on the int4 grid of scale 0.25
	for i := range grid4 {
		grid4[i] = 0.25 * float32(i%16-8)
	}
	grid4[3] = -0.3
	ramp := make([]float32, 32) // (i-16)/16: -1 ... 0.9375
	for i := range ramp {
		ramp[i] = float32(i-16) / 16
	}
	lanes := make([]float32, 32) // i%4 - 1: -1, 0, 1, 2, ...
	for i := range lanes {
		lanes[i] = float32(i%4 - 1)
	}
	lanes[6] = 0.4
	for _, tc := range []struct {
		name  string
		x     []float32
		f     Format
		words []uint32       // nil: not checked
		codes map[int]uint32 // element -> code, when words are not all checked
		scale float32
		min   float32
		deq   map[int]float32 // element -> dequantized value
	}{
		{
			// Largest magnitude is -2 (element 0, first of two), so
			// scale = -2 / -8 = 0.25 (f16-exact) and code u = x/0.25 + 8 =
			// i%16; -0.3/0.25 = -1.2 rounds to -1, u = 7. Word k packs
			// elements 8k..8k+7, lowest nibble first.
			name: "int4 sym on grid", x: grid4, f: Format{4, 32, false},
			words: []uint32{0x76547210, 0xfedcba98, 0x76543210, 0xfedcba98},
			scale: 0.25, deq: map[int]float32{0: -2, 3: -0.25, 15: 1.75},
		},
		{
			// amax = 1 (element 0), scale = 1/127 = 0.0078740157 rounded to
			// f16: in [2^-7, 2^-6) the f16 step is 2^-17, 0.0078740157 / 2^-17
			// = 1032.06, so scale = 1032 * 2^-17 = 0.00787353515625.
			// -1/scale = -127.007 -> -127, u = 1; 0.5/scale = 63.504 -> 64,
			// u = 192; 0.9375/scale = 119.07 -> 119, u = 247; 0 -> u = 128.
			name: "int8 per row", x: ramp, f: Format{8, 0, false},
			codes: map[int]uint32{0: 1, 16: 128, 24: 192, 31: 247},
			scale: 0.00787353515625, deq: map[int]float32{0: -127 * 0.00787353515625, 16: 0},
		},
		{
			// min -1, max 2: scale = 3/3 = 1, min = -1, u = x + 1, so each
			// byte of 4 codes 0,1,2,3 is 0b11100100 = 0xe4. 0.4 at element 6
			// gives 1.4 -> u = 1, making byte 1 0b11010100 = 0xd4.
			name: "int2 asym", x: lanes, f: Format{2, 32, true},
			words: []uint32{0xe4e4d4e4, 0xe4e4e4e4},
			scale: 1, min: -1, deq: map[int]float32{6: 0, 7: 2},
		},
		{
			// All zero: scale 0, every code the zero code 2^(bits-1).
			name: "zeros", x: make([]float32, 32), f: Format{2, 32, false},
			words: []uint32{0xaaaaaaaa, 0xaaaaaaaa}, scale: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []Method{RTN, Search} {
				q, err := Quantize(tc.x, 1, 32, tc.f, m)
				if err != nil {
					t.Fatal(err)
				}
				if err := q.Validate(); err != nil {
					t.Fatal(err)
				}
				if m == Search {
					// Search may only improve on RTN; these groups are
					// on-grid or checked for that elsewhere.
					continue
				}
				if tc.words != nil && !slices.Equal(q.Words, tc.words) {
					t.Errorf("words %#08x, want %#08x", q.Words, tc.words)
				}
				for e, want := range tc.codes {
					if got := code(q, 0, e); got != want {
						t.Errorf("code %d = %d, want %d", e, got, want)
					}
				}
				if q.Scales[0] != tc.scale || tc.f.Asym && q.Mins[0] != tc.min {
					t.Errorf("scale %v min %v, want %v %v", q.Scales[0], q.Mins, tc.scale, tc.min)
				}
				y := q.Dequantize()
				for e, want := range tc.deq {
					if y[e] != want {
						t.Errorf("y[%d] = %v, want %v", e, y[e], want)
					}
				}
			}
		})
	}
}

// code extracts the code of element c of row r by the documented packing.
func code(q *Tensor, r, c int) uint32 {
	per := 32 / q.Bits
	w := q.Words[r*q.WordsPerRow()+c/per]
	return w >> (c % per * q.Bits) & (1<<q.Bits - 1)
}

func sse(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

func randMatrix(rows, cols int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(r.NormFloat64()) * 0.02
		if r.IntN(200) == 0 {
			w[i] *= 10 // outliers, which clipping helps with
		}
	}
	return w
}

// TestSearchNeverWorse checks Search against RTN group by group on random
// weights with outliers, and that it actually finds better scales.
func TestSearchNeverWorse(t *testing.T) {
	w := randMatrix(16, 256, 1)
	for _, f := range Formats() {
		t.Run(f.String(), func(t *testing.T) {
			rtn, err := Quantize(w, 16, 256, f, RTN)
			if err != nil {
				t.Fatal(err)
			}
			srch, err := Quantize(w, 16, 256, f, Search)
			if err != nil {
				t.Fatal(err)
			}
			a, b := rtn.Dequantize(), srch.Dequantize()
			g := f.GroupLen(256)
			better := 0
			for i := 0; i < len(w); i += g {
				er, es := sse(w[i:i+g], a[i:i+g]), sse(w[i:i+g], b[i:i+g])
				if es > er {
					t.Fatalf("group %d: search %g > rtn %g", i/g, es, er)
				}
				if es < er {
					better++
				}
			}
			if better == 0 && f.Bits < 8 {
				t.Errorf("search never beat RTN")
			}
			for _, s := range append(srch.Scales, srch.Mins...) {
				if !isF16(s) {
					t.Fatalf("scale %v is not f16-exact", s)
				}
			}
		})
	}
}

// TestQuantizeRoundTrip: a matrix already on a format's grid comes back exactly.
func TestQuantizeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, f := range Formats() {
		t.Run(f.String(), func(t *testing.T) {
			const rows, cols = 3, 256
			q, err := Quantize(randMatrix(rows, cols, 5), rows, cols, f, RTN)
			if err != nil {
				t.Fatal(err)
			}
			for i := range q.Words {
				q.Words[i] = r.Uint32()
				if f.Bits == 8 && !f.Asym {
					q.Words[i] |= 0x01010101 // no code 0 (-128): int8 RTN spans ±127
				}
			}
			// Force every group to contain the codes RTN derives its range
			// from, so it recovers the same scale from the dequantized
			// values: both ends, except that int8-sym uses ±127 (absmax/127).
			lo := uint32(0)
			if f.Bits == 8 && !f.Asym {
				lo = 1
			}
			for row := range rows {
				for g := range q.GroupsPerRow() {
					c0 := g * f.GroupLen(cols)
					setCode(q, row, c0, lo)
					setCode(q, row, c0+1, 1<<f.Bits-1)
				}
			}
			x := q.Dequantize()
			back, err := Quantize(x, rows, cols, f, RTN)
			if err != nil {
				t.Fatal(err)
			}
			if y := back.Dequantize(); !slices.Equal(x, y) {
				rmse, maxAbs := ErrorStats(x, y)
				t.Errorf("not exact: rmse %g max %g", rmse, maxAbs)
			}
		})
	}
}

func setCode(q *Tensor, r, c int, u uint32) {
	per := 32 / q.Bits
	w := &q.Words[r*q.WordsPerRow()+c/per]
	shift := c % per * q.Bits
	*w = *w&^((1<<q.Bits-1)<<shift) | u<<shift
}

func TestQuantizeErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n          int
		rows, cols int
		f          Format
		m          Method
	}{
		{"cols not multiple of 32", 48, 1, 48, Format{4, 0, false}, RTN},
		{"cols not multiple of group", 96, 1, 96, Format{4, 64, false}, RTN},
		{"bits", 32, 1, 32, Format{3, 32, false}, RTN},
		{"group", 32, 1, 32, Format{4, 16, false}, RTN},
		{"length", 31, 1, 32, Format{4, 32, false}, RTN},
		{"rows", 0, 0, 32, Format{4, 32, false}, RTN},
		{"overflow", 0, math.MaxInt / 16, 32, Format{4, 32, false}, RTN},
		{"method", 32, 1, 32, Format{4, 32, false}, Method(7)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Quantize(make([]float32, tc.n), tc.rows, tc.cols, tc.f, tc.m); !errors.Is(err, ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		})
	}
}

// TestQuantizeOddValues: NaN and inf weights must not poison scales or panic.
func TestQuantizeOddValues(t *testing.T) {
	x := randMatrix(1, 128, 9)
	x[3], x[40] = float32(math.NaN()), float32(math.Inf(1))
	x[41] = 1e30
	for _, f := range Formats() {
		for _, m := range []Method{RTN, Search} {
			q, err := Quantize(x, 1, 128, f, m)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range append(q.Scales, q.Mins...) {
				if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
					t.Errorf("%v %v: scale %v", f, m, s)
				}
			}
		}
	}
}

func BenchmarkQuantize(b *testing.B) {
	const rows, cols = 256, 4096
	w := randMatrix(rows, cols, 1)
	for _, f := range []Format{{4, 32, false}, {4, 128, true}, {2, 64, true}} {
		for _, m := range []Method{RTN, Search} {
			b.Run(f.String()+"/"+m.String(), func(b *testing.B) {
				b.SetBytes(rows * cols * 4)
				for b.Loop() {
					Quantize(w, rows, cols, f, m)
				}
			})
		}
	}
}
