package templates

import (
	"fmt"
	"strings"
)

// QuantAct quantizes activations to int8 for GemvA8, one token per
// workgroup: scale = absmax(x)/127 (dynamic), or the scale a calibration
// stored (Static); codes = clamp(round(x/scale), -127, 127), rounding half
// to even, four codes per u32 with element i in byte i%4 (two's
// complement). A zero scale gives zero codes.
type QuantAct struct {
	WG int // threads per workgroup, a power of two in 32..1024
	// Static reads the token's scale from the scale buffer instead of
	// computing absmax: the same kernel serves both activation schemes.
	Static bool
}

func (p QuantAct) Name() string { return "quantact" }

func (p QuantAct) String() string {
	return fmt.Sprintf("wg=%d/static=%t", p.WG, p.Static)
}

func (p QuantAct) WorkgroupSize() [3]uint32 { return [3]uint32{uint32(p.WG), 1, 1} }

// Groups is the dispatch size for tokens tokens.
func (p QuantAct) Groups(tokens int) [3]uint32 { return [3]uint32{uint32(tokens), 1, 1} }

func (p QuantAct) Check() error {
	if p.WG < 32 || p.WG > 1024 || p.WG&(p.WG-1) != 0 {
		return fmt.Errorf("%w: workgroup %d is not a power of two in 32..1024", errParams, p.WG)
	}
	return nil
}

type quantActView struct {
	QuantAct
	Header string
	Half   int
}

func (p QuantAct) view() (string, any) {
	return "quantact.wgsl.tmpl", quantActView{QuantAct: p, Header: header(p), Half: p.WG / 2}
}

// GemvA8 is the integer GEMV of W8A8 and W4A8 (and W2A8): y = W x with W
// in a symmetric format of the quant package and x as QuantAct codes and
// one scale. Each load's products of weight and activation codes
// accumulate exactly in i32; the load's sum is scaled by its weight
// group's scale into an f32 row sum, and the row by the activation scale.
// A workgroup of WG threads computes Rows rows, each thread loading Vec
// weight words at a time.
type GemvA8 struct {
	Bits  int // weight bits: 8, 4 or 2
	Group int // elements per weight scale: 32, 64, 128, or 0 for one per row
	WG    int // threads per workgroup, a power of two
	Rows  int // output rows per workgroup
	Vec   int // u32 weight words per load: 1, 2 or 4
	// Fold takes the weight codes' offset out of the sum once per load, as
	// offset times the sum of the activation codes, shared by all rows,
	// instead of from every code.
	Fold bool
}

func (p GemvA8) Name() string { return "gemva8" }

// String names the tuned params, as search points and profiles do.
func (p GemvA8) String() string {
	return fmt.Sprintf("wg=%d/rows=%d/vec=%d/fold=%t", p.WG, p.Rows, p.Vec, p.Fold)
}

// Format names the weight format the way the quant package does.
func (p GemvA8) Format() string {
	return Gemv{Bits: p.Bits, Group: p.Group}.Format()
}

func (p GemvA8) WorkgroupSize() [3]uint32 { return [3]uint32{uint32(p.WG), 1, 1} }

// Elems is the number of weights one load covers.
func (p GemvA8) Elems() int { return p.Vec * 32 / p.Bits }

// WorkgroupBytes is the workgroup memory the kernel declares.
func (p GemvA8) WorkgroupBytes() int { return 4 * p.WG * p.Rows }

// Fits reports whether the kernel accepts a rows x cols matrix: whole loads
// within one group. A load's i32 sum is at most 64 * 128 * 127 in
// magnitude, so it never overflows, and it is exact in f32.
func (p GemvA8) Fits(rows, cols int) bool {
	glen := p.Group
	if glen == 0 {
		glen = cols
	}
	return rows > 0 && cols > 0 && cols%32 == 0 && cols%glen == 0 && cols%p.Elems() == 0 && glen%p.Elems() == 0
}

// Groups is the dispatch size for rows output rows.
func (p GemvA8) Groups(rows int) [3]uint32 {
	return Gemv{Rows: p.Rows}.Groups(rows)
}

