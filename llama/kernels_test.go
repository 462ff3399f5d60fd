package llama

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/templates"
)

// The fused decode kernels of package templates, run on the device against
// ops.FusedCases (the CPU references and tolerances shared with the Dawn
// tests): guard bands after every written buffer, unwritten elements
// caught by their sentinel.

func uniformValues(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * (2*r.Float32() - 1)
	}
	return v
}

// fusedWGs are the workgroup sizes checked: the smallest, the one the
// forward pass uses, and the largest.
var fusedWGs = []int{32, defaultWG, 256}

// compileFused compiles src as kernel k with ops.FusedBindings.
func compileFused(t *testing.T, d *runner.Device, k templates.Kernel, src string) *runner.Kernel {
	t.Helper()
	kern, err := d.Compile(k.Name(), src, ops.FusedBindings(k), k.WorkgroupSize())
	if err != nil {
		t.Fatalf("%s %s: %v", k.Name(), k, err)
	}
	t.Cleanup(kern.Release)
	return kern
}

func renderFused(t *testing.T, k templates.Kernel) string {
	t.Helper()
	src, err := templates.Render(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// checkFused runs every case of ops.FusedCases for each kernel kernels
// gives at every size of fusedWGs.
func checkFused[K templates.Kernel](t *testing.T, kernels func(wg int) []K) {
	d := runnertest.Device(t)
	seen := map[int]bool{}
	for _, wg := range fusedWGs {
		if seen[wg] {
			continue
		}
		seen[wg] = true
		for _, k := range kernels(wg) {
			t.Run(k.String(), func(t *testing.T) {
				cases, err := ops.FusedCases(k)
				if err != nil {
					t.Fatal(err)
				}
				kern := compileFused(t, d, k, renderFused(t, k))
				for _, c := range cases {
					if err := c.Check(d, kern); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
}

// QKVRope: q and k rotated as ops.RopeRef does at each row's position, q
// to its rows, k and v into the caches, other cache positions untouched.
func TestQKVRopeKernel(t *testing.T) {
	checkFused(t, func(wg int) []templates.QKVRope { return []templates.QKVRope{{WG: wg}, {WG: wg, Freqs: true}} })
}

// AddRMSNorm: x + y exactly as ops.AddRef, then ops.RMSNormRef of it.
func TestAddRMSNormKernel(t *testing.T) {
	checkFused(t, func(wg int) []templates.AddRMSNorm { return []templates.AddRMSNorm{{WG: wg}} })
}

// PackedSwiGLU: ops.SwiGLURef on each row's halves.
func TestPackedSwiGLUKernel(t *testing.T) {
	checkFused(t, func(wg int) []templates.PackedSwiGLU { return []templates.PackedSwiGLU{{WG: wg}} })
}

// EmbedQuant: each part of a table split by rows writes exactly the rows
// whose token it holds, dequantized as quant.Tensor.DequantizeRow does.
func TestEmbedQuantKernel(t *testing.T) {
	checkFused(t, func(wg int) []templates.EmbedQuant {
		var ks []templates.EmbedQuant
		for _, bits := range []int{8, 4, 2} {
			for _, asym := range []bool{false, true} {
				ks = append(ks, templates.EmbedQuant{Bits: bits, Asym: asym, WG: wg})
			}
		}
		return ks
	})
}

// CopyRange moves exactly n floats between offsets.
func TestCopyRangeKernel(t *testing.T) {
	checkFused(t, func(wg int) []templates.CopyRange { return []templates.CopyRange{{WG: wg}} })
}

// The two-stage argmax: each chunk's pair and the merged index exactly as
// ops.ArgmaxRef gives them, at one and several values per thread.
func TestArgmaxSplitKernels(t *testing.T) {
	checkFused(t, func(wg int) []templates.ArgmaxParts {
		return []templates.ArgmaxParts{{WG: wg, Per: 1}, {WG: wg, Per: 4}}
	})
	checkFused(t, func(wg int) []templates.ArgmaxMerge { return []templates.ArgmaxMerge{{WG: wg}} })
}

// Broken variants of the fused kernels fail their cases: each mutation is
// one plausible bug.
func TestFusedCasesCatchBrokenKernels(t *testing.T) {
	d := runnertest.Device(t)
	for _, b := range []struct {
		name     string
		k        templates.Kernel
		old, new string
		reason   string
	}{
		{"qkvrope rotates every row at the first position", templates.QKVRope{WG: 32}, "let pos = step.pos + r;", "let pos = step.pos;", "want"},
		{"qkvrope rotates one pair past rope_dim", templates.QKVRope{WG: 64}, "d < dims.rope_dim", "d <= dims.rope_dim", "want"},
		{"qkvrope ignores the frequency factors", templates.QKVRope{WG: 32, Freqs: true}, "return (f32(pos) * freq) / freqs[i];", "return f32(pos) * freq;", "want"},
		{"qkvrope stores v one position late", templates.QKVRope{WG: 32}, "let o = pos * kvdim + e - qdim - kvdim;", "let o = (pos + 1u) * kvdim + e - qdim - kvdim;", ""},
		{"addrmsnorm leaves x without the residual", templates.AddRMSNorm{WG: 32}, "x[base + i] = v;", "", "exactly"},
		{"addrmsnorm skips eps", templates.AddRMSNorm{WG: 256}, "scale = scale + bitcast<f32>(dims.eps);", "", "want"},
		{"packedswiglu takes up from the next row", templates.PackedSwiGLU{WG: 32}, "gu[2u * r * dims.n + dims.n + c]", "gu[2u * r * dims.n + 2u * dims.n + c]", ""},
		{"embedquant writes the row past its part", templates.EmbedQuant{Bits: 8, WG: 32}, "tok - dims.row_offset >= dims.part_rows", "tok - dims.row_offset > dims.part_rows", "exactly"},
		{"embedquant drops the min", templates.EmbedQuant{Bits: 4, Asym: true, WG: 64}, "+ mins[g]", "", "want"},
		{"embedquant offset one too small", templates.EmbedQuant{Bits: 2, WG: 32}, "- 2i)", "- 1i)", "exactly"},
		{"copyrange copies one short", templates.CopyRange{WG: 32}, "i < dims.n", "i + 1u < dims.n", "exactly"},
		{"argmax-parts keeps the last of equal values", templates.ArgmaxParts{WG: 64, Per: 4}, "v > bv", "v >= bv", "exactly"},
		{"argmax-parts writes from idle workgroups", templates.ArgmaxParts{WG: 32, Per: 1}, "t == 0u && base < dims.n", "t == 0u", "out of bounds"},
		{"argmax-merge ignores indices on ties", templates.ArgmaxMerge{WG: 32}, " || (v == bv && i < bi)", "", "exactly"},
	} {
		t.Run(b.name, func(t *testing.T) {
			src := renderFused(t, b.k)
			if !strings.Contains(src, b.old) {
				t.Fatalf("the template no longer has %q", b.old)
			}
			kern := compileFused(t, d, b.k, strings.Replace(src, b.old, b.new, 1))
			cases, err := ops.FusedCases(b.k)
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
