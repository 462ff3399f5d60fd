package search_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/search"
)

// table is a CrossTimer that answers from a map of "shape id" to seconds;
// a point it has no time for is rejected, one listed in cached comes back
// as a journal hit. It counts its calls.
type table struct {
	times  map[string]float64
	cached map[string]bool
	fail   error
	calls  []string
}

func (t *table) CrossTime(_ context.Context, dims []int, id string) (search.Result, error) {
	k := fmt.Sprint(dims) + " " + id
	t.calls = append(t.calls, k)
	if t.fail != nil {
		return search.Result{}, t.fail
	}
	s, ok := t.times[k]
	if !ok {
		return search.Result{Status: search.Rejected, Reason: "does not fit"}, nil
	}
	return search.Result{Status: search.OK, Measure: &search.Measurement{Median: s, Lo: s, Hi: s}, Cached: t.cached[k]}, nil
}

func winner(id string, median, hi float64, dims ...int) search.ShapeWinner {
	return search.ShapeWinner{Dims: dims, ID: id, Measure: &search.Measurement{Median: median, Lo: median, Hi: hi}}
}

// describe renders buckets as "A:[1]=winner,[2]=measured 0.990 | B:...".
func describe(bs []search.Bucket) string {
	var parts []string
	for _, b := range bs {
		var ms []string
		for _, m := range b.Members {
			s := fmt.Sprintf("%v=%s", m.Dims, m.Source)
			if m.Source != "winner" {
				s += fmt.Sprintf(" %.3f", m.Fraction)
			}
			ms = append(ms, s)
		}
		parts = append(parts, b.ID+":"+strings.Join(ms, ","))
	}
	return strings.Join(parts, " | ")
}

func TestBuckets(t *testing.T) {
	tests := []struct {
		name   string
		shapes []search.ShapeWinner
		times  map[string]float64
		cached map[string]bool
		want   string
		calls  int
	}{
		{
			name:   "one winner everywhere needs no timing",
			shapes: []search.ShapeWinner{winner("A", 1, 1.1, 64), winner("A", 2, 2.1, 128), winner("A", 4, 4.1, 256)},
			want:   "A:[64]=winner,[128]=winner,[256]=winner",
		},
		{
			name:   "within the 1% threshold merges",
			shapes: []search.ShapeWinner{winner("A", 1, 1.001, 64), winner("B", 2, 2.001, 128)},
			times:  map[string]float64{"[128] A": 2.015},
			want:   "A:[64]=winner,[128]=measured 0.993",
			calls:  1,
		},
		{
			name:   "within the winner's interval merges",
			shapes: []search.ShapeWinner{winner("A", 1, 1.001, 64), winner("B", 2, 2.2, 128)},
			times:  map[string]float64{"[128] A": 2.1},
			cached: map[string]bool{"[128] A": true},
			want:   "A:[64]=winner,[128]=journal 0.952",
			calls:  1,
		},
		{
			name:   "outside noise both ways splits",
			shapes: []search.ShapeWinner{winner("A", 1, 1.001, 64), winner("B", 2, 2.001, 128)},
			times:  map[string]float64{"[128] A": 2.5, "[64] B": 1.5},
			want:   "A:[64]=winner | B:[128]=winner",
			calls:  2,
		},
		{
			name:   "the next winner takes the bucket over when it serves every shape",
			shapes: []search.ShapeWinner{winner("A", 1, 1.001, 64), winner("A", 2, 2.001, 128), winner("B", 4, 4.001, 256)},
			times:  map[string]float64{"[256] A": 5, "[64] B": 1.005, "[128] B": 2.001},
			want:   "B:[64]=measured 0.995,[128]=measured 1.000,[256]=winner",
			calls:  3,
		},
		{
			name:   "a point that fails on a shape does not serve it",
			shapes: []search.ShapeWinner{winner("A", 1, 1.001, 64), winner("B", 2, 2.001, 128)},
			times:  map[string]float64{},
			want:   "A:[64]=winner | B:[128]=winner",
			calls:  2,
		},
		{
			name: "shapes are ordered by size whatever their order given",
			shapes: []search.ShapeWinner{
				winner("C", 4, 4.001, 2, 16), winner("B", 2, 2.001, 4, 4), winner("A", 1, 1.001, 1, 8),
			},
			times: map[string]float64{"[4 4] A": 2.001, "[2 16] A": 9, "[1 8] C": 9},
			want:  "A:[1 8]=winner,[4 4]=measured 1.000 | C:[2 16]=winner",
			calls: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := &table{times: tt.times, cached: tt.cached}
			bs, err := search.Buckets(context.Background(), tt.shapes, ct, 0.01)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(bs); got != tt.want {
				t.Errorf("buckets\n got %s\nwant %s", got, tt.want)
			}
			if len(ct.calls) != tt.calls {
				t.Errorf("cross-timed %d times (%v), want %d", len(ct.calls), ct.calls, tt.calls)
			}
		})
	}
}

