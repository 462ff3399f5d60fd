package templates

import "fmt"

// ArgmaxParts and ArgmaxMerge are Argmax in two dispatches, for a
// vocabulary too long for one workgroup to scan quickly: ArgmaxParts
// reduces each chunk of WG*Per values in a workgroup of its own to its
// largest value and that value's index, and ArgmaxMerge reduces those
// pairs in one workgroup to the index. The result is Argmax's: the index
// of the largest of n values, the lowest index on ties; x holds no NaN.

// ArgmaxParts writes, for chunk c (values c*Chunk() .. min(n,
// (c+1)*Chunk())-1), the largest value's f32 bits to parts[2c] and its
// index, the lowest on ties, to parts[2c+1]. Each thread scans Per values
// WG apart (neighbouring threads read neighbouring values), keeping the
// first of its largest; a tree in workgroup memory keeps the larger of
// each two pairs, the lower index on a tie.
//
// Bindings: 0 uniform {n, pad, pad, pad}, 1 x read [n], 2 parts read_write
// array<u32> [2*Parts(n)]. n >= 1. Dispatch Groups(n).
type ArgmaxParts struct {
	WG  int // threads per workgroup, a power of two in 32..256
	Per int // values per thread, 1..64
}

func (p ArgmaxParts) Name() string             { return "argmax-parts" }
func (p ArgmaxParts) String() string           { return fmt.Sprintf("wg=%d/per=%d", p.WG, p.Per) }
func (p ArgmaxParts) WorkgroupSize() [3]uint32 { return wg1(p.WG) }

func (p ArgmaxParts) Check() error {
	if p.Per < 1 || p.Per > 64 {
		return fmt.Errorf("%w: argmax values per thread %d outside 1..64", errParams, p.Per)
	}
	return checkBlockWG(p.WG)
}

// Chunk is the values one workgroup reduces.
func (p ArgmaxParts) Chunk() int { return p.WG * p.Per }

// Parts is the number of chunks, and of pairs written, for n values.
func (p ArgmaxParts) Parts(n int) int { return ceilDiv(n, p.Chunk()) }

// Groups is the dispatch size: one workgroup per chunk, folded into a
// second dimension past 32768.
func (p ArgmaxParts) Groups(n int) [3]uint32 { return grid(p.Parts(n)) }

func (p ArgmaxParts) view() (string, any) {
	return "argmaxparts.wgsl.tmpl", struct {
		blockView
		Per, Chunk int
	}{newBlockView(p, p.WG), p.Per, p.Chunk()}
}

// ArgmaxMerge writes to out[0] the index of the largest of n (value,
// index) pairs (value as f32 bits in pairs[2i], index in pairs[2i+1]),
// the lowest index among equal values: the second dispatch of ArgmaxParts.
// One workgroup: threads stride over the pairs, then a tree.
//
// Bindings: 0 uniform {n, pad, pad, pad}, 1 pairs read array<u32> [2n], 2
// out read_write array<u32> [1]. n >= 1. Dispatch Groups().
type ArgmaxMerge struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p ArgmaxMerge) Name() string             { return "argmax-merge" }
func (p ArgmaxMerge) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p ArgmaxMerge) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p ArgmaxMerge) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: a single workgroup.
func (p ArgmaxMerge) Groups() [3]uint32 { return [3]uint32{1, 1, 1} }

func (p ArgmaxMerge) view() (string, any) { return "argmaxmerge.wgsl.tmpl", newBlockView(p, p.WG) }
