package templates

import "fmt"

// Gemm is the prefill GEMM with quantized weights: C = A x W^T, where A is
// M x K f32 activations (row-major) and W is N x K in one of the quant
// package's formats (Bits, Group, Asym), so C[m][n] = sum_k A[m][k] *
// deq(W)[n][k]. C is M x N f32, row-major.
//
// A workgroup computes a TileM x TileN block of C, TileM = WGY*RM and
// TileN = WGX*RN, stepping along K by TK: it stages the A tile transposed to
// [k][m] and the W tile dequantized to f32 as [k][n] in workgroup memory
// (each thread loads whole u32 words of W and unpacks them with shifts and
// masks), then runs the register-blocked inner product of Matmul. The
// kernel handles any M and N; K must be a multiple of 32, of the group and
// of TK (see Fits), so that no tile is partial along K.
//
// The loops over a thread's register block are written out whether or not
// Unroll is set; the loops whose trip count grows with K are the one over
// K tiles (K/TK) and, without Unroll, the one over a tile's depth (K in
// all). lavapipe 22.3 silently stops a thread's loops after 65535
// iterations in all (webgpu-runtime.md §0); on it, K = 32768 validated with
// and without Unroll.
type Gemm struct {
	Bits  int  // bits per code: 8, 4 or 2
	Group int  // elements per scale along K: a positive multiple of 32, or 0 for one per row
	Asym  bool // value = u*scale + min, else (u - 2^(Bits-1))*scale
	WGX   int  // threads per workgroup along N
	WGY   int  // threads per workgroup along M
	RM    int  // rows of C per thread (register block), a multiple of Vec
	RN    int  // columns of C per thread (register block), a multiple of Vec
	// TK is the depth of a K tile, a multiple of Vec and of the codes per
	// word (32/Bits), so that a thread's word loads never straddle tiles.
	TK int
	// Vec is the vector width, 1, 2 or 4, of the global loads of A (along
	// K) and of the workgroup-memory reads of both tiles (along M and N).
	Vec int
	// Prefetch fetches the next tiles (A vectors, W words with their scales
	// and mins) into registers while the current ones are computed.
	Prefetch bool
	Unroll   bool // unroll the loop over a tile's depth in the generated source
}

func (p Gemm) Name() string { return "gemm" }

func (p Gemm) String() string {
	return fmt.Sprintf("wgx=%d/wgy=%d/rm=%d/rn=%d/tk=%d/vec=%d/prefetch=%t/unroll=%t",
		p.WGX, p.WGY, p.RM, p.RN, p.TK, p.Vec, p.Prefetch, p.Unroll)
}

// Format names the weight format the way the quant package does.
func (p Gemm) Format() string {
	return Gemv{Bits: p.Bits, Group: p.Group, Asym: p.Asym}.Format()
}

// TileM and TileN are the block of C one workgroup computes.
func (p Gemm) TileM() int { return p.WGY * p.RM }
func (p Gemm) TileN() int { return p.WGX * p.RN }

// PerWord is the number of codes in a u32 word.
func (p Gemm) PerWord() int { return 32 / p.Bits }

func (p Gemm) WorkgroupSize() [3]uint32 { return [3]uint32{uint32(p.WGX), uint32(p.WGY), 1} }

// WorkgroupBytes is the workgroup memory the kernel declares: both tiles
// as f32.
func (p Gemm) WorkgroupBytes() int { return 4 * p.TK * (p.TileM() + p.TileN()) }

// UnrolledStatements is the length of the tile loop when unrolled: per k,
// the workgroup-memory reads of both operands and one fma per accumulator.
func (p Gemm) UnrolledStatements() int {
	return p.TK * (p.RM/p.Vec + p.RN/p.Vec + p.RM*p.RN/p.Vec)
}

// Groups is the dispatch size for an MxN output.
func (p Gemm) Groups(m, n int) [3]uint32 {
	return [3]uint32{uint32(ceilDiv(n, p.TileN())), uint32(ceilDiv(m, p.TileM())), 1}
}

// Fits reports whether the kernel accepts a shape: any M and N; K a
// multiple of 32, of the group, of TK and of Vec. p must pass Check.
func (p Gemm) Fits(m, n, k int) bool {
	if m <= 0 || n <= 0 || k <= 0 || k%32 != 0 || k%p.TK != 0 || k%p.Vec != 0 {
		return false
	}
	return p.Group == 0 || k%p.Group == 0
}

func (p Gemm) Tile() (tm, tn, tk, vec int) { return p.TileM(), p.TileN(), p.TK, p.Vec }

