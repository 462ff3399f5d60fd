package dawn_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tune-gpu/tune/dawn"
	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// matmulBindings is the binding contract of the matmul and naive kernels
// (dims, A, B, C), as ops binds them.
var matmulBindings = []runner.Binding{runner.Uniform, runner.ReadOnly, runner.ReadOnly, runner.ReadWrite}

// The roof kernels' contracts, as ops.MeasureRoofs binds them.
var (
	copyBindings = []runner.Binding{runner.ReadOnly, runner.ReadWrite}
	fmaBindings  = []runner.Binding{runner.ReadWrite}
)

// bindingsOf is the binding contract ops binds kernel k with.
func bindingsOf(k templates.Kernel) []runner.Binding {
	switch k := k.(type) {
	case templates.Matmul, templates.Naive:
		return matmulBindings
	case templates.Gemv:
		return ops.GemvBindingsFor(k)
	case templates.Gemm:
		return ops.GemmBindingsFor(k)
	case templates.GemvA8:
		return ops.GemvA8Bindings
	case templates.QuantAct:
		return ops.QuantActBindings
	case templates.Copy:
		return copyBindings
	case templates.FMA:
		return fmaBindings
	case templates.FlashPrefill, templates.FlashDecode, templates.FlashReduce, templates.KVStore8:
		return ops.FlashBindings(k)
	case templates.QKVRope, templates.AddRMSNorm, templates.PackedSwiGLU, templates.EmbedQuant, templates.CopyRange, templates.ArgmaxParts, templates.ArgmaxMerge:
		return ops.FusedBindings(k)
	}
	return ops.BlockBindings(k)
}

// label names a kernel in test output: family, weight format where it has
// one, and params.
func label(k templates.Kernel) string {
	switch k := k.(type) {
	case templates.Gemv:
		return k.Name() + "/" + k.Format() + "/" + k.String()
	case templates.Gemm:
		return k.Name() + "/" + k.Format() + "/" + k.String()
	case templates.GemvA8:
		return k.Name() + "/" + k.Format() + "/" + k.String()
	case templates.EmbedQ:
		return k.Name() + "/" + k.Format() + "/" + k.String()
	}
	return k.Name() + "/" + k.String()
}

// overLimit says why k does not fit Dawn's device, or "" if it does.
func overLimit(k templates.Kernel, lim dawn.Limits) string {
	wg := k.WorkgroupSize()
	switch {
	case int(wg[0]*wg[1]*wg[2]) > lim.MaxComputeInvocationsPerWorkgroup:
		return fmt.Sprintf("%d invocations > %d", wg[0]*wg[1]*wg[2], lim.MaxComputeInvocationsPerWorkgroup)
	case int(wg[0]) > lim.MaxComputeWorkgroupSizeX || int(wg[1]) > lim.MaxComputeWorkgroupSizeY || int(wg[2]) > lim.MaxComputeWorkgroupSizeZ:
		return fmt.Sprintf("workgroup %v over %dx%dx%d", wg, lim.MaxComputeWorkgroupSizeX, lim.MaxComputeWorkgroupSizeY, lim.MaxComputeWorkgroupSizeZ)
	}
	if m, ok := k.(interface{ WorkgroupBytes() int }); ok && m.WorkgroupBytes() > lim.MaxComputeWorkgroupStorageSize {
		return fmt.Sprintf("%d B of workgroup memory > %d", m.WorkgroupBytes(), lim.MaxComputeWorkgroupStorageSize)
	}
	if n := len(bindingsOf(k)); n > lim.MaxStorageBuffersPerShaderStage {
		return fmt.Sprintf("%d bindings > %d storage buffers", n, lim.MaxStorageBuffersPerShaderStage)
	}
	return ""
}

// compileKernel renders k for a compile-only check: bindings without
// contents, no dispatch.
func compileKernel(t *testing.T, k templates.Kernel) dawn.Kernel {
	t.Helper()
	src, err := templates.Render(k)
	if err != nil {
		t.Fatalf("%s: %v", label(k), err)
	}
	dk := dawn.Kernel{Name: label(k), WGSL: string(src), Workgroup: k.WorkgroupSize()}
	for _, kind := range kinds(bindingsOf(k)) {
		dk.Bindings = append(dk.Bindings, dawn.Binding{Kind: kind, Size: 16})
	}
	return dk
}

