package llama

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/templates"
)

// The fused decode kernels of package templates, each run once on the
// device against the ops CPU references it must agree with (guard bands
// after every written buffer, unwritten elements caught by their sentinel).

const unit = 1.0 / (1 << 24) // f32 unit roundoff

func checkKernel(t *testing.T, d *runner.Device, k templates.Kernel, b []runner.Binding, groups [3]uint32, bufs []ops.BlockBuffer) {
	t.Helper()
	src, err := templates.Render(k)
	if err != nil {
		t.Fatal(err)
	}
	kern, err := d.Compile(k.Name(), string(src), b, k.WorkgroupSize())
	if err != nil {
		t.Fatal(err)
	}
	defer kern.Release()
	if err := ops.CheckBlock(d, kern, groups, bufs); err != nil {
		t.Error(err)
	}
}

func uniformValues(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * (2*r.Float32() - 1)
	}
	return v
}

// QKVRope: rows at positions pos.. rotated as ops.RopeRef does, q to its
// rows, k and v into the caches; cache positions of other rows untouched.
// Partial RoPE (8 of 12 dimensions) and grouped kv heads. The tolerance of
// a rotated pair is the one ops' Rope case derives: pow's error on the
// angle, 2^-19 on cos and sin, a few ULP for the products.
func TestQKVRopeKernel(t *testing.T) {
	d := runnertest.Device(t)
	const heads, kvHeads, hd, rd, rows, pos, seq = 4, 2, 12, 8, 3, 5, 10
	const theta = float32(10000)
	qdim, kvdim := heads*hd, kvHeads*hd
	width := qdim + 2*kvdim
	r := rand.New(rand.NewPCG(1, 2))
	qkv := uniformValues(r, rows*width, 1)
	kc, vc := uniformValues(r, seq*kvdim, 1), uniformValues(r, seq*kvdim, 1)
	wantQ := make([]float32, rows*qdim)
	wantK, wantV := append([]float32(nil), kc...), append([]float32(nil), vc...)
	tolQ, tolK := make([]float64, len(wantQ)), make([]float64, len(wantK))
	for row := range rows {
		x := qkv[row*width : (row+1)*width]
		p := pos + row
		q, k := append([]float32(nil), x[:qdim]...), append([]float32(nil), x[qdim:qdim+kvdim]...)
		ops.RopeRef(q, heads, hd, rd, p, theta, false)
		ops.RopeRef(k, kvHeads, hd, rd, p, theta, false)
		copy(wantQ[row*qdim:], q)
		copy(wantK[p*kvdim:], k)
		copy(wantV[p*kvdim:], x[qdim+kvdim:])
		tol := func(dst []float64, src []float32) {
			for e := 0; e < len(src); e += 2 {
				i := (e % hd) / 2
				if 2*i >= rd {
					continue // not rotated: exact
				}
				ex := float64(2*i) / float64(rd)
				angle := float64(p) * math.Pow(float64(theta), -ex)
				ulps := 2*(3+2*ex*math.Log2(float64(theta))) + 4
				mag := math.Abs(float64(src[e])) + math.Abs(float64(src[e+1]))
				dst[e] = mag*(angle*ulps*unit+2.0/(1<<19)) + 8*unit*mag
				dst[e+1] = dst[e]
			}
		}
		tol(tolQ[row*qdim:(row+1)*qdim], x[:qdim])
		tol(tolK[p*kvdim:(p+1)*kvdim], x[qdim:qdim+kvdim])
	}
	k := templates.QKVRope{WG: 32}
	checkKernel(t, d, k, []runner.Binding{u, u, ro, rw, rw, rw}, k.Groups(rows, width), []ops.BlockBuffer{
		{Name: "dims", Data: ops.UniformWords(heads, kvHeads, hd, rd)},
		{Name: "step", Data: ops.UniformWords(math.Float32bits(theta), pos, rows)},
		{Name: "qkv", Data: ops.F32Words(qkv)},
		{Name: "q", Data: ops.SentinelWords(len(wantQ)), Want: ops.F32Words(wantQ), Tol: tolQ},
		{Name: "kcache", Data: ops.F32Words(kc), Want: ops.F32Words(wantK), Tol: tolK},
		{Name: "vcache", Data: ops.F32Words(vc), Want: ops.F32Words(wantV)},
	})
}

// AddRMSNorm: x + y exactly as ops.AddRef, then ops.RMSNormRef of it; the
// sum of squares is taken in another order on the device, which moves the
// result by at most (n + 8) ULP relative.
func TestAddRMSNormKernel(t *testing.T) {
	d := runnertest.Device(t)
	const rows, n = 3, 100
	r := rand.New(rand.NewPCG(3, 4))
	x, y, w := uniformValues(r, rows*n, 2), uniformValues(r, rows*n, 2), uniformValues(r, n, 1)
	wantX := append([]float32(nil), x...)
	ops.AddRef(wantX, y)
	want := make([]float32, rows*n)
	tol := make([]float64, len(want))
	for row := range rows {
		ops.RMSNormRef(want[row*n:(row+1)*n], wantX[row*n:(row+1)*n], w, 1e-5)
	}
	for i, v := range want {
		tol[i] = math.Abs(float64(v))*(n+8)*unit + 1e-30
	}
	k := templates.AddRMSNorm{WG: 32}
	checkKernel(t, d, k, []runner.Binding{u, rw, ro, ro, rw}, k.Groups(rows), []ops.BlockBuffer{
		{Name: "dims", Data: ops.UniformWords(n, math.Float32bits(1e-5), rows)},
		{Name: "x", Data: ops.F32Words(x), Want: ops.F32Words(wantX)},
		{Name: "y", Data: ops.F32Words(y)},
		{Name: "weight", Data: ops.F32Words(w)},
		{Name: "out", Data: ops.SentinelWords(len(want)), Want: ops.F32Words(want), Tol: tol},
	})
}

