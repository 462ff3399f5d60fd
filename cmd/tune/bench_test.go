package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/runner/runnertest"
)

// tune bench re-measures a profile's GEMV entries, plain and fused, at
// their shapes (and their baselines when asked), one line per kernel and
// round in the results file.
func TestBenchGemvEntries(t *testing.T) {
	d := runnertest.Device(t)
	dir := t.TempDir()
	p := profiles.New(profileAdapter(d.Info))
	st := profiles.Stats{Median: 1e-5, Lo: 1e-5, Hi: 1e-5, Samples: 10, Rate: 1e9, Unit: "B/s", Clock: "wall"}
	p.Put(profiles.Entry{Op: "gemv", Dtype: "int4-g32-sym", Shape: []int{64, 512}, Kernel: "gemv", ID: "wg=32/rows=4/vec=2/unpack=half/fold=false", Stats: st})
	p.Put(profiles.Entry{Op: "gemv-glu+acc", Dtype: "int8-g32-sym", Shape: []int{32, 256}, Kernel: "gemv", ID: "wg=64/rows=2/vec=1/unpack=shift/fold=true", Stats: st})
	if err := p.Save(filepath.Join(dir, profileAdapter(d.Info).Slug()+".yaml")); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "r.txt")
	var stdout, stderr strings.Builder
	args := []string{"bench", "-dir", dir, "-rounds", "2", "-roofs=false", "-baseline", "-target", "1ms", "-results", results}
	if err := run(context.Background(), &stdout, &stderr, args); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	body, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"BenchmarkGemv/dtype=int4-g32-sym/N=64/K=512/kernel=gemv/wg=32/rows=4/vec=2/unpack=half/fold=false ",
		"BenchmarkGemv/dtype=int4-g32-sym/N=64/K=512/kernel=gemv/wg=64/rows=1/vec=1/unpack=shift/fold=false ",
		"/dtype=int8-g32-sym/N=32/K=256/kernel=gemv/wg=64/rows=2/vec=1/unpack=shift/fold=true/glu/acc ",
	} {
		if n := strings.Count(string(body), want); n != 2 {
			t.Errorf("%d lines with %q, want one per round:\n%s", n, want, body)
		}
	}
}

// -kv takes f32 or int8; anything else is a clear error before any model
// loads, for run, eval and sweep -model.
func TestKVFlagRejectsOtherCaches(t *testing.T) {
	for _, args := range [][]string{
		{"run", "-model", "synthetic:tiny", "-ids", "-kv", "int4"},
		{"eval", "-model", "m.gguf", "-text", "t.txt", "-kv", "f16"},
		{"sweep", "-model", "synthetic:tiny", "-kv", "int3", "-profile", filepath.Join(t.TempDir(), "p.yaml")},
	} {
		var stdout, stderr strings.Builder
		err := run(context.Background(), &stdout, &stderr, args)
		if err == nil || !strings.Contains(err.Error(), "parsing -kv") {
			t.Errorf("%v: %v, want a -kv parse error", args, err)
		}
	}
}
