package dawn_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/templates"
)

// The attention kernels are checked as ops.CheckAttention and
// ops.CheckKVStore8 check them on lavapipe: the kernels of
// ops/flash_test.go on ops.PrefillValidation's and ops.DecodeValidation's
// calls and one more with a chunked mask, against ops.CausalAttentionRef
// within ops.CausalAttentionTolerance (a final decode, one split, as
// prefill). Dawn runs one dispatch per kernel,
// so split decode is checked in halves: FlashDecode's partial outputs
// combined on the CPU by ops.FlashReduceRef must match the reference, and
// FlashReduce on random partials must match ops.FlashReduceRef within
// ops.FlashReduceTolerance.

// flashCases are the attention kernels' runs.
func flashCases() []runCase {
	var cases []runCase
	reduces := map[templates.FlashReduce]bool{}
	for _, kv8 := range []bool{false, true} {
		for _, k := range prefillKernels(kv8) {
			cases = append(cases, prefillCases(k)...)
		}
		for _, k := range decodeKernels(kv8) {
			cases = append(cases, decodeCases(k)...)
			cases = append(cases, finalCases(k)...)
			if !reduces[k.Reduce] {
				reduces[k.Reduce] = true
				cases = append(cases, reduceCases(k.Reduce)...)
			}
		}
	}
	for _, k := range []templates.KVStore8{{HD: 32, WG: 32}, {HD: 128, WG: 64}, {HD: 64, WG: 256}} {
		cases = append(cases, kvstore8Cases(k)...)
	}
	return cases
}

// attnName names an attention call in a case's name.
func attnName(a ops.Attn) string {
	s := fmt.Sprintf("q=%d@%d/heads=%d/kv=%d/hd=%d", a.QLen, a.QPos, a.Heads, a.KVHeads, a.HeadDim)
	if a.Split > 0 {
		s += fmt.Sprintf("/split=%d", a.Split)
	}
	if a.Chunk > 0 {
		s += fmt.Sprintf("/chunk=%d", a.Chunk)
	}
	if a.FloorScale > 0 {
		s += "/temp"
	}
	return s
}

// attnInputs are random queries and caches for one call.
type attnInputs struct {
	q      []float32
	kc, vc []float32 // the caches' values as the kernels compute with them
	caches []buffer  // the cache bindings, in the kernels' order
}

// newAttnInputs draws a's inputs as ops does: cache values in [-1, 1),
// queries in [-4, 4) so that softmax is peaked as well as flat. The
// caches hold three positions past the last query's, and every position
// no query sees is NaN (with int8 caches, its scale), so that a kernel
// that reads one poisons its output.
func newAttnInputs(a ops.Attn, kv8 bool) attnInputs {
	r := rand.New(rand.NewPCG(uint64(a.QPos+a.QLen)<<20|uint64(a.Heads), uint64(a.HeadDim)))
	lo, end := a.FirstKey(a.QPos), a.QPos+a.QLen
	rows, kvDim := end+3, a.KVDim()
	seen := func(p int) bool { return p >= lo && p < end }
	in := attnInputs{q: uniformRand(r, a.QLen*a.Heads*a.HeadDim, 4)}
	in.kc, in.vc = uniformRand(r, rows*kvDim, 1), uniformRand(r, rows*kvDim, 1)
	nan := float32(math.NaN())
	if !kv8 {
		for _, c := range [][]float32{in.kc, in.vc} {
			for i := range c {
				if !seen(i / kvDim) {
					c[i] = nan
				}
			}
		}
		in.caches = []buffer{{name: "kcache", data: ops.F32Words(in.kc)}, {name: "vcache", data: ops.F32Words(in.vc)}}
		return in
	}
	kq, vq := ops.QuantizeKV8(in.kc, a.KVHeads, a.HeadDim), ops.QuantizeKV8(in.vc, a.KVHeads, a.HeadDim)
	for _, c := range []ops.KV8{kq, vq} {
		for i := range c.Scales {
			if !seen(i / a.KVHeads) {
				c.Scales[i] = nan
			}
		}
	}
	in.kc, in.vc = kq.Dequantize(a.HeadDim), vq.Dequantize(a.HeadDim)
	in.caches = []buffer{
		{name: "kcache", data: kq.Words}, {name: "vcache", data: vq.Words},
		{name: "kscale", data: ops.F32Words(kq.Scales)}, {name: "vscale", data: ops.F32Words(vq.Scales)},
	}
	return in
}

