package reports

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"

	"github.com/tune-gpu/tune/profiles"
)

// Set is one side of a comparison: the measurements of a results file or a
// profile, by benchmark name.
type Set struct {
	Label   string
	Config  map[string]string // file configuration, e.g. adapter and driver
	Series  map[string]*Series
	Exact   bool // from a profile: summaries only, no samples to test
	Warning []string
}

// Series is one benchmark's measurements.
type Series struct {
	Name    string    // without the "Benchmark" prefix
	Seconds []float64 // sec/op, one per timed pass
	Rate    []float64 // the rate unit's values, one per timed pass
	Unit    string    // the rate unit, e.g. "FLOP/s"
	// For a profile: the summary in place of samples.
	Center, Lo, Hi float64
}

// ReadResults reads a results file in the Go benchmark format.
func ReadResults(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readResults(f, path)
}

func readResults(r io.Reader, label string) (*Set, error) {
	s := &Set{Label: label, Config: map[string]string{}, Series: map[string]*Series{}}
	br := benchfmt.NewReader(r, label)
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			return nil, fmt.Errorf("reading %s: %w", label, rec)
		case *benchfmt.Result:
			for _, c := range rec.Config {
				if c.File {
					s.Config[c.Key] = string(c.Value)
				}
			}
			name := string(rec.Name.Full())
			ser := s.Series[name]
			if ser == nil {
				ser = &Series{Name: name}
				s.Series[name] = ser
			}
			for _, v := range rec.Values {
				switch {
				case v.Unit == "sec/op":
					ser.Seconds = append(ser.Seconds, v.Value)
				case strings.HasSuffix(v.Unit, "/s"):
					ser.Rate = append(ser.Rate, v.Value)
					ser.Unit = v.Unit
				}
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", label, err)
	}
	if len(s.Series) == 0 {
		return nil, fmt.Errorf("reading %s: no benchmark results", label)
	}
	return s, nil
}

// FromProfile turns a profile into a set: per op, dtype and shape, the
// winner and the baseline as summaries. Winners are named without their
// params, so profiles with different winners compare shape by shape.
func FromProfile(p *profiles.Profile, label string) *Set {
	s := &Set{Label: label, Exact: true, Series: map[string]*Series{},
		Config: map[string]string{"adapter": p.Adapter.Name, "driver": p.Adapter.Driver, "backend": p.Adapter.Backend}}
	for _, e := range p.Entries {
		dims := make([]string, len(e.Shape))
		for i, d := range e.Shape {
			dims[i] = strconv.Itoa(d)
		}
		base := strings.ToUpper(e.Op[:1]) + e.Op[1:] + "/dtype=" + e.Dtype + "/shape=" + strings.Join(dims, "x")
		add := func(name string, st profiles.Stats) {
			s.Series[name] = &Series{Name: name, Unit: st.Unit, Center: st.Median, Lo: st.Lo, Hi: st.Hi}
		}
		add(base+"/kernel=tuned", e.Stats)
		if e.Baseline != nil {
			add(base+"/kernel=baseline", e.Baseline.Stats)
		}
	}
	return s
}

// ReadSet reads a results file, or a profile when the path ends in .yaml.
func ReadSet(path string) (*Set, error) {
	if strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml") {
		p, err := profiles.Load(path)
		if err != nil {
			return nil, err
		}
		return FromProfile(p, path), nil
	}
	return ReadResults(path)
}

// Side summarises one side of a row.
type Side struct {
	Center, Lo, Hi float64 // sec/op: median and its 95% confidence interval
	N              int
	Rate           float64 // median rate
}

// Row compares one benchmark.
type Row struct {
	Name     string
	Unit     string // rate unit
	Old, New *Side  // nil where the benchmark is missing on that side
	// Delta is new/old - 1 of sec/op: positive is slower. DeltaLo and
	// DeltaHi bound it from the two confidence intervals.
	Delta, DeltaLo, DeltaHi float64
	P                       float64 // Mann-Whitney U p-value; NaN without samples
	Significant             bool
	Regression              bool    // significant, and slower by more than the threshold even at DeltaLo
	RoofFraction            float64 // new rate over its roof; NaN when unknown
}

// Comparison is the report model: rows, a geomean summary and footnotes.
type Comparison struct {
	Old, New  *Set
	Threshold float64 // practical threshold for a regression, e.g. 0.10
	Alpha     float64
	Rows      []Row
	Geomean   float64 // geomean of new/old sec/op over rows on both sides, minus 1
	Roofs     RoofInfo
	Notes     []string
}

// RoofInfo are the roofs found in the new set.
type RoofInfo struct {
	Bandwidth float64 // B/s
	FMA       float64 // FLOP/s
}

// ErrRegression is returned by Gate when a row regressed.
var ErrRegression = errors.New("performance regression")

