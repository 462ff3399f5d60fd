package search_test

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/search"
)

func smallSpace() *search.Space {
	return &search.Space{Axes: []search.Axis{
		search.Ints("a", 1, 2, 4),
		{Name: "b", Values: []string{"x", "y"}},
		search.Bools("c"),
	}}
}

func TestSpaceSize(t *testing.T) {
	tests := []struct {
		name string
		axes []search.Axis
		want int
	}{
		{"no axes", nil, 1},
		{"one axis", []search.Axis{search.Ints("a", 1, 2, 3)}, 3},
		{"three axes", smallSpace().Axes, 12},
		{"empty axis", []search.Axis{search.Ints("a", 1, 2), search.Ints("b")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &search.Space{Axes: tt.axes}
			if got := s.Size(); got != tt.want {
				t.Errorf("Size() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSpaceAtIndexRoundTrip(t *testing.T) {
	s := smallSpace()
	seen := map[string]bool{}
	for i := range s.Size() {
		p := s.At(i)
		if got := p.Index(); got != i {
			t.Errorf("At(%d).Index() = %d", i, got)
		}
		if seen[p.ID()] {
			t.Errorf("At(%d).ID() = %q repeats an earlier point", i, p.ID())
		}
		seen[p.ID()] = true
		q, err := s.Parse(p.ID())
		if err != nil {
			t.Fatalf("Parse(%q): %v", p.ID(), err)
		}
		if q.Index() != i || q.ID() != p.ID() {
			t.Errorf("Parse(%q) = index %d id %q, want %d %q", p.ID(), q.Index(), q.ID(), i, p.ID())
		}
	}
}

func TestSpaceNoAxes(t *testing.T) {
	// The empty product has one point, whose ID is empty.
	s := &search.Space{}
	p := s.At(0)
	if p.ID() != "" || p.Index() != 0 || len(p.Params()) != 0 {
		t.Errorf("At(0) = id %q index %d params %v; want \"\", 0, none", p.ID(), p.Index(), p.Params())
	}
	if q, err := s.Parse(""); err != nil {
		t.Errorf("Parse(\"\"): %v", err)
	} else if q.Index() != 0 {
		t.Errorf("Parse(\"\").Index() = %d, want 0", q.Index())
	}
	if _, err := s.Parse("a=1"); err == nil {
		t.Errorf("Parse(\"a=1\") on a space without axes succeeded")
	}
	if got := ids(s.Legal()); len(got) != 1 {
		t.Errorf("Legal() = %q, want one point", got)
	}
}

func TestSpaceAtOrder(t *testing.T) {
	// The first axis varies slowest.
	s := smallSpace()
	tests := []struct {
		i    int
		want string
	}{
		{0, "a=1/b=x/c=false"},
		{1, "a=1/b=x/c=true"},
		{2, "a=1/b=y/c=false"},
		{4, "a=2/b=x/c=false"},
		{11, "a=4/b=y/c=true"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := s.At(tt.i).ID(); got != tt.want {
				t.Errorf("At(%d).ID() = %q, want %q", tt.i, got, tt.want)
			}
		})
	}
}

func TestPointAccessors(t *testing.T) {
	s := smallSpace()
	p := s.At(7) // a=2/b=y/c=true
	if got := p.ID(); got != "a=2/b=y/c=true" {
		t.Fatalf("At(7).ID() = %q", got)
	}
	if got := p.Int("a"); got != 2 {
		t.Errorf("Int(a) = %d, want 2", got)
	}
	if got := p.Get("b"); got != "y" {
		t.Errorf("Get(b) = %q, want y", got)
	}
	if got := p.Bool("c"); !got {
		t.Errorf("Bool(c) = false, want true")
	}
	want := map[string]string{"a": "2", "b": "y", "c": "true"}
	got := p.Params()
	if len(got) != len(want) {
		t.Errorf("Params() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Params()[%s] = %q, want %q", k, got[k], v)
		}
	}
}

func TestPointAccessorPanics(t *testing.T) {
	p := smallSpace().At(0)
	tests := []struct {
		name string
		f    func()
	}{
		{"Get unknown axis", func() { p.Get("nope") }},
		{"Int of non-integer", func() { p.Int("b") }},
		{"Bool of non-boolean", func() { p.Bool("b") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustPanic(t, tt.f)
		})
	}
}

func mustPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("did not panic")
		}
	}()
	f()
}