// PackedSwiGLU: ops.SwiGLURef on each row's halves. exp(-g) is within
// (3 + 2|g|) ULP on the device; the rest adds about 6 ULP.
func TestPackedSwiGLUKernel(t *testing.T) {
	d := runnertest.Device(t)
	const rows, n = 3, 70
	r := rand.New(rand.NewPCG(5, 6))
	gu := uniformValues(r, rows*2*n, 8)
	want := make([]float32, rows*n)
	tol := make([]float64, len(want))
	for row := range rows {
		gate := append([]float32(nil), gu[2*row*n:(2*row+1)*n]...)
		ops.SwiGLURef(gate, gu[(2*row+1)*n:(2*row+2)*n])
		copy(want[row*n:], gate)
		for i, g := range gu[2*row*n : (2*row+1)*n] {
			tol[row*n+i] = math.Abs(float64(gate[i]))*(9+2*math.Abs(float64(g)))*unit + 1e-30
		}
	}
	k := templates.PackedSwiGLU{WG: 32}
	checkKernel(t, d, k, []runner.Binding{u, ro, rw}, k.Groups(rows*n), []ops.BlockBuffer{
		{Name: "dims", Data: ops.UniformWords(n, rows)},
		{Name: "gu", Data: ops.F32Words(gu)},
		{Name: "out", Data: ops.SentinelWords(len(want)), Want: ops.F32Words(want), Tol: tol},
	})
}

// EmbedQuant: each part of a table split by rows writes exactly the rows
// whose token it holds, dequantized as quant.Tensor.DequantizeRow does
// (asymmetric values may be one fused multiply-add, within 2 ULP).
func TestEmbedQuantKernel(t *testing.T) {
	d := runnertest.Device(t)
	const vocab, dim, split = 10, 128, 6
	tokens := []int{7, 0, 9, 5, 6}
	for _, f := range []quant.Format{{Bits: 8, Group: 32}, {Bits: 4, Group: 64}, {Bits: 2, Group: 0, Asym: true}, {Bits: 4, Group: 32, Asym: true}} {
		t.Run(f.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(f.Bits)))
			tab, err := quant.Quantize(uniformValues(r, vocab*dim, 1), vocab, dim, f, quant.RTN)
			if err != nil {
				t.Fatal(err)
			}
			wpr, gpr := tab.WordsPerRow(), tab.GroupsPerRow()
			ids := make([]uint32, len(tokens))
			for i, tk := range tokens {
				ids[i] = uint32(tk)
			}
			k := templates.EmbedQuant{Bits: f.Bits, Asym: f.Asym, WG: 32}
			b := []runner.Binding{u, ro, ro, ro, rw}
			if f.Asym {
				b = append(b, ro)
			}
			for _, part := range [][2]int{{0, split}, {split, vocab}} {
				want := ops.SentinelWords(len(tokens) * dim)
				tol := make([]float64, len(want))
				row := make([]float32, dim)
				for i, tk := range tokens {
					if tk < part[0] || tk >= part[1] {
						continue
					}
					tab.DequantizeRow(tk, row)
					copy(want[i*dim:], ops.F32Words(row))
					for c, v := range row {
						if f.Asym {
							tol[i*dim+c] = 2*unit*(math.Abs(float64(v))+math.Abs(float64(tab.Mins[tk*gpr+c*gpr/dim]))) + 1e-30
						}
					}
				}
				bufs := []ops.BlockBuffer{
					{Name: "dims", Data: []uint32{dim, uint32(f.GroupLen(dim)), uint32(len(tokens)), uint32(part[0]), uint32(part[1] - part[0]), 0, 0, 0}},
					{Name: "tokens", Data: ids},
					{Name: "words", Data: tab.Words[part[0]*wpr : part[1]*wpr]},
					{Name: "scales", Data: ops.F32Words(tab.Scales[part[0]*gpr : part[1]*gpr])},
					{Name: "out", Data: ops.SentinelWords(len(want)), Want: want, Tol: tol},
				}
				if f.Asym {
					bufs = append(bufs, ops.BlockBuffer{Name: "mins", Data: ops.F32Words(tab.Mins[part[0]*gpr : part[1]*gpr])})
				}
				checkKernel(t, d, k, b, k.Groups(len(tokens)*dim), bufs)
			}
		})
	}
}

// CopyRange moves exactly n floats between offsets.
func TestCopyRangeKernel(t *testing.T) {
	d := runnertest.Device(t)
	const n, srcOff, dstOff = 37, 11, 5
	r := rand.New(rand.NewPCG(9, 10))
	src, dst := uniformValues(r, 64, 1), uniformValues(r, 50, 1)
	want := append([]float32(nil), dst...)
	copy(want[dstOff:dstOff+n], src[srcOff:])
	k := templates.CopyRange{WG: 32}
	checkKernel(t, d, k, []runner.Binding{u, ro, rw}, k.Groups(n), []ops.BlockBuffer{
		{Name: "dims", Data: ops.UniformWords(n, srcOff, dstOff)},
		{Name: "src", Data: ops.F32Words(src)},
		{Name: "dst", Data: ops.F32Words(dst), Want: ops.F32Words(want)},
	})
}
