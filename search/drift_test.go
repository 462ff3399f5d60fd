package search_test

import (
	"context"
	"testing"

	"github.com/tune-gpu/tune/search"
)

// When the sentinel shows the machine slowed down mid-window, the window's
// points are measured again; a steady sentinel re-measures nothing.
func TestSentinelDriftRemeasuresTheWindow(t *testing.T) {
	space := gridSpace(6) // 36 points
	e, sentinel := slowingMachine()
	sum, err := search.Run(context.Background(), search.Task{Name: "t"}, space, &search.Exhaustive{}, e,
		search.Settings{Sentinel: sentinel, SentinelEvery: 8}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The sentinel runs at the start and after evaluations 8, 16, 24, 32: it
	// first sees the slowdown after 16, so points 9..16 are measured again,
	// and once more after them, where it holds still (at the slow speed).
	if sum.Remeasured != 8 {
		t.Errorf("remeasured %d points; want the 8 of the drifted window", sum.Remeasured)
	}
	if len(sum.Sentinels) != 6 || sum.Unsettled != 0 {
		t.Errorf("sentinel measured %d times, %d points unsettled; want 6 and none", len(sum.Sentinels), sum.Unsettled)
	}
	// After re-measuring, every result was taken at the same (slow) speed:
	// scores are proportional to index again, so the best is the last point.
	for i, r := range sum.Results {
		if want := float64(i+1) * 0.5; i >= 8 && r.Score != want {
			t.Errorf("result %d (%s) score %g; want %g at the settled speed", i, r.ID, r.Score, want)
		}
	}
	if sum.Best == nil || sum.Best.ID != "a=5/b=5" {
		t.Errorf("best %v; want a=5/b=5", sum.Best)
	}

	steady := &fakeEval{}
	sum, err = search.Run(context.Background(), search.Task{Name: "t"}, space, &search.Exhaustive{}, steady,
		search.Settings{Sentinel: func(context.Context) (float64, error) { return 1, nil }, SentinelEvery: 8}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Remeasured != 0 || len(steady.Calls()) != 36 {
		t.Errorf("steady machine: remeasured %d, %d calls; want 0 and 36", sum.Remeasured, len(steady.Calls()))
	}
}

// A run that finds every point in the journal measures nothing, not even
// the sentinel.
func TestSentinelQuietOnWarmRerun(t *testing.T) {
	space := gridSpace(3)
	j, err := search.OpenJournal(t.TempDir() + "/j.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sentinels := 0
	settings := search.Settings{SentinelEvery: 2, Sentinel: func(context.Context) (float64, error) { sentinels++; return 1, nil }}
	if _, err := search.Run(context.Background(), search.Task{Name: "t"}, space, &search.Exhaustive{}, &fakeEval{}, settings, j, nil); err != nil {
		t.Fatal(err)
	}
	first := sentinels
	warm := &fakeEval{}
	sum, err := search.Run(context.Background(), search.Task{Name: "t"}, space, &search.Exhaustive{}, warm, settings, j, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first == 0 || sentinels != first || len(warm.Calls()) != 0 || sum.Measured != 0 {
		t.Errorf("sentinel ran %d times cold, %d warm; warm evaluations %d; want >0, none, none", first, sentinels-first, len(warm.Calls()))
	}
}

// A window the sentinel drifted across is measured again until the
// sentinel holds still across the re-measuring: a machine slow for a
// moment costs one more attempt; a window still moving after settleTries
// attempts gets another chance after the search, and its points are
// counted unsettled only if the sentinel moves across that too.
func TestSentinelSettles(t *testing.T) {
	for _, c := range []struct {
		name                  string
		sentinels             []float64 // in order; the last repeats
		remeasured, unsettled int
		sentinelRuns          int
	}{
		// Start 1; after the first window 2 (slow); the re-measuring ends
		// at 1, which differs from the 2 before it, so once more; then
		// still.
		{"slow for a moment", []float64{1, 2, 1, 1}, 16, 0, 5},
		// Every sentinel differs from the one before: each window of 8 is
		// measured three more times, then, the search done, once more and
		// three more times again, and stays unsettled.
		{"never still", []float64{1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}, 112, 16, 18},
		// The first window does not settle in three attempts; the second
		// does not drift; after the search the first is measured again
		// between two equal sentinels and settles.
		{"settles after the search", []float64{1, 2, 1, 2, 1, 1}, 32, 0, 8},
		{"steady", []float64{1}, 0, 0, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			sentinel := func(context.Context) (float64, error) {
				v := c.sentinels[min(n, len(c.sentinels)-1)]
				n++
				return v, nil
			}
			e := &fakeEval{}
			sum, err := search.Run(context.Background(), search.Task{Name: "t"}, gridSpace(4), &search.Exhaustive{}, e,
				search.Settings{Sentinel: sentinel, SentinelEvery: 8}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Remeasured != c.remeasured || sum.Unsettled != c.unsettled || n != c.sentinelRuns || len(e.Calls()) != 16+c.remeasured {
				t.Errorf("remeasured %d, unsettled %d, %d sentinels, %d evaluations; want %d, %d, %d, %d",
					sum.Remeasured, sum.Unsettled, n, len(e.Calls()), c.remeasured, c.unsettled, c.sentinelRuns, 16+c.remeasured)
			}
		})
	}
}

// reobserving records what Run tells it was measured anew.
type reobserving struct {
	search.Exhaustive
	again []search.Result
}

func (m *reobserving) Reobserve(r search.Result) { m.again = append(m.again, r) }

// A method that takes results again hears of every point of a drifted
// window measured anew, with its new result.
func TestDriftedWindowIsReobserved(t *testing.T) {
	e, sentinel := slowingMachine()
	m := &reobserving{}
	sum, err := search.Run(context.Background(), search.Task{Name: "t"}, gridSpace(6), m, e,
		search.Settings{Sentinel: sentinel, SentinelEvery: 8}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.again) != 8 {
		t.Fatalf("reobserved %d results; want the 8 of the drifted window", len(m.again))
	}
	for k, r := range m.again {
		if want := sum.Results[8+k]; r.ID != want.ID || r.Score != want.Score {
			t.Errorf("reobserved %s at %g; want %s at %g, the window's new measurement", r.ID, r.Score, want.ID, want.Score)
		}
	}
}

// slowingMachine is an evaluator scoring a point by its index, on a machine
// that runs at half speed from the 10th evaluation on, and a sentinel
// timing that machine.
func slowingMachine() (*fakeEval, func(context.Context) (float64, error)) {
	speed := 1.0
	calls := 0
	e := &fakeEval{score: func(p search.Point) float64 {
		calls++
		if calls == 10 {
			speed = 0.5
		}
		return float64(p.Index()+1) * speed
	}}
	return e, func(context.Context) (float64, error) { return 1 / speed, nil }
}
