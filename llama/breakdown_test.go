package llama

import (
	"math"
	"slices"
	"testing"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner/runnertest"
)

// A step's breakdown accounts for every dispatch once, by kernel and
// shape with the parts of the model they compute; the parts add up to the
// step's total, which is within a sane factor of the step run in one pass;
// the bytes are the weights' and the caches' up to the position.
func TestGPUProfileStep(t *testing.T) {
	d := runnertest.Device(t)
	if !d.Timestamps() {
		t.Skip("no timestamp queries")
	}
	f := quant.Format{Bits: 4, Group: 32}
	spec := syntheticSpecs["tiny"]
	spec.SeqLen = 1024
	m, err := spec.generate("tiny", SyntheticOptions{Format: &f, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGPU(d, m, GPUOptions{Context: 600})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	const pos, runs = 300, 3
	if err := g.setToken(7); err != nil {
		t.Fatal(err)
	}
	p, err := g.ProfileStep(pos, runs)
	if err != nil {
		t.Fatal(err)
	}
	if n := g.stepFor(pos).prog.Len(); p.Dispatches != n || len(p.Sum) != runs || len(p.Pass) != runs || len(p.Host) != runs {
		t.Fatalf("%d dispatches (step has %d), %d sums, %d one-pass times, %d host times; want %d runs", p.Dispatches, n, len(p.Sum), len(p.Pass), len(p.Host), runs)
	}
	o := m.Options
	L := o.NumLayers
	// What the tiny model's step is made of at position 300 (the 512
	// tier: 8 splits of 64), and how many of each.
	// The norms, residual adds, SwiGLU, RoPE and the cache stores are
	// fused into the GEMVs.
	want := map[string]int{
		"embedquant 128":      1,
		"gemv 256x128":        L, // norm; q, k, v; rope, kv store
		"flash-decode 4x2x32": L,
		"flash-reduce 4x2x32": L,
		"gemv 128x128":        L,     // attention output, added
		"gemv 512x128":        L + 1, // norm; gate and up; the tied classifier
		"gemv 128x256":        L,     // SwiGLU, down, added
		"argmax-parts 512":    1,
		"argmax-merge 512":    1,
	}
	count := 0
	var bytes int64
	run := make([]float64, runs)
	for _, k := range p.Kernels {
		if want[k.Name()] != k.Count {
			t.Errorf("%s: %d dispatches, want %d", k.Name(), k.Count, want[k.Name()])
		}
		delete(want, k.Name())
		count += k.Count
		bytes += k.Bytes
		if len(k.InPass) != runs {
			t.Errorf("%s: %d in-pass samples, want %d", k.Name(), len(k.InPass), runs)
		}
		if len(k.Roles) == 0 || k.Bytes <= 0 || k.Median <= 0 || len(k.Samples) != runs {
			t.Errorf("%s: roles %q, %d bytes, median %g, %d samples", k.Name(), k.Roles, k.Bytes, k.Median, len(k.Samples))
		}
		var sizes int64
		for _, b := range k.Sizes {
			sizes += b
		}
		if len(k.Sizes) != k.Count || sizes != k.Bytes {
			t.Errorf("%s: %d sizes adding up to %d for %d dispatches moving %d bytes", k.Name(), len(k.Sizes), sizes, k.Count, k.Bytes)
		}
		for r, s := range k.Samples {
			run[r] += s
		}
	}
	for name := range want {
		t.Errorf("no %s in the breakdown", name)
	}
	if count != p.Dispatches {
		t.Errorf("kernels count %d dispatches of %d", count, p.Dispatches)
	}
	var stepBytes int64
	for _, b := range g.StepBytes(pos) {
		stepBytes += b
	}
	if n := len(g.StepBytes(pos)); n != p.Dispatches || stepBytes != bytes {
		t.Errorf("StepBytes: %d dispatches moving %d bytes; the breakdown has %d moving %d", n, stepBytes, p.Dispatches, bytes)
	}
	for r := range runs {
		if math.Abs(run[r]-p.Sum[r]) > 1e-9*p.Sum[r]+1e-12 {
			t.Errorf("run %d: kernels add up to %g, the dispatches to %g", r, run[r], p.Sum[r])
		}
	}
	if sum, pass := median(p.Sum), median(p.Pass); sum < pass/2 || sum > 5*pass {
		t.Errorf("dispatches alone add up to %.3gs, the step in one pass takes %.3gs (medians)", sum, pass)
	}
	i := slices.IndexFunc(p.Kernels, func(k KernelTime) bool { return k.Kernel == "flash-decode" })
	if r := p.Kernels[i].Roles; !slices.Equal(r, []string{"attention, 8 splits of 64"}) {
		t.Errorf("flash-decode computes %q, want the 512 tier's 8 splits of 64", r)
	}
	kv := int64(8 * (pos + 1) * o.KVDim() * L)
	if got := p.Kernels[i].Bytes; got < kv || got > kv+kv/2 {
		t.Errorf("flash-decode moves %d bytes; the caches up to position %d are %d", got, pos, kv)
	}
	i = slices.IndexFunc(p.Kernels, func(k KernelTime) bool { return k.Name() == "gemv 256x128" })
	if got, w := p.Kernels[i].Bytes, int64(L)*(g.layers[0].qkv.bytes+4*(256+128+128)); got != w { // and the norm weight
		t.Errorf("q, k, v GEMVs move %d bytes, want %d", got, w)
	}
	for _, k := range p.Kernels {
		t.Logf("%-28s %2d %8.1fus %8d B %q", k.Name(), k.Count, 1e6*k.Median, k.Bytes, k.Roles)
	}
	t.Logf("sum %v, one pass %v, host %v", p.Sum, p.Pass, p.Host)

	// Within the first split: the final decode alone, no reduce.
	p, err = g.ProfileStep(10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Dispatches != g.DispatchesPerStep() || p.Dispatches != 1+5*L+3 {
		t.Errorf("%d dispatches at position 10, want %d", p.Dispatches, 1+5*L+3)
	}
	for _, k := range p.Kernels {
		switch {
		case k.Kernel == "flash-reduce":
			t.Errorf("%s dispatched within one split", k.Name())
		case k.Kernel == "flash-decode" && (k.Count != L || !slices.Equal(k.Roles, []string{"attention, one split of 64"})):
			t.Errorf("%s: %d dispatches computing %q, want %d computing one split of 64", k.Name(), k.Count, k.Roles, L)
		}
	}
}

// Heads too small for the flash kernels: one attention dispatch per
// layer, still every dispatch accounted for.
func TestGPUProfileStepOneKernelAttention(t *testing.T) {
	d := runnertest.Device(t)
	if !d.Timestamps() {
		t.Skip("no timestamp queries")
	}
	spec := syntheticSpecs["tiny"]
	spec.NumHeads, spec.NumKVHeads, spec.HeadDim, spec.RopeDim = 16, 8, 8, 8
	m, err := spec.generate("tiny-heads", SyntheticOptions{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGPU(d, m, GPUOptions{Context: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	p, err := g.ProfileStep(40, 1)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, k := range p.Kernels {
		count += k.Count
		if k.Name() == "attention 16x8x8" {
			if kv := int64(8 * 41 * 64 * m.NumLayers); k.Count != m.NumLayers || k.Bytes < kv || k.Bytes > kv+kv/2 {
				t.Errorf("%s: %d dispatches moving %d bytes, want %d moving the caches' %d and a little more", k.Name(), k.Count, k.Bytes, m.NumLayers, kv)
			}
		}
	}
	if count != g.DispatchesPerStep() || !slices.ContainsFunc(p.Kernels, func(k KernelTime) bool { return k.Name() == "attention 16x8x8" }) {
		t.Errorf("kernels %v count %d dispatches of %d", p.Kernels, count, g.DispatchesPerStep())
	}
}