// compileAll compiles the kernels that fit Dawn's limits, in batches
// rendered as they go, and fails a subtest, with Tint's message, for each
// one Dawn rejects. It returns how many compiled and how many were left out
// for the limits.
func compileAll(t *testing.T, kernels []templates.Kernel) (compiled, overLimits int) {
	t.Helper()
	lim := dawnInfo(t).Limits
	start, tried := time.Now(), 0
	for len(kernels) > 0 {
		n := min(len(kernels), 2000)
		var batch []dawn.Kernel
		for _, k := range kernels[:n] {
			if why := overLimit(k, lim); why != "" {
				overLimits++
				if overLimits <= 3 {
					t.Logf("left out for Dawn's limits: %s: %s", label(k), why)
				}
				continue
			}
			batch = append(batch, compileKernel(t, k))
		}
		kernels = kernels[n:]
		res, err := dawn.Compile(batch)
		if err != nil {
			t.Fatal(err)
		}
		tried += len(batch)
		for i, r := range res {
			if r.OK {
				compiled++
				continue
			}
			t.Run(batch[i].Name, func(t *testing.T) {
				t.Errorf("Dawn rejects the kernel at %s:\n%s", r.Stage, r.Error)
			})
		}
	}
	t.Logf("compiled %d kernels on Tint in %v (%v each)", tried, time.Since(start).Round(time.Millisecond),
		(time.Since(start) / time.Duration(max(1, tried))).Round(time.Millisecond))
	return compiled, overLimits
}

// representatives are the params of every kernel family worth keeping
// apart: the defaults and baselines ops uses, the golden-file variants of
// package templates, every unpacking of the GEMV for each code width, and
// every variant of the block and fused kernels at each workgroup size.
func representatives() []templates.Kernel {
	ks := []templates.Kernel{
		ops.DefaultKernel, ops.Baseline, templates.Naive{WGX: 8, WGY: 4},
		templates.Matmul{WGX: 16, WGY: 16, RM: 8, RN: 8, TK: 16, Vec: 4, Staged: true, Prefetch: true, Unroll: true},
		templates.Matmul{WGX: 16, WGY: 16, RM: 8, RN: 8, TK: 8, Vec: 4, Staged: true, Unroll: true},
		templates.Matmul{WGX: 16, WGY: 8, RM: 4, RN: 4, TK: 8, Vec: 4, Staged: true},
		templates.Matmul{WGX: 16, WGY: 8, RM: 4, RN: 4, TK: 8, Vec: 4, Staged: true, Prefetch: true},
		templates.Matmul{WGX: 16, WGY: 4, RM: 2, RN: 1, TK: 4, Vec: 1},
		templates.Matmul{WGX: 8, WGY: 8, RM: 1, RN: 1, TK: 8, Vec: 1, Staged: true},
		templates.Matmul{WGX: 8, WGY: 8, RM: 2, RN: 2, TK: 8, Vec: 1, Staged: true, Prefetch: true, Unroll: true},
		templates.Matmul{WGX: 8, WGY: 8, RM: 2, RN: 2, TK: 4, Vec: 2, Staged: true, Unroll: true},
		templates.Matmul{WGX: 16, WGY: 16, RM: 2, RN: 4, TK: 8, Vec: 2, Staged: true, Prefetch: true},
		templates.Matmul{WGX: 8, WGY: 8, RM: 4, RN: 4, TK: 4, Vec: 4, Unroll: true},
		templates.Matmul{WGX: 16, WGY: 16, RM: 2, RN: 2, TK: 4, Vec: 2},
		ops.CopyKernel, ops.FMAKernel,
	}
	ks = append(ks, gemvRepresentatives()...)
	ks = append(ks, gemmRepresentatives()...)
	ks = append(ks, flashRepresentatives()...)
	for _, wg := range []int{32, 64, 128, 256} {
		ks = append(ks,
			templates.RMSNorm{WG: wg}, templates.Rope{WG: wg}, templates.Rope{WG: wg, Half: true},
			templates.SwiGLU{WG: wg}, templates.Add{WG: wg}, templates.Embed{WG: wg}, templates.KVStore{WG: wg},
			templates.Attention{WG: wg, MaxSeq: templates.MaxAttentionSeq}, templates.Attention{WG: wg, MaxSeq: 40},
			templates.Argmax{WG: wg}, templates.MatVec{WG: wg, Rows: 1}, templates.MatVec{WG: wg, Rows: 3}, templates.MatVec{WG: wg, Rows: 16})
		ks = append(ks, blockRepresentatives(wg)...)
		ks = append(ks, fusedRepresentatives(wg)...)
	}
	return ks
}

