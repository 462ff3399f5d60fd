package templates

import (
	"fmt"
	"math"
)

// The kernels below are the non-matmul steps of a Llama decode block. Each
// binds its buffers to @group(0) in the order its doc comment lists, takes
// sizes from a 16-byte uniform of u32 fields (f32 values as their bits,
// read back with bitcast<f32>), and has entry point main. Buffers may be
// longer than the sizes say: kernels index by the uniform, never by
// arrayLength. The CPU references in package ops state each contract as
// code (ops.RMSNormRef and the others).

// RMSNorm normalises rows vectors of n: out = weight * (x / sqrt(mean(x²) +
// eps)), computed as llama2.c does: ss = sum x², ss /= n, ss += eps, ss =
// 1/sqrt(ss), out = weight * (ss * x). One workgroup per row sums the
// squares in a tree. With NoWeight there is no weight: out = ss * x, Llama
// 4's QK norm (rows = heads, n = head_dim).
//
// Bindings: 0 uniform {n, eps (f32 bits), rows, pad}, 1 x read [rows*n],
// 2 weight read [n], 3 out read_write [rows*n]; with NoWeight 0 uniform,
// 1 x, 2 out. Dispatch Groups(rows).
type RMSNorm struct {
	WG       int  // threads per workgroup, a power of two in 32..256
	NoWeight bool // no learned weight: out = x / sqrt(mean(x²) + eps)
}

func (p RMSNorm) Name() string             { return "rmsnorm" }
func (p RMSNorm) String() string           { return fmt.Sprintf("wg=%d/noweight=%t", p.WG, p.NoWeight) }
func (p RMSNorm) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p RMSNorm) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: one workgroup per row, rows <= 65535.
func (p RMSNorm) Groups(rows int) [3]uint32 { return [3]uint32{uint32(rows), 1, 1} }

func (p RMSNorm) view() (string, any) {
	v := newBlockView(p, p.WG)
	v.NoWeight = p.NoWeight
	return "rmsnorm.wgsl.tmpl", v
}

// Rope rotates, in place, the first rope_dim dimensions of each of heads
// vectors of head_dim by position pos: pair i (0 <= i < rope_dim/2) turns
// by the angle pos / theta^(2i/rope_dim), divided by freqs[i] with Freqs
// (Llama 3.1's rope_freqs table, as ggml applies it: (pos * freq) /
// freqs[i]). Pair i is (v[2i], v[2i+1]) in llama2.c and GGUF's layout, or
// (v[i], v[i+rope_dim/2]) with Half, Hugging Face's. Dimensions from
// rope_dim to head_dim are left as they are. One thread per pair.
//
// Bindings: 0 uniform {heads, head_dim, rope_dim, pos}, 1 uniform {theta
// (f32 bits), pad, pad, pad}, 2 v read_write [heads*head_dim], and with
// Freqs 3 freqs read [rope_dim/2]. rope_dim is even and at most head_dim.
// Dispatch Groups(heads, ropeDim).
//
// cos and sin are the kernel's own, not WGSL's built-ins (bounded only on
// [-pi, pi], and loosely): the angle a is split as k*pi/2 + r, k =
// round(a * RopeTwoOverPi), r = (a - k*RopePiOver2Hi) - k*RopePiOver2Lo in
// f32 (ops.RopeReduce), and polynomials on |r| <= pi/4 give cos and sin
// within about 2^-23 + |a| 2^-35 of those of a.
type Rope struct {
	WG    int  // threads per workgroup, a power of two in 32..256
	Half  bool // pair dimension i with i+rope_dim/2, not with i+1
	Freqs bool // divide each pair's angle by its entry of a frequency-factor table
}

// The Cody-Waite split of pi/2 that the RoPE kernels reduce angles by.
// RopePiOver2Hi has 8 significant bits, so k*RopePiOver2Hi, and its
// subtraction from the angle, are exact for |k| < 83468 (angles below
// 131000 rad); RopePiOver2Lo is the f32 nearest pi/2 - RopePiOver2Hi.
// The templates write them as the shortest decimals of these f32 values.
const (
	RopeTwoOverPi float32 = 2 / math.Pi
	RopePiOver2Hi float32 = 1.5703125
	RopePiOver2Lo float32 = math.Pi/2 - 1.5703125
)

