package templates

import "fmt"

// The flash-attention kernels below share one 32-byte uniform, Attn:
//
//	struct Attn {
//	  heads, kv_heads: u32,  // query heads; key/value heads (heads % kv_heads == 0)
//	  q_len, q_pos: u32,     // queries, and the position of the first
//	  chunk: u32,            // Llama 4 chunked attention: 0, or the chunk length
//	  split: u32,            // decode: positions per workgroup
//	  floor_scale: u32,      // f32 bits; 0 turns temperature tuning off
//	  attn_scale: u32,       // f32 bits
//	}
//
// Query i (0 <= i < q_len) sits at position p = q_pos + i and sees key
// positions lo(p)..p, where lo(p) = 0, or (p / chunk) * chunk with a chunk:
// a causal mask, and Llama 4's chunked one, which is not a sliding window.
// With temperature tuning (Llama 4's layers without RoPE) the query is
// first scaled by log(floor((p + 1) / floor_scale) + 1) * attn_scale + 1.
// Scores are dot(q, k) / sqrt(head_dim); softmax is taken online, tile by
// tile, in f32.
//
// Queries and outputs are rows of heads*head_dim f32, query head h reading
// key/value head h / (heads/kv_heads). The caches are rows of
// kv_dim = kv_heads*head_dim per position: f32, or with KV8 int8 codes
// packed four to a u32 word (element 4w+j in byte j, two's complement) and
// one f32 scale per position and key/value head (kscale, vscale
// [seq*kv_heads]): the value is code * scale. KVStore8 writes that layout.

// FlashPrefill is prefill attention: q_len queries at once, tiles of BQ
// queries of one head and BK keys staged in workgroup memory, TR x TC
// threads each holding BQ/TR query rows, scores for BK/TC keys and output
// for HD/TC dimensions in registers.
//
// Bindings: 0 uniform Attn, 1 q read [q_len*heads*HD], 2 kcache read,
// 3 vcache read, then with KV8 4 kscale read, 5 vscale read; last out
// read_write [q_len*heads*HD]. The caches hold every position up to
// q_pos+q_len-1. Dispatch Groups(qLen, heads).
type FlashPrefill struct {
	HD     int  // head dimension, a multiple of 4 in 32..256
	BQ, BK int  // queries and keys per tile
	TR, TC int  // threads over queries and over keys (and dimensions)
	KV8    bool // int8 caches with per-position, per-head scales
}

func (p FlashPrefill) Name() string { return "flash-prefill" }
func (p FlashPrefill) String() string {
	return fmt.Sprintf("hd=%d/bq=%d/bk=%d/tr=%d/tc=%d/kv8=%t", p.HD, p.BQ, p.BK, p.TR, p.TC, p.KV8)
}
func (p FlashPrefill) WorkgroupSize() [3]uint32 { return [3]uint32{uint32(p.TR * p.TC), 1, 1} }

func (p FlashPrefill) Check() error {
	switch {
	case p.HD < 32 || p.HD > 256 || p.HD%4 != 0:
		return fmt.Errorf("%w: head dim %d is not a multiple of 4 in 32..256", errParams, p.HD)
	case p.TR < 1 || p.TC < 1 || p.TR*p.TC > 1024:
		return fmt.Errorf("%w: %dx%d threads", errParams, p.TR, p.TC)
	case p.BQ%p.TR != 0 || p.BQ/p.TR > 8:
		return fmt.Errorf("%w: %d queries over %d thread rows (at most 8 each)", errParams, p.BQ, p.TR)
	case p.BK%p.TC != 0 || p.BK/p.TC > 8:
		return fmt.Errorf("%w: %d keys over %d thread columns (at most 8 each)", errParams, p.BK, p.TC)
	case p.HD%(4*p.TC) != 0 || p.HD/p.TC > 32:
		return fmt.Errorf("%w: head dim %d over %d thread columns in vec4s (at most 32 each)", errParams, p.HD, p.TC)
	}
	return nil
}

// WorkgroupBytes is the workgroup memory: the query tile, one key or value
// tile (rows padded by a vec4 against bank conflicts) and the scores.
func (p FlashPrefill) WorkgroupBytes() int {
	return 16*(p.BQ+p.BK)*(p.HD/4+1) + 4*p.BQ*p.BK
}

// Groups is the dispatch size: query tiles by heads.
func (p FlashPrefill) Groups(qLen, heads int) [3]uint32 {
	return [3]uint32{uint32(ceilDiv(qLen, p.BQ)), uint32(heads), 1}
}

func (p FlashPrefill) view() (string, any) {
	return "flash_prefill.wgsl.tmpl", flashView{
		Header: header(p), WG: p.TR * p.TC, HD: p.HD, HD4: p.HD / 4, Row4: p.HD/4 + 1,
		BQ: p.BQ, BK: p.BK, TR: p.TR, TC: p.TC, RQ: p.BQ / p.TR, RK: p.BK / p.TC, RC: p.HD / 4 / p.TC,
		KV8: p.KV8, Out: 4 + 2*b2i(p.KV8),
	}
}

