package quant

import "math"

// f16ToF32 converts IEEE binary16 bits to float32 (exact).
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0: // zero, subnormal: mant * 2^-24
		f := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(f))
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// f32ToF16 converts float32 to binary16 bits, rounding to nearest even as
// the hardware (and ggml's F16C path) does.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 // quiet NaN
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	var h, rem, half uint32
	if e <= 0 { // subnormal in f16: drop 14-e bits of the full significand
		if e < -10 {
			return sign
		}
		shift := uint(14 - e)
		m := mant | 0x800000
		h, rem, half = m>>shift, m&(1<<shift-1), 1<<(shift-1)
	} else {
		h, rem, half = uint32(e)<<10|mant>>13, mant&0x1fff, 0x1000
	}
	if rem > half || rem == half && h&1 == 1 {
		h++ // a carry into the exponent is the right answer, up to inf
	}
	return sign | uint16(h)
}

// roundF16 returns the float16 value nearest to f.
func roundF16(f float32) float32 { return f16ToF32(f32ToF16(f)) }

// isF16 reports whether f survives a trip through float16 bit for bit.
func isF16(f float32) bool { return math.Float32bits(roundF16(f)) == math.Float32bits(f) }
