package llama

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/templates"
)

// The decode step's fused GEMVs take their params from their own ops'
// entries, run them and agree with the CPU; where a variant has no entry,
// or one this device cannot run, it takes the plain GEMV's, with a warning
// that says why.
func TestGPUFusedGemvParamsFromProfile(t *testing.T) {
	d := runnertest.Device(t)
	f := quant.Format{Bits: 4, Group: 32}
	m, err := Synthetic("tiny", SyntheticOptions{Format: &f, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	plain := "wg=128/rows=4/vec=2/unpack=vec/fold=true"
	fused := map[ops.GemvVariant]string{
		{Norm: true}:            "wg=64/rows=32/vec=4/unpack=magic/fold=true",
		{Acc: true}:             "wg=32/rows=8/vec=1/unpack=shift/fold=false",
		{GLU: true, Acc: true}:  "wg=64/rows=16/vec=2/unpack=unorm/fold=false",
		{Norm: true, Acc: true}: "wg=32/rows=1/vec=1/unpack=shift/fold=false", // not in the step
	}
	entry := func(op, id string) profiles.Entry {
		return profiles.Entry{Op: op, Dtype: f.String(), Shape: []int{4096, 4096}, Kernel: "gemv", ID: id}
	}
	params := func(id string) templates.Gemv {
		p, err := ops.GemvVariantSpace(f, ops.GemvVariant{Norm: true}, ops.DeviceLimits(d)).Parse(id)
		if err != nil {
			t.Fatal(err)
		}
		return ops.GemvParams(p, f)
	}
	norm, acc, gluAcc := ops.GemvVariant{Norm: true}, ops.GemvVariant{Acc: true}, ops.GemvVariant{GLU: true, Acc: true}

	for _, c := range []struct {
		name string
		// the variants given an entry, and with what ID
		entries map[ops.GemvVariant]string
		// the ID each variant of the step must run; "" for the plain one's
		want map[ops.GemvVariant]string
		// what the warnings about fused params must say, one per variant
		// without an entry of its own
		warn []string
	}{
		{"own entries", fused, fused, nil},
		{"plain only", nil, nil, []string{
			"gemv-norm int4-g32-sym 256x128: no tuned int4-g32-sym gemv-norm in the profile; runs the plain GEMV's kernel " + plain,
			"gemv-acc int4-g32-sym 128x128: no tuned int4-g32-sym gemv-acc",
			"gemv-glu+acc int4-g32-sym 128x256: no tuned int4-g32-sym gemv-glu+acc",
			"gemv-norm int4-g32-sym 512x128: no tuned",
		}},
		{"unusable", map[ops.GemvVariant]string{
			norm:   "wg=256/rows=32/vec=4/unpack=magic/fold=true", // 33 KiB of workgroup memory
			acc:    fused[acc],
			gluAcc: fused[gluAcc],
		}, map[ops.GemvVariant]string{acc: fused[acc], gluAcc: fused[gluAcc]}, []string{
			"gemv-norm int4-g32-sym 256x128: the profile's kernel for 4096x4096 is unusable here",
			"gemv-norm int4-g32-sym 512x128: the profile's kernel for 4096x4096 is unusable here",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := profiles.New(profiles.Adapter{Name: "test"})
			p.Put(entry("gemv", plain))
			for v, id := range c.entries {
				p.Put(entry(v.Op(), id))
			}
			g, err := NewGPU(d, m, GPUOptions{Context: 16, Profile: p})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			ly := g.layers[0]
			for _, l := range []struct {
				lin *linear
				v   ops.GemvVariant
			}{{ly.qkv, norm}, {ly.gateUp, norm}, {g.cls, norm}, {ly.out, acc}, {ly.down, gluAcc}} {
				id, ok := c.want[l.v]
				if !ok {
					id = plain
				}
				want := l.v.Apply(params(id))
				got, ok := l.lin.gemv[l.v]
				if !ok || len(l.lin.gemv) != 1 || got != want {
					t.Errorf("%s: %v, want only %s", l.lin.name, l.lin.gemv, want)
				}
				if _, ok := g.byParams[fmt.Sprintf("%T%+v", want, want)]; !ok {
					t.Errorf("%s: no kernel compiled for %s", l.lin.name, want)
				}
				choice := slices.IndexFunc(g.Kernels, func(k KernelChoice) bool {
					return k.Op == l.v.Op() && slices.Equal(k.Shape, []int{l.lin.rows, l.lin.cols})
				})
				source := "the plain GEMV's profile (nearest"
				if c.want[l.v] != "" {
					source = "profile (nearest"
				}
				if choice < 0 || g.Kernels[choice].Params != want.TunedID() || !strings.HasPrefix(g.Kernels[choice].Source, source) {
					t.Errorf("%s: kernel choices %v lack %s %s from %s", l.lin.name, g.Kernels, l.v.Op(), want.TunedID(), source)
				}
			}
			var warned []string
			for _, w := range g.Warnings {
				if strings.HasPrefix(w, "gemv-") {
					warned = append(warned, w)
				}
			}
			if len(warned) != len(c.warn) {
				t.Errorf("warnings %q, want %d about fused params", g.Warnings, len(c.warn))
			}
			for _, w := range c.warn {
				if !slices.ContainsFunc(warned, func(s string) bool { return strings.HasPrefix(s, w) }) {
					t.Errorf("warnings %q lack %q", warned, w)
				}
			}
			if e := compareLogits(t, g, m, []int{1, 17, 300, 5}); e > logitTolerance {
				t.Errorf("largest logit error %.2g of the largest logit, want <= %g", e, logitTolerance)
			}
		})
	}
}
