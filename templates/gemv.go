package templates

import (
	"fmt"
	"slices"
	"strings"
)

// Gemv is the quantized matrix-vector product of decode: y = W x with W in
// one of the quant package's formats (Bits, Group, Asym). A workgroup of WG
// threads computes Rows rows; each thread loads Vec words of a row at a time
// and unpacks them by one of the strategies in Unpacks.
type Gemv struct {
	Bits  int  // 8, 4 or 2
	Group int  // elements per scale: 32, 64, 128, or 0 for one per row
	Asym  bool // value = u*scale + min, else (u - 2^(Bits-1))*scale
	WG    int  // threads per workgroup, a power of two
	Rows  int  // output rows per workgroup
	Vec   int  // u32 words per load: 1, 2 or 4
	// Unpack is how codes become floats: "shift" (shift and mask each
	// code), "vec" (shift a splatted word by a vector of offsets), "unorm"
	// (mask whole bytes and convert four at once with unpack4x8unorm), or
	// "lut" (int2: a table of the four codes of every byte in workgroup
	// memory), or "mant" (place each code at the top of the mantissa of
	// 1.0, giving 1 + u/2^Bits with one shift and one mask, and take the
	// ones out once per load with the sum of x), or "half" (as mant, two
	// codes at a time: one shift and one mask place a pair of codes, one in
	// each 16-bit half, at the top of the mantissa of a half-precision 1.0,
	// and unpack2x16float widens both).
	Unpack string
	// Fold takes a symmetric format's offset out of the sum once per load,
	// as offset times the sum of x, shared by all rows, instead of from
	// every code.
	Fold bool
	// Split divides K among Split workgroups per group of rows (0 or 1:
	// none), for matrices of too few rows to fill the device: each writes
	// its partial row sums to y as [Split][rows], and GemvReduce adds them
	// up into the output. Not with the fusions but Acc, which the reduce
	// applies.
	Split int
	// Layout is where the scales (and mins) are: "apart" (or empty), in
	// buffers of their own, or "beside", in w after each block of four
	// groups' codes (quant.Beside). Beside needs groups, and rows of whole
	// blocks; the scales and mins bindings stay in the layout, unread.
	Layout string

	// The fusions below are chosen by the model, not searched: each fused
	// variant is tuned over the same axes as a workload of its own
	// (ops.GemvVariant). They are not axes of the search space and profile
	// IDs never carry them; String names them after the tuned params so
	// that fused kernels render and cache apart.

	// Norm makes the input rmsnorm(x) * norm: each workgroup sums x² over
	// the chunks it loads, multiplies them by the norm weight (one more
	// binding, after mins), and scales its rows by 1/sqrt(sum/cols + eps)
	// at the end; eps is in the uniform.
	Norm bool
	// GLU makes the input silu(gate) * up, computed as each chunk loads,
	// x being the packed gate/up output with the halves at the uniform's
	// gate and up offsets (in floats, multiples of 4).
	GLU bool
	// Acc adds the product into y (y += W x) instead of storing it.
	Acc bool
	// Rope makes the rows a token's packed q, k and v (the heads of q,
	// then of k, then of v): adjacent pairs of q and k rows within a head's
	// first rope_dim dimensions are rotated at the step's position as
	// qkvrope.wgsl.tmpl rotates them, q is written to y, k and v into the
	// caches at the position. Four bindings follow the others: the rope
	// and step uniforms of qkvrope, the key and the value cache. Rows must
	// be even, so that pairs share a workgroup, and Acc off.
	Rope bool
	// RopeFreqs divides the rope epilogue's angles by a frequency-factor
	// table (Llama 3's rope_freqs), bound after the caches.
	RopeFreqs bool
	// Expert makes W a stack of experts' matrices of the uniform's rows
	// each and computes the one chosen[slot] names, chosen and scores
	// being the MoE router's outputs bound after the others; where the
	// uniform's scaled is not 0 the rows are multiplied by scores[slot].
	// The uniform gains {slot, scaled, 0, 0}. Not with Rope.
	Expert bool
}

// Unpacks lists the unpacking strategies.
var Unpacks = []string{"shift", "vec", "unorm", "magic", "mant", "half", "lut"}

func (p Gemv) Name() string { return "gemv" }

