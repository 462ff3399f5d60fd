package search_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tune-gpu/tune/search"
)

var testTask = search.Task{Name: "fake/N=3", Env: "env-1"}

// mustRun runs the search and fails the test on error.
func mustRun(t *testing.T, ctx context.Context, space *search.Space, m search.Method, e search.Evaluator, s search.Settings, j *search.Journal, rec search.Recorder) *search.Summary {
	t.Helper()
	sum, err := search.Run(ctx, testTask, space, m, e, s, j, rec)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum
}

func bestID(s *search.Summary) string {
	if s.Best == nil {
		return ""
	}
	return s.Best.ID
}

func runnerUpID(s *search.Summary) string {
	if r := s.RunnerUp(); r != nil {
		return r.ID
	}
	return ""
}

func TestRunStops(t *testing.T) {
	tests := []struct {
		name     string
		space    *search.Space
		eval     *fakeEval
		settings search.Settings
		want     search.Status
		evals    int
	}{
		{"exhausted", gridSpace(3), &fakeEval{}, search.Settings{}, search.Exhausted, 9},
		{"exhausted before max-evals", gridSpace(3), &fakeEval{}, search.Settings{MaxEvals: 20}, search.Exhausted, 9},
		{"nothing legal", &search.Space{Axes: gridSpace(2).Axes, Constraints: []search.Constraint{{Name: "no", OK: func(search.Point) bool { return false }}}}, &fakeEval{}, search.Settings{}, search.Exhausted, 0},
		{"max-evals", gridSpace(3), &fakeEval{}, search.Settings{MaxEvals: 4}, search.MaxEvals, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := mustRun(t, context.Background(), tt.space, &search.Exhaustive{}, tt.eval, tt.settings, nil, nil)
			if sum.Status != tt.want {
				t.Errorf("Status = %s, want %s", sum.Status, tt.want)
			}
			calls := len(tt.eval.Calls())
			if sum.Evals != len(sum.Results) || sum.Measured != calls || sum.Evals != calls {
				t.Errorf("Evals = %d, Measured = %d, len(Results) = %d, evaluator calls = %d; want all equal",
					sum.Evals, sum.Measured, len(sum.Results), calls)
			}
			if sum.Evals != tt.evals {
				t.Errorf("Evals = %d, want %d", sum.Evals, tt.evals)
			}
			if sum.Legal != len(tt.space.Legal()) {
				t.Errorf("Legal = %d, want %d", sum.Legal, len(tt.space.Legal()))
			}
			if sum.Task != testTask {
				t.Errorf("Task = %v, want %v", sum.Task, testTask)
			}
		})
	}
}

func TestRunBudget(t *testing.T) {
	e := &fakeEval{sleep: 2 * time.Millisecond}
	sum := mustRun(t, context.Background(), gridSpace(10), &search.Exhaustive{}, e, search.Settings{Budget: 10 * time.Millisecond}, nil, nil)
	if sum.Status != search.Budget {
		t.Fatalf("Status = %s, want %s", sum.Status, search.Budget)
	}
	// Each evaluation takes at least 2 ms, so the 10 ms budget is spent
	// after at most 5 of the 100 points.
	if sum.Measured < 1 || sum.Measured > 5 {
		t.Errorf("Measured = %d, want in [1, 5]", sum.Measured)
	}
}