func (p Rope) Name() string { return "rope" }
func (p Rope) String() string {
	return fmt.Sprintf("wg=%d/half=%t/freqs=%t", p.WG, p.Half, p.Freqs)
}
func (p Rope) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p Rope) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: one thread per pair of every head,
// ceil(heads*ropeDim/2 / WG) workgroups (folded into a second dimension
// past 32768).
func (p Rope) Groups(heads, ropeDim int) [3]uint32 { return grid(ceilDiv(heads*(ropeDim/2), p.WG)) }

func (p Rope) view() (string, any) {
	v := newBlockView(p, p.WG)
	v.Half, v.Freqs = p.Half, p.Freqs
	return "rope.wgsl.tmpl", v
}

// SwiGLU is the gated activation of the FFN, in place on gate: gate =
// (gate * sigmoid(gate)) * up, as llama2.c computes it (val *= 1/(1 +
// exp(-val)); val *= up).
//
// Bindings: 0 uniform {n, pad, pad, pad}, 1 gate read_write [n], 2 up read
// [n]. Dispatch Groups(n).
type SwiGLU struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p SwiGLU) Name() string             { return "swiglu" }
func (p SwiGLU) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p SwiGLU) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p SwiGLU) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: one thread per element.
func (p SwiGLU) Groups(n int) [3]uint32 { return grid(ceilDiv(n, p.WG)) }

func (p SwiGLU) view() (string, any) { return "swiglu.wgsl.tmpl", newBlockView(p, p.WG) }

// Add is the residual connection: x += y.
//
// Bindings: 0 uniform {n, pad, pad, pad}, 1 x read_write [n], 2 y read [n].
// Dispatch Groups(n).
type Add struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p Add) Name() string             { return "add" }
func (p Add) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p Add) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p Add) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: one thread per element.
func (p Add) Groups(n int) [3]uint32 { return grid(ceilDiv(n, p.WG)) }

func (p Add) view() (string, any) { return "add.wgsl.tmpl", newBlockView(p, p.WG) }

// Embed copies the embedding of one token, whose id the GPU itself wrote
// (the previous step's Argmax): out = table[token*dim : (token+1)*dim].
//
// Bindings: 0 uniform {dim, pad, pad, pad}, 1 token read array<u32> [1],
// 2 table read [vocab*dim], 3 out read_write [dim]. token < vocab.
// Dispatch Groups(dim).
type Embed struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p Embed) Name() string             { return "embed" }
func (p Embed) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p Embed) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p Embed) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: one thread per element.
func (p Embed) Groups(dim int) [3]uint32 { return grid(ceilDiv(dim, p.WG)) }

func (p Embed) view() (string, any) { return "embed.wgsl.tmpl", newBlockView(p, p.WG) }

// EmbedQ is the embedding lookup from a quantized table: the row of the
// token the GPU wrote, dequantized from the packed layout Gemv reads (quant
// package: element c of a row in word c/(32/Bits) at bit (c%(32/Bits))*Bits,
// one scale, and with Asym one min, per group). Symmetric: out[c] = f32(u -
// 2^(Bits-1)) * scale; asymmetric: out[c] = f32(u) * scale + min, which a
// driver may fuse into one multiply-add. Like Gemv the table may be split
// by rows into parts bound one at a time: a part holds rows row_offset ..
// row_offset+rows-1 and writes out only when the token is among them.
//
// Bindings: 0 uniform {rows, cols, glen, row_offset} (Gemv's), 1 token read
// array<u32> [1], 2 words read [rows*cols*Bits/32], 3 scales read
// [rows*cols/glen], 4 out read_write [cols], and with Asym 5 mins read
// [rows*cols/glen]. cols is a multiple of 32 and of glen (the group, or
// cols for one scale per row). Dispatch Groups(cols).
type EmbedQ struct {
	Bits  int  // 8, 4 or 2
	Group int  // elements per scale: 32, 64, 128, or 0 for one per row
	Asym  bool // value = u*scale + min, else (u - 2^(Bits-1))*scale
	WG    int  // threads per workgroup, a power of two in 32..256
}

func (p EmbedQ) Name() string             { return "embedq" }
func (p EmbedQ) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p EmbedQ) WorkgroupSize() [3]uint32 { return wg1(p.WG) }

// Format names the table's format the way the quant package does.
func (p EmbedQ) Format() string { return Gemv{Bits: p.Bits, Group: p.Group, Asym: p.Asym}.Format() }