// FlashDecode is the first half of split decode attention (flash
// decoding) for the one query at q_pos: workgroup (s, g) takes positions
// lo + s*split .. lo + (s+1)*split - 1 (up to q_pos) of key/value head g
// for all its G query heads, so each key and value is read once; tiles of
// BT keys are staged in workgroup memory, values read straight from the
// cache. It writes, per split and query head, the unnormalised output and
// the running maximum and sum, which FlashReduce combines.
//
// Bindings: 0 uniform Attn, 1 q read [heads*HD], 2 kcache read, 3 vcache
// read, then with KV8 4 kscale read, 5 vscale read; then opart read_write
// [splits*heads*HD], mlpart read_write [splits*heads*2]. Dispatch
// Groups(splits, kvHeads) with splits = ceil(len / split), len the number
// of positions the query sees.
//
// With Final the query must see one split's positions at most: the kernel
// divides by the sum itself and writes the head outputs to out read_write
// [heads*HD] (the binding after the caches), with no FlashReduce.
type FlashDecode struct {
	HD  int  // head dimension, a multiple of 4 in 32..256
	G   int  // query heads per key/value head, 1..16
	WG  int  // threads, a power of two in 32..256
	BT  int  // keys per tile
	KV8 bool // int8 caches
	// StageV stages each tile's values in workgroup memory with its keys,
	// all threads loading at once, the next tile's loads issued into
	// registers before this tile is computed on; without it each thread
	// reads its own values from the cache while it sums.
	StageV bool
	// Final normalises and writes the output for a single split; chosen by
	// the caller for short contexts, not tuned (profile IDs never carry it).
	Final bool
}

func (p FlashDecode) Name() string { return "flash-decode" }
func (p FlashDecode) String() string {
	s := fmt.Sprintf("hd=%d/g=%d/wg=%d/bt=%d/kv8=%t", p.HD, p.G, p.WG, p.BT, p.KV8)
	if p.StageV {
		s += "/stagev"
	}
	if p.Final {
		s += "/final"
	}
	return s
}
func (p FlashDecode) WorkgroupSize() [3]uint32 { return wg1(p.WG) }

func (p FlashDecode) Check() error {
	switch {
	case p.HD < 32 || p.HD > 256 || p.HD%4 != 0:
		return fmt.Errorf("%w: head dim %d is not a multiple of 4 in 32..256", errParams, p.HD)
	case p.G < 1 || p.G > 16:
		return fmt.Errorf("%w: %d query heads per key head outside 1..16", errParams, p.G)
	case p.BT < 1 || p.BT > 256:
		return fmt.Errorf("%w: tile of %d keys outside 1..256", errParams, p.BT)
	case ceilDiv(p.BT*p.HD/4, p.WG) > 16:
		return fmt.Errorf("%w: tile of %d vec4s over %d threads (at most 16 each)", errParams, p.BT*p.HD/4, p.WG)
	case ceilDiv(p.G*p.HD/4, p.WG) > 8:
		return fmt.Errorf("%w: %d output vec4s over %d threads (at most 8 each)", errParams, p.G*p.HD/4, p.WG)
	}
	return checkBlockWG(p.WG)
}

// WorkgroupBytes is the workgroup memory: the queries, a padded key tile,
// the scores and two floats per head.
func (p FlashDecode) WorkgroupBytes() int {
	return 4*p.G*p.HD + 16*p.BT*(p.HD/4+1)*(1+b2i(p.StageV)) + 4*p.G*p.BT + 8*p.G
}

// Groups is the dispatch size: splits by key/value heads.
func (p FlashDecode) Groups(splits, kvHeads int) [3]uint32 {
	return [3]uint32{uint32(splits), uint32(kvHeads), 1}
}

func (p FlashDecode) view() (string, any) {
	return "flash_decode.wgsl.tmpl", flashView{
		Header: header(p), WG: p.WG, HD: p.HD, HD4: p.HD / 4, Row4: p.HD/4 + 1, G: p.G, BT: p.BT,
		RO: ceilDiv(p.G*p.HD/4, p.WG), PL: ceilDiv(p.BT*p.HD/4, p.WG), KV8: p.KV8, Out: 4 + 2*b2i(p.KV8), StageV: p.StageV, Final: p.Final,
	}
}

// FlashMaxSplits bounds the splits of one decode: FlashReduce keeps a
// weight per split in workgroup memory.
const FlashMaxSplits = 1024