func TestRunCanceled(t *testing.T) {
	t.Run("during evaluation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		path := filepath.Join(t.TempDir(), "j.jsonl")
		j := openJournal(t, path)
		e := &fakeEval{cancelAt: 3, cancel: cancel}
		sum := mustRun(t, ctx, gridSpace(3), &search.Exhaustive{}, e, search.Settings{}, j, nil)
		if sum.Status != search.Canceled {
			t.Errorf("Status = %s, want %s", sum.Status, search.Canceled)
		}
		if got := len(e.Calls()); got != 3 {
			t.Errorf("evaluator called %d times, want 3", got)
		}
		// The evaluation in flight when the context was cancelled is incomplete.
		if sum.Evals != 2 || sum.Measured != 2 || len(sum.Results) != 2 {
			t.Errorf("Evals = %d, Measured = %d, len(Results) = %d; want 2 each", sum.Evals, sum.Measured, len(sum.Results))
		}
		if j.Len() != 2 {
			t.Errorf("journal holds %d results, want 2", j.Len())
		}
		third := gridSpace(3).At(2).ID()
		if _, ok := j.Lookup(testTask, e.Kernel(), third); ok {
			t.Errorf("journal holds the cancelled evaluation of %s", third)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		j2 := openJournal(t, path)
		if j2.Len() != 2 || j2.Dropped != 0 {
			t.Errorf("reopened journal: Len = %d, Dropped = %d; want 2, 0", j2.Len(), j2.Dropped)
		}
	})
	t.Run("before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		e := &fakeEval{}
		sum := mustRun(t, ctx, gridSpace(3), &search.Exhaustive{}, e, search.Settings{}, nil, nil)
		if sum.Status != search.Canceled || sum.Evals != 0 || len(e.Calls()) != 0 {
			t.Errorf("Status = %s, Evals = %d, calls = %d; want %s, 0, 0", sum.Status, sum.Evals, len(e.Calls()), search.Canceled)
		}
	})
}

func TestRunBest(t *testing.T) {
	// Points of gridSpace(3) in index order: a=0/b=0 ... a=2/b=2.
	tests := []struct {
		name     string
		score    func(search.Point) float64
		reject   func(search.Point) string
		best     string
		runnerUp string
		rejected int
	}{
		{
			name:     "highest index",
			best:     "a=2/b=2",
			runnerUp: "a=2/b=1",
		},
		{
			name:     "peak in the middle",
			score:    func(p search.Point) float64 { return -float64((p.Index() - 4) * (p.Index() - 4)) },
			best:     "a=1/b=1",
			runnerUp: "a=1/b=0", // ties with a=1/b=2; the first found wins
		},
		{
			name:     "rejected never best",
			score:    func(p search.Point) float64 { return float64(p.Index()) },
			reject:   rejectIf(func(p search.Point) bool { return p.Int("a") == 2 }),
			best:     "a=1/b=2",
			runnerUp: "a=1/b=1",
			rejected: 3,
		},
		{
			name:     "only one valid",
			reject:   rejectIf(func(p search.Point) bool { return p.ID() != "a=0/b=1" }),
			best:     "a=0/b=1",
			runnerUp: "",
			rejected: 8,
		},
		{
			name:     "all rejected",
			reject:   rejectIf(func(search.Point) bool { return true }),
			best:     "",
			runnerUp: "",
			rejected: 9,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &fakeEval{score: tt.score, reject: tt.reject}
			sum := mustRun(t, context.Background(), gridSpace(3), &search.Exhaustive{}, e, search.Settings{}, nil, nil)
			if got := bestID(sum); got != tt.best {
				t.Errorf("Best = %q, want %q", got, tt.best)
			}
			if got := runnerUpID(sum); got != tt.runnerUp {
				t.Errorf("RunnerUp = %q, want %q", got, tt.runnerUp)
			}
			if sum.Rejected != tt.rejected {
				t.Errorf("Rejected = %d, want %d", sum.Rejected, tt.rejected)
			}
			if sum.Best != nil {
				if sum.Best.Status != search.OK {
					t.Errorf("Best has status %s", sum.Best.Status)
				}
				// Best points into Results, not at a stale copy.
				i := slices.IndexFunc(sum.Results, func(r search.Result) bool { return r.ID == sum.Best.ID })
				if sum.Best != &sum.Results[i] {
					t.Errorf("Best does not point into Results")
				}
				for _, r := range sum.Results {
					if r.Status == search.OK && r.Score > sum.Best.Score {
						t.Errorf("%s scores %g, more than Best %s (%g)", r.ID, r.Score, sum.Best.ID, sum.Best.Score)
					}
				}
			}
			for _, r := range sum.Results {
				if (r.Status == search.Rejected) != (tt.reject != nil && tt.reject(gridSpace(3).At(indexOf(t, r.ID))) != "") {
					t.Errorf("%s has status %s", r.ID, r.Status)
				}
			}
		})
	}
}