func TestBucketsErrors(t *testing.T) {
	device := errors.New("device lost")
	tests := []struct {
		name   string
		shapes []search.ShapeWinner
		fail   error
		want   string
	}{
		{"no shapes", nil, nil, "no shapes"},
		{"untimed winner", []search.ShapeWinner{{Dims: []int{64}, ID: "A"}}, nil, "no timed winner"},
		{"shape twice", []search.ShapeWinner{winner("A", 1, 1, 64), winner("B", 1, 1, 64)}, nil, "given twice"},
		{"dims differ", []search.ShapeWinner{winner("A", 1, 1, 64), winner("B", 1, 1, 64, 2)}, nil, "different numbers of dims"},
		{"cross-timing fails", []search.ShapeWinner{winner("A", 1, 1, 64), winner("B", 2, 2, 128)}, device, "device lost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := search.Buckets(context.Background(), tt.shapes, &table{fail: tt.fail}, 0.01)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
			if tt.fail != nil && !errors.Is(err, tt.fail) {
				t.Errorf("error %v does not wrap %v", err, tt.fail)
			}
		})
	}
}

func TestBucketRange(t *testing.T) {
	b := search.Bucket{ID: "A", Members: []search.Member{{Dims: []int{512, 4096, 2048}}, {Dims: []int{512, 2048, 4096}}, {Dims: []int{256, 8192, 1024}}}}
	lo, hi := b.Range()
	if !slices.Equal(lo, []int{256, 2048, 1024}) || !slices.Equal(hi, []int{512, 8192, 4096}) {
		t.Errorf("Range = %v, %v", lo, hi)
	}
}

func TestWithinNoise(t *testing.T) {
	best := &search.Measurement{Median: 1, Lo: 0.99, Hi: 1.03}
	for _, c := range []struct {
		s    float64
		want bool
	}{{0.9, true}, {1.0, true}, {1.03, true}, {1.031, false}} {
		if got := search.WithinNoise(c.s, best, 0.01); got != c.want {
			t.Errorf("WithinNoise(%v) = %v, want %v", c.s, got, c.want)
		}
	}
	tight := &search.Measurement{Median: 1, Lo: 1, Hi: 1}
	if !search.WithinNoise(1.009, tight, 0.01) || search.WithinNoise(1.011, tight, 0.01) {
		t.Error("the threshold does not admit times up to 1% above a tight median")
	}
}

func ExampleBuckets() {
	// Tile "big" wins the two larger shapes; "small" wins 256, and timed
	// on 512 it comes within 1% of "big", so the first two shapes share it.
	shapes := []search.ShapeWinner{
		{Dims: []int{256}, ID: "small", Measure: &search.Measurement{Median: 1.0, Hi: 1.01}},
		{Dims: []int{512}, ID: "big", Measure: &search.Measurement{Median: 2.0, Hi: 2.01}},
		{Dims: []int{1024}, ID: "big", Measure: &search.Measurement{Median: 4.0, Hi: 4.01}},
	}
	ct := &table{times: map[string]float64{"[512] small": 2.01, "[1024] small": 5.0, "[256] big": 1.3}}
	bs, err := search.Buckets(context.Background(), shapes, ct, 0.01)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range bs {
		lo, hi := b.Range()
		fmt.Printf("%v..%v: %s\n", lo, hi, b.ID)
		for _, m := range b.Members {
			fmt.Printf("  %v %.3f of the winner (%s)\n", m.Dims, m.Fraction, m.Source)
		}
	}
	// Output:
	// [256]..[512]: small
	//   [256] 1.000 of the winner (winner)
	//   [512] 0.995 of the winner (measured)
	// [1024]..[1024]: big
	//   [1024] 1.000 of the winner (winner)
}
