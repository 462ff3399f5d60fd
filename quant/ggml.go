package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/tune-gpu/tune/gguf"
)

func f16At(b []byte, off int) float32 { return f16ToF32(binary.LittleEndian.Uint16(b[off:])) }

// DequantizeGGML decodes n elements of ggml type t from data, which must be
// exactly the tensor's bytes (n a multiple of the block size). The
// arithmetic follows ggml's scalar dequantize_row_* (ggml-quants.c)
// operation for operation, in float32 without fused multiply-adds.
func DequantizeGGML(t gguf.Type, data []byte, n int) ([]float32, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: %d elements", ErrInvalid, n)
	}
	size, err := t.Size([]uint64{uint64(n)})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if int64(len(data)) != size {
		return nil, fmt.Errorf("%w: %d bytes for %d %s elements, want %d", ErrInvalid, len(data), n, t, size)
	}
	decode := decoders[t]
	if decode == nil {
		return nil, fmt.Errorf("%w %s", ErrUnsupported, t)
	}
	y := make([]float32, n)
	bs, ts := t.BlockSize(), t.TypeSize()
	for i := range n / bs {
		decode(data[i*ts:(i+1)*ts], y[i*bs:(i+1)*bs])
	}
	return y, nil
}

// decoders decode one block b into y. Explicit float32 conversions keep Go
// from fusing a*b+c, which would change the rounding.
var decoders = map[gguf.Type]func(b []byte, y []float32){
	gguf.F32:  func(b []byte, y []float32) { y[0] = math.Float32frombits(binary.LittleEndian.Uint32(b)) },
	gguf.F16:  func(b []byte, y []float32) { y[0] = f16At(b, 0) },
	gguf.BF16: func(b []byte, y []float32) { y[0] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16) },
	gguf.Q8_0: func(b []byte, y []float32) {
		d := f16At(b, 0)
		for j, q := range b[2:34] {
			y[j] = float32(int8(q)) * d
		}
	},
	gguf.Q4_0: func(b []byte, y []float32) {
		d := f16At(b, 0)
		for j, q := range b[2:18] { // low nibbles are elements 0..15, high 16..31
			y[j] = float32(int32(q&0xf)-8) * d
			y[j+16] = float32(int32(q>>4)-8) * d
		}
	},
	gguf.Q4_1: func(b []byte, y []float32) {
		d, m := f16At(b, 0), f16At(b, 2)
		for j, q := range b[4:20] {
			y[j] = float32(float32(q&0xf)*d) + m
			y[j+16] = float32(float32(q>>4)*d) + m
		}
	},
	gguf.Q5_0: func(b []byte, y []float32) {
		d := f16At(b, 0)
		qh := binary.LittleEndian.Uint32(b[2:])
		for j, q := range b[6:22] {
			h0, h1 := (qh>>j)&1, (qh>>(j+16))&1
			y[j] = float32(int32(uint32(q&0xf)|h0<<4)-16) * d
			y[j+16] = float32(int32(uint32(q>>4)|h1<<4)-16) * d
		}
	},
	gguf.Q5_1: func(b []byte, y []float32) {
		d, m := f16At(b, 0), f16At(b, 2)
		qh := binary.LittleEndian.Uint32(b[4:])
		for j, q := range b[8:24] {
			h0, h1 := (qh>>j)&1, (qh>>(j+16))&1
			y[j] = float32(float32(uint32(q&0xf)|h0<<4)*d) + m
			y[j+16] = float32(float32(uint32(q>>4)|h1<<4)*d) + m
		}
	},
	gguf.Q2_K: func(b []byte, y []float32) {
		scales, qs := b[0:16], b[16:80]
		d, dmin := f16At(b, 80), f16At(b, 82)
		is := 0
		for n := range 2 { // halves of 128
			q := qs[32*n : 32*n+32]
			for j := range 4 { // 2-bit lanes
				shift := 2 * j
				for h := range 2 { // 16 elements per scale
					sc := scales[is]
					is++
					dl, ml := d*float32(sc&0xf), dmin*float32(sc>>4)
					out := y[128*n+32*j+16*h:]
					for l, v := range q[16*h : 16*h+16] {
						out[l] = float32(dl*float32((v>>shift)&3)) - ml
					}
				}
			}
		}
	},
	gguf.Q3_K: func(b []byte, y []float32) {
		hmask, qs, sb := b[0:32], b[32:96], b[96:108]
		d := f16At(b, 108)
		var sc [16]int32
		for j := range sc {
			lo := sb[j%8] & 0xf
			if j >= 8 {
				lo = sb[j-8] >> 4
			}
			hi := (sb[8+j%4] >> (2 * (j / 4))) & 3
			sc[j] = int32(lo|hi<<4) - 32
		}
		for e := range y {
			n, j, l := e/128, (e%128)/32, e%32
			q := int32((qs[32*n+l]>>(2*j))&3) - 4*int32(1-(hmask[l]>>(4*n+j))&1)
			y[e] = d * float32(sc[e/16]) * float32(q) // ggml: dl = d*sc; y = dl*q
		}
	},
	gguf.Q4_K: func(b []byte, y []float32) { decodeQ45K(b, nil, b[16:144], y) },
	gguf.Q5_K: func(b []byte, y []float32) { decodeQ45K(b, b[16:48], b[48:176], y) },
	gguf.Q6_K: func(b []byte, y []float32) {
		ql, qh, sc := b[0:128], b[128:192], b[192:208]
		d := f16At(b, 208)
		for h := range 2 {
			L, H := ql[64*h:], qh[32*h:]
			out := y[128*h:]
			for l := range 32 {
				is := l / 16
				q1 := int32(L[l]&0xf|(H[l]>>0)&3<<4) - 32
				q2 := int32(L[l+32]&0xf|(H[l]>>2)&3<<4) - 32
				q3 := int32(L[l]>>4|(H[l]>>4)&3<<4) - 32
				q4 := int32(L[l+32]>>4|(H[l]>>6)&3<<4) - 32
				s := sc[8*h:]
				out[l] = d * float32(int8(s[is])) * float32(q1)
				out[l+32] = d * float32(int8(s[is+2])) * float32(q2)
				out[l+64] = d * float32(int8(s[is+4])) * float32(q3)
				out[l+96] = d * float32(int8(s[is+6])) * float32(q4)
			}
		}
	},
}

