package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/search"
)

// A search starts from the winners of the nearest other shapes, and a
// journal keeps the list it started from, so a rerun starts the same way
// after the profile has gained a nearer shape.
func TestSearchStartsFromNeighboursAndJournalsThem(t *testing.T) {
	w := matmul1024()
	const (
		small = "wgx=8/wgy=8/rm=4/rn=4/tk=8/vec=4/staged=true/prefetch=true/unroll=false"
		big   = "wgx=16/wgy=16/rm=8/rn=8/tk=16/vec=4/staged=true/prefetch=true/unroll=true"
		same  = "wgx=4/wgy=8/rm=2/rn=2/tk=4/vec=1/staged=false/prefetch=false/unroll=false"
		near  = "wgx=32/wgy=4/rm=8/rn=4/tk=16/vec=4/staged=true/prefetch=true/unroll=false"
	)
	prof := &profiles.Profile{}
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{512, 512, 512}, ID: small})
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{4096, 4096, 4096}, ID: big})
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 1024}, ID: same})
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{2048, 2048, 2048}, ID: "wgx=3/not-a-point"})
	j := tempJournal(t)
	task := search.Task{Name: w.Task, Env: "env"}
	starts := func(j *search.Journal) []string {
		t.Helper()
		plan, err := searchStarts(w, task, startSources{profile: prof, nearest: 4}, j)
		if err != nil {
			t.Fatal(err)
		}
		if plan.incumbent != "" {
			t.Errorf("incumbent %s, none asked for", plan.incumbent)
		}
		var ids []string
		for _, p := range plan.points {
			ids = append(ids, p.ID())
		}
		return ids
	}
	// The shape's own winner and an ID the space cannot parse are skipped.
	if got, want := starts(j), []string{small, big}; !slices.Equal(got, want) {
		t.Fatalf("starts %v, want %v", got, want)
	}
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 512}, ID: near})
	if got, want := starts(j), []string{small, big}; !slices.Equal(got, want) {
		t.Errorf("with the journal, after the profile gained a nearer shape: starts %v, want the journaled %v", got, want)
	}
	if got, want := starts(nil), []string{near, small, big}; !slices.Equal(got, want) {
		t.Errorf("without a journal: starts %v, want %v", got, want)
	}
	if plan, err := searchStarts(w, task, startSources{profile: prof}, j); err != nil || plan.points != nil || j.Len() != 1 {
		t.Errorf("no starts asked for: %v, %v, and the journal holds %d records, want none, nil and 1", plan.points, err, j.Len())
	}

	// The incumbent, the shape's own winner, comes first and is journaled
	// with the starts: a rerun after the sweep wrote a new winner starts
	// as the first run did.
	plan, err := searchStarts(w, task, startSources{profile: prof, incumbent: true, nearest: 2}, j)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pointIDs(plan.points), strings.Join([]string{same, near, small}, ", "); plan.incumbent != same || got != want {
		t.Errorf("with the incumbent: %s first of %s, want %s first of %s", plan.incumbent, got, same, want)
	}
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 1024}, ID: big})
	if again, err := searchStarts(w, task, startSources{profile: prof, incumbent: true, nearest: 2}, j); err != nil || again.incumbent != same || pointIDs(again.points) != pointIDs(plan.points) {
		t.Errorf("after the profile's winner changed, with the journal: incumbent %s of %s (%v), want the journaled %s", again.incumbent, pointIDs(again.points), err, same)
	}
	if fresh, err := searchStarts(w, task, startSources{profile: prof, incumbent: true}, nil); err != nil || fresh.incumbent != big || len(fresh.points) != 1 {
		t.Errorf("without a journal: incumbent %q of %s (%v), want %s alone", fresh.incumbent, pointIDs(fresh.points), err, big)
	}
	// Nor one whose winner this device's limits do not allow.
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 1024}, ID: "wgx=32/wgy=32/rm=8/rn=8/tk=16/vec=4/staged=true/prefetch=true/unroll=true"})
	if none, err := searchStarts(w, task, startSources{profile: prof, incumbent: true}, nil); err != nil || none.incumbent != "" || len(none.points) != 0 {
		t.Errorf("an incumbent of 1024 invocations, 256 allowed: %q of %s (%v), want none", none.incumbent, pointIDs(none.points), err)
	}
	// A shape the profile does not hold has no incumbent.
	other := w
	other.Task, other.Dims = "matmul/f32/M=64/N=64/K=64", []int{64, 64, 64}
	if none, err := searchStarts(other, task, startSources{profile: prof, incumbent: true}, nil); err != nil || none.incumbent != "" || len(none.points) != 0 {
		t.Errorf("a shape the profile lacks: incumbent %q of %s (%v), want none", none.incumbent, pointIDs(none.points), err)
	}
}

