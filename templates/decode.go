package templates

import "fmt"

// The kernels below fuse steps of a Llama decode or prefill step so that a
// token needs fewer dispatches: one GEMV over the concatenated Q, K and V
// rows is followed by QKVRope, one over the gate and up rows by
// PackedSwiGLU, and each residual add is folded into the RMSNorm after it
// (AddRMSNorm). Like the block kernels they bind @group(0) in the order
// their doc comments list, take sizes from a uniform of u32 fields, and
// index by the uniform, never by arrayLength. Each works on rows
// consecutive token rows, one for decode.

// QKVRope splits rows of [q | k | v] (the output of one GEMV or GEMM over
// the concatenated projections) at position pos+r for row r: it rotates q
// and k as Rope does (adjacent pairs (v[2i], v[2i+1]) of the first rope_dim
// dimensions of each head turn by (pos+r) / theta^(2i/rope_dim), the same
// arithmetic), writes q to row r of q, and stores k and v in the caches
// at position pos+r as KVStore does. One thread per pair of elements.
//
// Bindings: 0 uniform {heads, kv_heads, head_dim, rope_dim}, 1 uniform
// {theta (f32 bits), pos, rows, pad}, 2 qkv read [rows*(q_dim+2*kv_dim)],
// 3 q read_write [rows*q_dim], 4 kcache read_write [seq*kv_dim], 5 vcache
// read_write [seq*kv_dim], with q_dim = heads*head_dim and kv_dim =
// kv_heads*head_dim, and with Freqs 6 freqs read [rope_dim/2], the
// divisors of the pairs' angles as Rope takes them. head_dim and rope_dim
// are even, rope_dim <= head_dim, pos+rows <= seq. Dispatch Groups(rows,
// qDim+2*kvDim).
type QKVRope struct {
	WG    int  // threads per workgroup, a power of two in 32..256
	Freqs bool // divide each pair's angle by its entry of a frequency-factor table
}

func (p QKVRope) Name() string { return "qkvrope" }
func (p QKVRope) String() string {
	if p.Freqs {
		return fmt.Sprintf("wg=%d/freqs", p.WG)
	}
	return fmt.Sprintf("wg=%d", p.WG)
}
func (p QKVRope) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p QKVRope) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size for rows rows of width elements: one thread
// per pair.
func (p QKVRope) Groups(rows, width int) [3]uint32 { return grid(ceilDiv(rows*(width/2), p.WG)) }

func (p QKVRope) view() (string, any) {
	v := newBlockView(p, p.WG)
	v.Freqs = p.Freqs
	return "qkvrope.wgsl.tmpl", v
}

// AddRMSNorm is the residual add and the RMSNorm after it: x += y, then out
// = weight * (x / sqrt(mean(x²) + eps)) with the same arithmetic as Add
// then RMSNorm (the sum of squares in RMSNorm's order, over the updated x).
// One workgroup per row.
//
// Bindings: 0 uniform {n, eps (f32 bits), rows, pad}, 1 x read_write
// [rows*n], 2 y read [rows*n], 3 weight read [n], 4 out read_write
// [rows*n]. Dispatch Groups(rows).
type AddRMSNorm struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p AddRMSNorm) Name() string             { return "addrmsnorm" }
func (p AddRMSNorm) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p AddRMSNorm) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p AddRMSNorm) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: one workgroup per row, rows <= 65535.
func (p AddRMSNorm) Groups(rows int) [3]uint32 { return [3]uint32{uint32(rows), 1, 1} }

func (p AddRMSNorm) view() (string, any) { return "addrmsnorm.wgsl.tmpl", newBlockView(p, p.WG) }

// PackedSwiGLU is SwiGLU over rows of [gate | up] (the output of one GEMV
// or GEMM over the concatenated gate and up projections): out[r][i] =
// silu(gate) * up with gate = gu[r][i], up = gu[r][n+i], in SwiGLU's order.
//
// Bindings: 0 uniform {n, rows, pad, pad}, 1 gu read [rows*2n], 2 out
// read_write [rows*n]. Dispatch Groups(rows*n).
type PackedSwiGLU struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p PackedSwiGLU) Name() string             { return "packedswiglu" }
func (p PackedSwiGLU) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p PackedSwiGLU) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p PackedSwiGLU) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: one thread per output element.
func (p PackedSwiGLU) Groups(n int) [3]uint32 { return grid(ceilDiv(n, p.WG)) }

func (p PackedSwiGLU) view() (string, any) { return "packedswiglu.wgsl.tmpl", newBlockView(p, p.WG) }

