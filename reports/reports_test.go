package reports_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/reports"
	"github.com/tune-gpu/tune/search"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The inputs in testdata were generated with a fixed seed: old and new
// differ by +30% on the 512^3 kernel (a regression), -10% on the
// 128x768x256 kernel, and not at all on the naive kernel and the roofs.
func comparison(t *testing.T) *reports.Comparison {
	t.Helper()
	old, nw := readPair(t, "testdata/old.bench.txt", "testdata/new.bench.txt")
	return reports.Compare(old, nw, 0.10, 0.05)
}

// readPair reads the old and new sides of a comparison.
func readPair(t *testing.T, oldPath, newPath string) (old, nw *reports.Set) {
	t.Helper()
	old, err := reports.ReadSet(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	if nw, err = reports.ReadSet(newPath); err != nil {
		t.Fatal(err)
	}
	return old, nw
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./reports -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered output; if intended, run go test ./reports -update\ngot:\n%s", path, got)
	}
}

func TestRenderers(t *testing.T) {
	c := comparison(t)
	journal, err := search.ReadJournal("testdata/journal.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		file   string
		render func(*bytes.Buffer) error
	}{
		{"report.txt", func(b *bytes.Buffer) error { return c.WriteText(b) }},
		{"report.md", func(b *bytes.Buffer) error { return c.WriteMarkdown(b) }},
		{"report.html", func(b *bytes.Buffer) error { return c.WriteHTML(b, journal) }},
	} {
		t.Run(f.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := f.render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, f.file, b.Bytes())
		})
	}
}

// Two real results files: tune bench runs of the lavapipe profile on the
// development machine, same code (an A/A pair), rendered in every format.
func TestRenderersOnRealResults(t *testing.T) {
	old, nw := readPair(t, "testdata/real-old.bench.txt", "testdata/real-new.bench.txt")
	c := reports.Compare(old, nw, 0.25, 0.05)
	if len(c.Rows) != 4 || len(c.Regressions()) != 0 {
		t.Errorf("A/A pair: %d rows, %d regressions; want 4 rows and none", len(c.Rows), len(c.Regressions()))
	}
	for _, f := range []struct {
		file   string
		render func(*bytes.Buffer) error
	}{
		{"real.txt", func(b *bytes.Buffer) error { return c.WriteText(b) }},
		{"real.md", func(b *bytes.Buffer) error { return c.WriteMarkdown(b) }},
		{"real.html", func(b *bytes.Buffer) error { return c.WriteHTML(b, nil) }},
	} {
		t.Run(f.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := f.render(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, f.file, b.Bytes())
		})
	}
}

func TestCompareFindsTheRegressionOnly(t *testing.T) {
	c := comparison(t)
	regs := c.Regressions()
	if len(regs) != 1 || !strings.Contains(regs[0].Name, "M=512/N=512/K=512/kernel=matmul/") {
		t.Fatalf("regressions %+v; want only the 512^3 tuned kernel", regs)
	}
	if d := regs[0].Delta; d < 0.25 || d > 0.35 {
		t.Errorf("regression of %+.1f%%; want about +30%%", 100*d)
	}
	for _, r := range c.Rows {
		switch {
		case strings.Contains(r.Name, "M=128/"):
			if !r.Significant || r.Delta > -0.05 || r.Regression {
				t.Errorf("%s: %+v; want a significant improvement of about 10%%", r.Name, r)
			}
		case strings.Contains(r.Name, "matmul_naive") || strings.HasPrefix(r.Name, "Roof/"):
			if r.Regression {
				t.Errorf("%s: unchanged input flagged as a regression", r.Name)
			}
		case strings.HasPrefix(r.Name, "Decode/"):
			if r.Old != nil || r.New == nil {
				t.Errorf("%s: want a row present only on the new side", r.Name)
			}
		}
		if strings.HasPrefix(r.Name, "Matmul/") && r.New != nil && !(r.RoofFraction > 0 && r.RoofFraction <= 1) {
			t.Errorf("%s: fraction of roof %v; want within (0, 1]", r.Name, r.RoofFraction)
		}
	}
}

// The same results on both sides never raise an alarm.
func TestSelfComparisonIsQuiet(t *testing.T) {
	s, err := reports.ReadSet("testdata/old.bench.txt")
	if err != nil {
		t.Fatal(err)
	}
	c := reports.Compare(s, s, 0.0, 0.05)
	if regs := c.Regressions(); len(regs) > 0 {
		t.Errorf("self-comparison flagged %d regressions", len(regs))
	}
}