// embedqFormats are the table formats the quantized embedding is checked
// in: every code width, one scale per group of each length or per row,
// with and without a min.
var embedqFormats = []quant.Format{{Bits: 8, Group: 32}, {Bits: 4, Group: 32}, {Bits: 4, Group: 128, Asym: true}, {Bits: 2, Group: 64}, {Bits: 2, Asym: true}, {Bits: 8, Asym: true}}

// blockRepresentatives are the variants of the block kernels that ops
// checks with BlockCases beyond the decode block's (RMSNorm without
// weight, RoPE with frequency factors, the quantized embedding, softmax,
// top-p, the router), at workgroup size wg.
func blockRepresentatives(wg int) []templates.Kernel {
	ks := []templates.Kernel{
		templates.RMSNorm{WG: wg, NoWeight: true},
		templates.Rope{WG: wg, Freqs: true}, templates.Rope{WG: wg, Half: true, Freqs: true},
		templates.Softmax{WG: wg}, templates.Router{WG: wg},
		templates.TopP{WG: wg, Chunk: 128}, templates.TopP{WG: wg, Chunk: 1024},
	}
	for _, f := range embedqFormats {
		ks = append(ks, templates.EmbedQ{Bits: f.Bits, Group: f.Group, Asym: f.Asym, WG: wg})
	}
	return ks
}

// fusedRepresentatives are the fused kernels of the decode and prefill
// loops at workgroup size wg: the quantized embedding for every code
// width, with and without a min; the two-stage argmax at one and several
// values per thread.
func fusedRepresentatives(wg int) []templates.Kernel {
	ks := []templates.Kernel{templates.QKVRope{WG: wg}, templates.QKVRope{WG: wg, Freqs: true}, templates.AddRMSNorm{WG: wg}, templates.PackedSwiGLU{WG: wg}, templates.CopyRange{WG: wg},
		templates.ArgmaxParts{WG: wg, Per: 1}, templates.ArgmaxParts{WG: wg, Per: 4}, templates.ArgmaxMerge{WG: wg}}
	for _, bits := range []int{8, 4, 2} {
		ks = append(ks, templates.EmbedQuant{Bits: bits, WG: wg}, templates.EmbedQuant{Bits: bits, Asym: true, WG: wg})
	}
	return ks
}

