package search_test

import (
	"context"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/tune-gpu/tune/search"
)

func TestAgreement(t *testing.T) {
	ratios := map[string]float64{"same": 1.01, "close": 1.009, "slow": 1.05, "fast": 0.9}
	got, err := search.Agreement([]string{"ref", "same", "slow", "ref", "close", "fast"}, "ref", ratios, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false, true, true, true}; !reflect.DeepEqual(got, want) {
		t.Errorf("Agreement = %v, want %v", got, want)
	}
	if _, err := search.Agreement([]string{"other"}, "ref", ratios, 0.01); err == nil {
		t.Error("a pick without a paired ratio: no error")
	}
}

// driftRetimer times each point at its base time scaled by a device speed
// that halves after the first calls re-timings, as a shared machine slows.
type driftRetimer struct {
	base  map[string]float64
	calls int
	after int
}

func (d *driftRetimer) Retime(_ context.Context, p search.Point) (*search.Measurement, error) {
	d.calls++
	s := d.base[p.ID()]
	if d.calls > d.after {
		s *= 2
	}
	return &search.Measurement{Median: s, Samples: []float64{s}}, nil
}

// A pick 2% slower than the reference comes out 2% slower paired, however
// the device slows in between; timing one then the other would see it 2x
// slower.
func TestPairedRatioUnderDrift(t *testing.T) {
	space := gridSpace(3)
	ref, _ := space.Parse("a=0/b=0")
	p, _ := space.Parse("a=1/b=1")
	for _, after := range []int{0, 1, 3, 4, 100} {
		rt := &driftRetimer{base: map[string]float64{ref.ID(): 1, p.ID(): 1.02}, after: after}
		r, scatter, err := search.PairedRatio(context.Background(), rt, ref, p, 5)
		if err != nil {
			t.Fatal(err)
		}
		if r < 1.019 || r > 1.021 || scatter > 1e-9 {
			t.Errorf("drift after %d re-timings: ratio %.4f scattered by %.2g, want 1.02 and none", after, r, scatter)
		}
	}
}

// fixedRetimer re-times each point at a fixed time per ID.
type fixedRetimer map[string]float64

func (f fixedRetimer) Retime(_ context.Context, p search.Point) (*search.Measurement, error) {
	s := f[p.ID()]
	return &search.Measurement{Samples: []float64{s, s, s, s, s}}, nil
}

