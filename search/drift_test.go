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
	speed := 1.0
	calls := 0
	e := &fakeEval{score: func(p search.Point) float64 {
		calls++
		if calls == 10 {
			speed = 0.5 // the machine slows from the 10th evaluation on
		}
		return float64(p.Index()+1) * speed
	}}
	sentinel := func(context.Context) (float64, error) { return 1 / speed, nil }
	sum, err := search.Run(context.Background(), search.Task{Name: "t"}, space, &search.Exhaustive{}, e,
		search.Settings{Sentinel: sentinel, SentinelEvery: 8}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The sentinel runs at the start and after evaluations 8, 16, 24, 32: it
	// first sees the slowdown after 16, so points 9..16 are measured again.
	if sum.Remeasured != 8 {
		t.Errorf("remeasured %d points; want the 8 of the drifted window", sum.Remeasured)
	}
	if len(sum.Sentinels) != 5 {
		t.Errorf("sentinel measured %d times; want 5", len(sum.Sentinels))
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
