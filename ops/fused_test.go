package ops_test

import (
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// Every fused case fits its kernel's bindings: one buffer a binding, a
// 16- or 32-byte uniform where one is bound, and expectations only for
// buffers the kernel may write. (The cases run on lavapipe in package
// llama and on Dawn in package dawn.)
func TestFusedCasesFitBindings(t *testing.T) {
	ks := []templates.Kernel{templates.QKVRope{WG: 32}, templates.QKVRope{WG: 64, Freqs: true}, templates.AddRMSNorm{WG: 64}, templates.PackedSwiGLU{WG: 128}, templates.CopyRange{WG: 256}}
	for _, bits := range []int{8, 4, 2} {
		ks = append(ks, templates.EmbedQuant{Bits: bits, WG: 32}, templates.EmbedQuant{Bits: bits, Asym: true, WG: 32})
	}
	for _, k := range ks {
		cases, err := ops.FusedCases(k)
		if err != nil {
			t.Fatalf("%s %s: %v", k.Name(), k, err)
		}
		if len(cases) == 0 {
			t.Errorf("%s %s: no cases", k.Name(), k)
		}
		b := ops.FusedBindings(k)
		for _, c := range cases {
			if len(c.Bufs) != len(b) {
				t.Fatalf("%s %s/%s: %d buffers for %d bindings", k.Name(), k, c.Name, len(c.Bufs), len(b))
			}
			written := 0
			for i, buf := range c.Bufs {
				switch {
				case b[i] == runner.Uniform && len(buf.Data) != 4 && len(buf.Data) != 8:
					t.Errorf("%s %s/%s: uniform %s of %d words", k.Name(), k, c.Name, buf.Name, len(buf.Data))
				case buf.Want != nil && b[i] != runner.ReadWrite:
					t.Errorf("%s %s/%s: %s is expected to change but bound %v", k.Name(), k, c.Name, buf.Name, b[i])
				case buf.Want != nil && len(buf.Want) != len(buf.Data):
					t.Errorf("%s %s/%s: %s wants %d words of %d", k.Name(), k, c.Name, buf.Name, len(buf.Want), len(buf.Data))
				case buf.Tol != nil && len(buf.Tol) != len(buf.Want):
					t.Errorf("%s %s/%s: %s has %d tolerances for %d words", k.Name(), k, c.Name, buf.Name, len(buf.Tol), len(buf.Want))
				}
				if buf.Want != nil {
					written++
				}
			}
			if written == 0 {
				t.Errorf("%s %s/%s: nothing checked", k.Name(), k, c.Name)
			}
		}
	}
	if _, err := ops.FusedCases(templates.Add{WG: 32}); err == nil {
		t.Error("FusedCases of a block kernel: no error")
	}
}

// A case for a format of other bits than the kernel's is an error, not a
// wrong check.
func TestEmbedQuantCaseRejectsFormat(t *testing.T) {
	_, err := ops.EmbedQuantCase(templates.EmbedQuant{Bits: 4, WG: 32}, quant.Format{Bits: 8, Group: 32}, 4, 32, []int{1}, 0, 4)
	if err == nil {
		t.Fatal("embedquant case for 8-bit codes on a 4-bit kernel: no error")
	}
}

// The fused references are the block references they fuse: one row of
// QKVRopeRef is RopeRef of its q and k at the position and a copy of its v
// into the caches there, one row of PackedSwiGLURef is SwiGLURef.
func TestFusedRefs(t *testing.T) {
	qkv := []float32{1, 2, 3, 4, 5, 6} // one head and one kv head of 2: q | k | v
	q, kc, vc := make([]float32, 2), make([]float32, 4), make([]float32, 4)
	ops.QKVRopeRef(q, kc, vc, qkv, 1, 1, 2, 2, 1, 10000, nil) // position 1: pair 0 turns by 1 radian
	wantQ, wantK := []float32{1, 2}, []float32{3, 4}
	ops.RopeRef(wantQ, 1, 2, 2, 1, 10000, false)
	ops.RopeRef(wantK, 1, 2, 2, 1, 10000, false)
	if q[0] != wantQ[0] || q[1] != wantQ[1] || kc[2] != wantK[0] || kc[3] != wantK[1] || vc[2] != 5 || vc[3] != 6 {
		t.Errorf("QKVRopeRef: q %v k %v v %v; want q %v, k %v and v [5 6] at position 1", q, kc, vc, wantQ, wantK)
	}
	if kc[0] != 0 || vc[0] != 0 {
		t.Errorf("QKVRopeRef wrote position 0: k %v v %v", kc, vc)
	}
	gu := []float32{1.5, -2, 3, 0.5}
	out := make([]float32, 2)
	ops.PackedSwiGLURef(out, gu, 2)
	gate := []float32{1.5, -2}
	ops.SwiGLURef(gate, []float32{3, 0.5})
	if out[0] != gate[0] || out[1] != gate[1] {
		t.Errorf("PackedSwiGLURef = %v, want %v", out, gate)
	}
}