func (p Gemv) String() string {
	s := p.TunedID()
	for _, f := range []struct {
		on   bool
		name string
	}{{p.Norm, "norm"}, {p.GLU, "glu"}, {p.Acc, "acc"}, {p.Rope, "rope"}, {p.RopeFreqs, "freqs"}, {p.Expert, "expert"}} {
		if f.on {
			s += "/" + f.name
		}
	}
	return s
}

// TunedID names the tuned params alone, as search points and profiles
// do: String without the fusions.
func (p Gemv) TunedID() string {
	s := fmt.Sprintf("wg=%d/rows=%d/vec=%d/unpack=%s/fold=%t", p.WG, p.Rows, p.Vec, p.Unpack, p.Fold)
	if p.Split > 1 {
		s += fmt.Sprintf("/split=%d", p.Split)
	}
	if p.Beside() {
		s += "/layout=beside"
	}
	return s
}

// Layouts lists the weight layouts a GEMV reads, as quant.Layouts names them.
var Layouts = []string{"apart", "beside"}

// Beside reports whether the scales sit in w beside the codes.
func (p Gemv) Beside() bool { return p.Layout == "beside" }

// blockGroups is quant.BlockGroups: the groups of a block of the beside layout.
const blockGroups = 4

// SplitCounts are the K splits a GEMV takes beyond 1 (none): the
// workgroups sharing a group of rows, whose parts GemvReduce adds.
var SplitCounts = []int{2, 4, 8}

// Splits is how many workgroups share each group of rows.
func (p Gemv) Splits() int { return max(1, p.Split) }

// Fused reports whether any fusion is on.
func (p Gemv) Fused() bool { return p.Norm || p.GLU || p.Acc || p.Rope || p.Expert }

// UniformWords is the size of the kernel's uniform in u32 words: {rows,
// cols, glen, row_offset}, then {eps, gate, up, pad} with Norm or GLU,
// then {slot, scaled, 0, 0} with Expert.
func (p Gemv) UniformWords() int {
	n := 4
	if p.Norm || p.GLU {
		n += 4
	}
	if p.Expert {
		n += 4
	}
	return n
}

// Format names the weight format the way the quant package does.
func (p Gemv) Format() string {
	g := "row"
	if p.Group > 0 {
		g = fmt.Sprintf("g%d", p.Group)
	}
	s := "sym"
	if p.Asym {
		s = "asym"
	}
	return fmt.Sprintf("int%d-%s-%s", p.Bits, g, s)
}

func (p Gemv) WorkgroupSize() [3]uint32 { return [3]uint32{uint32(p.WG), 1, 1} }

// Elems is the number of weights one load covers.
func (p Gemv) Elems() int { return p.Vec * 32 / p.Bits }

// WorkgroupBytes is the workgroup memory the kernel declares.
func (p Gemv) WorkgroupBytes() int {
	n := 4 * p.WG * p.redRows()
	if p.Unpack == "lut" {
		n += 256 * 16
	}
	return n
}

// redRows is how many values per thread the closing tree reduces: each
// row's sum, and the sum of squares with Norm.
func (p Gemv) redRows() int {
	if p.Norm {
		return p.Rows + 1
	}
	return p.Rows
}

// Fits reports whether the kernel accepts a rows x cols matrix: whole loads
// within one group.
func (p Gemv) Fits(rows, cols int) bool {
	glen := p.Group
	if glen == 0 {
		glen = cols
	}
	return rows > 0 && cols > 0 && cols%32 == 0 && cols%glen == 0 && cols%p.Elems() == 0 && glen%p.Elems() == 0 &&
		(cols/p.Elems())%p.Splits() == 0 && (!p.Beside() || cols%(blockGroups*glen) == 0)
}

// Groups is the dispatch size for rows output rows.
func (p Gemv) Groups(rows int) [3]uint32 {
	n := ceilDiv(rows, p.Rows) * p.Splits()
	x := min(n, 32768)
	return [3]uint32{uint32(x), uint32(ceilDiv(n, x)), 1}
}