func TestSpaceAtPanicsOutOfRange(t *testing.T) {
	s := smallSpace()
	for _, i := range []int{-1, s.Size(), s.Size() + 5} {
		t.Run("", func(t *testing.T) {
			mustPanic(t, func() { s.At(i) })
		})
	}
}

func TestSpaceParseErrors(t *testing.T) {
	s := smallSpace()
	tests := []struct {
		name, id, want string
	}{
		{"too few fields", "a=1/b=x", "2 fields for 3 axes"},
		{"too many fields", "a=1/b=x/c=true/d=1", "4 fields for 3 axes"},
		{"empty", "", "1 fields for 3 axes"},
		{"wrong axis name", "a=1/z=x/c=true", `field 1 is "z=x", want b=value`},
		{"axes out of order", "b=x/a=1/c=true", `field 0 is "b=x", want a=value`},
		{"no equals sign", "a=1/bx/c=true", `field 1 is "bx"`},
		{"unknown value", "a=3/b=x/c=true", "a=3 is not a value of the axis"},
		{"value of another axis", "a=1/b=true/c=true", "b=true is not a value of the axis"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Parse(tt.id)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error", tt.id)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.id, err, tt.want)
			}
		})
	}
}

func TestSpaceIDStableWhenAxisGrows(t *testing.T) {
	old := &search.Space{Axes: []search.Axis{search.Ints("wg", 8, 16), search.Ints("tile", 1, 2)}}
	grown := &search.Space{Axes: []search.Axis{search.Ints("wg", 8, 16, 32), search.Ints("tile", 1, 2, 4)}}
	byID := map[string]int{}
	for i := range grown.Size() {
		byID[grown.At(i).ID()] = i
	}
	indexChanged := false
	for i := range old.Size() {
		p := old.At(i)
		j, ok := byID[p.ID()]
		if !ok {
			t.Errorf("%s is not a point of the grown space", p.ID())
			continue
		}
		q := grown.At(j)
		if !maps.Equal(p.Params(), q.Params()) {
			t.Errorf("same ID %s, different params %v and %v", p.ID(), p.Params(), q.Params())
		}
		if p.Index() != q.Index() {
			indexChanged = true
		}
		if r, err := grown.Parse(p.ID()); err != nil || r.Index() != j {
			t.Errorf("grown.Parse(%q) = %d, %v; want %d", p.ID(), r.Index(), err, j)
		}
	}
	if !indexChanged {
		t.Errorf("no index changed; the test does not exercise growth")
	}
}

func TestSpaceLegalMatchesBruteForce(t *testing.T) {
	even := search.Constraint{Name: "a*b even", OK: func(p search.Point) bool { return p.Int("a")*p.Int("b")%2 == 0 }}
	small := search.Constraint{Name: "a+b <= 6", OK: func(p search.Point) bool { return p.Int("a")+p.Int("b") <= 6 }}
	never := search.Constraint{Name: "never", OK: func(search.Point) bool { return false }}
	tests := []struct {
		name string
		cs   []search.Constraint
	}{
		{"none", nil},
		{"one", []search.Constraint{even}},
		{"two", []search.Constraint{even, small}},
		{"all rejected", []search.Constraint{never}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := gridSpace(5)
			s.Constraints = tt.cs
			var want []string
			for a := range 5 {
				for b := range 5 {
					ok := true
					for _, c := range tt.cs {
						p, err := s.Parse(pointID(a, b))
						if err != nil {
							t.Fatal(err)
						}
						ok = ok && c.OK(p)
					}
					if ok {
						want = append(want, pointID(a, b))
					}
				}
			}
			legal := s.Legal()
			if got := ids(legal); !slices.Equal(got, want) {
				t.Errorf("Legal() = %v\nwant %v", got, want)
			}
			for _, p := range legal {
				if err := s.Check(p); err != nil {
					t.Errorf("Check(%s) = %v for a legal point", p.ID(), err)
				}
			}
			if !slices.IsSortedFunc(legal, func(p, q search.Point) int { return p.Index() - q.Index() }) {
				t.Errorf("Legal() is not in index order")
			}
		})
	}
}

