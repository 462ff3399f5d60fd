package search

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Evaluator validates and measures one point on the device. It reports
// failures in the Result (Status Rejected with a Reason), never by panicking.
type Evaluator interface {
	Evaluate(ctx context.Context, p Point) Result
	// Kernel names the template the points of the space render.
	Kernel() string
}

// Settings bound a run. Each zero value means no limit.
type Settings struct {
	MaxEvals int           // points evaluated, journal hits included
	Budget   time.Duration // wall time spent measuring
	Seed     uint64        // seeds the method's randomness
	// Starts are points a Primed method proposes before its own, such as
	// the winners of neighbouring shapes; the others ignore them.
	Starts []Point

	// Sentinel, when set, is a fixed kernel re-timed after every
	// SentinelEvery (0: 16) new measurements. If its time moved by more
	// than Drift (0: 0.05) from the last sentinel, the machine changed
	// during that window, and the window's points are measured again, up
	// to settleTries times, until the sentinel holds still across them; a
	// window that never did is tried again the same way after the search.
	Sentinel      func(context.Context) (seconds float64, err error)
	SentinelEvery int
	Drift         float64
}

// settleTries is how many times a window the sentinel drifted across is
// measured again, each attempt between two sentinel timings, before it is
// kept as it is.
const settleTries = 3

// Task names what a run tunes. Results are reused from the journal only
// when both fields and the kernel match.
type Task struct {
	Name string // the workload, e.g. "matmul/f32/M=512/N=512/K=512"
	Env  string // fingerprint of the adapter, driver and kernel sources
}

// Recorder sees a run's progress.
type Recorder interface {
	// Start is called once with the number of legal points and the
	// evaluation limit (0 for none).
	Start(task Task, legal, maxEvals int)
	// Record is called after every point, with the best result so far.
	Record(r Result, evals int, best *Result)
	// Finish is called once at the end.
	Finish(s *Summary)
}

// Summary is the outcome of a run.
type Summary struct {
	Task     Task
	Status   Status // why the run stopped
	Legal    int    // legal points in the space
	Evals    int    // points evaluated, journal hits included
	Measured int    // points evaluated on the device in this run
	Rejected int
	// Remeasured counts points measured again because the sentinel drifted.
	Remeasured int
	// Unsettled counts points whose last measurement the sentinel still
	// drifted across after settleTries attempts during the search and as
	// many after it: a machine changing faster than a window is measured.
	Unsettled int
	Sentinels []float64 // the sentinel's times, in order
	Results   []Result  // in evaluation order
	Best      *Result   // nil when no point was valid
	Elapsed   time.Duration
}

// RunnerUp is the second-best valid result, or nil.
func (s *Summary) RunnerUp() *Result {
	var second *Result
	for i := range s.Results {
		r := &s.Results[i]
		if r.Status != OK || s.Best == nil || r.ID == s.Best.ID {
			continue
		}
		if r.Better(second) {
			second = r
		}
	}
	return second
}