func (p EmbedQ) Check() error {
	switch {
	case p.Bits != 8 && p.Bits != 4 && p.Bits != 2:
		return fmt.Errorf("%w: %d bits", errParams, p.Bits)
	case p.Group != 0 && p.Group != 32 && p.Group != 64 && p.Group != 128:
		return fmt.Errorf("%w: group %d", errParams, p.Group)
	}
	return checkBlockWG(p.WG)
}

// Groups is the dispatch size: one thread per element of the row.
func (p EmbedQ) Groups(cols int) [3]uint32 { return grid(ceilDiv(cols, p.WG)) }

func (p EmbedQ) view() (string, any) {
	return "embedq.wgsl.tmpl", struct {
		blockView
		Format           string // the params do not name it
		Asym             bool
		PerWord, Shift   int // codes per word; log2 of it
		Bits, Mask, Half int
	}{newBlockView(p, p.WG), p.Format(), p.Asym, 32 / p.Bits, log2(32 / p.Bits), p.Bits, 1<<p.Bits - 1, 1 << (p.Bits - 1)}
}

// KVStore appends this position's key and value to the caches:
// kcache[pos*kv_dim + i] = k[i], vcache[pos*kv_dim + i] = v[i]; nothing else
// in the caches is written.
//
// Bindings: 0 uniform {kv_dim, pos, pad, pad}, 1 k read [kv_dim], 2 v read
// [kv_dim], 3 kcache read_write [seq*kv_dim], 4 vcache read_write
// [seq*kv_dim]. pos < seq. Dispatch Groups(kvDim).
type KVStore struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p KVStore) Name() string             { return "kvstore" }
func (p KVStore) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p KVStore) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p KVStore) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: one thread per element of k and v.
func (p KVStore) Groups(kvDim int) [3]uint32 { return grid(ceilDiv(kvDim, p.WG)) }

func (p KVStore) view() (string, any) { return "kvstore.wgsl.tmpl", newBlockView(p, p.WG) }

// Attention is decode attention for one query position with grouped-query
// heads: head h reads kv head h / (heads/kv_heads); score[t] = dot(q_h, k_t)
// / sqrt(head_dim) for t < len; softmax over them as llama2.c does it
// (subtract the maximum, exponentiate, divide by the sum); out_h = sum_t
// softmax[t] * v_t. One workgroup per head keeps the scores in workgroup
// memory, so len is at most MaxSeq; longer contexts need a kernel that
// splits the positions over workgroups.
//
// Threads stride over positions for the scores and the softmax, reducing
// maximum and sum in a tree. For the weighted sum of values they stride over
// head_dim; where the workgroup has at least twice head_dim threads,
// WG/head_dim groups of threads each sum a strided share of the positions
// and the shares are added in order.
//
// Bindings: 0 uniform {heads, kv_heads, head_dim, len}, 1 q read
// [heads*head_dim], 2 kcache read [seq*kv_dim], 3 vcache read [seq*kv_dim],
// 4 out read_write [heads*head_dim], with kv_dim = kv_heads*head_dim.
// heads is a multiple of kv_heads and 1 <= len <= MaxSeq. Dispatch
// Groups(heads).
type Attention struct {
	WG int // threads per workgroup, a power of two in 32..256
	// MaxSeq is the longest len the kernel accepts: the scores' workgroup
	// array has max(MaxSeq, WG) entries, at most 4096 so that it fits
	// WebGPU's default 16 KiB of workgroup memory.
	MaxSeq int
}

// MaxAttentionSeq bounds Attention.MaxSeq: 4096 f32 scores fill WebGPU's
// default 16 KiB of workgroup memory.
const MaxAttentionSeq = 4096

func (p Attention) Name() string             { return "attention" }
func (p Attention) String() string           { return fmt.Sprintf("wg=%d/maxseq=%d", p.WG, p.MaxSeq) }
func (p Attention) WorkgroupSize() [3]uint32 { return wg1(p.WG) }

func (p Attention) Check() error {
	if p.MaxSeq < 1 || p.MaxSeq > MaxAttentionSeq {
		return fmt.Errorf("%w: attention max seq %d outside 1..%d (longer contexts need a split kernel)", errParams, p.MaxSeq, MaxAttentionSeq)
	}
	return checkBlockWG(p.WG)
}

// WorkgroupBytes is the workgroup memory the kernel declares.
func (p Attention) WorkgroupBytes() int { return 4 * p.scores() }

