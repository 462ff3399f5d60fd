package ops

import (
	"encoding/binary"
	"fmt"
	"math"
)

// checkWritten inspects an output of n words followed by guard words, all
// filled with the sentinel before the kernel ran: the guard must be intact
// (no out-of-bounds write) and every output word written and finite. name
// says which element a word is, e.g. "C[3][4]".
func checkWritten(raw []byte, n, guard int, name func(i int) string) error {
	for i := 0; i < guard; i++ {
		if binary.LittleEndian.Uint32(raw[4*(n+i):]) != sentinel {
			return fmt.Errorf("%w: wrote out of bounds, %d words past the end of the output", errMismatch, i)
		}
	}
	for i := 0; i < n; i++ {
		w := binary.LittleEndian.Uint32(raw[4*i:])
		if w == sentinel {
			return fmt.Errorf("%w: %s never written", errMismatch, name(i))
		}
		if f := float64(math.Float32frombits(w)); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: %s = %v", errMismatch, name(i), f)
		}
	}
	return nil
}

// checkEach runs check on the sampled indices, or on all n when sample is
// nil, and returns the first failure.
func checkEach(n int, sample []int, check func(i int) error) error {
	if sample == nil {
		for i := 0; i < n; i++ {
			if err := check(i); err != nil {
				return err
			}
		}
		return nil
	}
	for _, i := range sample {
		if err := check(i); err != nil {
			return err
		}
	}
	return nil
}

// at reads float32 word i of raw.
func at(raw []byte, i int) float64 {
	return float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
}
