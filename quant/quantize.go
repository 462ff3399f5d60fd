package quant

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Quantize quantizes the rows x cols row-major matrix w (rows = output
// channels, quantized along cols) into format f; cols must be a multiple of
// 32 and of f.Group.
//
// Every scale and min is rounded to the nearest float16 (saturating at
// ±65504) before codes are chosen against it, so the rounding costs no
// accuracy beyond the scale's own precision, and Save can store the
// formats that match ggml types (whose scales are f16) without loss.
// Codes round half up. RTN uses absmax/127 for int8-sym (as ggml Q8_0),
// the signed value of largest magnitude mapped to code 0 for int4/int2-sym
// (as ggml Q4_0, scale = max/-8), and min/max for asym (as ggml Q4_1).
// NaN weights get code 0 and never affect a scale.
//
// Work is spread over GOMAXPROCS goroutines; nothing is allocated per element.
func Quantize(w []float32, rows, cols int, f Format, m Method) (*Tensor, error) {
	if err := checkShape(f, rows, cols); err != nil {
		return nil, err
	}
	if len(w) != rows*cols {
		return nil, fmt.Errorf("%w: %d weights for a %dx%d matrix", ErrInvalid, len(w), rows, cols)
	}
	if m != RTN && m != Search {
		return nil, fmt.Errorf("%w: method %v", ErrInvalid, m)
	}
	t := &Tensor{Format: f, Rows: rows, Cols: cols}
	t.Words = make([]uint32, rows*t.WordsPerRow())
	t.Scales = make([]float32, rows*t.GroupsPerRow())
	if f.Asym {
		t.Mins = make([]float32, len(t.Scales))
	}
	workers := min(runtime.GOMAXPROCS(0), rows, 1+rows*cols/(1<<15))
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			q := newGroupQuantizer(f, m, t.GroupLen(cols))
			for r := i * rows / workers; r < (i+1)*rows/workers; r++ {
				q.row(t, r, w[r*cols:(r+1)*cols])
			}
		})
	}
	wg.Wait()
	return t, nil
}

// groupQuantizer holds one goroutine's scratch space.
type groupQuantizer struct {
	bits   int
	levels int32 // 2^bits
	half   int32 // 2^(bits-1), the symmetric zero code
	asym   bool
	search bool
	codes  []uint8 // candidate being tried
	best   []uint8 // best so far
}

func newGroupQuantizer(f Format, m Method, g int) *groupQuantizer {
	return &groupQuantizer{
		bits: f.Bits, levels: 1 << f.Bits, half: 1 << (f.Bits - 1), asym: f.Asym, search: m == Search,
		codes: make([]uint8, g), best: make([]uint8, g),
	}
}

func (q *groupQuantizer) row(t *Tensor, r int, x []float32) {
	g, gpr, wpr := len(q.best), t.GroupsPerRow(), t.WordsPerRow()
	per := 32 / q.bits
	words := t.Words[r*wpr : (r+1)*wpr]
	for gi := range gpr {
		xs := x[gi*g : (gi+1)*g]
		if q.asym {
			t.Scales[r*gpr+gi], t.Mins[r*gpr+gi] = q.asymGroup(xs)
		} else {
			t.Scales[r*gpr+gi] = q.symGroup(xs)
		}
		for wi := range g / per {
			var w uint32
			for k, c := range q.best[wi*per : (wi+1)*per] {
				w |= uint32(c) << (k * q.bits)
			}
			words[gi*g/per+wi] = w
		}
	}
}

// roundScale rounds to float16, saturating instead of overflowing to inf.
func roundScale(f float32) float32 {
	const maxF16 = 65504
	switch {
	case f > maxF16:
		return maxF16
	case f < -maxF16:
		return -maxF16
	}
	return roundF16(f)
}

// roundClamp rounds v half up into [lo, hi]; NaN goes to lo.
func roundClamp(v float32, lo, hi int32) int32 {
	f := float64(v)
	if !(f > float64(lo)) {
		return lo
	}
	if f >= float64(hi) {
		return hi
	}
	return int32(f+256.5) - 256 // f >= lo >= -128: truncating a positive sum is floor
}

