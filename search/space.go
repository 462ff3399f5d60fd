package search

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Axis is one tunable parameter and the values it may take.
type Axis struct {
	Name   string
	Values []string
	// Omit, if set, is a value IDs leave out: an axis added to a space
	// after its points were journaled and profiled takes it where it
	// behaves as the space did before, so that their IDs stay valid.
	Omit string
}

// Ints makes an axis of integer values.
func Ints(name string, values ...int) Axis {
	a := Axis{Name: name}
	for _, v := range values {
		a.Values = append(a.Values, strconv.Itoa(v))
	}
	return a
}

// Bools makes an axis of false and true.
func Bools(name string) Axis { return Axis{Name: name, Values: []string{"false", "true"}} }

// Constraint is a named predicate every legal point satisfies.
type Constraint struct {
	Name string // says why a point is illegal, e.g. "workgroup memory <= 32768 B"
	OK   func(Point) bool
}

// Space is the cartesian product of its axes, less the points a constraint
// rejects.
type Space struct {
	Axes        []Axis
	Constraints []Constraint
	// Core names the axes that decide how the work is divided (a
	// matmul's workgroup shape, register block and unrolling): good
	// kernels that divide it differently lie several axes apart, which a
	// climb does not cross, so model-based search, given a budget, also
	// searches the slice through its best point along these axes alone.
	Core []string
}

// Size is the number of points before constraints.
func (s *Space) Size() int {
	n := 1
	for _, a := range s.Axes {
		n *= len(a.Values)
	}
	return n
}

// At returns the point with mixed-radix index i, the first axis varying
// slowest. It panics if i is out of range.
func (s *Space) At(i int) Point {
	if i < 0 || i >= s.Size() {
		panic(fmt.Sprintf("search: index %d out of range [0, %d)", i, s.Size()))
	}
	idx := make([]int, len(s.Axes))
	for d := len(s.Axes) - 1; d >= 0; d-- {
		n := len(s.Axes[d].Values)
		idx[d] = i % n
		i /= n
	}
	return Point{space: s, idx: idx}
}

// Check returns nil for a legal point, else an error naming the first
// constraint it breaks.
func (s *Space) Check(p Point) error {
	for _, c := range s.Constraints {
		if !c.OK(p) {
			return fmt.Errorf("%s: violates %s", p.ID(), c.Name)
		}
	}
	return nil
}

// Legal lists every point that satisfies all constraints, in index order.
func (s *Space) Legal() []Point {
	var out []Point
	for i, n := 0, s.Size(); i < n; i++ {
		if p := s.At(i); s.Check(p) == nil {
			out = append(out, p)
		}
	}
	return out
}

// Parse turns an ID back into a point of this space.
func (s *Space) Parse(id string) (Point, error) {
	if len(s.Axes) == 0 && id == "" {
		return Point{space: s, idx: []int{}}, nil // the one point of an empty product
	}
	parts := strings.Split(id, "/")
	required := 0
	for _, a := range s.Axes {
		if a.Omit == "" {
			required++
		}
	}
	if len(parts) < required || len(parts) > len(s.Axes) {
		return Point{}, fmt.Errorf("parsing %q: %d fields for %d axes", id, len(parts), len(s.Axes))
	}
	idx := make([]int, len(s.Axes))
	f := 0 // the next field of id
	for d, a := range s.Axes {
		name, val, ok := "", "", false
		if f < len(parts) {
			name, val, ok = strings.Cut(parts[f], "=")
		}
		switch {
		case ok && name == a.Name:
			f++
		case a.Omit != "":
			val = a.Omit
		case f < len(parts):
			return Point{}, fmt.Errorf("parsing %q: field %d is %q, want %s=value", id, f, parts[f], a.Name)
		default:
			return Point{}, fmt.Errorf("parsing %q: %d fields for %d axes", id, len(parts), len(s.Axes))
		}
		idx[d] = slices.Index(a.Values, val)
		if idx[d] < 0 {
			return Point{}, fmt.Errorf("parsing %q: %s=%s is not a value of the axis", id, a.Name, val)
		}
	}
	if f < len(parts) {
		return Point{}, fmt.Errorf("parsing %q: %d fields for %d axes", id, len(parts), len(s.Axes))
	}
	return Point{space: s, idx: idx}, nil
}

// Point is one combination of axis values.
type Point struct {
	space *Space
	idx   []int
}

// ID is the stable identity of the point: name=value pairs in axis order,
// joined by '/'. It does not change when values are added to an axis.
func (p Point) ID() string {
	var b strings.Builder
	for d, a := range p.space.Axes {
		if a.Omit != "" && a.Values[p.idx[d]] == a.Omit {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(a.Name)
		b.WriteByte('=')
		b.WriteString(a.Values[p.idx[d]])
	}
	return b.String()
}

// Index is the point's mixed-radix index in its space.
func (p Point) Index() int {
	i := 0
	for d, a := range p.space.Axes {
		i = i*len(a.Values) + p.idx[d]
	}
	return i
}

// Params maps axis names to values.
func (p Point) Params() map[string]string {
	m := make(map[string]string, len(p.idx))
	for d, a := range p.space.Axes {
		m[a.Name] = a.Values[p.idx[d]]
	}
	return m
}

// Get returns the value of the named axis; it panics on an unknown name,
// which is a programming error.
func (p Point) Get(name string) string {
	for d, a := range p.space.Axes {
		if a.Name == name {
			return a.Values[p.idx[d]]
		}
	}
	panic("search: no axis " + name)
}

// Int returns the named axis as an integer; it panics if it is not one.
func (p Point) Int(name string) int {
	v, err := strconv.Atoi(p.Get(name))
	if err != nil {
		panic(fmt.Sprintf("search: axis %s: %v", name, err))
	}
	return v
}

// Bool returns the named axis as a boolean; it panics if it is not one.
func (p Point) Bool(name string) bool {
	v, err := strconv.ParseBool(p.Get(name))
	if err != nil {
		panic(fmt.Sprintf("search: axis %s: %v", name, err))
	}
	return v
}