// gemvRepresentatives: every unpacking, with and without the folded
// offset and with a min, for each code width, the group, workgroup, rows
// and words per load varying between them.
func gemvRepresentatives() []templates.Kernel {
	var ks []templates.Kernel
	groups := []int{32, 64, 128, 0}
	shapes := [][3]int{{64, 1, 1}, {128, 4, 2}, {32, 8, 4}, {256, 2, 1}, {64, 16, 2}}
	i := 0
	for _, bits := range []int{8, 4, 2} {
		for _, unpack := range templates.Unpacks {
			for _, v := range []struct{ asym, fold bool }{{false, false}, {false, true}, {true, false}} {
				s := shapes[i%len(shapes)]
				k := templates.Gemv{Bits: bits, Group: groups[i%len(groups)], Asym: v.asym, Fold: v.fold,
					WG: s[0], Rows: s[1], Vec: s[2], Unpack: unpack}
				i++
				if k.Group != 0 && k.Elems() > k.Group {
					k.Group = 0
				}
				if k.Check() == nil {
					ks = append(ks, k)
				}
			}
		}
	}
	for _, f := range ops.DefaultFormats {
		ks = append(ks, ops.GemvBaseline(f))
	}
	// The fusions of the decode step on a few of them: with and without a
	// min, folded or not, one to several rows and words per load.
	fused := []templates.Gemv{
		{Bits: 4, Group: 32, WG: 64, Rows: 4, Vec: 4, Unpack: "magic", Fold: true},
		{Bits: 8, Asym: true, WG: 128, Rows: 2, Vec: 1, Unpack: "unorm"},
		{Bits: 2, Group: 64, WG: 32, Rows: 8, Vec: 2, Unpack: "lut"},
		{Bits: 4, Group: 128, Asym: true, WG: 256, Rows: 1, Vec: 2, Unpack: "vec"},
	}
	for _, k := range fused {
		for _, fu := range []templates.Gemv{{Norm: true}, {Acc: true}, {GLU: true, Acc: true}, {Norm: true, Rope: true}, {Rope: true}, {Norm: true, Rope: true, RopeFreqs: true}} {
			k.Norm, k.GLU, k.Acc, k.Rope, k.RopeFreqs = fu.Norm, fu.GLU, fu.Acc, fu.Rope, fu.RopeFreqs
			if k.Check() == nil {
				ks = append(ks, k)
			}
		}
	}
	return ks
}

// gemmRepresentatives: the baseline of each code width, and the golden
// variants with and without prefetch, unrolling and a min.
func gemmRepresentatives() []templates.Kernel {
	var ks []templates.Kernel
	for _, f := range []quant.Format{{Bits: 8, Group: 32}, {Bits: 4, Group: 32}, {Bits: 2, Group: 64}, {Bits: 4, Group: 128, Asym: true}, {Bits: 8, Asym: true}} {
		ks = append(ks, ops.GemmBaseline(f))
	}
	for i, g := range []templates.Gemm{
		{WGX: 16, WGY: 16, RM: 8, RN: 8, TK: 16, Vec: 4, Prefetch: true},
		{WGX: 16, WGY: 8, RM: 2, RN: 2, TK: 16, Vec: 2, Prefetch: true, Unroll: true},
		{WGX: 8, WGY: 8, RM: 1, RN: 1, TK: 16, Vec: 1, Unroll: true},
		{WGX: 8, WGY: 8, RM: 4, RN: 4, TK: 32, Vec: 4},
		{WGX: 32, WGY: 8, RM: 2, RN: 4, TK: 32, Vec: 2, Prefetch: true},
	} {
		f := []quant.Format{{Bits: 4, Group: 32}, {Bits: 8, Group: 64, Asym: true}, {Bits: 2, Group: 32}, {Bits: 4, Group: 128, Asym: true}, {Bits: 2, Asym: true}}[i]
		g.Bits, g.Group, g.Asym = f.Bits, f.Group, f.Asym
		ks = append(ks, g)
	}
	return ks
}

// flashRepresentatives: the attention kernels ops checks on lavapipe and
// its baselines, for f32 and int8 caches, head dims 32 to 256, with and
// without staged values, and KVStore8 for every workgroup size.
func flashRepresentatives() []templates.Kernel {
	var ks []templates.Kernel
	for _, kv8 := range []bool{false, true} {
		for _, k := range prefillKernels(kv8) {
			ks = append(ks, k)
		}
		for _, hd := range []int{64, 128} {
			ks = append(ks, ops.PrefillBaseline(hd, kv8))
			d := ops.DecodeBaseline(hd, 4, kv8)
			ks = append(ks, d.Decode, d.Reduce)
		}
		for _, d := range decodeKernels(kv8) {
			ks = append(ks, d.Decode, d.Reduce)
		}
		ks = append(ks, templates.FlashPrefill{HD: 256, BQ: 8, BK: 16, TR: 8, TC: 8, KV8: kv8},
			templates.FlashDecode{HD: 256, G: 8, WG: 256, BT: 8, KV8: kv8, StageV: true})
	}
	for _, s := range [][2]int{{32, 32}, {64, 64}, {128, 128}, {256, 256}, {96, 64}, {128, 32}} {
		ks = append(ks, templates.KVStore8{HD: s[0], WG: s[1]}, templates.FlashReduce{HD: s[0], WG: s[1]})
	}
	return ks
}