// Run searches task's space with method m. Points whose results are in the
// journal (which may be nil) are taken from it without evaluation; every
// new result is appended to it before the next point starts. rec may be nil.
func Run(ctx context.Context, task Task, space *Space, m Method, eval Evaluator, s Settings, j *Journal, rec Recorder) (*Summary, error) {
	start := time.Now()
	legal := space.Legal()
	m.Init(legal, s.Seed)
	if p, ok := m.(Primed); ok && len(s.Starts) > 0 {
		p.Prime(s.Starts)
	}
	if b, ok := m.(Budgeted); ok && s.MaxEvals > 0 {
		b.Budget(min(s.MaxEvals, len(legal)))
	}
	sum := &Summary{Task: task, Legal: len(legal), Status: Exhausted}
	if rec != nil {
		rec.Start(task, len(legal), s.MaxEvals)
	}
	var measuring time.Duration
	every, drift := s.SentinelEvery, s.Drift
	if every <= 0 {
		every = 16
	}
	if drift <= 0 {
		drift = 0.05
	}
	var window []int // indexes into sum.Results measured since the last sentinel
	sentinel := func() (float64, error) {
		t0 := time.Now()
		v, err := s.Sentinel(ctx)
		measuring += time.Since(t0)
		if err == nil {
			sum.Sentinels = append(sum.Sentinels, v)
		}
		return v, err
	}
	// rebest finds the best result again after some were measured again.
	rebest := func() {
		sum.Best = nil
		for i := range sum.Results {
			if sum.Results[i].Better(sum.Best) {
				sum.Best = &sum.Results[i]
			}
		}
	}
	// remeasure evaluates the points of window again, in place.
	remeasure := func(window []int) error {
		for _, i := range window {
			p, err := space.Parse(sum.Results[i].ID)
			if err != nil {
				return err
			}
			t0 := time.Now()
			again := eval.Evaluate(ctx, p)
			measuring += time.Since(t0)
			if ctx.Err() != nil {
				return nil
			}
			again.Task, again.Env, again.Kernel, again.ID, again.Params = task.Name, task.Env, eval.Kernel(), p.ID(), p.Params()
			if j != nil {
				if err := j.Append(again); err != nil {
					return err
				}
			}
			sum.Results[i] = again
			sum.Remeasured++
			if ro, ok := m.(Reobserver); ok {
				ro.Reobserve(again)
			}
		}
		return nil
	}
	var unsettled [][]int // windows the sentinel never held still across
	// settle takes a window measured between sentinel times before and
	// after: where the machine moved under it, the window is measured
	// again until the sentinel holds still across the re-measuring (the
	// window then sits in one state) or settleTries attempts run out, and
	// then joins unsettled. It returns the last sentinel time.
	settle := func(window []int, before, after float64) (float64, error) {
		moved := func() bool { return math.Abs(after/before-1) > drift }
		if !moved() {
			return after, nil
		}
		for try := 0; try < settleTries && moved(); try++ {
			before = after
			if err := remeasure(window); err != nil || ctx.Err() != nil {
				return after, err
			}
			var err error
			if after, err = sentinel(); err != nil {
				return after, fmt.Errorf("sentinel: %w", err)
			}
			rebest()
		}
		if moved() {
			unsettled = append(unsettled, slices.Clone(window))
		}
		return after, nil
	}
	ref := math.NaN() // measured before the first evaluation, so a warm rerun measures nothing
	for {
		if s.MaxEvals > 0 && sum.Evals >= s.MaxEvals {
			sum.Status = MaxEvals
			break
		}
		if ctx.Err() != nil {
			sum.Status = Canceled
			break
		}
		p, ok := m.Next()
		if !ok {
			break
		}
		res, cached := Result{}, false
		if j != nil {
			res, cached = j.Lookup(task, eval.Kernel(), p.ID())
		}
		if !cached {
			if s.Budget > 0 && measuring >= s.Budget {
				sum.Status = Budget
				break
			}
			if s.Sentinel != nil && math.IsNaN(ref) {
				var err error
				if ref, err = sentinel(); err != nil {
					return sum, fmt.Errorf("sentinel: %w", err)
				}
			}
			t0 := time.Now()
			res = eval.Evaluate(ctx, p)
			measuring += time.Since(t0)
			if ctx.Err() != nil {
				// A cancelled evaluation is incomplete: leave it unrecorded.
				sum.Status = Canceled
				break
			}
			res.Task, res.Env, res.Kernel, res.ID, res.Params = task.Name, task.Env, eval.Kernel(), p.ID(), p.Params()
			if j != nil {
				if err := j.Append(res); err != nil {
					return sum, err
				}
			}
			sum.Measured++
		}
		if !cached {
			window = append(window, len(sum.Results))
		}
		m.Observe(res)
		sum.Evals++
		if res.Status != OK {
			sum.Rejected++
		}
		sum.Results = append(sum.Results, res)
		if res.Better(sum.Best) {
			sum.Best = &sum.Results[len(sum.Results)-1]
		}
		if rec != nil {
			rec.Record(res, sum.Evals, sum.Best)
		}
		if s.Sentinel != nil && len(window) >= every && ctx.Err() == nil {
			now, err := sentinel()
			if err != nil {
				return sum, fmt.Errorf("sentinel: %w", err)
			}
			if now, err = settle(window, ref, now); err != nil {
				return sum, err
			}
			ref, window = now, window[:0]
		}
	}
	// Windows that never settled get one more chance, the search done: a
	// machine that drifted for a while may hold still by now.
	if late := unsettled; len(late) > 0 && ctx.Err() == nil {
		unsettled = nil
		ref, err := sentinel()
		if err != nil {
			return sum, fmt.Errorf("sentinel: %w", err)
		}
		for _, w := range late {
			if err := remeasure(w); err != nil {
				return sum, err
			}
			if ctx.Err() != nil {
				break
			}
			now, err := sentinel()
			if err != nil {
				return sum, fmt.Errorf("sentinel: %w", err)
			}
			if ref, err = settle(w, ref, now); err != nil {
				return sum, err
			}
		}
		rebest()
	}
	for _, w := range unsettled {
		sum.Unsettled += len(w)
	}
	// Results may have moved while growing; point Best into the final slice.
	for i := range sum.Results {
		if sum.Best != nil && sum.Results[i].ID == sum.Best.ID {
			sum.Best = &sum.Results[i]
		}
	}
	sum.Elapsed = time.Since(start)
	if rec != nil {
		rec.Finish(sum)
	}
	return sum, nil
}