func prefillCases(k templates.FlashPrefill) []runCase {
	var cases []runCase
	calls := append(ops.PrefillValidation(k), ops.Attn{Heads: 4, KVHeads: 1, HeadDim: k.HD, QLen: 37, QPos: 3, Chunk: 16})
	for _, a := range calls {
		in := newAttnInputs(a, k.KV8)
		want := make([]float32, len(in.q))
		ops.CausalAttentionRef(want, in.q, in.kc, in.vc, a)
		bufs := append([]buffer{{name: "dims", data: a.Uniform()}, {name: "q", data: ops.F32Words(in.q)}}, in.caches...)
		bufs = append(bufs, blockOut("out", ops.SentinelWords(len(want)), want, ops.CausalAttentionTolerance(in.q, in.kc, in.vc, a)))
		cases = append(cases, runCase{k: k, shape: attnName(a), groups: k.Groups(a.QLen, a.Heads), bufs: bufs})
	}
	return cases
}

// finalCases run k's decode as a final one (Final: one split, normalised
// in the kernel) on ops.DecodeValidation's calls for it, its output
// against the reference as prefill's is.
func finalCases(k ops.DecodeKernels) []runCase {
	k.Decode.Final = true
	var cases []runCase
	for _, a := range ops.DecodeValidation(k) {
		in := newAttnInputs(a, k.Decode.KV8)
		want := make([]float32, len(in.q))
		ops.CausalAttentionRef(want, in.q, in.kc, in.vc, a)
		bufs := append([]buffer{{name: "dims", data: a.Uniform()}, {name: "q", data: ops.F32Words(in.q)}}, in.caches...)
		bufs = append(bufs, blockOut("out", ops.SentinelWords(len(want)), want, ops.CausalAttentionTolerance(in.q, in.kc, in.vc, a)))
		cases = append(cases, runCase{k: k.Decode, shape: attnName(a), groups: k.Decode.Groups(1, a.KVHeads), bufs: bufs})
	}
	return cases
}

// decodeCases run FlashDecode alone: its partials must be written and
// finite, and combined by ops.FlashReduceRef match the reference within
// the tolerance of the whole computation (the combination on the CPU, in
// float64, is the more accurate).
func decodeCases(k ops.DecodeKernels) []runCase {
	var cases []runCase
	hd := k.Decode.HD
	calls := append(ops.DecodeValidation(k),
		ops.Attn{Heads: 2 * k.Decode.G, KVHeads: 2, HeadDim: hd, QLen: 1, QPos: 200, Split: k.Split, Chunk: 50})
	for _, a := range calls {
		in := newAttnInputs(a, k.Decode.KV8)
		want := make([]float32, len(in.q))
		ops.CausalAttentionRef(want, in.q, in.kc, in.vc, a)
		tol := ops.CausalAttentionTolerance(in.q, in.kc, in.vc, a)
		n := a.Splits() * a.Heads
		bufs := append([]buffer{{name: "dims", data: a.Uniform()}, {name: "q", data: ops.F32Words(in.q)}}, in.caches...)
		bufs = append(bufs,
			buffer{name: "opart", data: ops.SentinelWords(n * hd), guard: ops.GuardWords, verified: true},
			buffer{name: "mlpart", data: ops.SentinelWords(2 * n), guard: ops.GuardWords, verified: true})
		verify := func(got map[string][]uint32) error {
			parts := map[string][]float32{}
			for _, name := range []string{"opart", "mlpart"} {
				v, err := finiteWords(name, got[name])
				if err != nil {
					return err
				}
				parts[name] = v
			}
			out := make([]float32, len(want))
			ops.FlashReduceRef(out, parts["opart"], parts["mlpart"], a)
			for j, w := range want {
				if d := math.Abs(float64(out[j] - w)); !(d <= tol[j]) {
					return fmt.Errorf("partials combined: out[head %d][%d] = %g, want %g within %.3g", j/hd, j%hd, out[j], w, tol[j])
				}
			}
			return nil
		}
		cases = append(cases, runCase{k: k.Decode, shape: attnName(a), groups: k.Decode.Groups(a.Splits(), a.KVHeads), bufs: bufs, verify: verify})
	}
	return cases
}

