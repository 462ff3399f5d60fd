package quant

import (
	"fmt"
	"math"
)

// Tensor is a quantized matrix in one Format, packed for the GPU.
//
// Rows are output channels and Cols the reduction dimension K; quantization
// groups run along Cols. The packing, which kernels depend on exactly:
//
//   - Words is row-major: row r occupies Words[r*W : (r+1)*W] with
//     W = Cols*Bits/32.
//   - Element c of a row is the code in word c/(32/Bits) at bit offset
//     (c%(32/Bits))*Bits: the lowest bits hold the lowest c.
//   - Codes are unsigned, u in [0, 2^Bits-1]. Symmetric: value =
//     (u - 2^(Bits-1)) * scale, so int4 codes 0..15 mean -8..7 as in ggml
//     Q4_0 and int8 codes are the int8 value + 128. Asymmetric: value =
//     u*scale + min.
//   - Scales and Mins are [Rows][G] row-major with G = Cols/Group groups
//     per row (one per row when Group is 0); group g of row r covers
//     columns g*Group ... (g+1)*Group-1 and is Scales[r*G+g].
//   - Mins is nil for symmetric formats.
//
// Cols is a multiple of 32 and of Group, so every word lies inside one group.
type Tensor struct {
	Format
	Rows, Cols int
	Words      []uint32
	Scales     []float32
	Mins       []float32
}

// WordsPerRow returns Cols*Bits/32.
func (t *Tensor) WordsPerRow() int { return t.Cols * t.Bits / 32 }

// GroupsPerRow returns the number of scales per row.
func (t *Tensor) GroupsPerRow() int { return t.Cols / t.GroupLen(t.Cols) }

// checkShape reports whether a rows x cols matrix fits format f.
func checkShape(f Format, rows, cols int) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if rows <= 0 || cols <= 0 || cols%32 != 0 || cols%f.GroupLen(cols) != 0 || rows > math.MaxInt/cols {
		return fmt.Errorf("%w: %dx%d matrix for %s: need positive sizes and columns a multiple of 32 and of the group", ErrInvalid, rows, cols, f)
	}
	return nil
}

// Validate reports whether t's shape fits its format and its slices have
// the lengths the packing requires.
func (t *Tensor) Validate() error {
	if err := checkShape(t.Format, t.Rows, t.Cols); err != nil {
		return err
	}
	n := t.Rows * t.GroupsPerRow()
	nMins := 0
	if t.Asym {
		nMins = n
	}
	if len(t.Words) != t.Rows*t.WordsPerRow() || len(t.Scales) != n || len(t.Mins) != nMins {
		return fmt.Errorf("%w: %s %dx%d tensor has %d words, %d scales, %d mins; want %d, %d, %d",
			ErrInvalid, t.Format, t.Rows, t.Cols, len(t.Words), len(t.Scales), len(t.Mins), t.Rows*t.WordsPerRow(), n, nMins)
	}
	return nil
}

// Dequantize returns the Rows x Cols values, row-major.
func (t *Tensor) Dequantize() []float32 {
	out := make([]float32, t.Rows*t.Cols)
	for r := range t.Rows {
		t.DequantizeRow(r, out[r*t.Cols:(r+1)*t.Cols])
	}
	return out
}

// DequantizeRow writes row r's Cols values to dst, which must hold at least
// Cols elements.
func (t *Tensor) DequantizeRow(r int, dst []float32) {
	dst = dst[:t.Cols]
	wpr, gpr, g := t.WordsPerRow(), t.GroupsPerRow(), t.GroupLen(t.Cols)
	words := t.Words[r*wpr : (r+1)*wpr]
	per := 32 / t.Bits
	mask := uint32(1)<<t.Bits - 1
	half := int32(1) << (t.Bits - 1)
	for gi := range gpr {
		s := t.Scales[r*gpr+gi]
		var m float32
		if t.Asym {
			m = t.Mins[r*gpr+gi]
		}
		out := dst[gi*g : (gi+1)*g]
		for wi, w := range words[gi*g/per : (gi+1)*g/per] {
			o := out[wi*per : (wi+1)*per]
			for k := range o {
				u := w & mask
				w >>= t.Bits
				if t.Asym {
					// The conversion stops a fused multiply-add, keeping
					// results identical to DequantizeGGML's Q4_1.
					o[k] = float32(float32(u)*s) + m
				} else {
					o[k] = float32(int32(u)-half) * s
				}
			}
		}
	}
}

// RowRange returns rows off..off+n-1 of t, sharing t's slices.
func (t *Tensor) RowRange(off, n int) *Tensor {
	wpr, gpr := t.WordsPerRow(), t.GroupsPerRow()
	s := &Tensor{Format: t.Format, Rows: n, Cols: t.Cols, Words: t.Words[off*wpr : (off+n)*wpr], Scales: t.Scales[off*gpr : (off+n)*gpr]}
	if t.Asym {
		s.Mins = t.Mins[off*gpr : (off+n)*gpr]
	}
	return s
}
