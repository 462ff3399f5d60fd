package main

import (
	"bytes"
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/reports"
	"github.com/tune-gpu/tune/runner/runnertest"
)

// A sweep of each fused GEMV variant at a tiny model's shapes writes the
// winner under the variant's own op, with a fused baseline, and the
// model's decode step then runs every fused GEMV with the profile's
// kernel for its exact shape, without borrowing the plain GEMV's.
func TestSweepFusedGemv(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.yaml")
	f := quant.Format{Bits: 4, Group: 32}
	// The tiny model's QKV and gate/up (with the norm), attention output
	// (adding into the residual) and down (SwiGLU, adding) projections.
	sweeps := []struct{ fuse, shapes string }{{"norm", "256x128,512x128"}, {"acc", "128x128"}, {"glu+acc", "128x256"}}
	for _, s := range sweeps {
		var stdout, stderr bytes.Buffer
		args := []string{"sweep", "-op", "gemv", "-fuse", s.fuse, "-formats", f.String(), "-shapes", s.shapes,
			"-max-evals", "2", "-samples", "10", "-target", "1ms", "-roofs=false", "-profile", prof,
			"-results", filepath.Join(dir, "r.txt"), "-journal", filepath.Join(dir, "j.jsonl")}
		if err := run(context.Background(), &stdout, &stderr, args); err != nil {
			t.Fatalf("sweep -fuse %s: %v\n%s", s.fuse, err, stderr.String())
		}
		if !strings.Contains(stdout.String(), f.String()+" "+s.fuse) {
			t.Errorf("the sweep table does not name the variant:\n%s", stdout.String())
		}
	}
	p, err := profiles.Load(prof)
	if err != nil {
		t.Fatal(err)
	}
	d := runnertest.Device(t)
	ids := map[string]string{} // op and shape -> the winner's ID
	for _, s := range sweeps {
		v, _ := ops.ParseGemvVariant(s.fuse)
		shapes, _ := ops.ParseGemvShapes(s.shapes)
		for _, sh := range shapes {
			e, exact, err := p.Lookup(v.Op(), f.String(), sh.Dims())
			if err != nil || !exact {
				t.Fatalf("no %s %s %s entry: %v", v.Op(), f, sh, err)
			}
			if _, err := ops.GemvVariantSpace(f, v, ops.DeviceLimits(d)).Parse(e.ID); err != nil || e.Kernel != "gemv" || e.Stats.Unit != "B/s" {
				t.Errorf("entry %+v: %v", e, err)
			}
			if e.Baseline == nil || !strings.HasSuffix(e.Baseline.Kernel, "/"+strings.ReplaceAll(s.fuse, "+", "/")) {
				t.Errorf("%s %s: baseline %+v, want the fused baseline", v.Op(), sh, e.Baseline)
			}
			ids[v.Op()+" "+sh.String()] = e.ID
		}
	}
	if _, _, err := p.Lookup("gemv", f.String(), []int{256, 128}); err == nil {
		t.Errorf("a fused sweep wrote a plain gemv entry")
	}

	m, err := llama.Synthetic("tiny", llama.SyntheticOptions{Format: &f})
	if err != nil {
		t.Fatal(err)
	}
	g, err := llama.NewGPU(d, m, llama.GPUOptions{Context: 16, Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	for key, id := range ids {
		if !slices.ContainsFunc(g.Kernels, func(k llama.KernelChoice) bool {
			return k.Op+" "+shapeString(k.Shape) == key && k.Params == id && k.Source == "profile (exact shape)"
		}) {
			t.Errorf("the decode step does not run %s %s from the profile: %v", key, id, g.Kernels)
		}
	}
	for _, w := range g.Warnings {
		if strings.HasPrefix(w, "gemv") {
			t.Errorf("warning: %s", w)
		}
	}
	if _, err := g.StepLogits(1, 0); err != nil {
		t.Fatal(err)
	}
}

// Bad flags are refused before a device is opened.
func TestSweepFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-op", "matmul", "-fuse", "norm"}, "parsing -fuse: only -op gemv"},
		{[]string{"-op", "gemv-a8", "-fuse", "acc"}, "parsing -fuse: only -op gemv"},
		{[]string{"-op", "gemv", "-fuse", "norm,relu"}, `parsing -fuse: gemv variant "relu"`},
		{[]string{"-op", "gemv", "-fuse", "norm+glu"}, "cannot be combined"},
		{[]string{"-starts", "-1"}, "parsing -starts: -1 is negative"},
		{[]string{"-lanes", "-2"}, "parsing -lanes: -2 is negative"},
		{[]string{"-samples", "5"}, "parsing -samples: 5 is below the minimum of 10"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), &stdout, &stderr, append([]string{"sweep"}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("sweep %v: %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
}

// A GEMV sweep with -lanes is a task of its own: a sweep timed with other
// lanes finds nothing of it in the journal and measures again, and the
// results name the lanes.
func TestSweepLanesAreATaskOfTheirOwn(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "j.jsonl")
	sweep := func(extra ...string) string {
		var stdout, stderr bytes.Buffer
		args := append([]string{"sweep", "-op", "gemv", "-formats", "int4-g32-sym", "-shapes", "64x256", "-max-evals", "2",
			"-samples", "10", "-target", "1ms", "-roofs=false", "-profile", filepath.Join(dir, "p.yaml"),
			"-results", filepath.Join(dir, "r.txt"), "-journal", journal}, extra...)
		if err := run(context.Background(), &stdout, &stderr, args); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stderr.String()
	}
	sweep()
	if out := sweep("-lanes", "2"); !strings.Contains(out, "2 measured now") {
		t.Errorf("a sweep with -lanes 2 after one without did not measure its candidates:\n%s", out)
	}
	if out := sweep("-lanes", "2"); !strings.Contains(out, "0 measured now") {
		t.Errorf("a second sweep with -lanes 2 measured again:\n%s", out)
	}
	set, err := reports.ReadResults(filepath.Join(dir, "r.txt"))
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for name := range set.Series {
		if strings.Contains(name, "/lanes=2/") {
			named++
		}
	}
	if named == 0 {
		t.Errorf("no result names the lanes: %v", slices.Collect(maps.Keys(set.Series)))
	}
}