func (p Gemv) Check() error {
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
	case p.Fold && p.Asym:
		return fmt.Errorf("%w: fold is for symmetric formats", errParams)
	case p.Norm && p.GLU:
		return fmt.Errorf("%w: norm and glu prologues cannot be combined", errParams)
	case p.Rope && (p.Acc || p.Rows%2 != 0):
		return fmt.Errorf("%w: the rope epilogue needs an even number of rows and no acc", errParams)
	case p.Expert && p.Rope:
		return fmt.Errorf("%w: the expert GEMV has no rope epilogue", errParams)
	case p.RopeFreqs && !p.Rope:
		return fmt.Errorf("%w: rope frequency factors without the rope epilogue", errParams)
	case p.Group != 0 && p.Elems() > p.Group:
		return fmt.Errorf("%w: a load of %d elements spans groups of %d", errParams, p.Elems(), p.Group)
	case p.Split > 1 && !slices.Contains(SplitCounts, p.Split) || p.Split < 0:
		return fmt.Errorf("%w: K split %d is not 1 or one of %v", errParams, p.Split, SplitCounts)
	case p.Split > 1 && (p.Norm || p.GLU || p.Rope || p.Expert):
		return fmt.Errorf("%w: a K split takes no fusion but acc", errParams)
	case p.Layout != "" && !slices.Contains(Layouts, p.Layout):
		return fmt.Errorf("%w: layout %q is not one of %s", errParams, p.Layout, strings.Join(Layouts, ", "))
	case p.Beside() && p.Group == 0:
		return fmt.Errorf("%w: the beside layout needs groups, not a scale per row", errParams)
	}
	switch p.Unpack {
	case "shift", "vec", "unorm", "magic":
	case "mant", "half":
		if p.Fold {
			return fmt.Errorf("%w: %s takes the offset out by itself, without fold", errParams, p.Unpack)
		}
	case "lut":
		if p.Bits != 2 {
			return fmt.Errorf("%w: the lut unpacking is for int2", errParams)
		}
	default:
		return fmt.Errorf("%w: unpack %q is not one of %s", errParams, p.Unpack, strings.Join(Unpacks, ", "))
	}
	return nil
}

type gemvView struct {
	Gemv
	Header        string
	WT            string
	Elems, XVecs  int
	Offset        int
	RedLen, Half  int
	NormBinding   int
	RopeBinding   int // the first of the rope epilogue's four
	ExpertBinding int // chosen, then scores
	SumX          string
	Body          []string // statements accumulating the chunk's dot product into d
	RowSum        string   // what a row adds to its sum from d and the group's scale sc (and min mn)
	UsesSumX      bool     // whether RowSum needs sx

	// The beside layout's block, in loads of Vec words: its code loads
	// (chunks), all of it, and where its mins start after its scales.
	BlockChunks, BlockVecs, MinVecs int
}

func (p Gemv) view() (string, any) {
	v := gemvView{Gemv: p, Header: header(p) + " " + p.Format(), Elems: p.Elems(), RedLen: p.WG * p.redRows(), Half: p.WG / 2}
	v.NormBinding = 5
	if p.Asym {
		v.NormBinding = 6
	}
	v.RopeBinding = v.NormBinding
	if p.Norm {
		v.RopeBinding++
	}
	v.ExpertBinding = v.RopeBinding
	v.WT = "u32"
	if p.Vec > 1 {
		v.WT = fmt.Sprintf("vec%d<u32>", p.Vec)
	}
	v.XVecs = v.Elems / 4
	v.Offset = 1 << (p.Bits - 1)
	sums := make([]string, v.XVecs)
	for i := range sums {
		sums[i] = fmt.Sprintf("x%d", i)
	}
	v.SumX = "dot(" + strings.Join(sums, " + ") + ", vec4<f32>(1.0))"
	if p.Beside() {
		codes := blockGroups * p.Group * p.Bits / 32
		block := codes + blockGroups
		if p.Asym {
			block += blockGroups
		}
		v.BlockChunks, v.BlockVecs, v.MinVecs = codes/p.Vec, block/p.Vec, blockGroups/p.Vec
	}
	v.Body = p.body()
	v.RowSum, v.UsesSumX = p.rowSum(), p.usesSumX()
	return "gemv.wgsl.tmpl", v
}

// usesSumX reports whether a load's sum of x enters the row sums.
func (p Gemv) usesSumX() bool { return p.Asym || p.Fold || p.onePlus() }

