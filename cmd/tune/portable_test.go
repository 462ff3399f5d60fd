package main

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
)

const tinyTask = "matmul/f32/M=32/N=32/K=32"

// tinyIDs are three points of the matmul space, simplest first.
var tinyIDs = []string{
	"wgx=8/wgy=8/rm=1/rn=2/tk=8/vec=1/staged=true/prefetch=false/unroll=false",
	"wgx=8/wgy=8/rm=2/rn=2/tk=8/vec=1/staged=true/prefetch=false/unroll=false",
	"wgx=8/wgy=8/rm=4/rn=2/tk=8/vec=1/staged=true/prefetch=false/unroll=false",
}

// writeAdapter writes a profile with a winner at 32x32x32 and a journal
// with a result per score (rate, FLOP/s) of the IDs, for an adapter.
func writeAdapter(t *testing.T, dir string, a profiles.Adapter, scores map[string]float64, tuned bool) (profile, journal string) {
	t.Helper()
	p := profiles.New(a)
	best, bestID := 0.0, ""
	var lines []string
	for _, id := range slices.Sorted(maps.Keys(scores)) {
		s := scores[id]
		r := search.Result{Task: tinyTask, Env: "e1", Kernel: "matmul", ID: id, Status: search.OK, Score: s,
			Measure: &search.Measurement{Median: 65536 / s, Lo: 65536 / s, Hi: 65536 / s, Work: 65536, Unit: "FLOP/s"}}
		if s == 0 {
			r.Status, r.Score, r.Measure, r.Reason = search.Rejected, 0, nil, "too big"
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
		if s > best {
			best, bestID = s, id
		}
	}
	if tuned {
		p.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{32, 32, 32}, Kernel: "matmul", ID: bestID,
			Stats: profiles.Stats{Median: 65536 / best, Lo: 65536 / best, Hi: 65536 / best, Samples: 10, Rate: best, Unit: "FLOP/s"}})
	} else {
		p.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{64, 64, 64}, Kernel: "matmul", ID: bestID,
			Stats: profiles.Stats{Median: 1, Lo: 1, Hi: 1, Samples: 10, Rate: 1, Unit: "FLOP/s"}})
	}
	profile = filepath.Join(dir, a.Slug()+".yaml")
	if err := p.Save(profile); err != nil {
		t.Fatal(err)
	}
	journal = filepath.Join(dir, a.Slug()+".jsonl")
	if err := os.WriteFile(journal, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return profile, journal
}

var (
	alpha = profiles.Adapter{Name: "Alpha GPU", Vendor: 1, Device: 2, Driver: "1", Backend: "vulkan"}
	beta  = profiles.Adapter{Name: "Beta GPU", Vendor: 3, Device: 4, Driver: "1", Backend: "vulkan"}
)

// The portable pick is the candidate with the best worst case across the
// adapters; the profile it writes is what Find falls back to.
func TestPortablePicksBestWorstCase(t *testing.T) {
	dir := t.TempDir()
	// Alpha's best is tinyIDs[2], Beta's tinyIDs[0]; tinyIDs[1] does 90% on
	// both, beating either adapter's own best on the other (50%, 60%).
	pa, ja := writeAdapter(t, dir, alpha, map[string]float64{tinyIDs[0]: 60, tinyIDs[1]: 90, tinyIDs[2]: 100}, true)
	pb, jb := writeAdapter(t, dir, beta, map[string]float64{tinyIDs[0]: 10, tinyIDs[1]: 9, tinyIDs[2]: 5}, true)
	out := filepath.Join(dir, "portable.yaml")
	var stdout strings.Builder
	args := []string{"portable", "-profiles", pa + "," + pb, "-journals", ja + "," + jb, "-out", out}
	if err := run(context.Background(), &stdout, io.Discard, args); err != nil {
		t.Fatalf("tune %s: %v\n%s", strings.Join(args, " "), err, stdout.String())
	}
	got := stdout.String()
	for _, want := range []string{
		tinyTask + ": 3 candidates measured on all 2 adapters",
		"* " + tinyIDs[1] + " │ 90.0%     │ 90.0%    │ 90.0% │ 90.0%",
		tinyIDs[0] + "   │ 60.0%     │ 100.0%   │ 80.0% │ 60.0%",
		"portable default: " + out + " (1 entries)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	p, err := profiles.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	e, _, err := p.Lookup("matmul", "f32", []int{32, 32, 32})
	if !p.Portable || err != nil || e.ID != tinyIDs[1] || len(e.Portable) != 2 || e.Portable[1].Adapter != "Beta GPU" || e.Portable[1].Fraction != 0.9 || e.Params["rm"] != "" {
		t.Errorf("portable profile: %+v, entry %+v, %v", p, e, err)
	}
	// An adapter without a profile of its own gets the portable default.
	found, path, _, err := profiles.Find(dir, profiles.Adapter{Name: "Gamma GPU", Vendor: 5, Device: 6})
	if err != nil || found == nil || path != out {
		t.Errorf("Find for an unknown adapter = %v, %q, %v; want %s", found != nil, path, err, out)
	}
}

// Without the same candidates measured on every adapter, nothing is
// written and the output says what to measure where.
func TestPortableListsMissing(t *testing.T) {
	dir := t.TempDir()
	pa, ja := writeAdapter(t, dir, alpha, map[string]float64{tinyIDs[0]: 60, tinyIDs[2]: 100}, true)
	pb, jb := writeAdapter(t, dir, beta, map[string]float64{tinyIDs[0]: 10, tinyIDs[1]: 9}, true)
	out := filepath.Join(dir, "portable.yaml")
	var stdout strings.Builder
	err := run(context.Background(), &stdout, io.Discard, []string{"portable", "-profiles", pa + "," + pb, "-journals", ja + "," + jb, "-out", out})
	if err == nil || !strings.Contains(err.Error(), "nothing written") {
		t.Fatalf("error %v, want nothing written", err)
	}
	got := stdout.String()
	for _, want := range []string{
		tinyTask + ": Alpha GPU has not measured 1 candidates: run on it  tune portable -measure -tasks " + tinyTask + " -profiles " + pa + "," + pb + " -journals " + ja + "," + jb + "\n    " + tinyIDs[1],
		tinyTask + ": Beta GPU has not measured 1 candidates",
		"\n    " + tinyIDs[2],
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s written: %v", out, err)
	}

	// An adapter that never tuned the shape is told to sweep it.
	pb, jb = writeAdapter(t, dir, beta, map[string]float64{tinyIDs[0]: 10, tinyIDs[1]: 9, tinyIDs[2]: 5}, false)
	stdout.Reset()
	run(context.Background(), &stdout, io.Discard, []string{"portable", "-profiles", pa + "," + pb, "-journals", ja + "," + jb, "-out", out})
	if want := tinyTask + ": Beta GPU has no tuned winner: run on it  tune sweep -op matmul -shapes 32x32x32"; !strings.Contains(stdout.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, stdout.String())
	}
}