// matmul1024 is the 1024^3 matmul on a device that allows 256 invocations.
func matmul1024() ops.Workload {
	return ops.Workload{
		Task: "matmul/f32/M=1024/N=1024/K=1024", Op: "matmul", Dtype: "f32", Dims: []int{1024, 1024, 1024},
		Space: ops.Space(ops.Limits{Invocations: 256, SizeX: 256, SizeY: 256, WorkgroupBytes: 16384}),
	}
}

func tempJournal(t *testing.T) *search.Journal {
	t.Helper()
	j, err := search.OpenJournal(filepath.Join(t.TempDir(), "j.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// A GEMV winner profiled before the space had its fold axis still starts
// a search, as the unfolded kernel it was.
func TestSearchStartsReadOlderGemvIDs(t *testing.T) {
	f := quant.Format{Bits: 4, Group: 32}
	w := ops.Workload{
		Task: "gemv/int4-g32-sym/N=512/K=2048", Op: "gemv", Dtype: f.String(), Dims: []int{512, 2048},
		Space: ops.GemvSpace(f, ops.Limits{Invocations: 256, SizeX: 256, SizeY: 256, WorkgroupBytes: 16384}),
	}
	prof := &profiles.Profile{}
	prof.Put(profiles.Entry{Op: "gemv", Dtype: f.String(), Shape: []int{2048, 1024}, ID: "wg=32/rows=16/vec=4/unpack=unorm"})
	plan, err := searchStarts(w, search.Task{Name: w.Task}, startSources{profile: prof, nearest: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps := plan.points
	if len(ps) != 1 || ps[0].ID() != "wg=32/rows=16/vec=4/unpack=unorm/fold=false" {
		t.Errorf("starts %v, want the unfolded kernel", pointIDs(ps))
	}
}

// A re-tune of a shape the profile holds measures the profile's winner
// first, on the device, and a warm rerun of it measures nothing.
func TestSweepRetuneMeasuresTheIncumbentFirst(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "p.yaml")
	sweep := func(journal string) string {
		t.Helper()
		var stderr strings.Builder
		args := []string{"sweep", "-shapes", "64x64x64", "-where", twoPoints, "-max-evals", "2", "-samples", "10", "-target", "1ms", "-roofs=false",
			"-profile", prof, "-journal", filepath.Join(dir, journal), "-results", filepath.Join(dir, "r.txt")}
		if err := run(context.Background(), io.Discard, &stderr, args); err != nil {
			t.Fatalf("tune %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return stderr.String()
	}
	if out := sweep("first.jsonl"); strings.Contains(out, "incumbent") {
		t.Fatalf("a new profile has no incumbent, yet:\n%s", out)
	}
	p, err := profiles.Load(prof)
	if err != nil {
		t.Fatal(err)
	}
	e, exact, err := p.Lookup("matmul", "f32", []int{64, 64, 64})
	if err != nil || !exact {
		t.Fatalf("the first sweep's winner: %v (exact %t)", err, exact)
	}
	out := sweep("second.jsonl")
	if !strings.Contains(out, "incumbent "+e.ID+", the profile's winner, measured first") {
		t.Errorf("the re-tune does not name its incumbent %s:\n%s", e.ID, out)
	}
	var candidates []string
	for _, k := range journalKeys(t, filepath.Join(dir, "second.jsonl")) {
		if f := strings.Fields(k); len(f) == 3 && f[0] == "matmul/f32/M=64/N=64/K=64" && f[1] == "matmul" {
			candidates = append(candidates, f[2])
		}
	}
	if len(candidates) == 0 || candidates[0] != e.ID {
		t.Errorf("the re-tune measured %v, want the incumbent %s first", candidates, e.ID)
	}
	if warm := sweep("second.jsonl"); !strings.Contains(warm, "0 measured now") {
		t.Errorf("the warm rerun of the re-tune measured:\n%s", warm)
	}

	// tune stability reruns the re-tune and says how often the incumbent held.
	var stdout strings.Builder
	args := []string{"stability", "-shape", "64x64x64", "-where", twoPoints, "-strategy", "exhaustive", "-reruns", "2", "-samples", "10", "-target", "1ms", "-noise-rounds", "0", "-profile", prof}
	if err := run(context.Background(), &stdout, io.Discard, args); err != nil {
		t.Fatalf("tune %s: %v", strings.Join(args, " "), err)
	}
	if !strings.Contains(stdout.String(), "incumbent "+e.ID+": picked by ") {
		t.Errorf("tune stability does not report its incumbent %s:\n%s", e.ID, stdout.String())
	}
}

// Other adapters' winners for the shape follow the incumbent, before the
// own profile's nearest shapes, each once; they are journaled with the
// plan, so a rerun starts the same way after another profile changed.
func TestSearchStartsFromOtherAdapters(t *testing.T) {
	w := matmul1024()
	const (
		own     = "wgx=8/wgy=8/rm=4/rn=4/tk=8/vec=4/staged=true/prefetch=true/unroll=false"
		nearest = "wgx=16/wgy=16/rm=8/rn=8/tk=16/vec=4/staged=true/prefetch=true/unroll=true"
		exact   = "wgx=32/wgy=4/rm=8/rn=4/tk=16/vec=4/staged=true/prefetch=true/unroll=false"
		other   = "wgx=8/wgy=16/rm=8/rn=8/tk=16/vec=4/staged=true/prefetch=true/unroll=true"
	)
	mine := &profiles.Profile{}
	mine.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 1024}, ID: own})
	mine.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{2048, 2048, 2048}, ID: nearest})
	gpuA, gpuB, tooBig := &profiles.Profile{}, &profiles.Profile{}, &profiles.Profile{}
	gpuA.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 1024}, ID: exact})
	gpuA.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{512, 512, 512}, ID: other})
	// B lacks the shape: its nearest stands in; it names A's kernel too,
	// which is proposed once.
	gpuB.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{4096, 4096, 4096}, ID: exact})
	gpuB.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 512}, ID: other})
	// A winner this device's limits do not allow is no start.
	tooBig.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 1024}, ID: "wgx=32/wgy=32/rm=8/rn=8/tk=16/vec=4/staged=true/prefetch=true/unroll=true"})
	src := startSources{profile: mine, incumbent: true, fromOthers: true, others: []*profiles.Profile{gpuA, tooBig, gpuB}, nearest: 1}

	j := tempJournal(t)
	task := search.Task{Name: w.Task, Env: "env"}
	plan, err := searchStarts(w, task, src, j)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pointIDs(plan.points), strings.Join([]string{own, exact, other, nearest}, ", "); plan.incumbent != own || plan.others != 2 || got != want {
		t.Errorf("starts %s (incumbent %s, %d from others), want %s (incumbent %s, 2 from others)", got, plan.incumbent, plan.others, want, own)
	}
	if line := startsLine(plan); !strings.Contains(line, "2 winners of other adapters: "+exact+", "+other+"; 1 winner of the nearest tuned shapes: "+nearest) {
		t.Errorf("starts line %q", line)
	}
	gpuA.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 1024}, ID: nearest})
	if again, err := searchStarts(w, task, src, j); err != nil || pointIDs(again.points) != pointIDs(plan.points) || again.others != 2 {
		t.Errorf("after another adapter's winner changed, with the journal: %s (%d from others, %v), want the journaled %s", pointIDs(again.points), again.others, err, pointIDs(plan.points))
	}
	// Without -others the plan is another, journaled apart.
	src.fromOthers = false
	if apart, err := searchStarts(w, task, src, j); err != nil || pointIDs(apart.points) != own+", "+nearest || apart.others != 0 {
		t.Errorf("without others: %s (%d from others, %v), want %s, %s", pointIDs(apart.points), apart.others, err, own, nearest)
	}
}