func TestFinalsKeepsEveryFinalist(t *testing.T) {
	times := fixedRetimer{"a=0/b=1": 1.0, "a=1/b=1": 2.0, "a=2/b=2": 1.5}
	var results []search.Result
	for id, s := range times {
		results = append(results, search.Result{ID: id, Status: search.OK, Score: 1 / s,
			Measure: &search.Measurement{Samples: []float64{s, s, s, s, s}, Median: s, Work: 1}})
	}
	f, err := search.Finals(context.Background(), gridSpace(3), results, times, search.FinalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range f.Finalists {
		got = append(got, r.ID)
	}
	if want := []string{"a=0/b=1", "a=2/b=2", "a=1/b=1"}; !reflect.DeepEqual(got, want) || f.Winner.ID != want[0] {
		t.Errorf("finalists %v winner %s, want %v fastest first", got, f.Winner.ID, want)
	}
}

// The search measured the slower of two points in a fast phase of the
// device: its samples alone would crown it. The finals time both paired,
// in rounds of their own, and keep the point that is faster now.
func TestFinalsPairedOverSearchDrift(t *testing.T) {
	space := gridSpace(3)
	fast, slow := "a=2/b=2", "a=0/b=0" // slow is the simpler point
	now := fixedRetimer{fast: 1.0, slow: 1.05}
	// Enough samples each that the search's intervals separate.
	samples := func(v float64) []float64 { return slices.Repeat([]float64{v}, 20) }
	results := []search.Result{
		{ID: fast, Status: search.OK, Score: 1 / 2.0, Measure: &search.Measurement{Samples: samples(2), Median: 2, Lo: 2, Hi: 2, Work: 1}},
		{ID: slow, Status: search.OK, Score: 1 / 0.5, Measure: &search.Measurement{Samples: samples(0.5), Median: 0.5, Lo: 0.5, Hi: 0.5, Work: 1}},
	}
	f, err := search.Finals(context.Background(), space, results, now, search.FinalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Winner.ID != fast || f.Tie || f.Rounds < 2 {
		t.Errorf("winner %s (tie %t) after %d rounds, want %s after 2 or more", f.Winner.ID, f.Tie, f.Rounds, fast)
	}
	if f.RunnerUp == nil || math.Abs(f.Margin-0.05) > 1e-9 || !f.Separated {
		t.Errorf("runner-up %v margin %.4f separated %t, want %s 5%% slower, separated", f.RunnerUp, f.Margin, f.Separated, slow)
	}
	if m := f.Winner.Measure; m.Median != 1.0 {
		t.Errorf("winner's median %g, want the finals' 1.0 alone", m.Median)
	}
}

// seqRetimer re-times each point at the next of its times, the last
// repeating.
type seqRetimer struct {
	times map[string][]float64
	calls map[string]int
}

func (s *seqRetimer) Retime(_ context.Context, p search.Point) (*search.Measurement, error) {
	ts := s.times[p.ID()]
	t := ts[min(s.calls[p.ID()], len(ts)-1)]
	s.calls[p.ID()]++
	return &search.Measurement{Samples: []float64{t, t, t}}, nil
}

// The profile's winner stays unless a finalist beats it by more than the
// threshold in so many rounds, five at least, that a sign test rejects a
// tie at 5%, wherever the search's own noisy samples ranked it.
func TestFinalsIncumbent(t *testing.T) {
	space := gridSpace(3)
	const incumbent = "a=2/b=2" // searched last of six: no finalist by score
	others := []string{"a=0/b=0", "a=0/b=1", "a=1/b=0", "a=1/b=1", "a=0/b=2"}
	for _, tc := range []struct {
		name      string
		times     []float64 // the incumbent's, per round; every other point takes 1.0, but a=0/b=0 0.99
		winner    string
		kept, out bool
	}{
		{"tied", []float64{0.995}, incumbent, true, false},
		{"slower in seven of nine rounds", []float64{1.03, 0.98, 1.03, 1.03, 1.03, 1.03, 0.98, 1.03, 1.03}, incumbent, true, false},
		{"slower in seven of eight rounds", []float64{1.03, 1.03, 0.98, 1.03}, "a=0/b=0", false, true},
		{"slower in six of nine rounds", []float64{1.03, 1.03, 0.98, 1.03, 1.03, 0.98, 1.03, 0.98, 1.03}, incumbent, true, false},
		{"slower in every round", []float64{1.03}, "a=0/b=0", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &seqRetimer{times: map[string][]float64{incumbent: tc.times}, calls: map[string]int{}}
			var results []search.Result
			for k, id := range append(others, incumbent) {
				if id != incumbent {
					rt.times[id] = []float64{1.0}
				}
				s := 1 + 0.01*float64(k) // the search's ranking: others first
				results = append(results, search.Result{ID: id, Status: search.OK, Score: 1 / s,
					Measure: &search.Measurement{Samples: []float64{s}, Median: s, Work: 1}})
			}
			rt.times["a=0/b=0"] = []float64{0.99}
			f, err := search.Finals(context.Background(), space, results, rt, search.FinalOptions{Incumbent: incumbent})
			if err != nil {
				t.Fatal(err)
			}
			if f.Winner.ID != tc.winner || f.Kept != tc.kept {
				t.Errorf("winner %s kept %t, want %s kept %t", f.Winner.ID, f.Kept, tc.winner, tc.kept)
			}
			if tc.out && f.Rounds < 5 {
				t.Errorf("the incumbent out after %d rounds, want at least 5", f.Rounds)
			}
			if len(f.Finalists) != 5 || rt.calls[incumbent] == 0 {
				t.Errorf("%d finalists, the incumbent re-timed %d times: want 4 by score and the incumbent", len(f.Finalists), rt.calls[incumbent])
			}
		})
	}
	// Without an incumbent the same finals crown the fastest.
	rt := &seqRetimer{times: map[string][]float64{}, calls: map[string]int{}}
	var results []search.Result
	for k, id := range append(others, incumbent) {
		rt.times[id] = []float64{1.0 + 0.001*float64(k)}
		results = append(results, search.Result{ID: id, Status: search.OK, Score: 1, Measure: &search.Measurement{Samples: []float64{1}, Median: 1, Work: 1}})
	}
	if f, err := search.Finals(context.Background(), space, results, rt, search.FinalOptions{}); err != nil || f.Kept || len(f.Finalists) != 4 {
		t.Errorf("no incumbent: kept %t, %d finalists, err %v; want none kept, 4", f.Kept, len(f.Finalists), err)
	}
}

// A simpler kernel ties with a faster one, and wins, only when it stayed
// within the threshold in every one of four rounds; one whose median is
// inside it but whose rounds stray past it loses to the faster, where a
// median of two rounds would have called it a tie on one run and not on
// the next.
func TestFinalsTie(t *testing.T) {
	space := gridSpace(3)
	const fast, simple = "a=2/b=2", "a=0/b=0"
	for _, tc := range []struct {
		name   string
		times  []float64 // simple's per round; fast takes 1.0
		winner string
		tie    bool
		rounds int
	}{
		{"within in every round", []float64{1.005, 1.008, 1.002, 1.006}, simple, true, 4},
		{"a median within, a round past", []float64{1.005, 1.012, 1.005, 1.012}, fast, false, 4},
		{"past in every round", []float64{1.03}, fast, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &seqRetimer{times: map[string][]float64{fast: {1.0}, simple: tc.times}, calls: map[string]int{}}
			results := []search.Result{
				{ID: fast, Status: search.OK, Score: 1, Measure: &search.Measurement{Samples: []float64{1}, Median: 1, Work: 1}},
				{ID: simple, Status: search.OK, Score: 1 / 1.01, Measure: &search.Measurement{Samples: []float64{1.01}, Median: 1.01, Work: 1}},
			}
			f, err := search.Finals(context.Background(), space, results, rt, search.FinalOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if f.Winner.ID != tc.winner || f.Tie != tc.tie || f.Rounds != tc.rounds {
				t.Errorf("winner %s (tie %t) after %d rounds, want %s (tie %t) after %d", f.Winner.ID, f.Tie, f.Rounds, tc.winner, tc.tie, tc.rounds)
			}
		})
	}
}