// symErr fills codes for scale s and returns the squared error of the
// values Dequantize will produce from them.
func (q *groupQuantizer) symErr(x []float32, s float32, codes []uint8) float64 {
	var inv float32
	if s != 0 {
		inv = 1 / s
	}
	var sse float64
	for i, v := range x {
		c := roundClamp(v*inv, -q.half, q.half-1)
		codes[i] = uint8(c + q.half)
		d := float64(v - float32(float32(c)*s)) // no fused multiply-add: match Dequantize
		sse += d * d
	}
	return sse
}

func (q *groupQuantizer) asymErr(x []float32, s, m float32, codes []uint8) float64 {
	var inv float32
	if s != 0 {
		inv = 1 / s
	}
	var sse float64
	for i, v := range x {
		c := roundClamp((v-m)*inv, 0, q.levels-1)
		codes[i] = uint8(c)
		d := float64(v - (float32(float32(c)*s) + m))
		sse += d * d
	}
	return sse
}

// symGroup leaves the codes in q.best and returns the scale.
func (q *groupQuantizer) symGroup(x []float32) float32 {
	var amax, vmax float32 // vmax: the signed value of largest magnitude
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, vmax = a, v
		}
	}
	s := vmax / -float32(q.half)
	if q.bits == 8 {
		s = amax / 127
	}
	s = roundScale(s)
	best := q.symErr(x, s, q.best)
	if !q.search || best == 0 {
		return s
	}
	try := func(c float32) bool {
		c = roundScale(c)
		if c == s || c == 0 {
			return false
		}
		if e := q.symErr(x, c, q.codes); e < best {
			best, s = e, c
			q.best, q.codes = q.codes, q.best
			return true
		}
		return false
	}
	// Shrink the range (clipping the extremes) from either end of the code
	// range: the largest value on code 0 or on the top code.
	const steps = 16
	for _, o := range []float32{vmax / -float32(q.half), vmax / float32(q.half-1)} {
		for i := range steps {
			try(o * (1 - 0.5*float32(i)/(steps-1)))
		}
	}
	// Least-squares scale for the chosen codes, then re-round.
	for range 2 {
		var num, den float64
		for i, c := range q.best {
			k := float64(int32(c) - q.half)
			num += float64(x[i]) * k
			den += k * k
		}
		if den == 0 || math.IsNaN(num) || math.IsInf(num, 0) || !try(float32(num/den)) {
			break
		}
	}
	return s
}

// asymGroup leaves the codes in q.best and returns the scale and min.
func (q *groupQuantizer) asymGroup(x []float32) (float32, float32) {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	if !(lo <= hi) { // all NaN
		lo, hi = 0, 0
	}
	top := float32(q.levels - 1)
	s, m := roundScale((hi-lo)/top), roundScale(lo)
	best := q.asymErr(x, s, m, q.best)
	if !q.search || best == 0 {
		return s, m
	}
	try := func(cs, cm float32) bool {
		cs, cm = roundScale(cs), roundScale(cm)
		if cs == s && cm == m || math.IsNaN(float64(cs)) || math.IsNaN(float64(cm)) {
			return false
		}
		if e := q.asymErr(x, cs, cm, q.codes); e < best {
			best, s, m = e, cs, cm
			q.best, q.codes = q.codes, q.best
			return true
		}
		return false
	}
	// Clip a fraction of the range off each end.
	fracs := [...]float32{0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3}
	span := hi - lo
	for _, a := range fracs {
		for _, b := range fracs {
			if l, h := lo+a*span, hi-b*span; h > l {
				try((h-l)/top, l)
			}
		}
	}
	// Least-squares fit of x ≈ u*s + m for the chosen codes, then re-round.
	for range 2 {
		var n, su, suu, sx, sux float64
		for i, c := range q.best {
			u, v := float64(c), float64(x[i])
			n, su, suu, sx, sux = n+1, su+u, suu+u*u, sx+v, sux+u*v
		}
		det := n*suu - su*su
		if det == 0 {
			break
		}
		fs := (n*sux - su*sx) / det
		if !try(float32(fs), float32((sx-fs*su)/n)) {
			break
		}
	}
	return s, m
}
