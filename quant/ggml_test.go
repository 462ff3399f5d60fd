package quant

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tune-gpu/tune/gguf"
)

// f16 constants used to build blocks by hand.
const (
	h025 = 0x3400 // 0.25
	h05  = 0x3800 // 0.5
	h1   = 0x3c00 // 1
	h2   = 0x4000 // 2
	hm1  = 0xbc00 // -1
)

func u16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}
func fill(n int, f func(i int) byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = f(i)
	}
	return b
}

// nibbles is qs[j] = j | (15-j)<<4: elements 0..15 are 0..15, 16..31 are 15..0.
var nibbles = fill(16, func(j int) byte { return byte(j) | byte(15-j)<<4 })

// qh5 sets the 5th bit of even elements 0..15 (0x5555) and odd 16..31 (0xaaaa).
var qh5 = binary.LittleEndian.AppendUint32(nil, 0xaaaa5555)

// Q4_K/Q5_K scales packing sc = 1,2,3,4,17,18,19,20 and m = 0,1,2,3,33,34,35,36.
// Bytes 0-3: sc 0-3 plus the top 2 bits of sc 4-7 (1, as 17..20 = 16+1..4) in bits 6-7;
// bytes 4-7: m 0-3 plus the top 2 bits of m 4-7 (2, as 33..36 = 32+1..4);
// bytes 8-11: low nibbles of sc 4-7 | low nibbles of m 4-7 << 4.
var kScales = []byte{65, 66, 67, 68, 128, 129, 130, 131, 0x11, 0x22, 0x33, 0x44}
var kSc = [8]float32{1, 2, 3, 4, 17, 18, 19, 20}
var kMin = [8]float32{0, 1, 2, 3, 33, 34, 35, 36}

// kQs is qs[i] = i%16 | (15 - i%16)<<4 for the K-quants' 128 bytes.
var kQs = fill(128, func(i int) byte { return byte(i%16) | byte(15-i%16)<<4 })

