package ops_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/templates"
)

// The block kernels are checked on the real device against the references
// in block.go, which follow run.c's float32 arithmetic. Every shape is
// ragged for every workgroup size; written outputs start as the NaN
// sentinel with a guard band after them (ops.CheckBlock).
//
// Tolerances: u = 2^-24 is the f32 unit roundoff. Sums are taken in another
// order on the GPU (strided partial sums and a tree) than run.c's index
// order; each order is within (length)*u*sum|terms| of the exact sum, so
// the two differ by at most 2*length*u*sum|terms|. Transcendentals get the
// Vulkan precision bounds (exp: 3 + 2|x| ULP; pow: inherited from
// exp2(y*log2(x)); division 2.5 ULP; inversesqrt 2 ULP), plus a few ULP of
// rounding in each product. Copies, the residual add (one correctly rounded
// f32 add) and argmax are exact.

const blockU = 1.0 / (1 << 24)

var blockWGs = []int{32, 64, 128, 256}

// blockCase is one checked run of a kernel: its dispatch and buffers.
type blockCase struct {
	name   string
	groups [3]uint32
	bufs   []ops.BlockBuffer
}

func blockCompile(t *testing.T, d *runner.Device, k templates.Kernel, src string) *runner.Kernel {
	t.Helper()
	kern, err := d.Compile(k.Name(), src, ops.BlockBindings(k), k.WorkgroupSize())
	if err != nil {
		t.Fatalf("%s %s: %v", k.Name(), k, err)
	}
	t.Cleanup(kern.Release)
	return kern
}

