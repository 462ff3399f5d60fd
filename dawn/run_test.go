package dawn_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tune-gpu/tune/dawn"
	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/templates"
)

// The kernels run on Dawn here are checked as ops checks them on the
// project's own device: the same validation shapes (ops.ValidationShapes,
// ops.GemvValidationShapes, ops.GemmValidationShapes), CPU references
// (a float64 triple loop, quant's DequantizeRow, ops.RMSNormRef and the
// other block references), the same tolerances (ops.Tolerance, and the
// block tolerances, whose derivations are in ops), and written outputs
// that start as ops.Sentinel with a guard band after them that must stay
// untouched. The block and fused kernels run ops' own checked runs
// (ops.BlockCases, ops.FusedCases); the attention kernels' cases are in
// flash_test.go.

// buffer is one binding of a checked run.
type buffer struct {
	name string
	data []uint32 // contents before the run
	// A written buffer has the words want, or the values ref rounded to
	// f32: each exactly, or as an f32 within tol where tol is given and not
	// 0, as ops.CheckBlock compares.
	want     []uint32
	ref, tol []float64
	guard    int // sentinel words after data that must stay untouched
	// verified marks a written buffer left to the case's verify hook.
	verified bool
}

func (b buffer) written() bool { return b.want != nil || b.ref != nil || b.verified }

// runCase is one dispatch of a kernel on one input.
type runCase struct {
	k      templates.Kernel
	shape  string
	groups [3]uint32
	bufs   []buffer
	// verify checks the buffers marked verified, by name, their words
	// without the guard band, for outputs that words and tolerances
	// cannot state (partial results combined on the CPU, codes within one
	// of the reference's). It runs after the guard bands and the other
	// buffers were checked.
	verify func(got map[string][]uint32) error
}

func (c runCase) name() string { return label(c.k) + "/" + c.shape }

func (c runCase) kernel(t *testing.T) dawn.Kernel {
	t.Helper()
	src, err := templates.Render(c.k)
	if err != nil {
		t.Fatalf("%s: %v", c.name(), err)
	}
	ks := kinds(bindingsOf(c.k))
	if len(ks) != len(c.bufs) {
		t.Fatalf("%s: %d buffers for %d bindings", c.name(), len(c.bufs), len(ks))
	}
	dk := dawn.Kernel{Name: c.name(), WGSL: string(src), Workgroup: c.k.WorkgroupSize(), Dispatch: c.groups}
	for i, b := range c.bufs {
		w := b.data
		if b.written() {
			w = append(append([]uint32(nil), w...), ops.SentinelWords(b.guard)...)
			dk.Outputs = append(dk.Outputs, i)
		}
		dk.Bindings = append(dk.Bindings, dawn.Binding{Kind: ks[i], Data: wordBytes(w)})
	}
	return dk
}

// check compares a run's outputs with the case's expectations.
func (c runCase) check(r dawn.Result) error {
	if !r.OK {
		return fmt.Errorf("Dawn failed at %s: %s", r.Stage, r.Error)
	}
	o := 0
	verified := map[string][]uint32{}
	for _, b := range c.bufs {
		if !b.written() {
			continue
		}
		raw := r.Outputs[o]
		o++
		n := len(b.data)
		if len(raw) < 4*(n+b.guard) {
			return fmt.Errorf("%s: %d bytes read back, want %d", b.name, len(raw), 4*(n+b.guard))
		}
		word := func(i int) uint32 { return binary.LittleEndian.Uint32(raw[4*i:]) }
		for j := 0; j < b.guard; j++ {
			if word(n+j) != ops.Sentinel {
				return fmt.Errorf("%s: wrote out of bounds, %d words past the end", b.name, j)
			}
		}
		if b.verified {
			ws := make([]uint32, n)
			for j := range ws {
				ws[j] = word(j)
			}
			verified[b.name] = ws
			continue
		}
		for j := 0; j < n; j++ {
			got := word(j)
			var want uint32
			var ref, tol float64
			if b.want != nil {
				want = b.want[j]
				ref = float64(math.Float32frombits(want))
			} else {
				ref = b.ref[j]
				want = math.Float32bits(float32(ref))
			}
			if b.tol != nil {
				tol = b.tol[j]
			}
			if got == want {
				continue
			}
			if got == ops.Sentinel {
				return fmt.Errorf("%s[%d] never written", b.name, j)
			}
			g := float64(math.Float32frombits(got))
			if tol == 0 {
				return fmt.Errorf("%s[%d] = %#08x (u32 %d, f32 %g), want %#08x (u32 %d, f32 %g) exactly", b.name, j, got, got, g, want, want, math.Float32frombits(want))
			}
			if math.IsNaN(g) || math.IsInf(g, 0) {
				return fmt.Errorf("%s[%d] = %v", b.name, j, g)
			}
			if math.Abs(g-ref) > tol {
				return fmt.Errorf("%s[%d] = %g, want %g within %.3g", b.name, j, g, ref, tol)
			}
		}
	}
	if c.verify != nil {
		return c.verify(verified)
	}
	return nil
}