// prefillKernels are the flash-prefill kernels ops checks on lavapipe,
// with caches of f32 or int8.
func prefillKernels(kv8 bool) []templates.FlashPrefill {
	return []templates.FlashPrefill{
		{HD: 32, BQ: 16, BK: 16, TR: 4, TC: 8, KV8: kv8},
		{HD: 64, BQ: 16, BK: 32, TR: 8, TC: 16, KV8: kv8},
		{HD: 128, BQ: 32, BK: 16, TR: 8, TC: 8, KV8: kv8},
		{HD: 96, BQ: 8, BK: 8, TR: 8, TC: 8, KV8: kv8},
	}
}

// decodeKernels are the split decode kernels ops checks on lavapipe, with
// caches of f32 or int8, values staged or read from the cache.
func decodeKernels(kv8 bool) []ops.DecodeKernels {
	return []ops.DecodeKernels{
		{Decode: templates.FlashDecode{HD: 64, G: 4, WG: 64, BT: 16, KV8: kv8}, Reduce: templates.FlashReduce{HD: 64, WG: 32}, Split: 32},
		{Decode: templates.FlashDecode{HD: 128, G: 1, WG: 32, BT: 8, KV8: kv8, StageV: true}, Reduce: templates.FlashReduce{HD: 128, WG: 64}, Split: 16},
		{Decode: templates.FlashDecode{HD: 32, G: 5, WG: 128, BT: 32, KV8: kv8, StageV: !kv8}, Reduce: templates.FlashReduce{HD: 32, WG: 32}, Split: 64},
	}
}

// Every kernel family compiles on Tint: shader module and pipeline with
// the binding contract ops uses.
func TestTintCompilesEveryFamily(t *testing.T) {
	ks := representatives()
	seen := map[string]bool{}
	for _, k := range ks {
		seen[k.Name()] = true
	}
	for _, fam := range []string{"matmul", "matmul_naive", "gemv", "gemm", "copy", "fma", "rmsnorm", "rope", "swiglu", "add", "embed", "kvstore", "attention", "argmax", "matvec",
		"flash-prefill", "flash-decode", "flash-reduce", "kvstore8", "embedq", "softmax", "topp", "router",
		"qkvrope", "addrmsnorm", "packedswiglu", "embedquant", "copyrange", "argmax-parts", "argmax-merge"} {
		if !seen[fam] {
			t.Errorf("no representative of %s", fam)
		}
	}
	compiled, over := compileAll(t, ks)
	t.Logf("%d of %d representatives compiled on Tint, %d left out for Dawn's limits", compiled, len(ks), over)
}

// looseLimits are the loosest device the spaces are built for, an H100
// (1024 invocations, 48 KiB of workgroup memory): points over Dawn's own
// limits are counted and left out.
var looseLimits = ops.Limits{Invocations: 1024, SizeX: 1024, SizeY: 1024, WorkgroupBytes: 49152}

// spaceStride is the sample of each search space checked: every 50th
// legal point, every 200th with -short, every n-th with
// TUNE_DAWN_STRIDE=n (1 checks every point: about 25 minutes).
func spaceStride(t *testing.T) int {
	if s := os.Getenv("TUNE_DAWN_STRIDE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("TUNE_DAWN_STRIDE=%q: want a positive integer", s)
		}
		return n
	}
	if testing.Short() {
		return 200
	}
	return 50
}

// sample takes every stride-th legal point of space from offset on.
func sample(space *search.Space, offset, stride int, params func(search.Point) templates.Kernel) []templates.Kernel {
	var ks []templates.Kernel
	legal := space.Legal()
	for i := offset % stride; i < len(legal); i += stride {
		ks = append(ks, params(legal[i]))
	}
	return ks
}

