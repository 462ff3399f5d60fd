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
	picks, err := rerunScores(sp, r, "random", 3, search.RerunOptions{Reruns: 5, MaxEvals: 10, Finals: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(picks) != 5 || slices.Min(picks) != slices.Max(picks) {
		t.Errorf("noiseless reruns picked %v; want five equal picks", picks)
	}
	// Finals as wide as the space find the optimum through any noise.
	picks, err = rerunScores(sp, r, "exhaustive", 1, search.RerunOptions{Reruns: 5, Finals: 64, Noise: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Min(picks) != 100 {
		t.Errorf("exhaustive search with every point in the finals picked %v; want 100 each time", picks)
	}
	// With one finalist, the noisiest measurement wins: reruns differ.
	picks, err = rerunScores(sp, r, "exhaustive", 1, search.RerunOptions{Reruns: 5, Finals: 1, Noise: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Min(picks) == slices.Max(picks) {
		t.Errorf("reruns through 50%% noise with one finalist all picked %v; the noise is not applied", picks)
	}
	// Each rerun says whether its search timed the optimum: an exhaustive
	// one always does; one of a single evaluation only where it picked it.
	all, err := search.RerunPicks(sp, r, "exhaustive", 1, search.RerunOptions{Reruns: 2, Finals: 1, Noise: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if !p.TimedOptimum {
			t.Errorf("an exhaustive rerun (pick %s) did not time the optimum", p.ID)
		}
	}
	missed := 0
	for seed := range uint64(8) {
		one, err := search.RerunPicks(sp, r, "random", seed, search.RerunOptions{Reruns: 1, MaxEvals: 1, Finals: 1})
		if err != nil {
			t.Fatal(err)
		}
		if p := one[0]; p.TimedOptimum != (p.Score == 100) {
			t.Errorf("seed %d: a rerun of one evaluation picked %s (%g) and says it timed the optimum: %t", seed, p.ID, p.Score, p.TimedOptimum)
		} else if !p.TimedOptimum {
			missed++
		}
	}
	if missed == 0 {
		t.Error("every rerun of one random evaluation timed the optimum, one of 64 points")
	}
	if _, err := search.RerunPicks(sp, r, "nonesuch", 1, search.RerunOptions{Reruns: 1, Finals: 4}); err == nil {
		t.Error("an unknown method replayed")
	}
}

func rerunScores(sp *search.Space, r *search.Replay, method string, seed uint64, o search.RerunOptions) ([]float64, error) {
	picks, err := search.RerunPicks(sp, r, method, seed, o)
	var scores []float64
	for _, p := range picks {
		scores = append(scores, p.Score)
	}
	return scores, err
}

// An incumbent is every rerun's pick unless a finalist truly beats it by
// more than the threshold.
func TestRerunPicksIncumbent(t *testing.T) {
	sp, r := replayOf(t, func(a, b int) float64 { return 100 - float64((a-5)*(a-5)+(b-2)*(b-2)) })
	near := "a=4/b=2" // 99: within 2% of the optimum, 100
	o := search.RerunOptions{Reruns: 5, Finals: 64, Noise: 0.5, Incumbent: near, Threshold: 0.02}
	picks, err := search.RerunPicks(sp, r, "exhaustive", 1, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range picks {
		if p.ID != near {
			t.Errorf("picked %s (%g), want the incumbent %s, within the threshold of the best", p.ID, p.Score, near)
		}
	}
	o.Threshold = 0.005
	if picks, err = search.RerunPicks(sp, r, "exhaustive", 1, o); err != nil {
		t.Fatal(err)
	}
	for _, p := range picks {
		if p.Score != 100 {
			t.Errorf("picked %s (%g), want the optimum, 1%% faster than the incumbent past a 0.5%% threshold", p.ID, p.Score)
		}
	}
	o.Incumbent = "a=99/b=0"
	if _, err := search.RerunPicks(sp, r, "exhaustive", 1, o); err == nil {
		t.Error("an incumbent outside the space replayed")
	}
}
