package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
)

// A block kernel sweeps like the other families: every candidate is
// validated and timed, and the winner of each variant and shape goes into
// the profile under the op's name, where model code finds it.
func TestSweepBlockOp(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.yaml")
	var stdout, stderr bytes.Buffer
	args := []string{"sweep", "-op", "rmsnorm", "-formats", "f32-noweight", "-shapes", "8x128", "-max-evals", "3",
		"-samples", "10", "-target", "1ms", "-roofs=false", "-profile", prof,
		"-results", filepath.Join(dir, "r.txt"), "-journal", filepath.Join(dir, "j.jsonl")}
	if err := run(context.Background(), &stdout, &stderr, args); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	p, err := profiles.Load(prof)
	if err != nil {
		t.Fatal(err)
	}
	e, exact, err := p.Lookup("rmsnorm", "f32-noweight", []int{8, 128})
	if err != nil || !exact {
		t.Fatalf("no rmsnorm f32-noweight 8x128 entry: %v\n%s", err, stderr.String())
	}
	if e.Kernel != "rmsnorm" || e.Params["wg"] == "" || e.Stats.Unit != "B/s" || e.Baseline == nil {
		t.Errorf("entry %+v", e)
	}
	op, _ := ops.LookupBlockOp("rmsnorm")
	if k, err := op.KernelByID(e.ID, e.Dtype); err != nil || !strings.Contains(k.String(), "noweight=true") {
		t.Errorf("the entry's kernel: %v, %v", k, err)
	}
	if !strings.Contains(stdout.String(), "8x128 rmsnorm f32-noweight") {
		t.Errorf("the sweep table does not name the workload:\n%s", stdout.String())
	}
}

func TestSweepBlockOpFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-op", "rmsnorms"}, "block kernel (rmsnorm, rope"},
		{[]string{"-op", "rope", "-formats", "f16"}, "parsing -formats"},
		{[]string{"-op", "embedq", "-formats", "int3-g32-sym"}, "parsing -formats"},
		{[]string{"-op", "router", "-shapes", "16x9"}, "parsing -shapes"},
		{[]string{"-op", "softmax", "-shapes", "128256"}, "rows x n"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), &stdout, &stderr, append([]string{"sweep"}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("sweep %v: %v, want an error mentioning %q", c.args, err, c.want)
		}
	}
}

// A sweep adds to the profile file -profile names, even with another
// profile of the same adapter beside it (whose entries it neither takes
// nor touches), and refuses to write over another adapter's.
func TestSweepAddsToItsProfileFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	sweep := func(prof, shape string) error {
		var stdout, stderr bytes.Buffer
		args := []string{"sweep", "-op", "rmsnorm", "-formats", "f32-noweight", "-shapes", shape, "-max-evals", "2",
			"-samples", "10", "-target", "1ms", "-roofs=false", "-profile", prof,
			"-results", filepath.Join(dir, "r.txt"), "-journal", filepath.Join(dir, "j.jsonl")}
		err := run(context.Background(), &stdout, &stderr, args)
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, stderr.String())
		}
		return err
	}
	for _, s := range []struct{ prof, shape string }{{b, "1x64"}, {a, "8x128"}, {b, "2x64"}, {a, "4x128"}} {
		if err := sweep(s.prof, s.shape); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		prof       string
		has, hasnt [][]int
	}{{a, [][]int{{8, 128}, {4, 128}}, [][]int{{1, 64}, {2, 64}}}, {b, [][]int{{1, 64}, {2, 64}}, [][]int{{8, 128}, {4, 128}}}} {
		p, err := profiles.Load(c.prof)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range c.has {
			if _, exact, err := p.Lookup("rmsnorm", "f32-noweight", s); err != nil || !exact {
				t.Errorf("%s lost its entry for %v", filepath.Base(c.prof), s)
			}
		}
		for _, s := range c.hasnt {
			if _, exact, _ := p.Lookup("rmsnorm", "f32-noweight", s); exact {
				t.Errorf("%s has the other profile's entry for %v", filepath.Base(c.prof), s)
			}
		}
	}
	other, err := profiles.Load(a)
	if err != nil {
		t.Fatal(err)
	}
	other.Adapter.Name = "Another GPU"
	if err := other.Save(a); err != nil {
		t.Fatal(err)
	}
	if err := sweep(a, "8x128"); err == nil || !strings.Contains(err.Error(), "Another GPU") {
		t.Errorf("a sweep into another adapter's profile: %v", err)
	}
}