// finiteWords reads words as f32 values, each written and finite.
func finiteWords(name string, words []uint32) ([]float32, error) {
	v := make([]float32, len(words))
	for i, w := range words {
		if w == ops.Sentinel {
			return nil, fmt.Errorf("%s[%d] never written", name, i)
		}
		v[i] = math.Float32frombits(w)
		if f := float64(v[i]); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s[%d] = %v", name, i, f)
		}
	}
	return v, nil
}

// reduceCases run FlashReduce on random partials shaped like
// FlashDecode's: maxima in [-8, 8), sums in [1, split], outputs no larger
// than their sums; several splits, one, and a chunked mask.
func reduceCases(k templates.FlashReduce) []runCase {
	var cases []runCase
	for _, a := range []ops.Attn{
		{Heads: 3, KVHeads: 1, HeadDim: k.HD, QLen: 1, QPos: 70, Split: 16},
		{Heads: 2, KVHeads: 2, HeadDim: k.HD, QLen: 1, QPos: 3, Split: 32},
		{Heads: 4, KVHeads: 1, HeadDim: k.HD, QLen: 1, QPos: 350, Split: 8, Chunk: 100},
	} {
		r := rand.New(rand.NewPCG(uint64(a.QPos), uint64(k.HD)))
		n := a.Splits() * a.Heads
		opart, mlpart := make([]float32, n*k.HD), make([]float32, 2*n)
		for i := 0; i < n; i++ {
			m, l := 16*r.Float32()-8, 1+float32(a.Split-1)*r.Float32()
			mlpart[2*i], mlpart[2*i+1] = m, l
			for d := 0; d < k.HD; d++ {
				opart[i*k.HD+d] = l * (2*r.Float32() - 1)
			}
		}
		want := make([]float32, a.Heads*k.HD)
		ops.FlashReduceRef(want, opart, mlpart, a)
		cases = append(cases, runCase{k: k, shape: attnName(a), groups: k.Groups(a.Heads), bufs: []buffer{
			{name: "dims", data: a.Uniform()},
			{name: "opart", data: ops.F32Words(opart)},
			{name: "mlpart", data: ops.F32Words(mlpart)},
			blockOut("out", ops.SentinelWords(len(want)), want, ops.FlashReduceTolerance(opart, mlpart, a)),
		}})
	}
	return cases
}

// kvstore8Cases store ops.KVStore8Input's rows into caches that hold the
// sentinel and compare them with ops.CompareKVStore8: several rows at an
// offset, as for a prompt, and one at position 0, as for a first token.
func kvstore8Cases(k templates.KVStore8) []runCase {
	var cases []runCase
	for _, s := range []struct{ kvHeads, rows, pos, seq int }{{3, 5, 2, 9}, {2, 1, 0, 3}} {
		uniform, keys, values := ops.KVStore8Input(k, s.kvHeads, s.rows, s.pos)
		kvDim := s.kvHeads * k.HD
		cache := func(name string, n int) buffer {
			return buffer{name: name, data: ops.SentinelWords(n), guard: ops.GuardWords, verified: true}
		}
		verify := func(got map[string][]uint32) error {
			var caches [4][]byte
			for i, name := range []string{"kcache", "kscale", "vcache", "vscale"} {
				caches[i] = wordBytes(got[name])
			}
			return ops.CompareKVStore8(k, s.kvHeads, s.rows, s.pos, s.seq, keys, values, caches)
		}
		cases = append(cases, runCase{k: k, shape: fmt.Sprintf("kv=%d/rows=%d/pos=%d/seq=%d", s.kvHeads, s.rows, s.pos, s.seq),
			groups: k.Groups(s.rows, s.kvHeads), verify: verify, bufs: []buffer{
				{name: "dims", data: uniform},
				{name: "k", data: ops.F32Words(keys)},
				{name: "v", data: ops.F32Words(values)},
				cache("kcache", s.seq*kvDim/4), cache("kscale", s.seq*s.kvHeads),
				cache("vcache", s.seq*kvDim/4), cache("vscale", s.seq*s.kvHeads),
			}})
	}
	return cases
}
