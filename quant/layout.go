package quant

import (
	"fmt"
	"math"
)

// Layout is how a Tensor's codes, scales and mins sit in GPU buffers.
type Layout int

const (
	// Apart keeps Words as Tensor documents them, and the scales and mins
	// in buffers of their own.
	Apart Layout = iota
	// Beside puts everything in one buffer of u32 words: each row is a run
	// of blocks of BlockGroups groups, a block being the groups' code words
	// (as in Words), then their BlockGroups scales (float32 bits), then
	// with Asym their BlockGroups mins. A row reads as one stream, and a
	// block is a whole number of 16-byte vectors.
	Beside
)

// BlockGroups is the number of groups in a block of the Beside layout.
const BlockGroups = 4

// Layouts lists the layouts in the order IDs and reports name them.
var Layouts = []Layout{Apart, Beside}

func (l Layout) String() string {
	switch l {
	case Apart:
		return "apart"
	case Beside:
		return "beside"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// ParseLayout reads the output of Layout.String.
func ParseLayout(s string) (Layout, error) {
	for _, l := range Layouts {
		if l.String() == s {
			return l, nil
		}
	}
	return 0, fmt.Errorf("%w: layout %q, want apart or beside", ErrInvalid, s)
}

// BlockWords is the size in words of one block of the Beside layout.
func (f Format) BlockWords() int {
	n := BlockGroups * (f.Group*f.Bits/32 + 1)
	if f.Asym {
		n += BlockGroups
	}
	return n
}

// CheckLayout reports whether rows of cols elements in format f can take
// layout l: Beside needs groups (not one scale per row) and rows of whole
// blocks.
func CheckLayout(f Format, cols int, l Layout) error {
	switch l {
	case Apart:
		return nil
	case Beside:
		if f.Group == 0 || cols%(BlockGroups*f.Group) != 0 {
			return fmt.Errorf("%w: the beside layout needs groups and rows of whole blocks of %d groups; %s has rows of %d", ErrInvalid, BlockGroups, f, cols)
		}
		return nil
	}
	return fmt.Errorf("%w: %v", ErrInvalid, l)
}

// PackBeside returns t's codes, scales and mins in the Beside layout.
func (t *Tensor) PackBeside() ([]uint32, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := CheckLayout(t.Format, t.Cols, Beside); err != nil {
		return nil, err
	}
	wg := t.Group * t.Bits / 32 // words per group
	gpr := t.GroupsPerRow()
	out := make([]uint32, 0, t.Rows*gpr/BlockGroups*t.BlockWords())
	for r := range t.Rows {
		words := t.Words[r*t.WordsPerRow() : (r+1)*t.WordsPerRow()]
		for g0 := 0; g0 < gpr; g0 += BlockGroups {
			out = append(out, words[g0*wg:(g0+BlockGroups)*wg]...)
			for g := range BlockGroups {
				out = append(out, math.Float32bits(t.Scales[r*gpr+g0+g]))
			}
			if t.Asym {
				for g := range BlockGroups {
					out = append(out, math.Float32bits(t.Mins[r*gpr+g0+g]))
				}
			}
		}
	}
	return out, nil
}

// UnpackBeside is PackBeside's inverse: the tensor of format f and shape
// rows x cols whose Beside words are words.
func UnpackBeside(f Format, rows, cols int, words []uint32) (*Tensor, error) {
	if err := checkShape(f, rows, cols); err != nil {
		return nil, err
	}
	if err := CheckLayout(f, cols, Beside); err != nil {
		return nil, err
	}
	gpr := cols / f.Group
	blocks := rows * (gpr / BlockGroups)
	if blocks > len(words)/f.BlockWords() || len(words) != blocks*f.BlockWords() {
		return nil, fmt.Errorf("%w: %d beside words for a %dx%d %s tensor, want %d blocks of %d", ErrInvalid, len(words), rows, cols, f, blocks, f.BlockWords())
	}
	t := &Tensor{Format: f, Rows: rows, Cols: cols, Scales: make([]float32, 0, rows*gpr)}
	t.Words = make([]uint32, 0, rows*cols*f.Bits/32)
	if f.Asym {
		t.Mins = make([]float32, 0, rows*gpr)
	}
	codes := BlockGroups * f.Group * f.Bits / 32
	for b := range blocks {
		blk := words[b*f.BlockWords() : (b+1)*f.BlockWords()]
		t.Words = append(t.Words, blk[:codes]...)
		for _, w := range blk[codes : codes+BlockGroups] {
			t.Scales = append(t.Scales, math.Float32frombits(w))
		}
		if f.Asym {
			for _, w := range blk[codes+BlockGroups:] {
				t.Mins = append(t.Mins, math.Float32frombits(w))
			}
		}
	}
	return t, nil
}
