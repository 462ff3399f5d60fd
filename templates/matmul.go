package templates

import (
	"errors"
	"fmt"
)

// Matmul is the register-blocked f32 matmul C = A x B (row-major, A is MxK,
// B is KxN). A workgroup computes a TileM x TileN block of C, where
// TileM = WGY*RM and TileN = WGX*RN. The kernel handles any M, but K and N
// must be multiples of Vec.
type Matmul struct {
	WGX int // threads per workgroup along N
	WGY int // threads per workgroup along M
	RM  int // rows of C per thread (register block), a multiple of Vec
	RN  int // columns of C per thread (register block), a multiple of Vec
	TK  int // depth of a K tile staged in workgroup memory, a multiple of Vec; unused unstaged
	// Vec is the vector width of loads, 1, 2 or 4: global loads along K for
	// A and along N for B, workgroup-memory reads along M and N.
	Vec    int
	Staged bool // stage A and B tiles in workgroup memory
	// Prefetch fetches the next tiles into registers while the current ones
	// are computed (staged kernels only).
	Prefetch bool
	Unroll   bool // unroll the per-tile loops in the generated source
}

func (p Matmul) Name() string { return "matmul" }

func (p Matmul) String() string {
	return fmt.Sprintf("wgx=%d/wgy=%d/rm=%d/rn=%d/tk=%d/vec=%d/staged=%t/prefetch=%t/unroll=%t",
		p.WGX, p.WGY, p.RM, p.RN, p.TK, p.Vec, p.Staged, p.Prefetch, p.Unroll)
}

// TileM and TileN are the block of C one workgroup computes.
func (p Matmul) TileM() int { return p.WGY * p.RM }
func (p Matmul) TileN() int { return p.WGX * p.RN }

func (p Matmul) WorkgroupSize() [3]uint32 { return [3]uint32{uint32(p.WGX), uint32(p.WGY), 1} }

// WorkgroupBytes is the workgroup memory the kernel declares.
func (p Matmul) WorkgroupBytes() int {
	if !p.Staged {
		return 0
	}
	return 4 * p.TK * (p.TileM() + p.TileN())
}

// UnrolledStatements is the length of the tile loop when unrolled: per k,
// the loads of both operands and one fma per accumulator.
func (p Matmul) UnrolledStatements() int {
	depth := p.TK
	if !p.Staged {
		depth = p.Vec
	}
	return depth * (p.RM/p.Vec + p.RN/p.Vec + p.RM*p.RN/p.Vec)
}

// Groups is the dispatch size for an MxN output.
func (p Matmul) Groups(m, n int) [3]uint32 {
	return [3]uint32{uint32(ceilDiv(n, p.TileN())), uint32(ceilDiv(m, p.TileM())), 1}
}

// Fits reports whether the kernel accepts a shape: K and N multiples of Vec.
func (p Matmul) Fits(m, n, k int) bool {
	return m > 0 && n > 0 && k > 0 && n%p.Vec == 0 && k%p.Vec == 0
}

var errParams = errors.New("invalid params")

func (p Matmul) Check() error {
	switch {
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
	case p.Prefetch && !p.Staged:
		return fmt.Errorf("%w: prefetch needs staged tiles", errParams)
	}
	return nil
}

type matmulView struct {
	Matmul
	Header                   string
	T                        string // the loaded element type
	V, TM, TN, TMV, TNV, TKV int
	RMV, RNV, AccLen         int
	Threads, LoadsA, LoadsB  int
	RaggedA, RaggedB         bool // the last load round covers part of the tile
	TileAVecs, TileBVecs     int
}

// Splat broadcasts component comp of a loaded vector expr to the vector
// type; with Vec 1 the element is already a scalar.
func (v matmulView) Splat(expr string, comp any) string {
	if v.V == 1 {
		return expr
	}
	return fmt.Sprintf("%s(%s[%v])", v.T, expr, comp)
}

// fetchArgs is the view with the k offset of the tile a fetch loads.
type fetchArgs struct {
	matmulView
	K0 string
}

func at(v matmulView, k0 string) fetchArgs { return fetchArgs{v, k0} }

func (p Matmul) view() (string, any) {
	v := matmulView{Matmul: p, Header: header(p), V: p.Vec, TM: p.TileM(), TN: p.TileN()}
	v.T = "f32"
	if p.Vec > 1 {
		v.T = fmt.Sprintf("vec%d<f32>", p.Vec)
	}
	v.TMV, v.TNV, v.TKV = v.TM/p.Vec, v.TN/p.Vec, p.TK/p.Vec
	v.RMV, v.RNV = p.RM/p.Vec, p.RN/p.Vec
	v.AccLen = p.RM * v.RNV
	v.Threads = p.WGX * p.WGY
	v.TileAVecs, v.TileBVecs = p.TK*v.TMV, p.TK*v.TNV
	v.LoadsA, v.LoadsB = ceilDiv(v.TileAVecs, v.Threads), ceilDiv(v.TileBVecs, v.Threads)
	v.RaggedA, v.RaggedB = v.TileAVecs%v.Threads != 0, v.TileBVecs%v.Threads != 0
	return "matmul.wgsl.tmpl", v
}

// Naive is the baseline matmul: one thread per element of C.
type Naive struct {
	WGX, WGY int // workgroup shape over N and M
}

func (p Naive) Name() string { return "matmul_naive" }

func (p Naive) String() string { return fmt.Sprintf("wgx=%d/wgy=%d", p.WGX, p.WGY) }

func (p Naive) WorkgroupSize() [3]uint32 { return [3]uint32{uint32(p.WGX), uint32(p.WGY), 1} }

func (p Naive) Groups(m, n int) [3]uint32 {
	return [3]uint32{uint32(ceilDiv(n, p.WGX)), uint32(ceilDiv(m, p.WGY)), 1}
}

func (p Naive) Check() error {
	if p.WGX < 1 || p.WGY < 1 || p.WGX > 1024 || p.WGY > 1024 {
		return fmt.Errorf("%w: workgroup %dx%d", errParams, p.WGX, p.WGY)
	}
	return nil
}

func (p Naive) view() (string, any) {
	return "naive.wgsl.tmpl", struct {
		Naive
		Header string
	}{p, header(p)}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func (p Matmul) Tile() (tm, tn, tk, vec int) { return p.TileM(), p.TileN(), p.TK, p.Vec }

// Fits accepts every shape.
func (p Naive) Fits(m, n, k int) bool { return m > 0 && n > 0 && k > 0 }

func (p Naive) Tile() (tm, tn, tk, vec int) { return p.WGY, p.WGX, 1, 1 }
