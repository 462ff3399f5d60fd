package profiles

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// SchemaVersion is the only schema this package reads and writes.
// Bump it when a change would make old files mean something else.
const SchemaVersion = 1

var (
	// ErrSchema means the file's schema key is missing or not SchemaVersion.
	ErrSchema = errors.New("wrong or missing schema version")
	// ErrNotFound means a profile has no entry for the op and dtype.
	ErrNotFound = errors.New("no matching entry")
)

// Adapter identifies the GPU a profile was tuned on.
type Adapter struct {
	Name    string `yaml:"name"`
	Vendor  uint32 `yaml:"vendor"` // PCI vendor id
	Device  uint32 `yaml:"device"` // PCI device id
	Driver  string `yaml:"driver"`
	Backend string `yaml:"backend"` // "vulkan", "opengl", ...
	Type    string `yaml:"type"`    // "discrete", "integrated", "cpu", ...
}

// Slug returns the file stem for this adapter: the lower-cased name with each
// run of characters outside [a-z0-9] replaced by one '-', trimmed of '-'.
// A name with no such characters gives "unknown-adapter".
func (a Adapter) Slug() string {
	var b strings.Builder
	dash := false
	for _, c := range []byte(strings.ToLower(a.Name)) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteByte(c)
			dash = false
		} else {
			dash = true
		}
	}
	if b.Len() == 0 {
		return "unknown-adapter"
	}
	return b.String()
}

// Stats summarises one kernel's timing.
type Stats struct {
	Median  float64 `yaml:"median_s"` // seconds per run
	Lo      float64 `yaml:"ci_lo_s"`  // 95% confidence interval of the median
	Hi      float64 `yaml:"ci_hi_s"`
	Samples int     `yaml:"samples"`
	Rate    float64 `yaml:"rate"`  // work per second at the median (FLOP/s for matmul, B/s for bandwidth-bound ops)
	Unit    string  `yaml:"unit"`  // "FLOP/s" or "B/s"
	Clock   string  `yaml:"clock"` // "timestamp" or "wall"
}

// Entry is the tuned winner for one op, dtype and shape.
type Entry struct {
	Op       string            `yaml:"op"`         // e.g. "matmul"
	Dtype    string            `yaml:"dtype"`      // e.g. "f32"
	Shape    []int             `yaml:"shape,flow"` // op-defined dims, for matmul [M, N, K]
	Kernel   string            `yaml:"kernel"`     // template name, e.g. "matmul"
	ID       string            `yaml:"id"`         // stable candidate id
	Params   map[string]string `yaml:"params"`     // axis name -> value
	Stats    Stats             `yaml:"stats"`
	Baseline *Baseline         `yaml:"baseline,omitempty"` // the naive kernel on the same shape, same run
	RunnerUp *RunnerUp         `yaml:"runner_up,omitempty"`
}

// Baseline is the naive kernel timed on the winner's shape in the same run,
// so speed-ups are measured under the same conditions.
type Baseline struct {
	Kernel string `yaml:"kernel"`
	Stats  Stats  `yaml:"stats"`
}

// RunnerUp is the second-best candidate, kept to show how close the race was.
type RunnerUp struct {
	ID        string  `yaml:"id"`
	Stats     Stats   `yaml:"stats"`
	Margin    float64 `yaml:"margin"`    // winner rate / runner-up rate - 1
	Separated bool    `yaml:"separated"` // the two confidence intervals do not overlap
}

// Profile is the content of one profile file.
type Profile struct {
	Schema  int       `yaml:"schema"`
	Adapter Adapter   `yaml:"adapter"`
	Created time.Time `yaml:"created"`
	Tool    string    `yaml:"tool,omitempty"` // free text, e.g. the command line that produced it
	Entries []Entry   `yaml:"entries"`
}

// New returns an empty profile for adapter a with the current schema,
// created now (UTC, to the second, so the file diffs cleanly).
func New(a Adapter) *Profile {
	return &Profile{Schema: SchemaVersion, Adapter: a, Created: time.Now().UTC().Truncate(time.Second)}
}

// Put inserts e, or replaces the entry with the same op, dtype and shape.
// It copies e's shape and params, so the caller may reuse them.
func (p *Profile) Put(e Entry) {
	e.Shape = slices.Clone(e.Shape)
	e.Params = maps.Clone(e.Params)
	for i, old := range p.Entries {
		if old.Op == e.Op && old.Dtype == e.Dtype && slices.Equal(old.Shape, e.Shape) {
			p.Entries[i] = e
			return
		}
	}
	p.Entries = append(p.Entries, e)
}

// Lookup returns the entry for op and dtype whose shape equals shape, with
// exact=true. Failing that it returns the nearest entry with the same number
// of dims, by the sum of |log(a_i/b_i)| (so 2x too big counts as much as 2x
// too small), with exact=false; ties go to the entry that sorts first.
// Dims must be positive to be matched other than exactly.
// A nil profile has no entries, so callers can look up in Find's result
// without a nil check and fall back to defaults on ErrNotFound.
func (p *Profile) Lookup(op, dtype string, shape []int) (e Entry, exact bool, err error) {
	var best *Entry
	bestDist := math.Inf(1)
	if p != nil {
		for i := range p.Entries {
			c := &p.Entries[i]
			if c.Op != op || c.Dtype != dtype || len(c.Shape) != len(shape) {
				continue
			}
			if slices.Equal(c.Shape, shape) {
				return *c, true, nil
			}
			d := distance(c.Shape, shape)
			if math.IsNaN(d) || math.IsInf(d, 0) {
				continue
			}
			if best == nil || d < bestDist || d == bestDist && compareEntries(*c, *best) < 0 {
				best, bestDist = c, d
			}
		}
	}
	if best == nil {
		return Entry{}, false, fmt.Errorf("profiles: lookup op %q dtype %q with %d dims: %w", op, dtype, len(shape), ErrNotFound)
	}
	return *best, false, nil
}

func distance(a, b []int) float64 {
	var d float64
	for i := range a {
		d += math.Abs(math.Log(float64(a[i])) - math.Log(float64(b[i])))
	}
	return d
}

// compareEntries orders entries by op, dtype, then shape lexicographically.
func compareEntries(a, b Entry) int {
	if c := strings.Compare(a.Op, b.Op); c != 0 {
		return c
	}
	if c := strings.Compare(a.Dtype, b.Dtype); c != 0 {
		return c
	}
	return slices.Compare(a.Shape, b.Shape)
}
