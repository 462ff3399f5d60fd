package quant

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

var (
	// ErrInvalid marks bad arguments or data: an invalid format, shapes that
	// do not fit it, or byte lengths that do not match.
	ErrInvalid = errors.New("quant: invalid")
	// ErrUnsupported marks a ggml type this package cannot decode.
	ErrUnsupported = errors.New("quant: unsupported ggml type")
	// ErrNoDirectLayout marks a ggml type that has no lossless mapping onto a
	// Format; callers dequantize and requantize instead.
	ErrNoDirectLayout = errors.New("quant: no direct layout for ggml type")
)

// Format describes a group-quantized layout, as much as a kernel needs to
// decode it. See Tensor for the packing.
type Format struct {
	Bits  int  // bits per code: 8, 4 or 2
	Group int  // elements sharing a scale along a row: a positive multiple of 32, or 0 for one per row (per output channel)
	Asym  bool // codes carry a per-group min: value = u*scale + min; else value = (u - 2^(Bits-1))*scale
}

// Formats returns every format with a group of 32, 64, 128 or a whole row,
// in the order reports list them.
func Formats() []Format {
	var fs []Format
	for _, b := range []int{8, 4, 2} {
		for _, g := range []int{32, 64, 128, 0} {
			for _, a := range []bool{false, true} {
				fs = append(fs, Format{b, g, a})
			}
		}
	}
	return fs
}

// String returns the name ParseFormat reads, e.g. "int4-g32-sym" or "int8-row-asym".
func (f Format) String() string {
	g := "row"
	if f.Group != 0 {
		g = "g" + strconv.Itoa(f.Group)
	}
	a := "sym"
	if f.Asym {
		a = "asym"
	}
	return fmt.Sprintf("int%d-%s-%s", f.Bits, g, a)
}

// ParseFormat parses the output of Format.String.
func ParseFormat(s string) (Format, error) {
	parts := strings.Split(s, "-")
	bad := fmt.Errorf("%w: format %q, want int{8,4,2}-{g<N>,row}-{sym,asym}", ErrInvalid, s)
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "int") {
		return Format{}, bad
	}
	var f Format
	var err error
	if f.Bits, err = strconv.Atoi(parts[0][3:]); err != nil {
		return Format{}, bad
	}
	switch g := parts[1]; {
	case g == "row":
	case strings.HasPrefix(g, "g"):
		if f.Group, err = strconv.Atoi(g[1:]); err != nil || f.Group == 0 {
			return Format{}, bad
		}
	default:
		return Format{}, bad
	}
	switch parts[2] {
	case "sym":
	case "asym":
		f.Asym = true
	default:
		return Format{}, bad
	}
	if err := f.Validate(); err != nil {
		return Format{}, err
	}
	if f.String() != s { // reject spellings like "int04" or "g+32"
		return Format{}, bad
	}
	return f, nil
}

// Validate reports whether f is a format this package implements.
func (f Format) Validate() error {
	if f.Bits != 8 && f.Bits != 4 && f.Bits != 2 {
		return fmt.Errorf("%w: %d bits, want 8, 4 or 2", ErrInvalid, f.Bits)
	}
	if f.Group < 0 || f.Group%32 != 0 {
		return fmt.Errorf("%w: group %d, want 0 (per row) or a positive multiple of 32", ErrInvalid, f.Group)
	}
	return nil
}

// GroupLen returns the number of elements per scale in a row of cols elements.
func (f Format) GroupLen(cols int) int {
	if f.Group == 0 {
		return cols
	}
	return f.Group
}

// Method chooses how Quantize picks scales.
type Method int

const (
	// RTN takes the scale from the group's range (absmax for symmetric,
	// min/max for asymmetric) and rounds every value to the nearest code.
	RTN Method = iota
	// Search tries clipped ranges per group, refines the best by least
	// squares, and keeps whichever has the least squared error, RTN's
	// choice included, so it is never worse than RTN on any group.
	Search
)

func (m Method) String() string {
	switch m {
	case RTN:
		return "rtn"
	case Search:
		return "search"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod parses "rtn" or "search".
func ParseMethod(s string) (Method, error) {
	switch s {
	case "rtn":
		return RTN, nil
	case "search":
		return Search, nil
	}
	return 0, fmt.Errorf("%w: method %q, want rtn or search", ErrInvalid, s)
}