// scaleMinK4 unpacks the 6-bit scale and min j of a Q4_K/Q5_K block
// (ggml get_scale_min_k4).
func scaleMinK4(j int, s []byte) (uint8, uint8) {
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return s[j+4]&0xf | (s[j-4]>>6)<<4, s[j+4]>>4 | (s[j]>>6)<<4
}

// decodeQ45K decodes Q4_K (qh nil) and Q5_K, which share everything but the high bits.
func decodeQ45K(b, qh, qs []byte, y []float32) {
	d, dmin := f16At(b, 0), f16At(b, 2)
	scales := b[4:16]
	for c := range 4 { // 64 elements each
		sc1, m1 := scaleMinK4(2*c, scales)
		sc2, m2 := scaleMinK4(2*c+1, scales)
		d1, dm1 := d*float32(sc1), dmin*float32(m1)
		d2, dm2 := d*float32(sc2), dmin*float32(m2)
		for l, q := range qs[32*c : 32*c+32] {
			lo, hi := q&0xf, q>>4
			if qh != nil {
				lo += 16 * ((qh[l] >> (2 * c)) & 1)
				hi += 16 * ((qh[l] >> (2*c + 1)) & 1)
			}
			y[64*c+l] = float32(d1*float32(lo)) - dm1
			y[64*c+32+l] = float32(d2*float32(hi)) - dm2
		}
	}
}

// ggmlFormats are the ggml types whose blocks map onto a Format losslessly.
var ggmlFormats = map[gguf.Type]Format{
	gguf.Q8_0: {Bits: 8, Group: 32},
	gguf.Q4_0: {Bits: 4, Group: 32},
	gguf.Q4_1: {Bits: 4, Group: 32, Asym: true},
}