// Kernels of every family compute on Dawn what the CPU references do.
func TestDawnRunsMatchReferences(t *testing.T) {
	requireDawn(t)
	lim := dawnInfo(t).Limits
	var cases []runCase
	for _, k := range matmulKernels() {
		cases = append(cases, matmulCases(k)...)
	}
	for _, k := range gemvRepresentatives() {
		cases = append(cases, gemvCases(k.(templates.Gemv))...)
	}
	for _, k := range gemmRepresentatives() {
		cases = append(cases, gemmCases(k.(templates.Gemm))...)
	}
	cases = append(cases, roofCases()...)
	for _, wg := range []int{32, 256} {
		ks := []templates.Kernel{
			templates.RMSNorm{WG: wg}, templates.Rope{WG: wg}, templates.Rope{WG: wg, Half: true},
			templates.SwiGLU{WG: wg}, templates.Add{WG: wg}, templates.Embed{WG: wg}, templates.Argmax{WG: wg},
			templates.MatVec{WG: wg, Rows: 1}, templates.MatVec{WG: wg, Rows: 3}, templates.MatVec{WG: wg, Rows: 16},
		}
		ks = append(ks, blockRepresentatives(wg)...)
		ks = append(ks, fusedRepresentatives(wg)...)
		for _, k := range ks {
			cases = append(cases, checkedRuns(t, k)...)
		}
		cases = append(cases, kvstoreCases(templates.KVStore{WG: wg})...)
		cases = append(cases, attentionCases(templates.Attention{WG: wg, MaxSeq: 300})...)
	}
	cases = append(cases, flashCases()...)
	var batch []dawn.Kernel
	var kept []runCase
	kernels := map[string]bool{}
	for _, c := range cases {
		if why := overLimit(c.k, lim); why != "" {
			t.Errorf("%s: over Dawn's limits: %s", c.name(), why)
			continue
		}
		batch = append(batch, c.kernel(t))
		kept = append(kept, c)
		kernels[label(c.k)] = true
	}
	start := time.Now()
	res, err := dawn.Run(batch)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ran %d kernels on %d inputs on Dawn in %v", len(kernels), len(batch), time.Since(start).Round(time.Millisecond))
	failed := 0
	for i, c := range kept {
		if err := c.check(res[i]); err != nil {
			failed++
			t.Run(c.name(), func(t *testing.T) { t.Error(err) })
		}
	}
	t.Logf("%d of %d runs match the references", len(kept)-failed, len(kept))
}

