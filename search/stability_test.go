package search_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/tune-gpu/tune/search"
)

func TestAgreement(t *testing.T) {
	retimed := map[string]*search.Measurement{
		"ref":   {Median: 1, Lo: 0.98, Hi: 1.02},
		"same":  {Median: 1.019},
		"close": {Median: 1.009},
		"slow":  {Median: 1.05},
	}
	got, err := search.Agreement([]string{"ref", "same", "slow", "ref", "close"}, "ref", retimed, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false, true, true}; !reflect.DeepEqual(got, want) {
		t.Errorf("Agreement = %v, want %v", got, want)
	}
	if _, err := search.Agreement([]string{"other"}, "ref", retimed, 0.01); err == nil {
		t.Error("a pick without a re-timed measurement: no error")
	}
	if _, err := search.Agreement([]string{"ref"}, "gone", retimed, 0.01); err == nil {
		t.Error("a reference without a re-timed measurement: no error")
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