func pointID(a, b int) string {
	return "a=" + strconv.Itoa(a) + "/b=" + strconv.Itoa(b)
}

func TestSpaceCheckNamesConstraint(t *testing.T) {
	s := gridSpace(4)
	s.Constraints = []search.Constraint{
		{Name: "a <= 2", OK: func(p search.Point) bool { return p.Int("a") <= 2 }},
		{Name: "b <= 1", OK: func(p search.Point) bool { return p.Int("b") <= 1 }},
	}
	tests := []struct {
		id   string
		want string // "" for legal
	}{
		{"a=0/b=0", ""},
		{"a=2/b=1", ""},
		{"a=3/b=0", "a <= 2"},
		{"a=3/b=3", "a <= 2"}, // the first constraint broken is named
		{"a=1/b=2", "b <= 1"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			p, err := s.Parse(tt.id)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Check(p)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check = nil, want error naming %q", tt.want)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || !strings.Contains(msg, tt.id) {
				t.Errorf("Check = %q, want it to name %q and %q", msg, tt.id, tt.want)
			}
		})
	}
}

// An axis with Omit stays out of IDs at that value and is taken to have it
// where an ID lacks it, so that IDs from before the axis existed parse.
func TestSpaceOmittedAxis(t *testing.T) {
	s := &search.Space{Axes: []search.Axis{search.Ints("a", 1, 2), {Name: "new", Values: []string{"false", "true"}, Omit: "false"}, search.Ints("b", 3, 4)}}
	for _, c := range []struct{ id, canonical string }{
		{"a=1/b=4", "a=1/b=4"},
		{"a=2/new=false/b=3", "a=2/b=3"},
		{"a=2/new=true/b=3", "a=2/new=true/b=3"},
	} {
		p, err := s.Parse(c.id)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.id, err)
		}
		if p.ID() != c.canonical {
			t.Errorf("Parse(%q).ID() = %q, want %q", c.id, p.ID(), c.canonical)
		}
	}
	for _, id := range []string{"a=1", "a=1/new=true", "a=1/b=3/new=true", "a=1/new=maybe/b=3"} {
		if _, err := s.Parse(id); err == nil {
			t.Errorf("Parse(%q) succeeded", id)
		}
	}
}

// Any string Parse accepts names a point whose ID parses back to it.
func FuzzSpaceParse(f *testing.F) {
	s := &search.Space{Axes: []search.Axis{
		search.Ints("wg", 32, 64),
		{Name: "layout", Values: []string{"apart", "beside"}, Omit: "apart"},
		search.Bools("fold"),
	}}
	for _, id := range []string{"wg=32/fold=true", "wg=64/layout=beside/fold=false", "wg=32/layout=apart/fold=true", "", "/", "wg=", "wg=32/fold=true/x=1", "layout=beside"} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		p, err := s.Parse(id)
		if err != nil {
			return
		}
		q, err := s.Parse(p.ID())
		if err != nil {
			t.Fatalf("Parse(%q) gave %q, which does not parse: %v", id, p.ID(), err)
		}
		if q.Index() != p.Index() {
			t.Fatalf("Parse(%q) = %q, parsed back as %q", id, p.ID(), q.ID())
		}
	})
}