// The check fails broken kernels for the right reason: each mutation of a
// block, fused or fused GEMV kernel is one plausible bug, and some run of the kernel's
// checked runs must fail with the reason given (a tolerance, an exact
// word, an element never written, a write past the end).
func TestDawnCatchesBrokenKernels(t *testing.T) {
	requireDawn(t)
	muts := []struct {
		name     string
		k        templates.Kernel
		old, new string
		reason   string
	}{
		{"embedq offset one too small", templates.EmbedQ{Bits: 4, Group: 32, WG: 32}, "- 8i)", "- 7i)", "exactly"},
		{"softmax without the temperature", templates.Softmax{WG: 64}, "x[base + i] / temp - m", "x[base + i] - m", "within"},
		{"top-p ties go to the higher index", templates.TopP{WG: 32, Chunk: 128}, "ib < ia", "ib > ia", "exactly"},
		{"router scores sigmoid(-logit)", templates.Router{WG: 64}, "exp(-pv)", "exp(pv)", "within"},
		{"qkvrope leaves half of q unwritten", templates.QKVRope{WG: 32}, "q[r * qdim + e + 1u] = y1;", "", "never written"},
		{"addrmsnorm skips eps", templates.AddRMSNorm{WG: 256}, "scale = scale + bitcast<f32>(dims.eps);", "", "within"},
		{"copyrange copies one too many", templates.CopyRange{WG: 32}, "i < dims.n", "i <= dims.n", "out of bounds"},
		{"gemv norm without its scale", templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 2, Vec: 2, Unpack: "vec", Norm: true}, "v = v * scale;", "", "within"},
		{"gemv glu takes gate for up", templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 2, Vec: 2, Unpack: "vec", GLU: true}, "x[dims.up / 4u", "x[dims.gate / 4u", "within"},
		{"final flash decode without the division", templates.FlashDecode{HD: 64, G: 2, WG: 64, BT: 16, Final: true}, "acc[0] / mw[idx / 16u]", "acc[0]", "within"},
		{"gemv acc overwrites y", templates.Gemv{Bits: 8, Asym: true, WG: 32, Rows: 1, Vec: 1, Unpack: "shift", Acc: true}, "y[dims.row_offset + row0 + t] + v", "v", "within"},
	}
	var batch []dawn.Kernel
	var runs [][]runCase
	for _, m := range muts {
		var cs []runCase
		if g, ok := m.k.(templates.Gemv); ok {
			cs = gemvCases(g)
		} else if fd, ok := m.k.(templates.FlashDecode); ok {
			cs = finalCases(ops.DecodeKernels{Decode: fd, Split: 32})
		} else {
			cs = checkedRuns(t, m.k)
		}
		for _, c := range cs {
			dk := c.kernel(t)
			if !strings.Contains(dk.WGSL, m.old) {
				t.Fatalf("%s: the template no longer has %q", m.name, m.old)
			}
			dk.WGSL = strings.Replace(dk.WGSL, m.old, m.new, 1)
			batch = append(batch, dk)
		}
		runs = append(runs, cs)
	}
	res, err := dawn.Run(batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range muts {
		t.Run(m.name, func(t *testing.T) {
			var errs []string
			for _, c := range runs[i] {
				r := res[0]
				res = res[1:]
				if err := c.check(r); err != nil {
					errs = append(errs, err.Error())
				}
			}
			if len(errs) > 0 {
				t.Logf("%d of %d runs fail, the first with %s", len(errs), len(runs[i]), errs[0])
			}
			if !strings.Contains(strings.Join(errs, "\n"), m.reason) {
				t.Errorf("%d of %d runs failed, none for %q: %q", len(errs), len(runs[i]), m.reason, errs)
			}
		})
	}
}

