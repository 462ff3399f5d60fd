package search_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/search"
)

func TestPortable(t *testing.T) {
	gpu := search.AdapterScores{Adapter: "gpu", Best: 100, Scores: map[string]float64{"fast-gpu": 100, "balanced": 90, "flat": 80, "close": 89.5, "cpu-only": 0}}
	cpu := search.AdapterScores{Adapter: "cpu", Best: 10, Scores: map[string]float64{"fast-gpu": 5, "balanced": 9, "flat": 8, "close": 9.5, "cpu-only": 10}}
	ranked, missing, err := search.Portable([]search.AdapterScores{gpu, cpu}, []string{"fast-gpu", "balanced", "flat", "close", "cpu-only", "unmeasured", "balanced"}, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range ranked {
		got = append(got, fmt.Sprintf("%s %.3f %.3f %v", r.ID, r.Mean, r.Worst, r.Fractions))
	}
	// balanced (worst 0.90) and close (worst 0.895, within 1% of 0.90) are
	// both in the top group, where the mean decides: close wins on 0.92.
	want := []string{
		"close 0.922 0.895 [0.895 0.95]",
		"balanced 0.900 0.900 [0.9 0.9]",
		"flat 0.800 0.800 [0.8 0.8]",
		"fast-gpu 0.750 0.500 [1 0.5]",
		"cpu-only 0.500 0.000 [0 1]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ranked\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantMissing := map[string][]string{"gpu": {"unmeasured"}, "cpu": {"unmeasured"}}
	if !reflect.DeepEqual(missing, wantMissing) {
		t.Errorf("missing = %v, want %v", missing, wantMissing)
	}
}

func TestPortableWorstCaseFirst(t *testing.T) {
	// A higher mean does not buy a worse worst case beyond the threshold.
	a := search.AdapterScores{Adapter: "a", Best: 1, Scores: map[string]float64{"even": 0.9, "skewed": 1}}
	b := search.AdapterScores{Adapter: "b", Best: 1, Scores: map[string]float64{"even": 0.9, "skewed": 0.85}}
	ranked, _, err := search.Portable([]search.AdapterScores{a, b}, []string{"skewed", "even"}, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if ranked[0].ID != "even" {
		t.Errorf("pick %s, want even (worst 0.90 beats 0.85 despite the lower mean)", ranked[0].ID)
	}
}

func TestPortableErrors(t *testing.T) {
	if _, _, err := search.Portable(nil, []string{"x"}, 0.01); err == nil {
		t.Error("no adapters: no error")
	}
	if _, _, err := search.Portable([]search.AdapterScores{{Adapter: "a"}}, []string{"x"}, 0.01); err == nil || !strings.Contains(err.Error(), "no best") {
		t.Errorf("no best score: error %v", err)
	}
}