// FromGGML converts a rows x cols matrix of ggml blocks (ggml dims
// [cols, rows]) into our layout without going through float32: Q8_0 becomes
// int8-g32-sym (code = q+128, scale = d), Q4_0 int4-g32-sym (code = nibble,
// scale = d), Q4_1 int4-g32-asym (scale = d, min = m). Dequantize of the
// result equals DequantizeGGML bit for bit. Other types return an error
// wrapping ErrNoDirectLayout.
func FromGGML(t gguf.Type, data []byte, rows, cols int) (*Tensor, error) {
	f, ok := ggmlFormats[t]
	if !ok {
		return nil, fmt.Errorf("%w %s", ErrNoDirectLayout, t)
	}
	if err := checkShape(f, rows, cols); err != nil {
		return nil, err
	}
	ts, bpr := t.TypeSize(), cols/32 // bytes per block, blocks per row
	if len(data)%ts != 0 || len(data)/ts%bpr != 0 || len(data)/ts/bpr != rows {
		return nil, fmt.Errorf("%w: %d bytes for a %dx%d %s matrix, want %d", ErrInvalid, len(data), rows, cols, t, rows*bpr*ts)
	}
	blocks := rows * bpr
	q := &Tensor{Format: f, Rows: rows, Cols: cols, Words: make([]uint32, blocks*f.Bits), Scales: make([]float32, blocks)}
	if f.Asym {
		q.Mins = make([]float32, blocks)
	}
	// Groups are 32 elements, so block i is group i and words [i*Bits, (i+1)*Bits).
	for i := range blocks {
		b, w := data[i*ts:(i+1)*ts], q.Words[i*f.Bits:(i+1)*f.Bits]
		q.Scales[i] = f16At(b, 0)
		switch t {
		case gguf.Q8_0:
			for k := range w {
				w[k] = binary.LittleEndian.Uint32(b[2+4*k:]) ^ 0x80808080 // int8 q -> u = q+128
			}
		case gguf.Q4_1:
			q.Mins[i] = f16At(b, 2)
			packNibbles(b[4:20], w)
		case gguf.Q4_0:
			packNibbles(b[2:18], w)
		}
	}
	return q, nil
}

// packNibbles moves ggml's nibble order (byte j holds elements j and j+16)
// into ours (word k holds elements 8k..8k+7, lowest first).
func packNibbles(qs []byte, w []uint32) {
	for k := range w {
		var x uint32
		for e := 8 * k; e < 8*k+8; e++ {
			nib := uint32(qs[e%16])
			if e >= 16 {
				nib >>= 4
			}
			x |= (nib & 0xf) << (4 * (e % 8))
		}
		w[k] = x
	}
}

// toGGML encodes t, whose format and scales ggmlType accepted, as ggml blocks.
func toGGML(t *Tensor, typ gguf.Type) []byte {
	ts := typ.TypeSize()
	blocks := len(t.Scales)
	out := make([]byte, blocks*ts)
	for i := range blocks {
		b, w := out[i*ts:(i+1)*ts], t.Words[i*t.Bits:(i+1)*t.Bits]
		binary.LittleEndian.PutUint16(b, f32ToF16(t.Scales[i]))
		qs := b[2:]
		switch typ {
		case gguf.Q8_0:
			for k, x := range w {
				binary.LittleEndian.PutUint32(b[2+4*k:], x^0x80808080)
			}
			continue
		case gguf.Q4_1:
			binary.LittleEndian.PutUint16(b[2:], f32ToF16(t.Mins[i]))
			qs = b[4:]
		}
		for e := range 32 {
			nib := byte(w[e/8]>>(4*(e%8))) & 0xf
			if e >= 16 {
				nib <<= 4
			}
			qs[e%16] |= nib
		}
	}
	return out
}

// ggmlType returns the ggml type that stores t losslessly, if any: the
// format must match and every scale and min must be float16-exact.
func ggmlType(t *Tensor) (gguf.Type, bool) {
	for typ, f := range ggmlFormats {
		if f == t.Format && allF16(t.Scales) && allF16(t.Mins) {
			return typ, true
		}
	}
	return 0, false
}

func allF16(s []float32) bool {
	for _, v := range s {
		if !isF16(v) {
			return false
		}
	}
	return true
}