// Compare builds the comparison of old and new. Rows are significant when
// the U test rejects equality at alpha (or, without samples, when the
// confidence intervals do not overlap), and regressions when also slower by
// more than threshold at the near end of the bounds (DeltaLo).
func Compare(old, new *Set, threshold, alpha float64) *Comparison {
	c := &Comparison{Old: old, New: new, Threshold: threshold, Alpha: alpha, Geomean: math.NaN()}
	c.Roofs = roofsOf(new)
	names := map[string]bool{}
	for n := range old.Series {
		names[n] = true
	}
	for n := range new.Series {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	thresholds := benchmath.Thresholds{CompareAlpha: alpha}
	var logSum float64
	var logN int
	for _, n := range sorted {
		o, nw := old.Series[n], new.Series[n]
		row := Row{Name: n, P: math.NaN(), Delta: math.NaN(), DeltaLo: math.NaN(), DeltaHi: math.NaN(), RoofFraction: math.NaN()}
		var so, sn *benchmath.Sample
		if o != nil {
			row.Old, so = side(o, old.Exact, &thresholds)
			row.Unit = o.Unit
		}
		if nw != nil {
			row.New, sn = side(nw, new.Exact, &thresholds)
			row.Unit = nw.Unit
			row.RoofFraction = c.roofFraction(n, row.New.Rate)
		}
		if row.Old != nil && row.New != nil && row.Old.Center > 0 {
			row.Delta = row.New.Center/row.Old.Center - 1
			row.DeltaLo = row.New.Lo/row.Old.Hi - 1
			row.DeltaHi = row.New.Hi/row.Old.Lo - 1
			if so != nil && sn != nil {
				cmp := benchmath.AssumeNothing.Compare(so, sn)
				row.P = cmp.P
				row.Significant = cmp.P < alpha
			} else {
				row.Significant = row.New.Lo > row.Old.Hi || row.New.Hi < row.Old.Lo
			}
			// Beyond the threshold at the near end of the bounds, not
			// just at the medians: on a machine whose speed phases move
			// a kernel's median by tens of percent (the 2-core lavapipe
			// VM), a median past the threshold alone fails unchanged code.
			row.Regression = row.Significant && row.DeltaLo > threshold
			logSum += math.Log(row.New.Center / row.Old.Center)
			logN++
		}
		c.Rows = append(c.Rows, row)
	}
	if logN > 0 {
		c.Geomean = math.Exp(logSum/float64(logN)) - 1
	}
	if old.Config["adapter"] != new.Config["adapter"] {
		c.Notes = append(c.Notes, fmt.Sprintf("different adapters: %q and %q; absolute times compare only within one machine", old.Config["adapter"], new.Config["adapter"]))
	}
	if old.Exact || new.Exact {
		c.Notes = append(c.Notes, "a profile holds summaries, not samples: significance there means non-overlapping 95% confidence intervals")
	}
	return c
}

func side(s *Series, exact bool, t *benchmath.Thresholds) (*Side, *benchmath.Sample) {
	if exact || len(s.Seconds) == 0 {
		rate := math.NaN()
		if len(s.Rate) > 0 {
			rate = median(s.Rate)
		}
		return &Side{Center: s.Center, Lo: s.Lo, Hi: s.Hi, N: 1, Rate: rate}, nil
	}
	sample := benchmath.NewSample(append([]float64(nil), s.Seconds...), t)
	sum := benchmath.AssumeNothing.Summary(sample, 0.95)
	rate := math.NaN()
	if len(s.Rate) > 0 {
		rate = median(s.Rate)
	}
	return &Side{Center: sum.Center, Lo: sum.Lo, Hi: sum.Hi, N: len(s.Seconds), Rate: rate}, sample
}

func median(v []float64) float64 {
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

func roofsOf(s *Set) RoofInfo {
	var r RoofInfo
	for n, ser := range s.Series {
		if len(ser.Rate) == 0 {
			continue
		}
		switch {
		case strings.Contains(n, "/kind=copy/"):
			r.Bandwidth = median(ser.Rate)
		case strings.Contains(n, "/kind=fma/"):
			r.FMA = median(ser.Rate)
		}
	}
	return r
}

var matmulDims = regexp.MustCompile(`^Matmul/dtype=f32/M=(\d+)/N=(\d+)/K=(\d+)/`)

// Intensity is the arithmetic intensity of a matmul benchmark in FLOP per
// byte of compulsory traffic (each operand read once, C written once), or
// NaN for other benchmarks.
func Intensity(name string) float64 {
	m := matmulDims.FindStringSubmatch(name)
	if m == nil {
		return math.NaN()
	}
	M, _ := strconv.ParseFloat(m[1], 64)
	N, _ := strconv.ParseFloat(m[2], 64)
	K, _ := strconv.ParseFloat(m[3], 64)
	return 2 * M * N * K / (4 * (M*K + K*N + M*N))
}

// roofFraction is a benchmark's rate over the roof that bounds it
// (boundBy): the copy's bandwidth, times its intensity for a matmul, or
// the fma rate.
func (c *Comparison) roofFraction(name string, rate float64) float64 {
	unit := ""
	if s := c.New.Series[name]; s != nil {
		unit = s.Unit
	}
	switch boundBy(name, unit, c.Roofs) {
	case "copy":
		if ai := Intensity(name); !math.IsNaN(ai) {
			return rate / (ai * c.Roofs.Bandwidth) // a bandwidth-bound matmul
		}
		return rate / c.Roofs.Bandwidth
	case "fma":
		return rate / c.Roofs.FMA
	}
	return math.NaN()
}

// boundBy names the roof, of r, that bounds a benchmark: "copy" for the
// copy itself and bandwidth-bound kernels (rates in B/s), "fma" for the
// fma itself, and for a matmul whichever is lower of the fma rate and its
// intensity times the bandwidth; "" where r lacks that roof or the
// benchmark has none.
func boundBy(name, unit string, r RoofInfo) string {
	switch ai := Intensity(name); {
	case strings.Contains(name, "/kind=copy/") || unit == "B/s":
		if r.Bandwidth > 0 {
			return "copy"
		}
	case strings.Contains(name, "/kind=fma/"):
		if r.FMA > 0 {
			return "fma"
		}
	case !math.IsNaN(ai) && r.FMA > 0 && r.Bandwidth > 0:
		if r.FMA <= ai*r.Bandwidth {
			return "fma"
		}
		return "copy"
	}
	return ""
}

// Regressions lists the rows that regressed.
func (c *Comparison) Regressions() []Row {
	var out []Row
	for _, r := range c.Rows {
		if r.Regression {
			out = append(out, r)
		}
	}
	return out
}

// Relative returns new with its times rescaled to old's machine speed,
// for comparing runs on a machine whose speed changes between them (a
// shared VM's phases): each benchmark bound by a roof that both sets
// measured (bandwidth-bound kernels by the copy, matmuls by the lower of
// the fma and their intensity times the copy) has its times multiplied by
// new's roof rate over old's, so that a machine uniformly half as fast
// leaves them unchanged. The roofs are the yardstick, not compared: they
// are left out of old. Rates stay as measured. Notes say what was scaled
// by how much.
func Relative(old, new *Set) (rescaled, yardstick *Set, notes []string) {
	or, nr := roofsOf(old), roofsOf(new)
	yardstick = &Set{Label: old.Label, Config: old.Config, Series: map[string]*Series{}, Exact: old.Exact, Warning: old.Warning}
	for n, s := range old.Series {
		if !strings.HasPrefix(n, "Roof/") {
			yardstick.Series[n] = s
		}
	}
	rescaled = &Set{Label: new.Label, Config: new.Config, Series: map[string]*Series{}, Exact: new.Exact, Warning: new.Warning}
	var bw, fma int
	for n, s := range new.Series {
		rescaled.Series[n] = s
		if strings.HasPrefix(n, "Roof/") {
			continue
		}
		var ratio float64
		roof := boundBy(n, s.Unit, nr)
		switch roof {
		case "copy":
			ratio = nr.Bandwidth / or.Bandwidth
		case "fma":
			ratio = nr.FMA / or.FMA
		}
		if math.IsInf(ratio, 0) || ratio <= 0 {
			continue // no roof on one side: compared as measured
		}
		if roof == "copy" {
			bw++
		} else {
			fma++
		}
		c := *s
		c.Seconds = scaled(s.Seconds, ratio) // rates stay as measured, for their fraction of new's roof
		c.Center, c.Lo, c.Hi = c.Center*ratio, c.Lo*ratio, c.Hi*ratio
		rescaled.Series[n] = &c
	}
	if bw > 0 {
		notes = append(notes, fmt.Sprintf("relative: %d bandwidth-bound benchmarks' new times scaled by the copy roofs' ratio, %s against %s (x%.2f)", bw, FormatRate(nr.Bandwidth, "B/s"), FormatRate(or.Bandwidth, "B/s"), nr.Bandwidth/or.Bandwidth))
	}
	if fma > 0 {
		notes = append(notes, fmt.Sprintf("relative: %d compute-bound benchmarks' new times scaled by the fma roofs' ratio, %s against %s (x%.2f)", fma, FormatRate(nr.FMA, "FLOP/s"), FormatRate(or.FMA, "FLOP/s"), nr.FMA/or.FMA))
	}
	if bw+fma == 0 {
		notes = append(notes, "relative: no benchmark has a roof measured on both sides; compared as measured")
	}
	return rescaled, yardstick, notes
}

func scaled(v []float64, by float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * by
	}
	return out
}