// onePlus reports whether the unpacking yields 1 + u/2^Bits for a code u.
func (p Gemv) onePlus() bool { return p.Unpack == "mant" || p.Unpack == "half" }

// rowSum is the term a row adds per load: d (the dot product of the codes,
// or with mant of 1 + u/2^Bits, with x) scaled by the group's scale, the
// offset or min taken out with sx, the sum of x.
func (p Gemv) rowSum() string {
	d := "d"
	if p.onePlus() {
		d = fmt.Sprintf("%d.0 * (d - sx)", 1<<p.Bits)
	}
	switch {
	case p.Asym:
		return fmt.Sprintf("sc * %s + mn * sx", d)
	case p.Fold || p.onePlus():
		return fmt.Sprintf("sc * (%s - %d.0 * sx)", d, 1<<(p.Bits-1))
	}
	return "sc * d"
}

// body emits the unpacking of the loaded words wv and their dot product
// with the chunk's x vectors x0, x1, ... into d.
func (p Gemv) body() []string {
	per := 32 / p.Bits // codes per word
	mask := fmt.Sprintf("0x%xu", (1<<p.Bits)-1)
	off := ""
	if !p.Asym && !p.Fold {
		off = fmt.Sprintf(" - vec4<f32>(%d.0)", 1<<(p.Bits-1))
	}
	var out []string
	for k := 0; k < p.Vec; k++ {
		word := "wv"
		if p.Vec > 1 {
			word = fmt.Sprintf("wv[%d]", k)
		}
		e0 := k * per // first element of this word within the chunk
		xv := func(e int) string { return fmt.Sprintf("x%d", e/4) }
		out = append(out, fmt.Sprintf("let u%d = %s;", k, word))
		u := fmt.Sprintf("u%d", k)
		switch p.Unpack {
		case "shift":
			for q := 0; q < per; q += 4 {
				var c [4]string
				for i := range c {
					c[i] = fmt.Sprintf("f32((%s >> %du) & %s)", u, (q+i)*p.Bits, mask)
				}
				out = append(out, fmt.Sprintf("d = d + dot(vec4<f32>(%s)%s, %s);", strings.Join(c[:], ", "), off, xv(e0+q)))
			}
		case "vec":
			for q := 0; q < per; q += 4 {
				out = append(out, fmt.Sprintf("d = d + dot(vec4<f32>((vec4<u32>(%s) >> vec4<u32>(%du, %du, %du, %du)) & vec4<u32>(%s))%s, %s);",
					u, q*p.Bits, (q+1)*p.Bits, (q+2)*p.Bits, (q+3)*p.Bits, mask, off, xv(e0+q)))
			}
		case "magic":
			// 0x4b000000 is 2^23: or-ing a code into its mantissa gives
			// 2^23 + u exactly, and subtracting 2^23 (+ the offset) is exact.
			bias := 8388608
			if !p.Asym && !p.Fold {
				bias += 1 << (p.Bits - 1)
			}
			for q := 0; q < per; q += 4 {
				out = append(out, fmt.Sprintf("d = d + dot(bitcast<vec4<f32>>(((vec4<u32>(%s) >> vec4<u32>(%du, %du, %du, %du)) & vec4<u32>(%s)) | vec4<u32>(0x4b000000u)) - vec4<f32>(%d.0), %s);",
					u, q*p.Bits, (q+1)*p.Bits, (q+2)*p.Bits, (q+3)*p.Bits, mask, bias, xv(e0+q)))
			}
		case "mant":
			// A code moved to the mantissa's top Bits bits of 1.0 reads
			// 1 + u/2^Bits: one shift (none where it already sits there)
			// and one mask per code, no conversion.
			top := 23 - p.Bits
			mask := fmt.Sprintf("0x%08xu", uint32((1<<p.Bits)-1)<<top)
			for q := 0; q < per; q += 4 {
				var c [4]string
				for i := range c {
					switch sh := top - (q+i)*p.Bits; {
					case sh > 0:
						c[i] = fmt.Sprintf("%s << %du", u, sh)
					case sh < 0:
						c[i] = fmt.Sprintf("%s >> %du", u, -sh)
					default:
						c[i] = u
					}
				}
				out = append(out, fmt.Sprintf("d = d + dot(bitcast<vec4<f32>>((vec4<u32>(%s) & vec4<u32>(%s)) | vec4<u32>(0x3f800000u)), %s);",
					strings.Join(c[:], ", "), mask, xv(e0+q)))
			}
		case "half":
			// Codes i and i+per/2 sit at the same bit of the word's two
			// halves, so one shift and one mask put both at the top of the
			// mantissa of a half-precision 1.0 (0x3c00), exact for 8 bits.
			top := 10 - p.Bits
			m := uint32((1<<p.Bits)-1) << top
			mask := fmt.Sprintf("0x%08xu", m|m<<16)
			pair := func(i int) string {
				switch sh := top - i*p.Bits; {
				case sh > 0:
					return fmt.Sprintf("(%s << %du)", u, sh)
				case sh < 0:
					return fmt.Sprintf("(%s >> %du)", u, -sh)
				}
				return u
			}
			for i := 0; i < per/2; i++ {
				out = append(out, fmt.Sprintf("let h%d_%d = unpack2x16float((%s & %s) | 0x3c003c00u);", k, i, pair(i), mask))
			}
			// Element e of the word is half e/(per/2) of pair e%(per/2).
			for q := 0; q < per; q += 4 {
				var c [4]string
				for i := range c {
					e := q + i
					c[i] = fmt.Sprintf("h%d_%d.%c", k, e%(per/2), "xy"[e/(per/2)])
				}
				out = append(out, fmt.Sprintf("d = d + dot(vec4<f32>(%s), %s);", strings.Join(c[:], ", "), xv(e0+q)))
			}
		case "unorm":
			// Masking every byte to one code at a time gives codes
			// s, s+step, s+2*step, s+3*step with step = 8/Bits.
			step := 8 / p.Bits
			byteMask := fmt.Sprintf("0x%08xu", uint32((1<<p.Bits)-1)*0x01010101)
			for s := 0; s < step; s++ {
				var xs [4]string
				for i := range xs {
					e := e0 + s + i*step
					xs[i] = fmt.Sprintf("x%d[%d]", e/4, e%4)
				}
				out = append(out, fmt.Sprintf("d = d + dot(unpack4x8unorm((%s >> %du) & %s) * 255.0%s, vec4<f32>(%s));",
					u, s*p.Bits, byteMask, off, strings.Join(xs[:], ", ")))
			}
		case "lut":
			for b := 0; b < 4; b++ {
				out = append(out, fmt.Sprintf("d = d + dot(lut[(%s >> %du) & 0xffu]%s, %s);", u, 8*b, off, xv(e0+4*b)))
			}
		}
	}
	return out
}