func blockRender(t *testing.T, k templates.Kernel) string {
	t.Helper()
	src, err := templates.Render(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// blockRun compiles k's source and checks every case; it returns the first
// failure.
func blockRun(t *testing.T, d *runner.Device, k templates.Kernel, src string, cases []blockCase) error {
	t.Helper()
	kern := blockCompile(t, d, k, src)
	for _, c := range cases {
		if err := ops.CheckBlock(d, kern, c.groups, c.bufs); err != nil {
			return &caseError{c.name, err}
		}
	}
	return nil
}

type caseError struct {
	name string
	err  error
}

func (e *caseError) Error() string { return e.name + ": " + e.err.Error() }

// blockSuite checks k at every workgroup size with the cases made for it.
func blockSuite[K templates.Kernel](t *testing.T, kernels func(wg int) []K, cases func(K) []blockCase) {
	d := runnertest.Device(t)
	for _, wg := range blockWGs {
		for _, k := range kernels(wg) {
			t.Run(k.String(), func(t *testing.T) {
				if err := blockRun(t, d, k, blockRender(t, k), cases(k)); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

func uniformRand(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * (2*r.Float32() - 1)
	}
	return v
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func TestBlockRMSNorm(t *testing.T) {
	blockSuite(t, func(wg int) []templates.RMSNorm { return []templates.RMSNorm{{WG: wg}} }, rmsnormCases)
}

func rmsnormCases(k templates.RMSNorm) []blockCase {
	var cases []blockCase
	// The last shape has x so small that eps matters.
	for _, s := range []struct {
		n, rows int
		scale   float32
	}{{172, 3, 2}, {1, 1, 2}, {600, 2, 2}, {172, 2, 0.003}} {
		r := newRand()
		x := uniformRand(r, s.n*s.rows, s.scale)
		w := uniformRand(r, s.n, 1.5)
		const eps = 1e-5
		want := make([]float32, len(x))
		ops.RMSNormRef(want, x, w, eps)
		// The sum of squares has positive terms: the two summation orders
		// differ by at most 2n u relative; the mean, eps, 1/sqrt and the two
		// products add under 16 ULP on either side.
		tol := make([]float64, len(want))
		for i, v := range want {
			tol[i] = math.Abs(float64(v)) * float64(2*s.n+32) * blockU
		}
		cases = append(cases, blockCase{name: "n=" + strconv.Itoa(s.n) + "/rows=" + strconv.Itoa(s.rows), groups: k.Groups(s.rows), bufs: []ops.BlockBuffer{
			{Name: "dims", Data: ops.UniformWords(uint32(s.n), math.Float32bits(eps), uint32(s.rows))},
			{Name: "x", Data: ops.F32Words(x)},
			{Name: "weight", Data: ops.F32Words(w)},
			{Name: "out", Data: ops.SentinelWords(len(x)), Want: ops.F32Words(want), Tol: tol},
		}})
	}
	return cases
}

func TestBlockRope(t *testing.T) {
	blockSuite(t, func(wg int) []templates.Rope {
		return []templates.Rope{{WG: wg}, {WG: wg, Half: true}}
	}, ropeCases)
}

// The RoPE kernels' cosine and sine (rope_cos_sin, cut from the rendered
// Rope source) are within 2^-22 + |a| 2^-34 of float64's for angles a
// across every quadrant up to 2^17 rad, on the device whatever its own
// sin and cos: measured within 2^-23 + |a| 2^-35.6 on lavapipe, and 2^-23.4
// on [-pi, pi] in Chromium's SwiftShader, whose own sin and cos are off by
// 2^-12.4 there. A polynomial without its last sine term is caught.
func TestRopeCosSin(t *testing.T) {
	d := runnertest.Device(t)
	src := blockRender(t, templates.Rope{WG: 64})
	fn, ok := "", false
	if start := strings.Index(src, "fn rope_cos_sin("); start >= 0 {
		fn, _, ok = strings.Cut(src[start:], "\n}\n")
		fn += "\n}\n"
	}
	if !ok {
		t.Fatal("no rope_cos_sin in the rendered rope kernel")
	}
	var angles []float32
	for i := range 20001 {
		angles = append(angles, float32(-math.Pi+2*math.Pi*float64(i)/20000))
	}
	r := newRand()
	for i := range 20000 {
		angles = append(angles, float32(math.Ldexp(2*r.Float64()-1, i%18)))
	}
	for k := range 64 { // either side of each half-way point between quarter turns
		h := float32((float64(k) + 0.5) * math.Pi / 2)
		angles = append(angles, h, math.Nextafter32(h, 0), math.Nextafter32(h, 1e9))
	}
	want := make([]float32, 2*len(angles))
	tol := make([]float64, len(want))
	for i, a := range angles {
		want[2*i], want[2*i+1] = float32(math.Cos(float64(a))), float32(math.Sin(float64(a)))
		tol[2*i] = 1.0/(1<<22) + math.Abs(float64(a))/(1<<34)
		tol[2*i+1] = tol[2*i]
	}
	const wrapper = `@group(0) @binding(0) var<storage, read> angles: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

%s

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 64u + gid.x;
  if (i < arrayLength(&angles)) {
    let cs = rope_cos_sin(angles[i]);
    out[2u * i] = cs.x;
    out[2u * i + 1u] = cs.y;
  }
}
`
	groups := [3]uint32{uint32((len(angles) + 63) / 64), 1, 1}
	bufs := []ops.BlockBuffer{
		{Name: "angles", Data: ops.F32Words(angles)},
		{Name: "out", Data: ops.SentinelWords(len(want)), Want: ops.F32Words(want), Tol: tol},
	}
	check := func(fn string) error {
		kern, err := d.Compile("rope_cos_sin", fmt.Sprintf(wrapper, fn), []runner.Binding{runner.ReadOnly, runner.ReadWrite}, [3]uint32{64, 1, 1})
		if err != nil {
			t.Fatal(err)
		}
		defer kern.Release()
		return ops.CheckBlock(d, kern, groups, bufs)
	}
	if err := check(fn); err != nil {
		t.Error(err)
	}
	const term = "-0.00019515296 * z + "
	if !strings.Contains(fn, term) {
		t.Fatalf("rope_cos_sin no longer has %q", term)
	}
	if err := check(strings.Replace(fn, term, "", 1)); err == nil || !strings.Contains(err.Error(), "want") {
		t.Errorf("sine without its r^7 term gave %v; want an error", err)
	}
}

func ropeCases(k templates.Rope) []blockCase {
	var cases []blockCase
	for _, s := range []struct {
		heads, headDim, ropeDim, pos int
		theta                        float32
	}{
		{8, 8, 8, 5, 10000},
		{4, 64, 32, 300, 10000},   // partial rotary: dims 32..63 untouched
		{3, 64, 64, 4095, 500000}, // Llama 3's base, a long position
		{1, 128, 128, 0, 10000},
	} {
		r := newRand()
		v := uniformRand(r, s.heads*s.headDim, 1)
		want := append([]float32(nil), v...)
		ops.RopeRef(want, s.heads, s.headDim, s.ropeDim, s.pos, s.theta, k.Half)
		// Rotated elements: the angle pos*freq carries pow's error,
		// (3 + 2|y log2 theta|) ULP by Vulkan's bounds, on both sides,
		// plus the f32 product; the kernel's cos and sin add ropeSinCos
		// each; the products and the sum a few ULP. Untouched elements
		// must match exactly.
		tol := make([]float64, len(v))
		for h := 0; h < s.heads; h++ {
			for i := 0; i < s.ropeDim/2; i++ {
				i0, i1 := h*s.headDim+2*i, h*s.headDim+2*i+1
				if k.Half {
					i0, i1 = h*s.headDim+i, h*s.headDim+i+s.ropeDim/2
				}
				e := float64(2*i) / float64(s.ropeDim)
				angle := float64(s.pos) * math.Pow(float64(s.theta), -e)
				angleErr := angle * (2*(3+2*e*math.Log2(float64(s.theta))) + 4) * blockU
				mag := math.Abs(float64(v[i0])) + math.Abs(float64(v[i1]))
				tol[i0] = mag*(angleErr+2*ropeSinCos) + 8*blockU*mag
				tol[i1] = tol[i0]
			}
		}
		cases = append(cases, blockCase{name: "pos=" + strconv.Itoa(s.pos), groups: k.Groups(s.heads, s.ropeDim), bufs: []ops.BlockBuffer{
			{Name: "dims", Data: ops.UniformWords(uint32(s.heads), uint32(s.headDim), uint32(s.ropeDim), uint32(s.pos))},
			{Name: "theta", Data: ops.UniformWords(math.Float32bits(s.theta))},
			{Name: "v", Data: ops.F32Words(v), Want: ops.F32Words(want), Tol: tol},
		}})
	}
	return cases
}

// ropeSinCos is the absolute error allowed in the kernels' cos and sin
// beyond the angle's own error, as in ops' RopeCase.
const ropeSinCos = 1.0 / (1 << 21)

func TestBlockSwiGLU(t *testing.T) {
	blockSuite(t, func(wg int) []templates.SwiGLU { return []templates.SwiGLU{{WG: wg}} }, swigluCases)
}

func swigluCases(k templates.SwiGLU) []blockCase {
	var cases []blockCase
	for _, n := range []int{172, 1, 1000} {
		r := newRand()
		gate, up := uniformRand(r, n, 8), uniformRand(r, n, 2)
		want := append([]float32(nil), gate...)
		ops.SwiGLURef(want, up)
		// exp(-g) is within (3 + 2|g|) ULP on the GPU and correctly rounded
		// here; 1 + e, the division and two products add about 6 ULP.
		tol := make([]float64, n)
		for i, g := range gate {
			tol[i] = math.Abs(float64(want[i])) * (3 + 2*math.Abs(float64(g)) + 8) * blockU
		}
		cases = append(cases, blockCase{name: "n=" + strconv.Itoa(n), groups: k.Groups(n), bufs: []ops.BlockBuffer{
			{Name: "dims", Data: ops.UniformWords(uint32(n))},
			{Name: "gate", Data: ops.F32Words(gate), Want: ops.F32Words(want), Tol: tol},
			{Name: "up", Data: ops.F32Words(up)},
		}})
	}
	return cases
}

func TestBlockAdd(t *testing.T) {
	blockSuite(t, func(wg int) []templates.Add { return []templates.Add{{WG: wg}} }, addCases)
}

func addCases(k templates.Add) []blockCase {
	var cases []blockCase
	for _, n := range []int{172, 1, 1000} {
		r := newRand()
		x, y := uniformRand(r, n, 4), uniformRand(r, n, 4)
		want := append([]float32(nil), x...)
		ops.AddRef(want, y)
		cases = append(cases, blockCase{name: "n=" + strconv.Itoa(n), groups: k.Groups(n), bufs: []ops.BlockBuffer{
			{Name: "dims", Data: ops.UniformWords(uint32(n))},
			{Name: "x", Data: ops.F32Words(x), Want: ops.F32Words(want)},
			{Name: "y", Data: ops.F32Words(y)},
		}})
	}
	return cases
}

func TestBlockEmbed(t *testing.T) {
	blockSuite(t, func(wg int) []templates.Embed { return []templates.Embed{{WG: wg}} }, embedCases)
}

func embedCases(k templates.Embed) []blockCase {
	var cases []blockCase
	for _, s := range []struct{ vocab, dim, token int }{{512, 64, 317}, {37, 100, 36}, {5, 1, 0}} {
		r := newRand()
		table := uniformRand(r, s.vocab*s.dim, 1)
		want := make([]float32, s.dim)
		ops.EmbedRef(want, table, s.token)
		cases = append(cases, blockCase{name: "token=" + strconv.Itoa(s.token), groups: k.Groups(s.dim), bufs: []ops.BlockBuffer{
			{Name: "dims", Data: ops.UniformWords(uint32(s.dim))},
			{Name: "token", Data: []uint32{uint32(s.token)}},
			{Name: "table", Data: ops.F32Words(table)},
			{Name: "out", Data: ops.SentinelWords(s.dim), Want: ops.F32Words(want)},
		}})
	}
	return cases
}

func TestBlockKVStore(t *testing.T) {
	blockSuite(t, func(wg int) []templates.KVStore { return []templates.KVStore{{WG: wg}} }, kvstoreCases)
}

func kvstoreCases(k templates.KVStore) []blockCase {
	var cases []blockCase
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
		cases = append(cases, blockCase{name: "pos=" + strconv.Itoa(s.pos), groups: k.Groups(s.kvDim), bufs: []ops.BlockBuffer{
			{Name: "dims", Data: ops.UniformWords(uint32(s.kvDim), uint32(s.pos))},
			{Name: "k", Data: ops.F32Words(kv)},
			{Name: "v", Data: ops.F32Words(vv)},
			{Name: "kcache", Data: kc, Want: wantK},
			{Name: "vcache", Data: vc, Want: wantV},
		}})
	}
	return cases
}

func TestBlockAttention(t *testing.T) {
	blockSuite(t, func(wg int) []templates.Attention {
		return []templates.Attention{{WG: wg, MaxSeq: 300}, {WG: wg, MaxSeq: 40}}
	}, attentionCases)
}

func attentionCases(k templates.Attention) []blockCase {
	var cases []blockCase
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
		tol := ops.AttentionTolerance(q, kc, vc, s.heads, s.kvHeads, s.headDim, s.length)
		cases = append(cases, blockCase{
			name:   "heads=" + strconv.Itoa(s.heads) + "/kv=" + strconv.Itoa(s.kvHeads) + "/hd=" + strconv.Itoa(s.headDim) + "/len=" + strconv.Itoa(s.length),
			groups: k.Groups(s.heads),
			bufs: []ops.BlockBuffer{
				{Name: "dims", Data: ops.UniformWords(uint32(s.heads), uint32(s.kvHeads), uint32(s.headDim), uint32(s.length))},
				{Name: "q", Data: ops.F32Words(q)},
				{Name: "kcache", Data: ops.F32Words(kc)},
				{Name: "vcache", Data: ops.F32Words(vc)},
				{Name: "out", Data: ops.SentinelWords(len(q)), Want: ops.F32Words(want), Tol: tol},
			}})
	}
	return cases
}

func TestBlockArgmax(t *testing.T) {
	blockSuite(t, func(wg int) []templates.Argmax { return []templates.Argmax{{WG: wg}} }, argmaxCases)
}

func argmaxCases(k templates.Argmax) []blockCase {
	var cases []blockCase
	add := func(name string, x []float32) {
		cases = append(cases, blockCase{name: name, groups: k.Groups(), bufs: []ops.BlockBuffer{
			{Name: "dims", Data: ops.UniformWords(uint32(len(x)))},
			{Name: "x", Data: ops.F32Words(x)},
			{Name: "out", Data: ops.SentinelWords(1), Want: []uint32{uint32(ops.ArgmaxRef(x))}},
		}})
	}
	r := newRand()
	// A maximum held twice, by elements that different threads scan at
	// every workgroup size: the first must win, in either thread order.
	x := uniformRand(r, 172, 1)
	x[150], x[37] = 5, 5
	add("tie/n=172", x)
	x = uniformRand(r, 1000, 1)
	x[613], x[100] = 3, 3
	add("tie/n=1000", x)
	x = uniformRand(r, 1000, 1)
	x[999], x[0] = 3, 3
	add("tie-first-last/n=1000", x)
	add("all-equal/n=300", make([]float32, 300))
	x = uniformRand(r, 300, 1)
	for i := range x {
		x[i] = -float32(math.Inf(1))
	}
	x[299] = -float32(math.MaxFloat32)
	add("infinities/n=300", x)
	add("n=1", []float32{-7})
	x = uniformRand(r, 128256, 10) // Llama 3's vocabulary
	x[128255] = 11
	add("vocab/n=128256", x)
	return cases
}

func TestBlockMatVec(t *testing.T) {
	blockSuite(t, func(wg int) []templates.MatVec {
		return []templates.MatVec{{WG: wg, Rows: 1}, {WG: wg, Rows: 3}, {WG: wg, Rows: 16}}
	}, matvecCases)
}

func matvecCases(k templates.MatVec) []blockCase {
	var cases []blockCase
	shapes := []struct{ rows, cols int }{{67, 172}, {1, 1}, {5, 1025}}
	if k.Rows == 1 {
		shapes = append(shapes, struct{ rows, cols int }{40000, 3}) // a grid folded into two dimensions
	}
	for _, s := range shapes {
		r := newRand()
		w, x := uniformRand(r, s.rows*s.cols, 1), uniformRand(r, s.cols, 1)
		want := make([]float32, s.rows)
		ops.MatVecRef(want, w, x)
		tol := make([]float64, s.rows)
		for i := range tol {
			var mag float64
			for c, xv := range x {
				mag += math.Abs(float64(w[i*s.cols+c]) * float64(xv))
			}
			tol[i] = ops.Tolerance(s.cols, mag) // 2 cols u sum|w x|: both orders
		}
		cases = append(cases, blockCase{name: strconv.Itoa(s.rows) + "x" + strconv.Itoa(s.cols), groups: k.Groups(s.rows), bufs: []ops.BlockBuffer{
			{Name: "dims", Data: ops.UniformWords(uint32(s.rows), uint32(s.cols))},
			{Name: "w", Data: ops.F32Words(w)},
			{Name: "x", Data: ops.F32Words(x)},
			{Name: "y", Data: ops.SentinelWords(s.rows), Want: ops.F32Words(want), Tol: tol},
		}})
	}
	return cases
}

// Every block kernel compiles at every workgroup size, with the largest
// workgroup memory its params allow.
func TestBlockCompilesEveryWG(t *testing.T) {
	d := runnertest.Device(t)
	for _, wg := range blockWGs {
		for _, k := range []templates.Kernel{
			templates.RMSNorm{WG: wg}, templates.Rope{WG: wg}, templates.Rope{WG: wg, Half: true},
			templates.SwiGLU{WG: wg}, templates.Add{WG: wg}, templates.Embed{WG: wg}, templates.KVStore{WG: wg},
			templates.Attention{WG: wg, MaxSeq: templates.MaxAttentionSeq}, templates.Argmax{WG: wg},
			templates.MatVec{WG: wg, Rows: 1}, templates.MatVec{WG: wg, Rows: 16},
		} {
			t.Run(k.Name()+"/"+k.String(), func(t *testing.T) {
				blockCompile(t, d, k, blockRender(t, k))
			})
		}
	}
}

// Broken variants of the templates fail validation: each mutation is one
// plausible bug.
func TestBlockCatchesBrokenKernels(t *testing.T) {
	d := runnertest.Device(t)
	rope := templates.Rope{WG: 64}
	attn := templates.Attention{WG: 128, MaxSeq: 300}
	argmax := templates.Argmax{WG: 32}
	mv := templates.MatVec{WG: 32, Rows: 3}
	for _, b := range []struct {
		name     string
		k        templates.Kernel
		old, new string
		cases    []blockCase
		reason   string
	}{
		{"rope exponent over head_dim", rope, "rope_angle(dims.pos, i, dims.rope_dim,", "rope_angle(dims.pos, i, dims.head_dim,", ropeCases(rope), "want"},
		{"rope reduces by pi/2's high part only", rope, " - k * 0.0004838268", "", ropeCases(rope), "want"},
		{"rope turns the wrong way in odd quadrants", rope, "select(c, -s, odd)", "select(c, s, odd)", ropeCases(rope), "want"},
		{"argmax ties to the later index", argmax, "oi < ci", "oi > ci", argmaxCases(argmax), "exactly"},
		{"attention reads one position too many", attn, "t < dims.len; t = t + 1u", "t <= dims.len; t = t + 1u", attentionCases(attn), ""},
		{"attention without the 1/sqrt(hd) scale", attn, "score = score / scale;", "", attentionCases(attn), "want"},
		{"matvec stores a row past the end", mv, "row0 + t < dims.rows", "row0 + t <= dims.rows", matvecCases(mv), "out of bounds"},
		{"rmsnorm without eps", templates.RMSNorm{WG: 32}, "scale = scale + bitcast<f32>(dims.eps);", "", rmsnormCases(templates.RMSNorm{WG: 32}), ""},
	} {
		t.Run(b.name, func(t *testing.T) {
			src := blockRender(t, b.k)
			if !strings.Contains(src, b.old) {
				t.Fatalf("the template no longer has %q", b.old)
			}
			err := blockRun(t, d, b.k, strings.Replace(src, b.old, b.new, 1), b.cases)
			if err == nil || !strings.Contains(err.Error(), b.reason) {
				t.Errorf("broken kernel gave %v; want an error mentioning %q", err, b.reason)
			}
		})
	}
}

// checkCases compiles k and runs every case of ops.BlockCases(k).
func checkCases(t *testing.T, d *runner.Device, k templates.Kernel) {
	t.Helper()
	cases, err := ops.BlockCases(k)
	if err != nil {
		t.Fatal(err)
	}
	kern := blockCompile(t, d, k, blockRender(t, k))
	for _, c := range cases {
		if err := c.Check(d, kern); err != nil {
			t.Error(err)
		}
	}
}

// casesSuite checks each kernel against ops.BlockCases at every workgroup
// size.
func casesSuite[K templates.Kernel](t *testing.T, kernels func(wg int) []K) {
	d := runnertest.Device(t)
	for _, wg := range blockWGs {
		for _, k := range kernels(wg) {
			t.Run(k.String(), func(t *testing.T) { checkCases(t, d, k) })
		}
	}
}

func TestBlockRMSNormNoWeight(t *testing.T) {
	casesSuite(t, func(wg int) []templates.RMSNorm { return []templates.RMSNorm{{WG: wg, NoWeight: true}} })
}

func TestBlockRopeFreqs(t *testing.T) {
	casesSuite(t, func(wg int) []templates.Rope {
		return []templates.Rope{{WG: wg, Freqs: true}, {WG: wg, Half: true, Freqs: true}}
	})
}

func TestBlockEmbedQ(t *testing.T) {
	casesSuite(t, func(wg int) []templates.EmbedQ {
		var ks []templates.EmbedQ
		for _, f := range []struct {
			bits, group int
			asym        bool
		}{{8, 32, false}, {4, 32, false}, {4, 128, true}, {2, 64, false}, {2, 0, true}, {8, 0, true}} {
			ks = append(ks, templates.EmbedQ{Bits: f.bits, Group: f.group, Asym: f.asym, WG: wg})
		}
		return ks
	})
}

func TestBlockSoftmax(t *testing.T) {
	casesSuite(t, func(wg int) []templates.Softmax { return []templates.Softmax{{WG: wg}} })
}

func TestBlockTopP(t *testing.T) {
	casesSuite(t, func(wg int) []templates.TopP {
		return []templates.TopP{{WG: wg, Chunk: 128}, {WG: wg, Chunk: 1024}}
	})
}

func TestBlockRouter(t *testing.T) {
	casesSuite(t, func(wg int) []templates.Router { return []templates.Router{{WG: wg}} })
}

// Broken variants of the newer templates fail their cases: each mutation
// is one plausible bug.
func TestBlockCasesCatchBrokenKernels(t *testing.T) {
	d := runnertest.Device(t)
	topp := templates.TopP{WG: 32, Chunk: 128}
	for _, b := range []struct {
		name     string
		k        templates.Kernel
		old, new string
		all      bool // replace every occurrence
		reason   string
	}{
		{"rmsnorm without weight skips eps", templates.RMSNorm{WG: 32, NoWeight: true}, "scale = scale + bitcast<f32>(dims.eps);", "", false, "want"},
		{"rope ignores the frequency factors", templates.Rope{WG: 32, Freqs: true}, "/ freqs[i]", "", false, "want"},
		{"rope divides by the next pair's factor", templates.Rope{WG: 64, Half: true, Freqs: true}, "freqs[i]", "freqs[i + 1u]", false, "want"},
		{"embedq offset one too small", templates.EmbedQ{Bits: 4, Group: 32, WG: 32}, "- 8i)", "- 7i)", false, "exactly"},
		{"embedq drops the min", templates.EmbedQ{Bits: 2, Group: 64, Asym: true, WG: 32}, "+ mins[g]", "", false, "want"},
		{"embedq writes for the row past its part", templates.EmbedQ{Bits: 8, Group: 32, WG: 64}, "r >= dims.rows", "r > dims.rows", false, "exactly"},
		{"softmax without the temperature", templates.Softmax{WG: 64}, " / temp", "", true, "want"},
		{"softmax normalises by the maximum", templates.Softmax{WG: 32}, "out[base + i] / sum", "out[base + i] / exp(m)", false, "want"},
		{"top-p ties go to the higher index", topp, "ib < ia", "ib > ia", false, "exactly"},
		{"top-p stops when the sum reaches topp", topp, "c > topp", "c >= topp", false, "sum-equals-topp"},
		{"top-p chunk misses its threshold key", topp, "~i >= thr_i", "~i > thr_i", false, ""},
		{"top-p retakes the last key of a chunk", topp, "i > bound_i", "i >= bound_i", false, ""},
		{"top-p samples with the coin unscaled", topp, "bitcast<f32>(params.coin) * cum", "bitcast<f32>(params.coin)", false, "exactly"},
		{"router ties go to the higher index", templates.Router{WG: 32}, "oi < ci", "oi > ci", false, "exactly"},
		{"router scores sigmoid(-logit)", templates.Router{WG: 64}, "exp(-pv)", "exp(pv)", false, "want"},
	} {
		t.Run(b.name, func(t *testing.T) {
			src := blockRender(t, b.k)
			if !strings.Contains(src, b.old) {
				t.Fatalf("the template no longer has %q", b.old)
			}
			n := 1
			if b.all {
				n = -1
			}
			kern := blockCompile(t, d, b.k, strings.Replace(src, b.old, b.new, n))
			cases, err := ops.BlockCases(b.k)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				if err = c.Check(d, kern); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), b.reason) {
				t.Errorf("broken kernel gave %v; want an error mentioning %q", err, b.reason)
			}
		})
	}
}

// Top-p on the GPU chooses exactly what TopPRef chooses, with the same
// nucleus, over many random distributions, temperatures, top-p values and
// coins, for kernels of every chunk size.
func TestBlockTopPManyInputs(t *testing.T) {
	d := runnertest.Device(t)
	var kernels []templates.TopP
	var kerns []*runner.Kernel
	for _, k := range []templates.TopP{{WG: 32, Chunk: 128}, {WG: 64, Chunk: 256}, {WG: 128, Chunk: 512}, {WG: 256, Chunk: 1024}} {
		kernels = append(kernels, k)
		kerns = append(kerns, blockCompile(t, d, k, blockRender(t, k)))
	}
	r := rand.New(rand.NewPCG(7, 8))
	for trial := range 200 {
		n := 2 + r.IntN(4000)
		var probs []float32
		if trial%3 == 0 {
			probs = ops.ZipfProbs(r.Uint64(), n, 0.5+1.5*r.Float64())
		} else {
			probs = ops.SoftmaxProbs(r.Uint64(), n, 1+10*r.Float32(), 0.3+1.5*r.Float32())
		}
		topp := []float32{0.9, 0.95, 0.5, r.Float32()}[trial%4]
		i := trial % len(kernels)
		c := ops.TopPCase(kernels[i], "trial "+strconv.Itoa(trial), probs, topp, r.Float32())
		if err := c.Check(d, kerns[i]); err != nil {
			t.Fatalf("%s n=%d topp=%g: %v", kernels[i], n, topp, err)
		}
	}
}

// The sampling step as the forward pass records it, softmax over the
// temperature and then top-p in one submission, picks what run.c's
// sample_topp picks from the probabilities the GPU computed.
func TestBlockSoftmaxTopPChain(t *testing.T) {
	d := runnertest.Device(t)
	sm, tp := templates.Softmax{WG: 256}, templates.TopP{WG: 256, Chunk: 1024}
	smk, tpk := blockCompile(t, d, sm, blockRender(t, sm)), blockCompile(t, d, tp, blockRender(t, tp))
	buffer := func(name string, words []uint32) *runner.Buffer {
		t.Helper()
		b, err := d.NewBuffer(name, uint64(4*len(words)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Release)
		raw := make([]byte, 4*len(words))
		for i, w := range words {
			binary.LittleEndian.PutUint32(raw[4*i:], w)
		}
		if err := b.Write(0, raw); err != nil {
			t.Fatal(err)
		}
		return b
	}
	words := func(b *runner.Buffer) []uint32 {
		t.Helper()
		raw, err := b.Read()
		if err != nil {
			t.Fatal(err)
		}
		w := make([]uint32, len(raw)/4)
		for i := range w {
			w[i] = binary.LittleEndian.Uint32(raw[4*i:])
		}
		return w
	}
	r := rand.New(rand.NewPCG(9, 10))
	for trial := range 30 {
		n := []int{32000, 128256, 1000}[trial%3]
		logits := uniformRand(r, n, 12)
		temp, topp, coin := 0.5+r.Float32(), float32(0.9), r.Float32()
		probs := buffer("probs", ops.SentinelWords(n))
		nucleus := buffer("nucleus", ops.SentinelWords(2*n))
		out := buffer("out", ops.SentinelWords(1))
		if err := d.Run(
			runner.Dispatch{Kernel: smk, Groups: sm.Groups(1), Buffers: []*runner.Buffer{
				buffer("dims", ops.UniformWords(uint32(n), 1, math.Float32bits(temp))), buffer("logits", ops.F32Words(logits)), probs}},
			runner.Dispatch{Kernel: tpk, Groups: tp.Groups(), Buffers: []*runner.Buffer{
				buffer("params", ops.UniformWords(uint32(n), math.Float32bits(topp), math.Float32bits(ops.TopPCutoff(topp, n)), math.Float32bits(coin))),
				probs, nucleus, out}},
		); err != nil {
			t.Fatal(err)
		}
		p := make([]float32, n)
		for i, w := range words(probs) {
			p[i] = math.Float32frombits(w)
		}
		want, _ := ops.TopPRef(p, topp, coin)
		if got := words(out)[0]; got != uint32(want) {
			t.Fatalf("trial %d n=%d: GPU chose %d, TopPRef on the GPU's probabilities %d", trial, n, got, want)
		}
	}
}
