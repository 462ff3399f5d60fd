package search_test

import (
	"slices"
	"testing"

	"github.com/tune-gpu/tune/search"
)

// replayOf records a score for every point of an 8x8 space: one peak,
// value score(a, b).
func replayOf(t *testing.T, score func(a, b int) float64) (*search.Space, *search.Replay) {
	t.Helper()
	sp := &search.Space{Axes: []search.Axis{search.Ints("a", 0, 1, 2, 3, 4, 5, 6, 7), search.Ints("b", 0, 1, 2, 3, 4, 5, 6, 7)}}
	var results []search.Result
	for _, p := range sp.Legal() {
		results = append(results, search.Result{Task: "t", Kernel: "k", ID: p.ID(), Status: search.OK, Score: score(p.Int("a"), p.Int("b"))})
	}
	r, err := search.NewReplay(results, "t", "k")
	if err != nil {
		t.Fatal(err)
	}
	return sp, r
}

func TestRerunPicks(t *testing.T) {
	sp, r := replayOf(t, func(a, b int) float64 { return 100 - float64((a-5)*(a-5)+(b-2)*(b-2)) })
	// Without noise, reruns of one seed are the same run.
	picks, err := search.RerunPicks(sp, r, "random", 3, 5, 10, 4, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(picks) != 5 || slices.Min(picks) != slices.Max(picks) {
		t.Errorf("noiseless reruns picked %v; want five equal picks", picks)
	}
	// Finals as wide as the space find the optimum through any noise.
	picks, err = search.RerunPicks(sp, r, "exhaustive", 1, 5, 0, 64, 0.5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Min(picks) != 100 {
		t.Errorf("exhaustive search with every point in the finals picked %v; want 100 each time", picks)
	}
	// With one finalist, the noisiest measurement wins: reruns differ.
	picks, err = search.RerunPicks(sp, r, "exhaustive", 1, 5, 0, 1, 0.5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Min(picks) == slices.Max(picks) {
		t.Errorf("reruns through 50%% noise with one finalist all picked %v; the noise is not applied", picks)
	}
	if _, err := search.RerunPicks(sp, r, "nonesuch", 1, 1, 0, 4, 0, nil); err == nil {
		t.Error("an unknown method replayed")
	}
}
