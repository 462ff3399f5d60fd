package search_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tune-gpu/tune/search"
)

// openJournal opens the journal at path and closes it when the test ends.
func openJournal(t *testing.T, path string) *search.Journal {
	t.Helper()
	j, err := search.OpenJournal(path)
	if err != nil {
		t.Fatalf("OpenJournal: %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func mustAppend(t *testing.T, j *search.Journal, rs ...search.Result) {
	t.Helper()
	for _, r := range rs {
		if err := j.Append(r); err != nil {
			t.Fatalf("Append(%s): %v", r.ID, err)
		}
	}
}

// line is r as the journal stores it, newline included.
func line(t *testing.T, r search.Result) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

var (
	resA = search.Result{
		Task: "matmul/M=8", Env: "gpu-1", Kernel: "matmul", ID: "wg=8/tile=2",
		Params: map[string]string{"wg": "8", "tile": "2"},
		Status: search.OK, Score: 12.5, Seconds: 0.25,
		Measure: &search.Measurement{
			Clock: "timestamp", Repeats: 4, Samples: []float64{1e-3, 2e-3, 1.5e-3},
			Median: 1.5e-3, Lo: 1e-3, Hi: 2e-3, Work: 1e6, Unit: "FLOP/s",
		},
	}
	resB = search.Result{
		Task: "matmul/M=8", Env: "gpu-1", Kernel: "matmul", ID: "wg=16/tile=2",
		Params: map[string]string{"wg": "16", "tile": "2"},
		Status: search.Rejected, Reason: "workgroup too large",
	}
	resC = search.Result{
		Task: "matmul/M=8", Env: "gpu-2", Kernel: "matmul", ID: "wg=8/tile=2",
		Status: search.OK, Score: 3,
	}
)

func TestJournalReadBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j := openJournal(t, path)
	mustAppend(t, j, resA, resB, resC)
	if j.Len() != 3 {
		t.Errorf("Len = %d after 3 appends", j.Len())
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = openJournal(t, path)
	if j.Len() != 3 || j.Dropped != 0 {
		t.Fatalf("reopened: Len = %d, Dropped = %d; want 3, 0", j.Len(), j.Dropped)
	}
	tests := []struct {
		name   string
		task   search.Task
		kernel string
		id     string
		want   *search.Result // nil for a miss
	}{
		{"hit", search.Task{Name: resA.Task, Env: resA.Env}, resA.Kernel, resA.ID, &resA},
		{"hit rejected", search.Task{Name: resB.Task, Env: resB.Env}, resB.Kernel, resB.ID, &resB},
		{"same point other env", search.Task{Name: resC.Task, Env: resC.Env}, resC.Kernel, resC.ID, &resC},
		{"unknown env", search.Task{Name: resA.Task, Env: "gpu-3"}, resA.Kernel, resA.ID, nil},
		{"other kernel", search.Task{Name: resA.Task, Env: resA.Env}, "conv", resA.ID, nil},
		{"other task", search.Task{Name: "matmul/M=16", Env: resA.Env}, resA.Kernel, resA.ID, nil},
		{"other id", search.Task{Name: resA.Task, Env: resA.Env}, resA.Kernel, "wg=32/tile=2", nil},
		{"fields swapped", search.Task{Name: resA.Env, Env: resA.Task}, resA.Kernel, resA.ID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := j.Lookup(tt.task, tt.kernel, tt.id)
			if tt.want == nil {
				if ok {
					t.Errorf("Lookup hit %+v, want a miss", got)
				}
				return
			}
			if !ok {
				t.Fatalf("Lookup missed")
			}
			if !got.Cached {
				t.Errorf("Cached = false on a journal hit")
			}
			want := *tt.want
			want.Cached = true
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Lookup = %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestJournalLastRecordWins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j := openJournal(t, path)
	newer := resA
	newer.Score = 99
	mustAppend(t, j, resA, newer)
	j.Close()
	j = openJournal(t, path)
	got, ok := j.Lookup(search.Task{Name: resA.Task, Env: resA.Env}, resA.Kernel, resA.ID)
	if !ok || got.Score != 99 || j.Len() != 1 {
		t.Errorf("Lookup = score %g, %v; Len = %d; want 99, true, 1", got.Score, ok, j.Len())
	}
}

func TestJournalTornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	good := line(t, resA) + line(t, resB)
	torn := line(t, resC)
	torn = torn[:len(torn)/2] // cut mid-record, no newline
	writeFile(t, path, good+torn)

	j := openJournal(t, path)
	if j.Dropped != 1 || j.Len() != 2 {
		t.Errorf("Dropped = %d, Len = %d; want 1, 2", j.Dropped, j.Len())
	}
	if got, want := fileSize(t, path), int64(len(good)); got != want {
		t.Errorf("file is %d bytes after open, want %d (torn line truncated)", got, want)
	}
	mustAppend(t, j, resC)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), good+line(t, resC); got != want {
		t.Errorf("file after append:\n%s\nwant:\n%s", got, want)
	}

	j = openJournal(t, path)
	if j.Dropped != 0 || j.Len() != 3 {
		t.Errorf("third open: Dropped = %d, Len = %d; want 0, 3", j.Dropped, j.Len())
	}
	for _, r := range []search.Result{resA, resB, resC} {
		if _, ok := j.Lookup(search.Task{Name: r.Task, Env: r.Env}, r.Kernel, r.ID); !ok {
			t.Errorf("third open misses %s/%s", r.Env, r.ID)
		}
	}
}

func TestJournalBadLines(t *testing.T) {
	tests := []struct {
		name    string
		content func(t *testing.T) string
		len     int
		dropped int
	}{
		{"empty", func(*testing.T) string { return "" }, 0, 0},
		{"good", func(t *testing.T) string { return line(t, resA) + line(t, resB) }, 2, 0},
		{"garbage in the middle", func(t *testing.T) string { return line(t, resA) + "not json\n" + line(t, resB) }, 2, 1},
		{"no task", func(t *testing.T) string { return `{"id":"wg=8"}` + "\n" + line(t, resB) }, 1, 1},
		{"no id", func(t *testing.T) string { return line(t, resA) + `{"task":"x"}` + "\n" }, 1, 1},
		{"garbage and torn", func(t *testing.T) string { return "{{\n" + line(t, resA) + `{"task":` }, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.jsonl")
			writeFile(t, path, tt.content(t))
			j := openJournal(t, path)
			if j.Len() != tt.len || j.Dropped != tt.dropped {
				t.Errorf("Len = %d, Dropped = %d; want %d, %d", j.Len(), j.Dropped, tt.len, tt.dropped)
			}
			// A record appended after a skipped line reads back.
			mustAppend(t, j, resC)
			j.Close()
			j = openJournal(t, path)
			if _, ok := j.Lookup(search.Task{Name: resC.Task, Env: resC.Env}, resC.Kernel, resC.ID); !ok {
				t.Errorf("record appended after reopening is lost")
			}
		})
	}
}

func TestOpenJournalError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "journal.jsonl")
	if j, err := search.OpenJournal(path); err == nil {
		j.Close()
		t.Errorf("OpenJournal(%s) in a missing directory succeeded", path)
	}
}

func TestRunResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	space := gridSpace(5)

	j := openJournal(t, path)
	e1 := &fakeEval{}
	first := mustRun(t, context.Background(), space, &search.Random{}, e1, search.Settings{MaxEvals: 5, Seed: 42}, j, nil)
	if first.Status != search.MaxEvals || first.Measured != 5 || len(e1.Calls()) != 5 {
		t.Fatalf("first run: Status = %s, Measured = %d, calls = %d", first.Status, first.Measured, len(e1.Calls()))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = openJournal(t, path)
	e2 := &fakeEval{}
	second := mustRun(t, context.Background(), space, &search.Random{}, e2, search.Settings{MaxEvals: 10, Seed: 42}, j, nil)
	if got := len(e2.Calls()); got != 5 {
		t.Errorf("second run called the evaluator %d times, want 5", got)
	}
	if second.Measured != 5 || second.Evals != 10 || second.Status != search.MaxEvals {
		t.Errorf("second run: Measured = %d, Evals = %d, Status = %s; want 5, 10, %s",
			second.Measured, second.Evals, second.Status, search.MaxEvals)
	}
	if got, want := resultIDs(second.Results[:5]), resultIDs(first.Results); !slices.Equal(got, want) {
		t.Errorf("second run began with %v, want the first run's %v", got, want)
	}
	for i, r := range second.Results {
		if r.Cached != (i < 5) {
			t.Errorf("Results[%d].Cached = %v", i, r.Cached)
		}
	}
	if got, want := e2.Calls(), resultIDs(second.Results[5:]); !slices.Equal(got, want) {
		t.Errorf("evaluator measured %v, want %v", got, want)
	}
	for _, id := range e2.Calls() {
		if slices.Contains(e1.Calls(), id) {
			t.Errorf("%s measured twice", id)
		}
	}
	if j.Len() != 10 {
		t.Errorf("journal holds %d results, want 10", j.Len())
	}
}

func TestRunJournalScope(t *testing.T) {
	// A full journal answers every point of the same task, env and kernel,
	// however small the budget; any other env or kernel measures afresh.
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	space := gridSpace(3)
	j := openJournal(t, path)
	mustRun(t, context.Background(), space, &search.Exhaustive{}, &fakeEval{}, search.Settings{}, j, nil)

	tests := []struct {
		name   string
		task   search.Task
		kernel string
		hit    bool
	}{
		{"same", testTask, "fake", true},
		{"other env", search.Task{Name: testTask.Name, Env: "env-2"}, "fake", false},
		{"other task", search.Task{Name: "fake/N=4", Env: testTask.Env}, "fake", false},
		{"other kernel", testTask, "fake2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &fakeEval{kernel: tt.kernel, sleep: time.Microsecond}
			sum, err := search.Run(context.Background(), tt.task, space, &search.Exhaustive{}, e, search.Settings{Budget: 1}, j, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Measured != len(e.Calls()) {
				t.Errorf("Measured = %d, evaluator calls = %d", sum.Measured, len(e.Calls()))
			}
			if tt.hit {
				if sum.Measured != 0 || sum.Evals != 9 || sum.Status != search.Exhausted {
					t.Errorf("Measured = %d, Evals = %d, Status = %s; want 0, 9, %s", sum.Measured, sum.Evals, sum.Status, search.Exhausted)
				}
				return
			}
			// The 1 ns budget allows one measurement.
			if sum.Measured != 1 || sum.Status != search.Budget {
				t.Errorf("Measured = %d, Status = %s; want 1, %s", sum.Measured, sum.Status, search.Budget)
			}
		})
	}
}