// GemvReduce is the second dispatch of a K-split Gemv: it adds each row's
// Split partial sums ([Split][rows] floats) into the output row, stored, or
// with Acc added to what is there. Bindings: 0 uniform {rows, row_offset,
// 0, 0}, 1 parts (read), 2 y (read_write).
type GemvReduce struct {
	WG    int // threads per workgroup, a power of two in 32..256
	Split int // parts per row, 2, 4 or 8
	Acc   bool
}

// Reduce is the GemvReduce of a K-split p.
func (p Gemv) Reduce() GemvReduce { return GemvReduce{WG: 64, Split: p.Split, Acc: p.Acc} }

func (p GemvReduce) Name() string { return "gemv-reduce" }
func (p GemvReduce) String() string {
	s := fmt.Sprintf("wg=%d/split=%d", p.WG, p.Split)
	if p.Acc {
		s += "/acc"
	}
	return s
}
func (p GemvReduce) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p GemvReduce) Check() error {
	if !slices.Contains(SplitCounts, p.Split) {
		return fmt.Errorf("%w: gemv reduce of %d parts, not one of %v", errParams, p.Split, SplitCounts)
	}
	return checkBlockWG(p.WG)
}

// Groups is the dispatch size: a thread per row.
func (p GemvReduce) Groups(rows int) [3]uint32 { return grid(ceilDiv(rows, p.WG)) }

func (p GemvReduce) view() (string, any) {
	return "gemvreduce.wgsl.tmpl", struct {
		Header    string
		WG, Split int
		Acc       bool
	}{header(p), p.WG, p.Split, p.Acc}
}