func (p Gemm) Check() error {
	switch {
	case p.Bits != 8 && p.Bits != 4 && p.Bits != 2:
		return fmt.Errorf("%w: %d bits", errParams, p.Bits)
	case p.Group < 0 || p.Group%32 != 0:
		return fmt.Errorf("%w: group %d is not 0 or a positive multiple of 32", errParams, p.Group)
	case p.Vec != 1 && p.Vec != 2 && p.Vec != 4:
		return fmt.Errorf("%w: vec %d not 1, 2 or 4", errParams, p.Vec)
	case p.WGX < 1 || p.WGY < 1 || p.WGX > 1024 || p.WGY > 1024:
		return fmt.Errorf("%w: workgroup %dx%d", errParams, p.WGX, p.WGY)
	case p.RM < 1 || p.RN < 1 || p.RM > 16 || p.RN > 16:
		return fmt.Errorf("%w: register block %dx%d outside 1..16", errParams, p.RM, p.RN)
	case p.RM%p.Vec != 0 || p.RN%p.Vec != 0:
		return fmt.Errorf("%w: register block %dx%d not a multiple of vec %d", errParams, p.RM, p.RN, p.Vec)
	case p.TK < 1 || p.TK > 64 || p.TK%p.Vec != 0:
		return fmt.Errorf("%w: tk %d outside 1..64 or not a multiple of vec %d", errParams, p.TK, p.Vec)
	case p.TK%p.PerWord() != 0:
		return fmt.Errorf("%w: tk %d is not a multiple of the %d codes in a word of int%d, so word loads would straddle tiles",
			errParams, p.TK, p.PerWord(), p.Bits)
	}
	return nil
}

type gemmView struct {
	Gemm
	Header                   string
	T                        string // the vector type of A loads and tile reads
	V, TM, TN, TMV, TNV, TKV int
	RMV, RNV, AccLen         int
	Threads                  int
	TileAVecs, TileWVecs     int  // the tiles' sizes in vectors
	TileWords, WordsPerRow   int  // words of W in a tile, and in one of its rows
	LoadsA, LoadsW           int  // vectors of A and words of W each thread loads per tile
	RaggedA, RaggedW         bool // the last load round covers part of the tile
	Per                      int  // codes per word
	Unpack                   []string
}

// gemmStep is one k of the inner product: OA and OB are the offsets of row
// k in tileA and tileW, an expression or a literal.
type gemmStep struct {
	gemmView
	OA, OB string
}

func (v gemmView) Step(oa, ob string) gemmStep { return gemmStep{v, oa, ob} }

// Splat broadcasts component comp of a vector expr; with Vec 1 it is the
// scalar itself.
func (v gemmView) Splat(expr string, comp int) string {
	if v.V == 1 {
		return expr
	}
	return fmt.Sprintf("%s(%s[%d])", v.T, expr, comp)
}

// gemmFetch is the view with the k offset of the tile a fetch loads.
type gemmFetch struct {
	gemmView
	K0 string
}

func (v gemmView) At(k0 string) gemmFetch { return gemmFetch{v, k0} }

func (p Gemm) view() (string, any) {
	v := gemmView{Gemm: p, Header: header(p) + " " + p.Format(), V: p.Vec, TM: p.TileM(), TN: p.TileN(), Per: p.PerWord()}
	v.T = "f32"
	if p.Vec > 1 {
		v.T = fmt.Sprintf("vec%d<f32>", p.Vec)
	}
	v.TMV, v.TNV, v.TKV = v.TM/p.Vec, v.TN/p.Vec, p.TK/p.Vec
	v.RMV, v.RNV = p.RM/p.Vec, p.RN/p.Vec
	v.AccLen = p.RM * v.RNV
	v.Threads = p.WGX * p.WGY
	v.TileAVecs, v.TileWVecs = p.TK*v.TMV, p.TK*v.TNV
	v.LoadsA, v.RaggedA = ceilDiv(v.TileAVecs, v.Threads), v.TileAVecs%v.Threads != 0
	v.WordsPerRow = p.TK / v.Per
	v.TileWords = v.TN * v.WordsPerRow
	v.LoadsW, v.RaggedW = ceilDiv(v.TileWords, v.Threads), v.TileWords%v.Threads != 0
	v.Unpack = p.unpack(v)
	return "gemm.wgsl.tmpl", v
}

// unpack emits the statements that dequantize word u (scale s, min mn) of
// W row n into the W tile: code e goes to k = (word in row)*Per + e, i.e.
// Per rows of the [k][n] tile apart, starting at vector b, component comp.
func (p Gemm) unpack(v gemmView) []string {
	mask := fmt.Sprintf("0x%xu", (1<<p.Bits)-1)
	var out []string
	for e := 0; e < v.Per; e++ {
		code := "u"
		switch {
		case e == v.Per-1:
			code = fmt.Sprintf("u >> %du", e*p.Bits) // the top code needs no mask
		case e > 0:
			code = fmt.Sprintf("(u >> %du) & %s", e*p.Bits, mask)
		default:
			code = "u & " + mask
		}
		val := fmt.Sprintf("(f32(%s) - %d.0) * s", code, 1<<(p.Bits-1))
		if p.Asym {
			val = fmt.Sprintf("f32(%s) * s + mn", code)
		}
		dst := fmt.Sprintf("tileW[b + %du]", e*v.TNV)
		if v.V > 1 {
			dst += "[comp]"
		}
		out = append(out, dst+" = "+val+";")
	}
	return out
}