func TestDequantizeGGMLHand(t *testing.T) {
	for _, tc := range []struct {
		typ   gguf.Type
		block []byte
		want  map[int]float32     // worked out by hand
		rule  func(e int) float32 // per-element rule from formats.md, checked on every element
	}{
		{gguf.F32, binary.LittleEndian.AppendUint32(nil, math.Float32bits(-1.5)), map[int]float32{0: -1.5}, nil},
		{gguf.F16, u16(0xc500), map[int]float32{0: -5}, nil},   // sign, exp 17-15=2, mant 1.25
		{gguf.BF16, u16(0x3fc0), map[int]float32{0: 1.5}, nil}, // top half of float32 1.5
		{
			// y = q*d with d = 0.5.
			gguf.Q8_0, cat(u16(h05), []byte{0x80, 0xff, 0, 1, 127}, make([]byte, 27)),
			map[int]float32{0: -64, 1: -0.5, 2: 0, 3: 0.5, 4: 63.5, 31: 0}, nil,
		},
		{
			// y[j] = (j-8)*2, y[j+16] = (15-j-8)*2.
			gguf.Q4_0, cat(u16(h2), nibbles),
			map[int]float32{0: -16, 8: 0, 15: 14, 16: 14, 23: 0, 31: -16},
			func(e int) float32 {
				if e < 16 {
					return float32(e-8) * 2
				}
				return float32(7-(e-16)) * 2
			},
		},
		{
			// y[j] = j*0.5 - 1, y[j+16] = (15-j)*0.5 - 1.
			gguf.Q4_1, cat(u16(h05), u16(hm1), nibbles),
			map[int]float32{0: -1, 1: -0.5, 15: 6.5, 16: 6.5, 31: -1}, nil,
		},
		{
			// 5-bit q = nibble | h<<4, y = (q-16)*1: element 0: 0|16 -> 0;
			// 1: 1 -> -15; 2: 2|16 -> 2; 16: 15 -> -1; 17: 14|16 -> 14.
			gguf.Q5_0, cat(u16(h1), qh5, nibbles),
			map[int]float32{0: 0, 1: -15, 2: 2, 3: -13, 16: -1, 17: 14, 18: -3, 19: 12}, nil,
		},
		{
			// y = q*1 + 0.5 with the same 5-bit q as above: 16.5, 1.5, 15.5, 30.5.
			gguf.Q5_1, cat(u16(h1), u16(h05), qh5, nibbles),
			map[int]float32{0: 16.5, 1: 1.5, 16: 15.5, 17: 30.5}, nil,
		},
		{
			// d = 1, dmin = 0.5. y[0] = 1*0 - 0; y[1] = 1*1 - 0;
			// y[33] (chunk 0, high nibble 14, sc 2, m 1) = 28 - 0.5;
			// y[69] (chunk 1, low nibble 5, sc 3, m 2) = 15 - 1;
			// y[131] (chunk 2, low nibble 3, sc 17, m 33) = 51 - 16.5;
			// y[226] (chunk 3, high nibble 13, sc 20, m 36) = 260 - 18.
			gguf.Q4_K, cat(u16(h1), u16(h05), kScales, kQs),
			map[int]float32{0: 0, 1: 1, 33: 27.5, 69: 14, 131: 34.5, 226: 242},
			func(e int) float32 {
				c, l, hi := e/64, e%32, e%64 >= 32
				q := float32(l % 16)
				if hi {
					q = float32(15 - l%16)
				}
				j := 2*c + e%64/32
				return kSc[j]*q - 0.5*kMin[j]
			},
		},
		{
			// As Q4_K, plus 16 on every element at an even l (qh = 0xff):
			// y[0] = 16, y[1] = 1, y[33] unchanged, y[32] = 2*(15+16) - 0.5.
			gguf.Q5_K, cat(u16(h1), u16(h05), kScales, fill(32, func(l int) byte { return byte(0xff * (1 - l%2)) }), kQs),
			map[int]float32{0: 16, 1: 1, 32: 61.5, 33: 27.5},
			func(e int) float32 {
				c, l, hi := e/64, e%32, e%64 >= 32
				q := float32(l % 16)
				if hi {
					q = float32(15 - l%16)
				}
				if l%2 == 0 {
					q += 16
				}
				j := 2*c + e%64/32
				return kSc[j]*q - 0.5*kMin[j]
			},
		},
		{
			// ql[i] = i, qh[i] = 7i, scales = i-8, d = 0.5.
			// y[0]: q = (0 | (0&3)<<4) - 32 = -32, scale -8: 0.5*-8*-32 = 128.
			// y[1]: q = (1 | (7&3)<<4) - 32 = 17: 0.5*-8*17 = -68.
			gguf.Q6_K, cat(fill(128, func(i int) byte { return byte(i) }), fill(64, func(i int) byte { return byte(7 * i) }),
				fill(16, func(i int) byte { return byte(int8(i - 8)) }), u16(h05)),
			map[int]float32{0: 128, 1: -68},
			func(e int) float32 {
				h, r := e/128, e%128
				l, k := r%32, r/32 // k: which of the four quants of a (ql, qh) pair
				lo := byte(64*h + l + 32*(k%2))
				if k >= 2 {
					lo >>= 4
				} else {
					lo &= 0xf
				}
				hb := (byte(7*(32*h+l)) >> (2 * k)) & 3
				return 0.5 * float32(e/16-8) * float32(int(lo|hb<<4)-32)
			},
		},
		{
			// scales[i] = i | (15-i)<<4 (scale i, min 15-i), qs[i] = 37i,
			// d = 0.5, dmin = 0.25. y[0]: q 0, scale 0, min 15: -3.75.
			// y[17]: qs[17] = 629 & 255 = 117 = 0b1110101, q = 1; scale 1, min 14: 0.5 - 3.5.
			gguf.Q2_K, cat(fill(16, func(i int) byte { return byte(i) | byte(15-i)<<4 }), fill(64, func(i int) byte { return byte(37 * i) }),
				u16(h05), u16(h025)),
			map[int]float32{0: -3.75, 1: -3.75, 17: -3},
			func(e int) float32 {
				n, j, l := e/128, e%128/32, e%32
				q := float32((byte(37*(32*n+l)) >> (2 * j)) & 3)
				sb := e / 16
				return 0.5*float32(sb)*q - 0.25*float32(15-sb)
			},
		},
		{
			// hmask = 0x55, qs[i] = 29i, scale bytes 19i+3, d = 1.
			// y[0]: q2 0, high bit set: 0. y[1]: qs[1] = 29, q2 = 1, high bit
			// set: q = 1; scale 0 = (3 & 0xf) | (155 & 3)<<4 = 51, -32 = 19.
			// y[32]: q2 = (0>>2)&3 = 0, hmask bit 1 clear: q = -4; scale 2 =
			// (41 & 0xf) | (193 & 3)<<4 = 25, -32 = -7: 28.
			gguf.Q3_K, cat(fill(32, func(int) byte { return 0x55 }), fill(64, func(i int) byte { return byte(29 * i) }),
				fill(12, func(i int) byte { return byte(19*i + 3) }), u16(h1)),
			map[int]float32{0: 0, 1: 19, 32: 28}, nil,
		},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			n := tc.typ.BlockSize()
			if len(tc.block) != tc.typ.TypeSize() {
				t.Fatalf("test block is %d bytes, want %d", len(tc.block), tc.typ.TypeSize())
			}
			y, err := DequantizeGGML(tc.typ, tc.block, n)
			if err != nil {
				t.Fatal(err)
			}
			for e, want := range tc.want {
				if y[e] != want {
					t.Errorf("y[%d] = %v, want %v", e, y[e], want)
				}
			}
			if tc.rule != nil {
				for e := range n {
					if want := tc.rule(e); math.Abs(float64(y[e]-want)) > 1e-6*math.Abs(float64(want)) {
						t.Fatalf("y[%d] = %v, rule says %v", e, y[e], want)
					}
				}
			}
		})
	}
}

func TestDequantizeGGMLErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  gguf.Type
		data int
		n    int
		err  error
	}{
		{"short", gguf.Q4_0, 17, 32, ErrInvalid},
		{"long", gguf.Q8_0, 35, 32, ErrInvalid},
		{"partial block", gguf.Q4_K, 144, 128, ErrInvalid},
		{"negative", gguf.F32, 0, -1, ErrInvalid},
		{"unknown", gguf.Type(5), 0, 0, ErrInvalid},
		{"unsupported", gguf.IQ2_XXS, 66, 256, ErrUnsupported},
		{"overflow", gguf.F32, 0, math.MaxInt, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DequantizeGGML(tc.typ, make([]byte, tc.data), tc.n); !errors.Is(err, tc.err) {
				t.Errorf("got %v, want %v", err, tc.err)
			}
		})
	}
}

// TestFromGGMLHand: the Q4_0 block above in our packing. Elements 0..15 are
// nibbles 0..15 and 16..31 are 15..0, so the words are 0x76543210,
// 0xfedcba98, 0x89abcdef, 0x01234567.
func TestFromGGMLHand(t *testing.T) {
	q, err := FromGGML(gguf.Q4_0, cat(u16(h2), nibbles), 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{0x76543210, 0xfedcba98, 0x89abcdef, 0x01234567}
	if q.Format != (Format{4, 32, false}) || q.Scales[0] != 2 || q.Mins != nil || !equalU32(q.Words, want) {
		t.Errorf("got %v scale %v words %#08x", q.Format, q.Scales, q.Words)
	}
	// Q8_0 codes are the int8 values + 128: -128 -> 0, -1 -> 127, 0 -> 128, 1 -> 129.
	q, err = FromGGML(gguf.Q8_0, cat(u16(h05), []byte{0x80, 0xff, 0, 1}, make([]byte, 28)), 1, 32)
	if err != nil || q.Words[0] != 0x81807f00 || q.Scales[0] != 0.5 {
		t.Errorf("Q8_0: %#08x %v %v", q.Words[:1], q.Scales, err)
	}
	for _, tc := range []struct {
		name       string
		typ        gguf.Type
		data       int
		rows, cols int
		err        error
	}{
		{"Q5_0", gguf.Q5_0, 22, 1, 32, ErrNoDirectLayout},
		{"F32", gguf.F32, 128, 1, 32, ErrNoDirectLayout},
		{"Q4_K", gguf.Q4_K, 144, 1, 256, ErrNoDirectLayout},
		{"short", gguf.Q4_0, 17, 1, 32, ErrInvalid},
		{"rows", gguf.Q4_0, 36, 1, 32, ErrInvalid},
		{"cols", gguf.Q4_0, 18, 2, 16, ErrInvalid},
		{"huge", gguf.Q4_0, 18, math.MaxInt / 32, 64, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := FromGGML(tc.typ, make([]byte, tc.data), tc.rows, tc.cols); !errors.Is(err, tc.err) {
				t.Errorf("got %v, want %v", err, tc.err)
			}
		})
	}
}

func equalU32(a, b []uint32) bool { return bytes.Equal(u32Bytes(a), u32Bytes(b)) }
func u32Bytes(s []uint32) []byte {
	var b []byte
	for _, x := range s {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

// TestFromGGMLRandom: random blocks (with finite f16 scales) convert to our
// layout and back to the same bytes, and dequantize identically both ways.
func TestFromGGMLRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for typ := range ggmlFormats {
		t.Run(typ.String(), func(t *testing.T) {
			const rows, cols = 3, 64
			data := make([]byte, rows*cols/32*typ.TypeSize())
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			for i := 0; i < len(data); i += typ.TypeSize() {
				data[i+1] &= 0x7b // exponent below 31: no inf/NaN in d
				if typ == gguf.Q4_1 {
					data[i+3] &= 0x7b
				}
			}
			q, err := FromGGML(typ, data, rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			if back := toGGML(q, typ); !bytes.Equal(back, data) {
				t.Error("toGGML(FromGGML(b)) != b")
			}
			want, err := DequantizeGGML(typ, data, rows*cols)
			if err != nil {
				t.Fatal(err)
			}
			assertBitEqual(t, q.Dequantize(), want)
		})
	}
}

func assertBitEqual(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, want %d", len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("element %d: %v, want %v", i, got[i], want[i])
		}
	}
}