// EmbedQuant looks up token embeddings in a table held in one of the quant
// package's formats (Bits, Asym; the group length comes from the uniform),
// possibly split by rows over several buffers: a dispatch covers the table
// rows row_offset..row_offset+part_rows-1 and writes the rows of out whose
// token falls there, out[r] = dequantized table[tokens[r]], as
// quant.Tensor.DequantizeRow computes it.
//
// Bindings: 0 uniform {dim, glen, rows, row_offset, part_rows, pad, pad,
// pad}, 1 tokens read array<u32> [rows], 2 words read [part_rows*dim*Bits/32],
// 3 scales read [part_rows*dim/glen], 4 out read_write [rows*dim], and 5
// mins read for asymmetric formats. dim is a multiple of 32 and of glen.
// Dispatch Groups(rows*dim).
type EmbedQuant struct {
	Bits int  // 8, 4 or 2
	Asym bool // value = u*scale + min, else (u - 2^(Bits-1))*scale
	WG   int  // threads per workgroup, a power of two in 32..256
}

func (p EmbedQuant) Name() string { return "embedquant" }
func (p EmbedQuant) String() string {
	return fmt.Sprintf("bits=%d/asym=%t/wg=%d", p.Bits, p.Asym, p.WG)
}
func (p EmbedQuant) WorkgroupSize() [3]uint32 { return wg1(p.WG) }

func (p EmbedQuant) Check() error {
	if p.Bits != 8 && p.Bits != 4 && p.Bits != 2 {
		return fmt.Errorf("%w: %d bits", errParams, p.Bits)
	}
	return checkBlockWG(p.WG)
}

// Groups is the dispatch size: one thread per output element.
func (p EmbedQuant) Groups(n int) [3]uint32 { return grid(ceilDiv(n, p.WG)) }

type embedQuantView struct {
	blockView
	Bits, Per, Half int
	Mask            string
	Asym            bool
}

func (p EmbedQuant) view() (string, any) {
	return "embedquant.wgsl.tmpl", embedQuantView{blockView: newBlockView(p, p.WG), Bits: p.Bits, Per: 32 / p.Bits,
		Half: 1 << (p.Bits - 1), Mask: fmt.Sprintf("0x%xu", (1<<p.Bits)-1), Asym: p.Asym}
}

// CopyRange copies n floats: dst[dst_offset+i] = src[src_offset+i]. It
// moves one row between a batch's matrix and a single-row buffer, as the
// per-position loop of prefill attention and the classifier of the last
// position need.
//
// Bindings: 0 uniform {n, src_offset, dst_offset, pad}, 1 src read, 2 dst
// read_write. Dispatch Groups(n).
type CopyRange struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p CopyRange) Name() string             { return "copyrange" }
func (p CopyRange) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p CopyRange) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p CopyRange) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: one thread per element.
func (p CopyRange) Groups(n int) [3]uint32 { return grid(ceilDiv(n, p.WG)) }

func (p CopyRange) view() (string, any) { return "copyrange.wgsl.tmpl", newBlockView(p, p.WG) }

// QKVHead is QKVRope for Llama 4's attention: a workgroup per head of a
// row of [q | k | v] rotates q and k where rope_dim > 0 (zero on a NoPE
// layer), RMS-normalises each of their heads without a weight where qknorm
// is set (the sum of squares of the rotated head; a thread writes back
// elements the others rotated, so the head goes through workgroup memory),
// scales q by the attention temperature log(floor((pos+1)/temp_floor) + 1)
// * temp_scale + 1 (1 for temp_scale 0), writes q to its row and stores k
// and v in the caches at the row's position.
//
// Bindings: 0 uniform {heads, kv_heads, head_dim, rope_dim, eps (f32
// bits), qknorm, temp_floor (f32 bits), temp_scale (f32 bits)}, then as
// QKVRope's. head_dim is even and at most MaxHeadDim (a multiple of 4 with
// KV8). With KV8 the caches are int8 as KVStore8 stores them, their scales
// bound after them (6 kscale, 7 vscale) and the frequency factors last.
// Dispatch Groups(rows, heads + 2*kv_heads).
type QKVHead struct {
	WG    int  // threads per workgroup, a power of two in 32..256
	Freqs bool // divide each pair's angle by its entry of a frequency-factor table
	KV8   bool // int8 caches with a scale per position and key/value head
}

// MaxHeadDim is the longest head QKVHead takes.
const MaxHeadDim = 256

func (p QKVHead) Name() string { return "qkvhead" }
func (p QKVHead) String() string {
	s := fmt.Sprintf("wg=%d", p.WG)
	if p.Freqs {
		s += "/freqs"
	}
	if p.KV8 {
		s += "/kv8"
	}
	return s
}
func (p QKVHead) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p QKVHead) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: a workgroup per head of each row.
func (p QKVHead) Groups(rows, heads int) [3]uint32 {
	return [3]uint32{uint32(heads), uint32(rows), 1}
}

func (p QKVHead) view() (string, any) {
	v := newBlockView(p, p.WG)
	v.Freqs, v.KV8 = p.Freqs, p.KV8
	v.MaxHeadDim = MaxHeadDim
	return "qkvhead.wgsl.tmpl", v
}