func (p GemvA8) Check() error {
	switch {
	case p.Bits != 8 && p.Bits != 4 && p.Bits != 2:
		return fmt.Errorf("%w: %d bits", errParams, p.Bits)
	case p.Group != 0 && p.Group != 32 && p.Group != 64 && p.Group != 128:
		return fmt.Errorf("%w: group %d", errParams, p.Group)
	case p.WG < 32 || p.WG > 1024 || p.WG&(p.WG-1) != 0:
		return fmt.Errorf("%w: workgroup %d is not a power of two in 32..1024", errParams, p.WG)
	case p.Rows < 1 || p.Rows > 32:
		return fmt.Errorf("%w: %d rows per workgroup", errParams, p.Rows)
	case p.Vec != 1 && p.Vec != 2 && p.Vec != 4:
		return fmt.Errorf("%w: vec %d", errParams, p.Vec)
	case p.Group != 0 && p.Elems() > p.Group:
		return fmt.Errorf("%w: a load of %d elements spans groups of %d", errParams, p.Elems(), p.Group)
	}
	return nil
}

type gemvA8View struct {
	GemvA8
	Header string
	WT     string
	XWords int // activation words per load
	Half   int
	XBody  []string // statements unpacking the load's activation codes, shared by the rows
	Body   []string // statements taking a row's i32 dot product with them into d
}

func (p GemvA8) view() (string, any) {
	v := gemvA8View{GemvA8: p, Header: header(p) + " " + p.Format(), XWords: p.Elems() / 4, Half: p.WG / 2}
	v.WT = "u32"
	if p.Vec > 1 {
		v.WT = fmt.Sprintf("vec%d<u32>", p.Vec)
	}
	v.XBody, v.Body = p.body()
	return "gemva8.wgsl.tmpl", v
}

// body emits the unpacking of a load's activation codes (word a holds
// elements 4a..4a+3, sign-extended by shifting each byte to the top and
// back, an arithmetic shift) and of the loaded weight words wv with their
// i32 dot product; weight codes are unsigned with offset 2^(Bits-1), as
// quant stores symmetric formats.
func (p GemvA8) body() (xs, out []string) {
	per := 32 / p.Bits
	mask := fmt.Sprintf("0x%xu", (1<<p.Bits)-1)
	var terms []string
	for a := 0; a < p.Elems()/4; a++ {
		xs = append(xs, fmt.Sprintf("let a%d = bitcast<vec4<i32>>(vec4<u32>(xq[x0 + %du]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);", a, a))
		terms = append(terms, fmt.Sprintf("a%d", a))
	}
	off := fmt.Sprintf(" - vec4<i32>(%di)", 1<<(p.Bits-1))
	if p.Fold {
		off = ""
		xs = append(xs, fmt.Sprintf("let sa = %s;", strings.Join(terms, " + ")))
		xs = append(xs, fmt.Sprintf("let sx = %di * (sa.x + sa.y + sa.z + sa.w);", 1<<(p.Bits-1)))
	}
	for k := 0; k < p.Vec; k++ {
		word := "wv"
		if p.Vec > 1 {
			word = fmt.Sprintf("wv[%d]", k)
		}
		for q := 0; q < per; q += 4 {
			e := k*per + q // first element of these four within the load
			s := q * p.Bits
			out = append(out, fmt.Sprintf("let p%d = (bitcast<vec4<i32>>((vec4<u32>(%s) >> vec4<u32>(%du, %du, %du, %du)) & vec4<u32>(%s))%s) * a%d;",
				e/4, word, s, s+p.Bits, s+2*p.Bits, s+3*p.Bits, mask, off, e/4))
		}
	}
	var ps []string
	for a := 0; a < p.Elems()/4; a++ {
		ps = append(ps, fmt.Sprintf("p%d", a))
	}
	out = append(out, fmt.Sprintf("let ps = %s;", strings.Join(ps, " + ")))
	if p.Fold {
		out = append(out, "let d = ps.x + ps.y + ps.z + ps.w - sx;")
	} else {
		out = append(out, "let d = ps.x + ps.y + ps.z + ps.w;")
	}
	return xs, out
}
