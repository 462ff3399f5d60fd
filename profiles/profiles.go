package profiles

import (
	"cmp"
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
	Op       string            `yaml:"op"`                 // e.g. "matmul"
	Dtype    string            `yaml:"dtype"`              // e.g. "f32"
	Shape    []int             `yaml:"shape,flow"`         // op-defined dims, for matmul [M, N, K]
	Kernel   string            `yaml:"kernel"`             // template name, e.g. "matmul"
	ID       string            `yaml:"id"`                 // stable candidate id
	Params   map[string]string `yaml:"params"`             // axis name -> value
	Stats    Stats             `yaml:"stats,omitempty"`    // absent only in a portable profile
	Baseline *Baseline         `yaml:"baseline,omitempty"` // the naive kernel on the same shape, same run
	RunnerUp *RunnerUp         `yaml:"runner_up,omitempty"`
	// Portable, in a portable profile only, is how the kernel does on each
	// adapter it was chosen across.
	Portable []Share `yaml:"portable,omitempty"`
}

// Share is a portable entry's kernel on one adapter, as a fraction of the
// best that adapter's own tune found for the shape.
type Share struct {
	Adapter  string  `yaml:"adapter"` // the adapter's name
	Fraction float64 `yaml:"fraction"`
	Rate     float64 `yaml:"rate"` // the kernel's rate there
	Unit     string  `yaml:"unit"`
}

// Bucket is a range of shapes of one op and dtype that one kernel serves
// within noise of each swept shape's own winner (tune buckets). Lookup
// uses it for any shape inside the range that has no entry of its own.
type Bucket struct {
	Op     string            `yaml:"op"`
	Dtype  string            `yaml:"dtype"`
	Lo     []int             `yaml:"lo,flow"` // the range, per dim: lo[i] <= shape[i] <= hi[i]
	Hi     []int             `yaml:"hi,flow"`
	Kernel string            `yaml:"kernel"`
	ID     string            `yaml:"id"`
	Params map[string]string `yaml:"params"`
	// Members are the swept shapes the range was built from.
	Members []Member `yaml:"members"`
	// Holdout are shapes left out of the sweep, on which the kernel was
	// checked against a quick tune.
	Holdout []Holdout `yaml:"holdout,omitempty"`
}

// Member is a swept shape of a bucket.
type Member struct {
	Shape []int `yaml:"shape,flow"`
	// Fraction is the shape's own winner's rate the bucket's kernel reaches.
	Fraction float64 `yaml:"fraction"`
	Source   string  `yaml:"source"` // "winner", "journal" or "measured"
	Stats    Stats   `yaml:"stats"`  // the bucket's kernel on this shape
}

// Holdout is a shape left out of the sweep: the bucket's kernel timed on
// it against the best of a quick tune there.
type Holdout struct {
	Shape    []int   `yaml:"shape,flow"`
	Fraction float64 `yaml:"fraction"` // bucket kernel rate / best rate found on the shape
	Best     string  `yaml:"best"`     // the best point found there, the bucket's own if none beat it
	Evals    int     `yaml:"evals"`    // points the quick tune evaluated
	Stats    Stats   `yaml:"stats"`    // the bucket's kernel on this shape
}

// Contains reports whether shape lies in the bucket's range.
func (b *Bucket) Contains(shape []int) bool {
	if len(shape) != len(b.Lo) {
		return false
	}
	for i, d := range shape {
		if d < b.Lo[i] || d > b.Hi[i] {
			return false
		}
	}
	return true
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
	// Portable marks a default chosen across adapters (tune portable),
	// which Find falls back to when no profile matches; its adapter is
	// named "portable".
	Portable bool     `yaml:"portable,omitempty"`
	Entries  []Entry  `yaml:"entries"`
	Buckets  []Bucket `yaml:"buckets,omitempty"`
}

// PortableName is the adapter name of a portable profile, and so the stem
// of its file name.
const PortableName = "portable"

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

// SetBuckets replaces the buckets of op and dtype with bs, copying them.
func (p *Profile) SetBuckets(op, dtype string, bs []Bucket) {
	p.Buckets = slices.DeleteFunc(p.Buckets, func(b Bucket) bool { return b.Op == op && b.Dtype == dtype })
	for _, b := range bs {
		b.Op, b.Dtype = op, dtype
		b.Lo, b.Hi, b.Params = slices.Clone(b.Lo), slices.Clone(b.Hi), maps.Clone(b.Params)
		b.Members, b.Holdout = slices.Clone(b.Members), slices.Clone(b.Holdout)
		p.Buckets = append(p.Buckets, b)
	}
}

// Lookup returns the entry for op and dtype whose shape equals shape, with
// exact=true. Failing that, if shape lies in a bucket's range, it returns
// the bucket's kernel as an entry for the bucket member nearest to shape,
// with that member's stats (see [Profile.Bucket]). Failing that it returns
// the nearest entry with the same number of dims, by the sum of |log(a_i/b_i)| (so 2x too big counts as much as 2x
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
		}
		if b, m, ok := p.bucket(op, dtype, shape); ok {
			return Entry{Op: op, Dtype: dtype, Shape: slices.Clone(m.Shape), Kernel: b.Kernel, ID: b.ID, Params: maps.Clone(b.Params), Stats: m.Stats}, false, nil
		}
		for i := range p.Entries {
			c := &p.Entries[i]
			if c.Op != op || c.Dtype != dtype || len(c.Shape) != len(shape) {
				continue
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

// Bucket returns the bucket whose range holds shape, for op and dtype; where
// ranges overlap, the one with the member nearest to shape, then the first.
func (p *Profile) Bucket(op, dtype string, shape []int) (*Bucket, bool) {
	b, _, ok := p.bucket(op, dtype, shape)
	return b, ok
}

func (p *Profile) bucket(op, dtype string, shape []int) (*Bucket, *Member, bool) {
	if p == nil {
		return nil, nil, false
	}
	var best *Bucket
	var near *Member
	bestDist := math.Inf(1)
	for i := range p.Buckets {
		b := &p.Buckets[i]
		if b.Op != op || b.Dtype != dtype || !b.Contains(shape) {
			continue
		}
		for j := range b.Members {
			if d := distance(b.Members[j].Shape, shape); d < bestDist {
				best, near, bestDist = b, &b.Members[j], d
			}
		}
	}
	return best, near, best != nil
}

// Neighbours returns the entries of op and dtype at up to n shapes other
// than shape, nearest first by the distance Lookup uses (ties to the entry
// that sorts first): the winners a search of shape can start from.
func (p *Profile) Neighbours(op, dtype string, shape []int, n int) []Entry {
	if p == nil {
		return nil
	}
	var near []Entry
	for _, e := range p.Entries {
		if e.Op != op || e.Dtype != dtype || len(e.Shape) != len(shape) || slices.Equal(e.Shape, shape) {
			continue
		}
		if d := distance(e.Shape, shape); !math.IsNaN(d) && !math.IsInf(d, 0) {
			near = append(near, e)
		}
	}
	slices.SortStableFunc(near, func(a, b Entry) int {
		// Equal ratios (2x above, 2x below) tie, whatever the rounding of logs.
		if da, db := distance(a.Shape, shape), distance(b.Shape, shape); math.Abs(da-db) > 1e-9 {
			return cmp.Compare(da, db)
		}
		return compareEntries(a, b)
	})
	return near[:min(n, len(near))]
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