// A sample of every search space compiles on Tint.
func TestTintCompilesSpaces(t *testing.T) {
	stride := spaceStride(t)
	t.Run("matmul", func(t *testing.T) {
		ks := sample(ops.Space(looseLimits), 0, stride, func(p search.Point) templates.Kernel { return ops.Params(p) })
		compiled, over := compileAll(t, ks)
		t.Logf("matmul: %d sampled, %d compiled, %d over Dawn's limits", len(ks), compiled, over)
	})
	// Each format starts its sample at another offset, so that the formats
	// together cover more of the params than one would.
	t.Run("gemv", func(t *testing.T) {
		var ks []templates.Kernel
		for i, f := range quant.Formats() {
			ks = append(ks, sample(ops.GemvSpace(f, looseLimits), 7*i, stride, func(p search.Point) templates.Kernel { return ops.GemvParams(p, f) })...)
		}
		compiled, over := compileAll(t, ks)
		t.Logf("gemv: %d sampled over %d formats, %d compiled, %d over Dawn's limits", len(ks), len(quant.Formats()), compiled, over)
	})
	t.Run("gemm", func(t *testing.T) {
		var ks []templates.Kernel
		fs := quant.Formats()
		for i, f := range fs {
			ks = append(ks, sample(ops.GemmSpace(f, looseLimits), 13*i, stride, func(p search.Point) templates.Kernel { return ops.GemmParams(p, f) })...)
		}
		compiled, over := compileAll(t, ks)
		t.Logf("gemm: %d sampled over %d formats, %d compiled, %d over Dawn's limits", len(ks), len(fs), compiled, over)
	})
	// The attention spaces are small (about a hundred points, the decode
	// split a uniform that leaves the source alone), so a tenth of the
	// stride. Head dims 64 and 128, f32 and int8 caches, Llama 3's four
	// query heads per key/value head for decode.
	t.Run("attention", func(t *testing.T) {
		stride := max(1, stride/10)
		var ks []templates.Kernel
		seen := map[string]bool{}
		distinct := func(k templates.Kernel) bool {
			l := label(k)
			if seen[l] {
				return false
			}
			seen[l] = true
			return true
		}
		i := 0
		for _, hd := range []int{64, 128} {
			for _, kv8 := range []bool{false, true} {
				ks = append(ks, sample(ops.PrefillSpace(hd, kv8, looseLimits), 3*i, stride, func(p search.Point) templates.Kernel { return ops.PrefillParams(p, hd, kv8) })...)
				var decode, reduce []templates.Kernel
				for _, p := range ops.DecodeSpace(hd, 4, kv8, looseLimits).Legal() {
					d := ops.DecodeParams(p, hd, 4, kv8)
					if distinct(d.Decode) {
						decode = append(decode, d.Decode)
					}
					if distinct(d.Reduce) {
						reduce = append(reduce, d.Reduce)
					}
				}
				for j := (5 * i) % stride; j < len(decode); j += stride {
					ks = append(ks, decode[j])
				}
				ks = append(ks, reduce...)
				i++
			}
		}
		compiled, over := compileAll(t, ks)
		t.Logf("attention: %d sampled, %d compiled, %d over Dawn's limits", len(ks), compiled, over)
	})
	// The block ops' spaces are a few points each (workgroup size, and the
	// chunk or rows where an op has them): every point of every variant.
	t.Run("block", func(t *testing.T) {
		var ks []templates.Kernel
		for _, op := range ops.BlockOps {
			for _, dtype := range op.Dtypes {
				for _, p := range op.Space(looseLimits).Legal() {
					k, err := op.Kernel(p, dtype)
					if err != nil {
						t.Fatalf("%s %s %s: %v", op.Name, dtype, p.ID(), err)
					}
					ks = append(ks, k)
				}
			}
		}
		compiled, over := compileAll(t, ks)
		t.Logf("block: %d points over %d ops, %d compiled, %d over Dawn's limits", len(ks), len(ops.BlockOps), compiled, over)
	})
}