// FlashReduce is the second half of split decode attention: for each query
// head, the splits' outputs rescaled to a common maximum, summed, and
// divided by the rescaled sum. It reads the splits count from the uniform
// as FlashDecode does; at most FlashMaxSplits. A workgroup takes Cols
// vec4 columns of one head; its threads share the splits: maxima and sums
// in trees, outputs in WG/Cols strided groups.
//
// Bindings: 0 uniform Attn, 1 opart read, 2 mlpart read, 3 out read_write
// [heads*HD]. Dispatch Groups(heads).
type FlashReduce struct {
	HD   int // head dimension, a multiple of 4 in 32..256
	WG   int // threads, a power of two in 32..256
	Cols int // vec4 columns per workgroup, dividing HD/4; 0 means all
}

func (p FlashReduce) Name() string { return "flash-reduce" }
func (p FlashReduce) String() string {
	if p.Cols == 0 {
		return fmt.Sprintf("hd=%d/wg=%d", p.HD, p.WG)
	}
	return fmt.Sprintf("hd=%d/wg=%d/cols=%d", p.HD, p.WG, p.Cols)
}

func (p FlashReduce) cols() int {
	if p.Cols == 0 {
		return p.HD / 4
	}
	return p.Cols
}
func (p FlashReduce) WorkgroupSize() [3]uint32 { return wg1(p.WG) }

func (p FlashReduce) Check() error {
	switch {
	case p.HD < 32 || p.HD > 256 || p.HD%4 != 0:
		return fmt.Errorf("%w: head dim %d is not a multiple of 4 in 32..256", errParams, p.HD)
	case p.Cols < 0 || (p.HD/4)%p.cols() != 0 || p.cols() > p.WG:
		return fmt.Errorf("%w: %d vec4 columns per workgroup do not divide %d or exceed %d threads", errParams, p.Cols, p.HD/4, p.WG)
	}
	return checkBlockWG(p.WG)
}

// WorkgroupBytes is the workgroup memory: a weight per split, the
// reductions' scratch and the groups' shares.
func (p FlashReduce) WorkgroupBytes() int { return 4*FlashMaxSplits + 20*p.WG }

// Groups is the dispatch size: query heads by column blocks.
func (p FlashReduce) Groups(heads int) [3]uint32 {
	return [3]uint32{uint32(heads), uint32(p.HD / 4 / p.cols()), 1}
}

func (p FlashReduce) view() (string, any) {
	return "flash_reduce.wgsl.tmpl", flashView{Header: header(p), WG: p.WG, HalfWG: p.WG / 2, HD: p.HD, HD4: p.HD / 4,
		MaxSplits: FlashMaxSplits, Cols: p.cols(), Parts: p.WG / p.cols()}
}

// KVStore8 quantizes rows of keys and values into int8 caches, one scale
// per position and key/value head: scale = max|x| / 127, code =
// round(x / scale) (ties to even; 0 when the scale is 0). Row r goes to
// position pos + r.
//
// Bindings: 0 uniform {kv_heads, rows, pos, pad}, 1 k read [rows*kv_dim],
// 2 v read [rows*kv_dim], 3 kcache read_write array<u32> [seq*kv_dim/4],
// 4 kscale read_write [seq*kv_heads], 5 vcache, 6 vscale likewise.
// Dispatch Groups(rows, kvHeads).
type KVStore8 struct {
	HD int // head dimension, a multiple of 4 in 32..256
	WG int // threads, a power of two in 32..256
}

func (p KVStore8) Name() string             { return "kvstore8" }
func (p KVStore8) String() string           { return fmt.Sprintf("hd=%d/wg=%d", p.HD, p.WG) }
func (p KVStore8) WorkgroupSize() [3]uint32 { return wg1(p.WG) }

func (p KVStore8) Check() error {
	if p.HD < 32 || p.HD > 256 || p.HD%4 != 0 {
		return fmt.Errorf("%w: head dim %d is not a multiple of 4 in 32..256", errParams, p.HD)
	}
	return checkBlockWG(p.WG)
}

// Groups is the dispatch size: rows by key/value heads.
func (p KVStore8) Groups(rows, kvHeads int) [3]uint32 {
	return [3]uint32{uint32(rows), uint32(kvHeads), 1}
}

func (p KVStore8) view() (string, any) {
	return "kvstore8.wgsl.tmpl", flashView{Header: header(p), WG: p.WG, HalfWG: p.WG / 2, HD: p.HD, HD4: p.HD / 4}
}

// flashView is what the attention templates are executed with.
type flashView struct {
	Header         string
	WG, HalfWG     int
	HD, HD4, Row4  int // head dim, in vec4s, and a padded tile row in vec4s
	BQ, BK, TR, TC int // prefill tiles and threads
	RQ, RK, RC     int // prefill rows, keys and vec4 columns per thread
	G, BT, RO      int // decode heads per group, keys per tile, vec4 outputs per thread
	PL             int // decode: vec4s of a tile each thread loads
	MaxSplits      int // reduce: splits kept in workgroup memory
	Cols, Parts    int // reduce: vec4 columns per workgroup, thread groups sharing the splits
	KV8, StageV    bool
	Final          bool // decode: one split, normalised output
	Out            int  // binding of the first output
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
