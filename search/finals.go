package search

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"golang.org/x/perf/benchmath"
	"gonum.org/v1/gonum/stat/distuv"
)

// Retimer re-measures a point that has already validated.
type Retimer interface {
	Retime(ctx context.Context, p Point) (*Measurement, error)
}

// FinalOptions control Finals. Zero values select the documented defaults.
type FinalOptions struct {
	Finalists int     // best results re-timed; 0 means 4
	Rounds    int     // most re-timing rounds; 0 means 4
	Threshold float64 // a challenger within this fraction of the leader in every round (of at least tieRounds) ties; 0 means 0.01
	// Incumbent is the ID of the point a profile already holds for the
	// task, or "". Where the search measured it, it is a finalist whatever
	// its score, and it stays the winner unless it goes out: past the
	// threshold, and slower than the leader in so many of at least
	// incumbentRounds rounds that a sign test rejects a tie at
	// incumbentAlpha. A re-tune then changes a winner only on evidence,
	// not on a lucky round.
	Incumbent string
}

// Final is the outcome of re-timing the finalists.
type Final struct {
	Winner   Result // its Measure pools the samples of the finals' rounds
	RunnerUp *Result
	// Margin is how much slower the runner-up is than the winner, the
	// median over the rounds of its time over the winner's, less 1;
	// Separated says whether it was slower in every round.
	Margin    float64
	Separated bool
	Rounds    int
	Tie       bool // the winner is the simplest of finalists within the threshold
	Kept      bool // the winner is the incumbent, which no finalist beat in enough rounds
	// Finalists are every finalist as last summarised, fastest first.
	Finalists []Result
}

// minPairedRounds is the fewest rounds Finals runs between two or more
// finalists: one pair of times could be a moment's accident.
const minPairedRounds = 2

// tieRounds is the fewest paired rounds in which a challenger must stay
// within the threshold of the leader, every one of them, to tie: the
// largest of four ratios exceeds the true median ratio with 94%
// confidence (1 - 2^-4). A median of two rounds called a kernel 1% slower
// a tie about half the time, at the threshold's edge, and the simpler
// kernel won one rerun and lost the next.
const tieRounds = 4

// An incumbent goes out on a sign test: when a leader no faster than it
// would beat it in as many of their paired rounds by chance less than
// incumbentAlpha of the time. Five rounds is the fewest where that can
// happen (all five lost: 1 in 32); a noisy device gets up to
// incumbentMaxRounds, where losing 7 of 8 or 8 of 9 is enough.
const (
	incumbentRounds    = 5
	incumbentMaxRounds = 9
	incumbentAlpha     = 0.05
)

// signTest is the chance that a leader no faster than the incumbent beats
// it in losses or more of rounds paired rounds.
func signTest(losses, rounds int) float64 {
	return distuv.Binomial{N: float64(rounds), P: 0.5}.Survival(float64(losses - 1))
}

