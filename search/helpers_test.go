package search_test

import (
	"context"
	"sync"
	"time"

	"github.com/tune-gpu/tune/search"
)

// fakeEval scores a point with score (default: its index); a point for which
// reject returns a non-empty reason is rejected, yet keeps its score, so a
// rejected point would win if results were compared by score alone. It
// remembers its calls.
type fakeEval struct {
	kernel string
	score  func(search.Point) float64
	reject func(search.Point) string
	sleep  time.Duration
	// cancelAt, if positive, calls cancel during the cancelAt-th evaluation.
	cancelAt int
	cancel   context.CancelFunc

	mu    sync.Mutex
	calls []string // IDs, in call order
}

func (e *fakeEval) Kernel() string {
	if e.kernel == "" {
		return "fake"
	}
	return e.kernel
}

func (e *fakeEval) Evaluate(ctx context.Context, p search.Point) search.Result {
	e.mu.Lock()
	e.calls = append(e.calls, p.ID())
	n := len(e.calls)
	e.mu.Unlock()
	if e.sleep > 0 {
		time.Sleep(e.sleep)
	}
	if e.cancelAt > 0 && n == e.cancelAt {
		e.cancel()
	}
	s := float64(p.Index())
	if e.score != nil {
		s = e.score(p)
	}
	if e.reject != nil {
		if why := e.reject(p); why != "" {
			return search.Result{Status: search.Rejected, Reason: why, Score: s}
		}
	}
	return search.Result{Status: search.OK, Score: s}
}

func (e *fakeEval) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

// recorder remembers every callback.
type recorder struct {
	starts   int
	task     search.Task
	legal    int
	maxEvals int
	evals    []int
	ids      []string
	bests    []string // best ID at each Record, "" for none
	finishes int
	final    *search.Summary
}

func (r *recorder) Start(task search.Task, legal, maxEvals int) {
	r.starts++
	r.task, r.legal, r.maxEvals = task, legal, maxEvals
}

func (r *recorder) Record(res search.Result, evals int, best *search.Result) {
	r.evals = append(r.evals, evals)
	r.ids = append(r.ids, res.ID)
	if best == nil {
		r.bests = append(r.bests, "")
	} else {
		r.bests = append(r.bests, best.ID)
	}
}

func (r *recorder) Finish(s *search.Summary) {
	r.finishes++
	r.final = s
}

// gridSpace is an n-by-n space of integer axes "a" and "b" with no constraints.
func gridSpace(n int) *search.Space {
	vals := make([]int, n)
	for i := range vals {
		vals[i] = i
	}
	return &search.Space{Axes: []search.Axis{search.Ints("a", vals...), search.Ints("b", vals...)}}
}

func ids(ps []search.Point) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID()
	}
	return out
}

func resultIDs(rs []search.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
