package templates

import "fmt"

// The kernels below turn logits into choices: the softmax of sampling (and
// of anything else that needs one over rows), run.c's top-p sampling, and
// the router of a mixture-of-experts layer. They follow the conventions of
// the block kernels (block.go): bindings in the listed order, sizes in a
// 16-byte uniform of u32 fields, entry point main.

// Softmax normalises rows of n logits divided by a temperature, as run.c
// samples: v = x / T, then softmax(v) the way llama2.c computes it
// (subtract the maximum, exponentiate, divide by the sum). One workgroup
// per row reduces the maximum and the sum in a tree.
//
// Bindings: 0 uniform {n, rows, temperature (f32 bits), pad}, 1 x read
// [rows*n], 2 out read_write [rows*n]. T > 0 and n >= 1. Dispatch
// Groups(rows).
type Softmax struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p Softmax) Name() string             { return "softmax" }
func (p Softmax) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p Softmax) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p Softmax) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: one workgroup per row, rows <= 65535.
func (p Softmax) Groups(rows int) [3]uint32 { return [3]uint32{uint32(rows), 1, 1} }

func (p Softmax) view() (string, any) { return "softmax.wgsl.tmpl", newBlockView(p, p.WG) }

// TopP is run.c's sample_topp on probabilities the GPU already has (the
// softmax of the logits over the temperature), with the random coin in
// the uniform: candidates are the probabilities >= cutoff = (1 - topp) /
// (n - 1); in descending order of probability (the lower index first among
// equals, as a stable sort leaves them) they are summed in f32 until the
// sum exceeds topp, which ends the nucleus (or all candidates do); then r =
// coin * sum, and the result is the first of the nucleus whose running sum
// exceeds r, else its last. With no candidates (n = 1), or topp outside
// (0, 1), it is run.c's sample_mult over all n: the first index whose
// running sum of probabilities exceeds the coin, else n-1.
//
// The order is found without sorting all candidates: the Chunk largest not
// yet taken are selected by a radix select on (probability bits, index) in
// a histogram of 256 bins, bitonic-sorted in workgroup memory and summed by
// one thread; another chunk follows only while the sum has not passed topp.
// The sums are the same f32 additions in the same order as run.c's, so the
// choice is exact. A chunk reads the probabilities once per radix round
// (at most four for distinct probabilities, eight with ties) and once to
// gather, so the cost grows with n times the nucleus over Chunk.
//
// Bindings: 0 uniform {n, topp (f32 bits), cutoff (f32 bits), coin (f32
// bits)}, 1 probs read [n], 2 nucleus read_write [2n], 3 out read_write
// array<u32> [1]. The host computes cutoff in f32 as run.c does (see
// ops.TopPCutoff): WGSL's division is not correctly rounded. probs holds
// no NaN and no negative value. nucleus[2s], nucleus[2s+1] are set to the
// running sum (f32 bits) and the index of the s-th of the nucleus, for s up
// to its end; its other words are left as they were. Dispatch Groups().
type TopP struct {
	WG    int // threads per workgroup, a power of two in 32..256
	Chunk int // candidates sorted at a time, a power of two in 128..1024
}

func (p TopP) Name() string             { return "topp" }
func (p TopP) String() string           { return fmt.Sprintf("wg=%d/chunk=%d", p.WG, p.Chunk) }
func (p TopP) WorkgroupSize() [3]uint32 { return wg1(p.WG) }

func (p TopP) Check() error {
	if p.Chunk < 128 || p.Chunk > 1024 || p.Chunk&(p.Chunk-1) != 0 {
		return fmt.Errorf("%w: top-p chunk %d is not a power of two in 128..1024", errParams, p.Chunk)
	}
	return checkBlockWG(p.WG)
}

// WorkgroupBytes is the workgroup memory the kernel declares: the chunk's
// keys and indices, the histogram and a few shared scalars.
func (p TopP) WorkgroupBytes() int { return 8*p.Chunk + 4*256 + 4*16 }

// Groups is the dispatch size: a single workgroup.
func (p TopP) Groups() [3]uint32 { return [3]uint32{1, 1, 1} }

func (p TopP) view() (string, any) {
	return "topp.wgsl.tmpl", struct {
		blockView
		Chunk, HalfChunk int
	}{newBlockView(p, p.WG), p.Chunk, p.Chunk / 2}
}

// Router is the expert choice of a mixture-of-experts layer (Llama 4's
// Llama4Router) from its logits, which a MatVec or Gemv computes: the k
// largest logits in descending order, the lower index first among equals,
// each scored sigmoid(logit) = 1 / (1 + exp(-logit)) as SwiGLU computes it;
// no renormalisation. One workgroup takes k rounds of a tree argmax over
// the logits below the previous round's choice.
//
// Bindings: 0 uniform {experts, k, pad, pad}, 1 logits read [experts], 2
// chosen read_write array<u32> [k], 3 scores read_write [k]. 1 <= k <=
// min(experts, MaxRouterK) and the logits hold no NaN. Dispatch Groups().
type Router struct {
	WG int // threads per workgroup, a power of two in 32..256
}

// MaxRouterK is the most experts Router chooses per token.
const MaxRouterK = 8

func (p Router) Name() string             { return "router" }
func (p Router) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p Router) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p Router) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: a workgroup per token row.
func (p Router) Groups(rows int) [3]uint32 { return [3]uint32{uint32(rows), 1, 1} }

func (p Router) view() (string, any) { return "router.wgsl.tmpl", newBlockView(p, p.WG) }

// ExpertInput is one routed expert's input for a batch of token rows, as a
// batched MoE layer runs every expert over the batch: each row of x times
// the routing score the row gave the expert, or 0 where it did not choose
// it (whose products then add nothing). Bindings: 0 uniform {rows, dim, k,
// expert}, 1 x, 2 chosen and 3 scores (k per row, as Router writes them), 4
// out.
type ExpertInput struct {
	WG int // threads per workgroup, a power of two in 32..256
}

func (p ExpertInput) Name() string             { return "expertinput" }
func (p ExpertInput) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p ExpertInput) WorkgroupSize() [3]uint32 { return wg1(p.WG) }
func (p ExpertInput) Check() error             { return checkBlockWG(p.WG) }

// Groups is the dispatch size: a thread per element of rows x dim.
func (p ExpertInput) Groups(rows, dim int) [3]uint32 { return grid(ceilDiv(rows*dim, p.WG)) }

func (p ExpertInput) view() (string, any) {
	return "expertinput.wgsl.tmpl", newBlockView(p, p.WG)
}