// scores is the length of the workgroup array: the scores, whose first WG
// entries double as the reductions' scratch.
func (p Attention) scores() int { return max(p.MaxSeq, p.WG) }

// Groups is the dispatch size: one workgroup per query head.
func (p Attention) Groups(heads int) [3]uint32 { return [3]uint32{uint32(heads), 1, 1} }

func (p Attention) view() (string, any) {
	v := newBlockView(p, p.WG)
	v.Scores = p.scores()
	return "attention.wgsl.tmpl", v
}

// Argmax writes the index of the largest of n values, the lowest index on
// ties, as llama2.c's sequential scan gives. x holds no NaN. One workgroup
// reduces (value, index) pairs in a tree.
//
// Bindings: 0 uniform {n, pad, pad, pad}, 1 x read [n], 2 out read_write
// array<u32> [1]. n >= 1. Dispatch Groups().
type Argmax struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p Argmax) Name() string             { return "argmax" }
func (p Argmax) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p Argmax) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p Argmax) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: a single workgroup.
func (p Argmax) Groups() [3]uint32 { return [3]uint32{1, 1, 1} }

func (p Argmax) view() (string, any) { return "argmax.wgsl.tmpl", newBlockView(p, p.WG) }

// MatVec is the f32 matrix-vector product y = W x for any cols: Rows rows
// per workgroup, threads striding over cols, a tree reduction per row.
//
// Bindings: 0 uniform {rows, cols, pad, pad}, 1 w read [rows*cols]
// row-major, 2 x read [cols], 3 y read_write [rows]. Dispatch Groups(rows).
type MatVec struct {
	WG   int // threads per workgroup, a power of two in 32..256
	Rows int // output rows per workgroup, 1..16
}

func (p MatVec) Name() string             { return "matvec" }
func (p MatVec) String() string           { return fmt.Sprintf("wg=%d/rows=%d", p.WG, p.Rows) }
func (p MatVec) WorkgroupSize() [3]uint32 { return wg1(p.WG) }

func (p MatVec) Check() error {
	if p.Rows < 1 || p.Rows > 16 {
		return fmt.Errorf("%w: matvec rows per workgroup %d outside 1..16", errParams, p.Rows)
	}
	return checkBlockWG(p.WG)
}

// WorkgroupBytes is the workgroup memory the kernel declares.
func (p MatVec) WorkgroupBytes() int { return 4 * p.WG * p.Rows }

// Groups is the dispatch size: ceil(rows/Rows) workgroups, folded into a
// second dimension past 32768 (the classifier of a 128256-token
// vocabulary).
func (p MatVec) Groups(rows int) [3]uint32 { return grid(ceilDiv(rows, p.Rows)) }

func (p MatVec) view() (string, any) {
	v := newBlockView(p, p.WG)
	v.Rows = p.Rows
	return "matvec.wgsl.tmpl", v
}

// blockView is what every block template is executed with: the derived
// sizes as plain numbers, so that templates write them as typed literals.
type blockView struct {
	Header   string
	WG       int
	HalfWG   int  // WG/2, the first stride of a tree reduction
	Half     bool // Rope: Hugging Face's pairing
	Freqs    bool // Rope: a frequency-factor table
	NoWeight bool // RMSNorm: no learned weight
	Rows     int  // MatVec: rows per workgroup
	Scores   int  // Attention: entries of the scores array
	// MaxHeadDim is QKVHead's workgroup copy of a head.
	MaxHeadDim int
	KV8        bool // QKVHead: int8 caches
}

func newBlockView(p Kernel, wg int) blockView {
	return blockView{Header: header(p), WG: wg, HalfWG: wg / 2}
}

func log2(n int) int {
	l := 0
	for ; n > 1; n >>= 1 {
		l++
	}
	return l
}

func wg1(wg int) [3]uint32 { return [3]uint32{uint32(wg), 1, 1} }

func checkBlockWG(wg int) error {
	if wg < 32 || wg > 256 || wg&(wg-1) != 0 {
		return fmt.Errorf("%w: workgroup %d is not a power of two in 32..256", errParams, wg)
	}
	return nil
}

// grid lays out n workgroups as x by y with x at most 32768; kernels number
// them (y*x_count + x). The tail of the last row of a fold is idle.
func grid(n int) [3]uint32 {
	if n <= 0 {
		return [3]uint32{0, 1, 1}
	}
	x := min(n, 32768)
	return [3]uint32{uint32(x), uint32(ceilDiv(n, x)), 1}
}