// matmulKernels are the matmul representatives: tuned kernels with vec
// 1, 2 and 4, staged or not, with and without prefetch and unrolling, and
// the naive baseline.
func matmulKernels() []ops.Kernel {
	var ks []ops.Kernel
	for _, k := range representatives() {
		if m, ok := k.(ops.Kernel); ok {
			if _, gemm := k.(templates.Gemm); !gemm {
				ks = append(ks, m)
			}
		}
	}
	return ks
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func wordBytes(w []uint32) []byte {
	b := make([]byte, 4*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

func uniformRand(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * (2*r.Float32() - 1)
	}
	return v
}

// grid spreads n workgroups over x and y, x at most 32768, as the kernels
// that fold their dispatch expect.
func grid(n int) [3]uint32 {
	x := min(n, 32768)
	return [3]uint32{uint32(x), uint32((n + x - 1) / x), 1}
}

// matmulCases: C = A x B on ops.ValidationShapes, against a float64 triple
// loop within ops.Tolerance(K, sum |a*b|).
func matmulCases(k ops.Kernel) []runCase {
	var cases []runCase
	for _, s := range ops.ValidationShapes(k) {
		r := rand.New(rand.NewPCG(uint64(s.M)<<40|uint64(s.N)<<20|uint64(s.K), 2))
		a, b := uniformRand(r, s.M*s.K, 1), uniformRand(r, s.K*s.N, 1)
		ref, tol := make([]float64, s.M*s.N), make([]float64, s.M*s.N)
		for i := 0; i < s.M; i++ {
			for j := 0; j < s.N; j++ {
				var sum, mag float64
				for l := 0; l < s.K; l++ {
					p := float64(a[i*s.K+l]) * float64(b[l*s.N+j])
					sum += p
					mag += math.Abs(p)
				}
				ref[i*s.N+j], tol[i*s.N+j] = sum, ops.Tolerance(s.K, mag)
			}
		}
		cases = append(cases, runCase{k: k, shape: s.String(), groups: k.Groups(s.M, s.N), bufs: []buffer{
			{name: "dims", data: ops.UniformWords(uint32(s.M), uint32(s.N), uint32(s.K))},
			{name: "a", data: ops.F32Words(a)},
			{name: "b", data: ops.F32Words(b)},
			{name: "c", data: ops.SentinelWords(s.M * s.N), ref: ref, tol: tol, guard: max(1024, 64*s.N+128)},
		}})
	}
	return cases
}

// gemvCases: y = W x for ops.GemvInputs on ops.GemvValidationShapes, with
// k's fusions on ops.GemvFusionInputs, against ops.GemvFusedReference
// (DequantizeRow(r) . x in float64, the norm and SwiGLU input in float64)
// within its tolerance: ops.Tolerance(cols, sum |w x| + sum scale 2^bits
// |x|), the second term for unpackings that round a code by an ulp before
// the offset is taken away, plus what each fusion adds, as ops allows.
func gemvCases(k templates.Gemv) []runCase {
	if k.Rope {
		cs, err := ops.GemvRopeCases(k)
		if err != nil {
			panic(err)
		}
		return blockRuns(k, cs)
	}
	f := quant.Format{Bits: k.Bits, Group: k.Group, Asym: k.Asym}
	var cases []runCase
	for _, s := range ops.GemvValidationShapes(k) {
		t, x, err := ops.GemvInputs(s, f)
		if err != nil {
			panic(err)
		}
		fu := ops.GemvFusionInputs(s)
		glen := t.GroupLen(s.Cols)
		ref, tol := make([]float64, s.Rows), make([]float64, s.Rows)
		row := make([]float32, s.Cols)
		for i := 0; i < s.Rows; i++ {
			ref[i], tol[i] = ops.GemvFusedReference(t, x, fu, k, i, row)
		}
		y := ops.SentinelWords(s.Rows)
		if k.Acc {
			y = ops.F32Words(fu.Y0)
		}
		in := x
		if k.GLU {
			in = fu.GU
		}
		bufs := []buffer{
			{name: "dims", data: ops.GemvUniform(k, s.Rows, s.Cols, glen, 0, fu.Eps, 0, s.Cols)},
			{name: "w", data: t.Words},
			{name: "scales", data: ops.F32Words(t.Scales)},
			{name: "x", data: ops.F32Words(in)},
			{name: "y", data: y, ref: ref, tol: tol, guard: 1024},
		}
		if f.Asym {
			bufs = append(bufs, buffer{name: "mins", data: ops.F32Words(t.Mins)})
		}
		if k.Norm {
			bufs = append(bufs, buffer{name: "norm", data: ops.F32Words(fu.Norm)})
		}
		cases = append(cases, runCase{k: k, shape: s.String(), groups: k.Groups(s.Rows), bufs: bufs})
	}
	return cases
}

// gemmCases: C = A x W^T on ops.GemmValidationShapes, with the inputs
// (ops.GemmInputs) and the float64 reference and tolerance
// (ops.GemmReference) ops validates GEMM kernels with.
func gemmCases(k templates.Gemm) []runCase {
	f := quant.Format{Bits: k.Bits, Group: k.Group, Asym: k.Asym}
	var cases []runCase
	for _, s := range ops.GemmValidationShapes(k) {
		t, a, err := ops.GemmInputs(s, f)
		if err != nil {
			panic(err)
		}
		glen := t.GroupLen(s.K)
		ref, tol := make([]float64, s.M*s.N), make([]float64, s.M*s.N)
		row := make([]float32, s.K)
		for j := 0; j < s.N; j++ {
			t.DequantizeRow(j, row)
			for i := 0; i < s.M; i++ {
				ref[i*s.N+j], tol[i*s.N+j] = ops.GemmReference(t, a, row, i, j)
			}
		}
		bufs := []buffer{
			{name: "dims", data: ops.UniformWords(uint32(s.M), uint32(s.N), uint32(s.K), uint32(glen))},
			{name: "a", data: ops.F32Words(a)},
			{name: "w", data: t.Words},
			{name: "scales", data: ops.F32Words(t.Scales)},
			{name: "c", data: ops.SentinelWords(s.M * s.N), ref: ref, tol: tol, guard: max(1024, 64*s.N+128)},
		}
		if f.Asym {
			bufs = append(bufs, buffer{name: "mins", data: ops.F32Words(t.Mins)})
		}
		cases = append(cases, runCase{k: k, shape: s.String(), groups: k.Groups(s.M, s.N), bufs: bufs})
	}
	return cases
}

// roofCases: the copy kernel copies exactly (its bound is the
// destination's arrayLength, so it has no guard band); the fma kernel's
// threads match fma chains computed in Go within 1e-4 relative, as ops
// checks them.
func roofCases() []runCase {
	ck := ops.CopyKernel
	n := 3*ck.WG + 5 // vec4s: a partial last workgroup
	src := make([]uint32, 4*n)
	for i := range src {
		src[i] = uint32(i) * 2654435761
	}
	fk := ops.FMAKernel
	threads := 4 * fk.WG
	ref, tol := make([]float64, threads), make([]float64, threads)
	for i := range ref {
		seed := float32(i%1024) * 0.0009765625
		for c := 0; c < fk.Chains; c++ {
			x := seed + float32(c)
			for range fk.Iters {
				x = float32(math.FMA(float64(x), float64(float32(0.999)), float64(float32(0.001))))
			}
			ref[i] += float64(x)
		}
		tol[i] = 1e-4 * math.Abs(ref[i])
	}
	return []runCase{
		{k: ck, shape: fmt.Sprintf("n=%d", n), groups: grid((n + ck.WG - 1) / ck.WG), bufs: []buffer{
			{name: "src", data: src},
			{name: "dst", data: make([]uint32, 4*n), want: src},
		}},
		{k: fk, shape: fmt.Sprintf("threads=%d", threads), groups: grid(threads / fk.WG), bufs: []buffer{
			{name: "out", data: ops.SentinelWords(threads), ref: ref, tol: tol, guard: 256},
		}},
	}
}

// checkedRuns are ops' checked runs of a block or fused kernel
// (ops.BlockCases, ops.FusedCases) as runCases, each written buffer with
// ops.GuardWords of guard band as ops.CheckBlock gives it, and for Argmax
// and MatVec a few runs more: infinities and Llama 3's vocabulary, and a
// grid folded into two dimensions.
func checkedRuns(t *testing.T, k templates.Kernel) []runCase {
	t.Helper()
	var cs []ops.BlockCase
	var err error
	switch k := k.(type) {
	case templates.QKVRope, templates.AddRMSNorm, templates.PackedSwiGLU, templates.EmbedQuant, templates.CopyRange, templates.ArgmaxParts, templates.ArgmaxMerge:
		cs, err = ops.FusedCases(k)
	case templates.Argmax:
		cs, err = ops.BlockCases(k)
		r := newRand()
		x := uniformRand(r, 300, 1)
		for i := range x {
			x[i] = -float32(math.Inf(1))
		}
		x[299] = -float32(math.MaxFloat32)
		vocab := uniformRand(r, 128256, 10)
		vocab[128255] = 11
		cs = append(cs, ops.ArgmaxCase(k, "infinities/n=300", x), ops.ArgmaxCase(k, "vocab/n=128256", vocab))
	case templates.MatVec:
		cs, err = ops.BlockCases(k)
		if k.Rows == 1 {
			cs = append(cs, ops.MatVecCase(k, 40000, 3))
		}
	default:
		cs, err = ops.BlockCases(k)
	}
	if err != nil {
		t.Fatalf("%s: %v", label(k), err)
	}
	return blockRuns(k, cs)
}

// blockRuns are ops' checked runs of k as runCases, each written buffer
// with ops.GuardWords of guard band as ops.CheckBlock gives it.
func blockRuns(k templates.Kernel, cs []ops.BlockCase) []runCase {
	runs := make([]runCase, len(cs))
	for i, c := range cs {
		runs[i] = runCase{k: k, shape: c.Name, groups: c.Groups}
		for _, b := range c.Bufs {
			buf := buffer{name: b.Name, data: b.Data}
			if b.Want != nil {
				buf.want, buf.tol, buf.guard = b.Want, b.Tol, ops.GuardWords
			}
			runs[i].bufs = append(runs[i].bufs, buf)
		}
	}
	return runs
}

// blockOut is a written buffer: f32 values want within tol (tol nil:
// exact), with ops.GuardWords of guard band.
func blockOut(name string, data []uint32, want []float32, tol []float64) buffer {
	return buffer{name: name, data: data, want: ops.F32Words(want), tol: tol, guard: ops.GuardWords}
}

func kvstoreCases(k templates.KVStore) []runCase {
	var cases []runCase
	for _, s := range []struct{ kvDim, seq, pos int }{{32, 10, 7}, {100, 6, 0}, {172, 4, 3}} {
		r := newRand()
		kv, vv := uniformRand(r, s.kvDim, 1), uniformRand(r, s.kvDim, 1)
		// Earlier positions hold values, later ones the sentinel: both
		// must survive.
		kc, vc := ops.SentinelWords(s.seq*s.kvDim), ops.SentinelWords(s.seq*s.kvDim)
		copy(kc, ops.F32Words(uniformRand(r, s.pos*s.kvDim, 1)))
		copy(vc, ops.F32Words(uniformRand(r, s.pos*s.kvDim, 1)))
		wantK, wantV := append([]uint32(nil), kc...), append([]uint32(nil), vc...)
		copy(wantK[s.pos*s.kvDim:], ops.F32Words(kv))
		copy(wantV[s.pos*s.kvDim:], ops.F32Words(vv))
		cases = append(cases, runCase{k: k, shape: fmt.Sprintf("kvdim=%d/pos=%d", s.kvDim, s.pos), groups: k.Groups(s.kvDim), bufs: []buffer{
			{name: "dims", data: ops.UniformWords(uint32(s.kvDim), uint32(s.pos))},
			{name: "k", data: ops.F32Words(kv)},
			{name: "v", data: ops.F32Words(vv)},
			{name: "kcache", data: kc, want: wantK, guard: ops.GuardWords},
			{name: "vcache", data: vc, want: wantV, guard: ops.GuardWords},
		}})
	}
	return cases
}

func attentionCases(k templates.Attention) []runCase {
	var cases []runCase
	for _, s := range []struct{ heads, kvHeads, headDim, length int }{
		{8, 4, 8, 1}, {8, 4, 8, 5}, {8, 4, 8, 300},
		{8, 4, 64, 1}, {8, 4, 64, 5}, {8, 4, 64, 300},
		{6, 2, 48, 40},  // head_dim not a power of two
		{2, 2, 130, 37}, // plain multi-head, head_dim over every WG/2
	} {
		if s.length > k.MaxSeq {
			continue
		}
		r := newRand()
		seq := s.length + 3
		kvDim := s.kvHeads * s.headDim
		q := uniformRand(r, s.heads*s.headDim, 3)
		kc, vc := uniformRand(r, seq*kvDim, 1), uniformRand(r, seq*kvDim, 1)
		// Positions from length on are NaN: reading one poisons the result.
		for i := s.length * kvDim; i < len(kc); i++ {
			kc[i], vc[i] = float32(math.NaN()), float32(math.NaN())
		}
		want := make([]float32, len(q))
		ops.AttentionRef(want, q, kc, vc, s.heads, s.kvHeads, s.headDim, s.length)
		cases = append(cases, runCase{k: k, shape: fmt.Sprintf("heads=%d/kv=%d/hd=%d/len=%d", s.heads, s.kvHeads, s.headDim, s.length), groups: k.Groups(s.heads), bufs: []buffer{
			{name: "dims", data: ops.UniformWords(uint32(s.heads), uint32(s.kvHeads), uint32(s.headDim), uint32(s.length))},
			{name: "q", data: ops.F32Words(q)},
			{name: "kcache", data: ops.F32Words(kc)},
			{name: "vcache", data: ops.F32Words(vc)},
			blockOut("out", ops.SentinelWords(len(q)), want, ops.AttentionTolerance(q, kc, vc, s.heads, s.kvHeads, s.headDim, s.length)),
		}})
	}
	return cases
}