func TestPortableFlagErrors(t *testing.T) {
	dir := t.TempDir()
	pa, ja := writeAdapter(t, dir, alpha, map[string]float64{tinyIDs[0]: 1}, true)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-profiles", pa, "-journals", ja}, "needs at least 2"},
		{[]string{"-profiles", pa + "," + pa, "-journals", ja + "," + ja}, "both of adapter"},
		{[]string{"-profiles", pa + "," + pa, "-journals", ja}, "1 journal groups for 2 profiles"},
		{[]string{"-profiles", pa, "-tasks", "matmul/f32/M=1"}, "parsing -tasks"},
		{[]string{"-profiles", pa, "-top", "0"}, "-top >= 1"},
		{[]string{"-profiles", filepath.Join(dir, "missing.yaml")}, "no such file"},
	} {
		err := run(context.Background(), io.Discard, io.Discard, append([]string{"portable"}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tune portable %s: error %v, want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

func TestParseTask(t *testing.T) {
	for _, c := range []struct {
		task string
		ok   bool
	}{
		{"matmul/f32/M=512/N=512/K=512", true},
		{"gemv/int4-g32-sym/N=4096/K=14336", true},
		{"gemm/int8-g32-sym/M=512/N=4096/K=4096", true},
		{"matmul/f32/M=512/N=512/K=512#finals/wgx=1", false},
		{"matmul/f32/M=512/N=512", false},
		{"matmul/f16/M=512/N=512/K=512", false},
		{"matmul/f32/M=0/N=512/K=512", false},
		{"gemv/int5/N=1/K=1", false},
		{"roofs/copy", false},
	} {
		if _, err := parseTask(c.task); (err == nil) != c.ok {
			t.Errorf("parseTask(%q) error %v, want ok=%v", c.task, err, c.ok)
		}
	}
	if got := midShape("gemv", []int{4096, 4096}, []int{14336, 14336}); !slices.Equal(got, []int{7664, 7680}) {
		t.Errorf("midShape = %v", got)
	}
}

// -measure times, on this machine's adapter, the candidates it lacks and
// appends them to its journal; then the pick can be made.
func TestPortableMeasure(t *testing.T) {
	dir := t.TempDir()
	info, err := runner.Select("auto")
	if err != nil {
		t.Fatal(err)
	}
	here := profileAdapter(info)
	// This adapter has measured the two simpler points, the other all three.
	ph, jh := writeAdapter(t, dir, here, map[string]float64{tinyIDs[0]: 1e8, tinyIDs[1]: 2e8}, true)
	pa, ja := writeAdapter(t, dir, alpha, map[string]float64{tinyIDs[0]: 60, tinyIDs[1]: 90, tinyIDs[2]: 100}, true)
	out := filepath.Join(dir, "portable.yaml")
	var stdout, stderr strings.Builder
	args := []string{"portable", "-measure", "-profiles", ph + "," + pa, "-journals", jh + "," + ja, "-out", out, "-samples", "10", "-target", "1ms"}
	if err := run(context.Background(), &stdout, &stderr, args); err != nil {
		t.Fatalf("tune %s: %v\n%s\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	results, err := search.ReadJournal(jh)
	if err != nil {
		t.Fatal(err)
	}
	last := results[len(results)-1]
	if len(results) != 3 || last.ID != tinyIDs[2] || last.Task != tinyTask || last.Status != search.OK || last.Env != fingerprint(info) {
		t.Errorf("journal after -measure: %d results, last %+v", len(results), last)
	}
	if !strings.Contains(stderr.String(), "measured 1 candidates") || !strings.Contains(stdout.String(), "3 candidates measured on all 2 adapters") {
		t.Errorf("output:\n%s\n%s", stdout.String(), stderr.String())
	}
	if _, err := profiles.Load(out); err != nil {
		t.Error(err)
	}
}
