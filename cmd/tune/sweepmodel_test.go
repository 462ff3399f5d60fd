package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner/runnertest"
)

// tune sweep -model tunes what the GPU forward pass of that model looks
// up: afterwards, its fused GEMVs and decode attention come from the
// profile at their exact shapes, and its prefill GEMMs and attention (tuned
// for full batches) from the profile too, none from a built-in default.
func TestSweepModel(t *testing.T) {
	d := runnertest.Device(t)
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.yaml")
	args := []string{"sweep", "-model", "synthetic:tiny", "-formats", "int8-g32-sym", "-contexts", "32",
		"-strategy", "random", "-max-evals", "2", "-samples", "10", "-target", "1ms", "-sentinel", "0", "-roofs=false",
		"-profile", prof, "-journal", filepath.Join(dir, "j.jsonl"), "-results", filepath.Join(dir, "r.bench.txt")}
	if err := run(context.Background(), io.Discard, io.Discard, args); err != nil {
		t.Fatalf("tune %s: %v", strings.Join(args, " "), err)
	}
	p, err := profiles.Load(prof)
	if err != nil {
		t.Fatal(err)
	}
	f := quant.Format{Bits: 8, Group: 32}
	m, err := llama.Synthetic("tiny", llama.SyntheticOptions{Format: &f})
	if err != nil {
		t.Fatal(err)
	}
	g, err := llama.NewGPU(d, m, llama.GPUOptions{Context: 32, Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	if _, err := g.Generate([]int{1, 2, 3, 4}, 2); err != nil { // a batched prompt: the GEMMs and flash prefill
		t.Fatal(err)
	}
	want := map[string]bool{"gemv-norm": false, "gemv-acc": false, "gemv-glu+acc": false, "gemm": false, "attention-decode": false, "attention-prefill": false}
	for _, k := range g.Kernels {
		if _, ok := want[k.Op]; !ok {
			continue
		}
		want[k.Op] = true
		from := "profile (exact shape)"
		if k.Op == "gemm" || k.Op == "attention-prefill" { // tuned for batches of 512 rows
			from = "profile"
		}
		if !strings.HasPrefix(k.Source, from) {
			t.Errorf("%s %s %v: %s from %s, want %s", k.Op, k.Dtype, k.Shape, k.Params, k.Source, from)
		}
	}
	for op, seen := range want {
		if !seen {
			t.Errorf("the forward pass looked up no %s", op)
		}
	}
	// Bad plans fail before anything is measured.
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"-op", "gemv"}, "parsing -model: -op"},
		{[]string{"-contexts", "2000000000"}, "parsing -model/-contexts"},
	} {
		args := append([]string{"sweep", "-model", "synthetic:tiny", "-profile", prof, "-journal", filepath.Join(dir, "bad.jsonl")}, c.flags...)
		if err := run(context.Background(), io.Discard, io.Discard, args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tune %s: error %v, want %q", strings.Join(args, " "), err, c.want)
		}
	}
}

// An MoE model's plan tunes the router and the experts' gate/up among the
// norm-fused GEMVs and the experts' down among the SwiGLU ones, at the
// shapes its GPU step looks them up at, and the same as GEMMs for batched
// prompts.
func TestModelPlanMoE(t *testing.T) {
	o, err := llama.LoadShape("synthetic:llama-4-mini")
	if err != nil {
		t.Fatal(err)
	}
	plan := modelPlan(o, quant.Format{Bits: 4, Group: 32}, []int{128}, false)
	want := map[string]string{
		"gemv-norm":         "1536x1024,4096x1024,32768x1024,16x1024,1024x1024",
		"gemv-glu+acc":      "1024x2048,1024x512",
		"gemm":              "512x1536x1024,512x1024x1024,512x4096x1024,512x1024x2048,512x16x1024,512x1024x512",
		"attention-prefill": "512x16x4x64",
	}
	for _, s := range plan {
		name := s.op
		if s.fuse != "" {
			name += "-" + s.fuse
		}
		if w, ok := want[name]; ok && s.shapes != w {
			t.Errorf("%s shapes %s, want %s", name, s.shapes, w)
		}
		delete(want, name)
	}
	if len(want) > 0 {
		t.Errorf("no %v in the plan", want)
	}
}

// With -kv int8 the plan tunes the attention kernels that read int8 caches.
func TestModelPlanKV8(t *testing.T) {
	o, err := llama.LoadShape("synthetic:llama-3.2-1b")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range modelPlan(o, quant.Format{Bits: 4, Group: 32}, []int{128, 256}, true) {
		if strings.HasPrefix(s.op, "attention") {
			n++
			if s.formats != "kv-int8" {
				t.Errorf("%s tuned for %s caches, want kv-int8", s.op, s.formats)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d attention sweeps, want decode and prefill", n)
	}
}