// rejectIf makes a fakeEval.reject that rejects the points f holds for.
func rejectIf(f func(search.Point) bool) func(search.Point) string {
	return func(p search.Point) string {
		if f(p) {
			return "rejected by test"
		}
		return ""
	}
}

func indexOf(t *testing.T, id string) int {
	t.Helper()
	p, err := gridSpace(3).Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	return p.Index()
}

func TestRunFillsResults(t *testing.T) {
	space := gridSpace(3)
	e := &fakeEval{kernel: "k1"}
	sum := mustRun(t, context.Background(), space, &search.Exhaustive{}, e, search.Settings{}, nil, nil)
	if got, want := resultIDs(sum.Results), ids(space.Legal()); !slices.Equal(got, want) {
		t.Errorf("Results in order %v, want %v", got, want)
	}
	for i, r := range sum.Results {
		p := space.At(i)
		if r.Task != testTask.Name || r.Env != testTask.Env || r.Kernel != "k1" || r.ID != p.ID() {
			t.Errorf("Results[%d] = task %q env %q kernel %q id %q; want %q %q %q %q",
				i, r.Task, r.Env, r.Kernel, r.ID, testTask.Name, testTask.Env, "k1", p.ID())
		}
		if r.Params["a"] != p.Get("a") || r.Params["b"] != p.Get("b") || len(r.Params) != 2 {
			t.Errorf("Results[%d].Params = %v, want %v", i, r.Params, p.Params())
		}
		if r.Cached {
			t.Errorf("Results[%d] is marked Cached without a journal", i)
		}
	}
}

func TestRunRecorder(t *testing.T) {
	rec := &recorder{}
	e := &fakeEval{reject: rejectIf(func(p search.Point) bool { return p.Index()%2 == 1 })}
	sum := mustRun(t, context.Background(), gridSpace(3), &search.Exhaustive{}, e, search.Settings{MaxEvals: 6}, nil, rec)
	if rec.starts != 1 || rec.finishes != 1 {
		t.Fatalf("Start called %d times, Finish %d times; want 1 each", rec.starts, rec.finishes)
	}
	if rec.task != testTask || rec.legal != 9 || rec.maxEvals != 6 {
		t.Errorf("Start(%v, %d, %d), want Start(%v, 9, 6)", rec.task, rec.legal, rec.maxEvals, testTask)
	}
	if want := []int{1, 2, 3, 4, 5, 6}; !slices.Equal(rec.evals, want) {
		t.Errorf("Record evals = %v, want %v", rec.evals, want)
	}
	if got, want := rec.ids, resultIDs(sum.Results); !slices.Equal(got, want) {
		t.Errorf("Record ids = %v, want %v", got, want)
	}
	// Scores rise with the index; odd indices are rejected.
	want := []string{"a=0/b=0", "a=0/b=0", "a=0/b=2", "a=0/b=2", "a=1/b=1", "a=1/b=1"}
	if !slices.Equal(rec.bests, want) {
		t.Errorf("best at each Record = %v, want %v", rec.bests, want)
	}
	if rec.final != sum {
		t.Errorf("Finish got a different summary from the one Run returned")
	}
}

func TestRunNilRecorderAndJournal(t *testing.T) {
	// Both are optional; Run with neither must not panic.
	sum := mustRun(t, context.Background(), gridSpace(2), &search.Random{}, &fakeEval{}, search.Settings{Seed: 3}, nil, nil)
	if sum.Evals != 4 {
		t.Errorf("Evals = %d, want 4", sum.Evals)
	}
}
