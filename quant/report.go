package quant

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// ErrorStats returns the root-mean-square and the largest absolute
// difference between orig and deq, which must have the same length.
func ErrorStats(orig, deq []float32) (rmse, maxAbs float64) {
	if len(orig) != len(deq) {
		panic(fmt.Sprintf("quant: ErrorStats of %d and %d values", len(orig), len(deq)))
	}
	if len(orig) == 0 {
		return 0, 0
	}
	var sse float64
	for i, v := range orig {
		d := float64(v) - float64(deq[i])
		sse += d * d
		maxAbs = max(maxAbs, math.Abs(d))
	}
	return math.Sqrt(sse / float64(len(orig))), maxAbs
}

// ErrorRow is one line of an error report: how well a format and method
// reproduce one tensor.
type ErrorRow struct {
	Tensor string
	Format Format
	Method Method
	RMSE   float64
	MaxAbs float64
}

// Compare quantizes every tensor (rows = Dims[1]*Dims[2]*..., cols =
// Dims[0]) in every format with every method and measures the error. Rows
// come in tensor name order, then in the order of formats and methods.
// Formats whose group does not fit a tensor's row length are skipped for
// that tensor.
func Compare(tensors map[string]Float, formats []Format, methods []Method) ([]ErrorRow, error) {
	for _, f := range formats {
		if err := f.Validate(); err != nil {
			return nil, err
		}
	}
	var rows []ErrorRow
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		t := tensors[name]
		if len(t.Dims) == 0 {
			return nil, fmt.Errorf("%w: tensor %q has no dims", ErrInvalid, name)
		}
		n, _ := elements(t.Dims[1:])
		r, c := int(n), int(t.Dims[0])
		for _, f := range formats {
			if checkShape(f, r, c) != nil {
				continue
			}
			for _, m := range methods {
				q, err := Quantize(t.Data, r, c, f, m)
				if err != nil {
					return nil, fmt.Errorf("tensor %q: %w", name, err)
				}
				rmse, maxAbs := ErrorStats(t.Data, q.Dequantize())
				rows = append(rows, ErrorRow{name, f, m, rmse, maxAbs})
			}
		}
	}
	return rows, nil
}