func TestProfilesCompareShapeByShape(t *testing.T) {
	s, err := reports.ReadSet("../profiles/llvmpipe-llvm-15-0-6-256-bits.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := reports.Compare(s, s, 0.1, 0.05)
	if len(c.Rows) == 0 || len(c.Regressions()) > 0 {
		t.Errorf("profile self-comparison: %d rows, %d regressions", len(c.Rows), len(c.Regressions()))
	}
}

func TestBadInputIsAnError(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty.txt":   "",
		"garbage.txt": "BenchmarkX 1 notanumber sec/op\n",
		"bad.yaml":    "schema: 99\n",
	} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(content), 0o644)
		if _, err := reports.ReadSet(path); err == nil {
			t.Errorf("%s: read without error", name)
		}
	}
	if _, err := reports.ReadSet(filepath.Join(dir, "missing.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// A slowdown is a regression only where the near end of its bounds is past
// the threshold: a median past it with bounds reaching back under it is a
// noisy machine's phase as often as a real change.
func TestRegressionNeedsItsBoundsPastTheThreshold(t *testing.T) {
	old, nw := readPair(t, "testdata/old.bench.txt", "testdata/new.bench.txt")
	row := func(threshold float64) reports.Row {
		for _, r := range reports.Compare(old, nw, threshold, 0.05).Rows {
			if strings.Contains(r.Name, "M=512/N=512/K=512/kernel=matmul/") {
				return r
			}
		}
		t.Fatal("no 512^3 row")
		return reports.Row{}
	}
	r := row(0.10)
	if !(r.DeltaLo > 0 && r.DeltaLo < r.Delta) {
		t.Fatalf("bounds %+.3f..%+.3f around %+.3f; want a near bound above zero and below the median", r.DeltaLo, r.DeltaHi, r.Delta)
	}
	if !row(r.DeltaLo * 0.9).Regression {
		t.Errorf("threshold under the near bound %+.3f: not a regression", r.DeltaLo)
	}
	if between := (r.DeltaLo + r.Delta) / 2; row(between).Regression {
		t.Errorf("threshold %+.3f, past the near bound %+.3f but under the median %+.3f: flagged", between, r.DeltaLo, r.Delta)
	}
}

// benchText writes Go benchmark lines: per benchmark, samples around its
// time (±1% in turn), with its rate for work units of work.
func benchText(slow float64, times map[string]float64, work map[string]float64, unit map[string]string) string {
	var b strings.Builder
	b.WriteString("adapter: test\n\n")
	for name, t := range times {
		for i := range 10 {
			s := t * slow * (1 + 0.01*float64(i%3-1))
			fmt.Fprintf(&b, "Benchmark%s 1 %g sec/op %g %s\n", name, s, work[name]/s, unit[name])
		}
	}
	return b.String()
}

// On a machine uniformly twice as slow, absolute times regress by 100%;
// scaled by the roofs measured in the same run they do not, and a kernel
// three times as slow still regresses by 50%.
func TestRelativeScalesByTheRoofs(t *testing.T) {
	const (
		copyRoof = "Roof/dtype=f32/kind=copy/bytes=1024/kernel=copy/wg=256"
		fmaRoof  = "Roof/dtype=f32/kind=fma/threads=1024/kernel=fma/wg=256"
		gemv     = "Gemv/dtype=int4-g32-sym/N=512/K=2048/kernel=gemv/wg=32"
		mm       = "Matmul/dtype=f32/M=512/N=512/K=512/kernel=matmul/wgx=16"
	)
	times := map[string]float64{copyRoof: 1e-3, fmaRoof: 1e-3, gemv: 2e-3, mm: 4e-3}
	work := map[string]float64{copyRoof: 1e7, fmaRoof: 1e8, gemv: 1e6, mm: 2 * 512 * 512 * 512}
	unit := map[string]string{copyRoof: "B/s", fmaRoof: "FLOP/s", gemv: "B/s", mm: "FLOP/s"}
	read := func(text string) *reports.Set {
		t.Helper()
		path := filepath.Join(t.TempDir(), "r.bench.txt")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := reports.ReadSet(path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := read(benchText(1, times, work, unit))
	slow := read(benchText(2, times, work, unit))
	if regs := reports.Compare(old, slow, 0.5, 0.05).Regressions(); len(regs) != 4 {
		t.Fatalf("absolute: %d regressions on a machine twice as slow, want all 4", len(regs))
	}
	scaled, yardstick, notes := reports.Relative(old, slow)
	c := reports.Compare(yardstick, scaled, 0.5, 0.05)
	if regs := c.Regressions(); len(regs) != 0 || len(notes) != 2 {
		t.Errorf("relative: regressions %v, notes %q; want none, and a note for each roof", regs, notes)
	}
	for _, r := range c.Rows {
		if strings.HasPrefix(r.Name, "Roof/") && r.Old != nil {
			t.Errorf("%s compared: the roofs are the yardstick", r.Name)
		}
		if r.Name == gemv && (r.RoofFraction < 0.049 || r.RoofFraction > 0.051) {
			t.Errorf("%s: %.3f of the roof, want the measured rate's 0.05", r.Name, r.RoofFraction)
		}
	}
	// Against a run without roofs nothing is scaled, and the note says so.
	bare := map[string]float64{gemv: times[gemv], mm: times[mm]}
	if scaled, _, notes := reports.Relative(read(benchText(1, bare, work, unit)), slow); len(notes) != 1 || !strings.Contains(notes[0], "compared as measured") || scaled.Series[gemv].Seconds[0] != slow.Series[gemv].Seconds[0] {
		t.Errorf("old without roofs: notes %q, first time %g against the measured %g; want one saying nothing was scaled, unscaled", notes, scaled.Series[gemv].Seconds[0], slow.Series[gemv].Seconds[0])
	}
	times[gemv] *= 1.5 // on top of the machine's 2x
	worse := read(benchText(2, times, work, unit))
	scaled, yardstick, _ = reports.Relative(old, worse)
	regs := reports.Compare(yardstick, scaled, 0.3, 0.05).Regressions()
	if len(regs) != 1 || regs[0].Name != gemv || regs[0].Delta < 0.45 || regs[0].Delta > 0.55 {
		t.Errorf("relative: regressions %+v, want %s at +50%%", regs, gemv)
	}
}