// Finals re-times the best results of a search in rounds, every finalist
// still in once per round, the order rotating from round to round, and
// compares each challenger with the leader paired: the median over the
// rounds of its time over the leader's in the same round, so that a
// device that drifts between the search and the finals, or during them,
// weighs on both sides of a comparison alike. A challenger is out once it
// was slower in every round and its median ratio is past the threshold; it
// ties once it was within the threshold in every round, over at least
// tieRounds; the rounds go on (at least minPairedRounds, at most Rounds,
// itself at least tieRounds) until every challenger is out or tied. One
// neither out nor tied by then loses to the leader. The leader is the
// finalist whose times, each over its round's geometric mean, have the
// smallest median. Among the leader and the challengers it ties with, the
// simplest point wins: the one whose axis values come earliest in their
// axes (smaller tiles, features off). The search's own samples only choose
// the finalists.
func Finals(ctx context.Context, space *Space, results []Result, rt Retimer, opt FinalOptions) (*Final, error) {
	if opt.Finalists <= 0 {
		opt.Finalists = 4
	}
	if opt.Rounds <= 0 {
		opt.Rounds = 4
	}
	opt.Rounds = max(opt.Rounds, tieRounds)
	if opt.Threshold <= 0 {
		opt.Threshold = 0.01
	}
	type finalist struct {
		res        Result
		point      Point
		simplicity int
		times      []float64 // per round; NaN where it was out
		samples    []float64 // of the finals' rounds
		out        bool      // slower than the leader in every round, past the threshold
	}
	var fs []*finalist
	for _, r := range results {
		if r.Status != OK || r.Measure == nil {
			continue
		}
		p, err := space.Parse(r.ID)
		if err != nil {
			return nil, err
		}
		m := *r.Measure
		m.Samples = append([]float64(nil), m.Samples...)
		r.Measure = &m
		s := 0
		for _, i := range p.idx {
			s += i
		}
		fs = append(fs, &finalist{res: r, point: p, simplicity: s})
	}
	if len(fs) == 0 {
		return nil, fmt.Errorf("finals: no valid result")
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].res.Score > fs[j].res.Score })
	n := min(len(fs), opt.Finalists)
	var incumbent *finalist
	for k, f := range fs {
		if opt.Incumbent != "" && f.res.ID == opt.Incumbent {
			incumbent = f
			if k >= n {
				fs[n], n = f, n+1 // one finalist more
			}
			break
		}
	}
	fs = fs[:n]

	// ratios is a's time over b's in each round both ran.
	ratios := func(a, b *finalist) []float64 {
		var rs []float64
		for r := range a.times {
			if !math.IsNaN(a.times[r]) && !math.IsNaN(b.times[r]) {
				rs = append(rs, a.times[r]/b.times[r])
			}
		}
		return rs
	}
	// ratio is the median of ratios, and whether a was slower in every
	// round.
	ratio := func(a, b *finalist) (float64, bool) {
		rs := ratios(a, b)
		if len(rs) == 0 {
			return 1, false
		}
		return medianOf(rs), slices.Min(rs) > 1
	}
	// tied says whether a stayed within the threshold of b in every one of
	// at least tieRounds rounds.
	tied := func(a, b *finalist) bool {
		rs := ratios(a, b)
		return len(rs) >= tieRounds && slices.Max(rs)-1 < opt.Threshold
	}
	// losses counts the rounds both ran in which a was slower than b.
	losses := func(a, b *finalist) (lost, rounds int) {
		for r := range a.times {
			if !math.IsNaN(a.times[r]) && !math.IsNaN(b.times[r]) {
				rounds++
				if a.times[r] > b.times[r] {
					lost++
				}
			}
		}
		return lost, rounds
	}
	// score is a finalist's times over their rounds' geometric means:
	// comparable across finalists whatever the device's speed per round.
	score := func(f *finalist) float64 {
		var rs []float64
		for r, t := range f.times {
			if math.IsNaN(t) {
				continue
			}
			var logs float64
			n := 0
			for _, g := range fs {
				if !math.IsNaN(g.times[r]) {
					logs += math.Log(g.times[r])
					n++
				}
			}
			rs = append(rs, t/math.Exp(logs/float64(n)))
		}
		return medianOf(rs)
	}
	leader := func() *finalist {
		var l *finalist
		for _, f := range fs {
			if !f.out && (l == nil || score(f) < score(l)) {
				l = f
			}
		}
		return l
	}
	final := &Final{}
	decided := func() bool {
		l, done := leader(), true
		for _, f := range fs {
			if f == l || f.out {
				continue
			}
			switch r, slower := ratio(f, l); {
			case f == incumbent && r-1 < opt.Threshold:
				// It stays: only past the threshold can a sign test put it out.
			case f == incumbent:
				if k, n := losses(f, l); n >= incumbentRounds && signTest(k, n) < incumbentAlpha {
					f.out = true
				} else {
					done = false
				}
			case tied(f, l):
			case slower && r-1 >= opt.Threshold:
				f.out = true
			default:
				done = false
			}
		}
		return done
	}
	if incumbent != nil {
		opt.Rounds = max(opt.Rounds, incumbentMaxRounds)
	}
	for len(fs) > 1 && final.Rounds < opt.Rounds {
		round := final.Rounds
		final.Rounds++
		for i := range fs {
			f := fs[(i+round)%len(fs)]
			if f.out {
				f.times = append(f.times, math.NaN())
				continue
			}
			m, err := rt.Retime(ctx, f.point)
			if err != nil {
				return nil, fmt.Errorf("finals: re-timing %s: %w", f.res.ID, err)
			}
			f.times = append(f.times, m.median())
			f.samples = append(f.samples, m.Samples...)
		}
		if final.Rounds >= minPairedRounds && decided() {
			break
		}
	}
	for _, f := range fs {
		if len(f.samples) == 0 {
			continue // a lone finalist keeps the search's measurement
		}
		m := f.res.Measure
		m.Samples = f.samples
		s := benchmath.AssumeNothing.Summary(benchmath.NewSample(append([]float64(nil), m.Samples...), &benchmath.DefaultThresholds), 0.95)
		m.Median, m.Lo, m.Hi = s.Center, s.Lo, s.Hi
		f.res.Score = m.Rate()
	}
	win := fs[0]
	if len(fs) > 1 {
		decided()
		l := leader()
		win = l
		for _, f := range fs {
			if !f.out && f != l && tied(f, l) && f.simplicity < win.simplicity {
				win, final.Tie = f, true
			}
		}
		if incumbent != nil && !incumbent.out && incumbent != win {
			win, final.Tie, final.Kept = incumbent, false, true
		}
		sort.SliceStable(fs, func(i, j int) bool { return score(fs[i]) < score(fs[j]) })
	}
	final.Winner = win.res
	var second *finalist
	for _, f := range fs {
		final.Finalists = append(final.Finalists, f.res)
		if f != win && second == nil {
			second = f
		}
	}
	if second != nil {
		r := second.res
		final.RunnerUp = &r
		final.Margin, final.Separated = ratio(second, win)
		final.Margin--
	}
	return final, nil
}