// On an adapter without a profile of its own, a sweep measures first what
// another adapter's profile beside it chose for the shape, on the device.
func TestSweepStartsFromOtherAdapters(t *testing.T) {
	dir := t.TempDir()
	firstMeasured := func(journal string, others bool) (string, string) {
		t.Helper()
		var stderr strings.Builder
		args := []string{"sweep", "-shapes", "64x64x64", "-where", twoPoints, "-max-evals", "1", "-samples", "10", "-target", "1ms", "-roofs=false", "-sentinel", "0",
			"-others=" + strconv.FormatBool(others), "-profile", filepath.Join(dir, "mine.yaml"), "-journal", filepath.Join(dir, journal), "-results", filepath.Join(dir, "r.txt")}
		if err := run(context.Background(), io.Discard, &stderr, args); err != nil {
			t.Fatalf("tune %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		for _, k := range journalKeys(t, filepath.Join(dir, journal)) {
			if f := strings.Fields(k); len(f) == 3 && f[0] == "matmul/f32/M=64/N=64/K=64" && f[1] == "matmul" {
				return f[2], stderr.String()
			}
		}
		t.Fatalf("tune %s measured no candidate\n%s", strings.Join(args, " "), stderr.String())
		return "", ""
	}
	alone, _ := firstMeasured("alone.jsonl", false)
	if err := os.Remove(filepath.Join(dir, "mine.yaml")); err != nil {
		t.Fatal(err)
	}
	// The other adapter chose the kernel the search alone does not begin with.
	chosen := "wgx=8/wgy=8/rm=2/rn=2/tk=8/vec=1/staged=true/prefetch=false/unroll=false"
	if alone == chosen {
		chosen = "wgx=8/wgy=8/rm=4/rn=2/tk=8/vec=1/staged=true/prefetch=false/unroll=false"
	}
	other := &profiles.Profile{Schema: profiles.SchemaVersion, Adapter: profiles.Adapter{Name: "Other GPU", Vendor: 0x1234, Device: 1}}
	other.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{64, 64, 64}, Kernel: "matmul", ID: chosen,
		Stats: profiles.Stats{Median: 1e-5, Lo: 1e-5, Hi: 1e-5, Samples: 10, Rate: 5e10, Unit: "FLOP/s", Clock: "timestamp"}})
	if err := other.Save(filepath.Join(dir, "other-gpu.yaml")); err != nil {
		t.Fatal(err)
	}
	got, out := firstMeasured("primed.jsonl", true)
	if got != chosen {
		t.Errorf("with another adapter's profile beside it, the sweep measured %s first, want its winner %s\n%s", got, chosen, out)
	}
	if !strings.Contains(out, "others: searches start from the winners of Other GPU") || !strings.Contains(out, "1 winner of other adapters: "+chosen) {
		t.Errorf("the sweep does not say where it starts:\n%s", out)
	}
	// The plan is journaled: a warm rerun measures nothing, even after the
	// other adapter's profile named another kernel.
	other.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{64, 64, 64}, Kernel: "matmul", ID: alone,
		Stats: profiles.Stats{Median: 1e-5, Lo: 1e-5, Hi: 1e-5, Samples: 10, Rate: 5e10, Unit: "FLOP/s", Clock: "timestamp"}})
	if err := other.Save(filepath.Join(dir, "other-gpu.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, warm := firstMeasured("primed.jsonl", true); !strings.Contains(warm, "0 measured now") || !strings.Contains(warm, "1 winner of other adapters: "+chosen) {
		t.Errorf("the warm rerun measured, or began elsewhere than its journaled plan:\n%s", warm)
	}
}
