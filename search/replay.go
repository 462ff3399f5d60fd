package search

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Replay is an Evaluator that answers from recorded results, so that
// strategies can be run and compared without a device: on the journal of
// an exhaustive sweep it reproduces what a live search would have measured.
type Replay struct {
	kernel  string
	results map[string]Result
}

var _ Evaluator = (*Replay)(nil)

// NewReplay keeps the results of one task and kernel.
func NewReplay(results []Result, task, kernel string) (*Replay, error) {
	r := &Replay{kernel: kernel, results: map[string]Result{}}
	for _, res := range results {
		if res.Task == task && res.Kernel == kernel {
			r.results[res.ID] = res
		}
	}
	if len(r.results) == 0 {
		return nil, fmt.Errorf("replay: no results of kernel %s for task %s", kernel, task)
	}
	return r, nil
}

func (r *Replay) Kernel() string { return r.kernel }

// Evaluate returns the recorded result, or a rejection for an unrecorded
// point; Restrict keeps methods from proposing those.
func (r *Replay) Evaluate(_ context.Context, p Point) Result {
	if res, ok := r.results[p.ID()]; ok {
		return res
	}
	return Result{Status: Rejected, Reason: "not recorded"}
}

// Restrict limits space to the recorded points.
func (r *Replay) Restrict(space *Space) {
	space.Constraints = append(space.Constraints, Constraint{Name: "recorded", OK: func(p Point) bool {
		_, ok := r.results[p.ID()]
		return ok
	}})
}

// Optimum is the best recorded score.
func (r *Replay) Optimum() float64 {
	best := 0.0
	for _, res := range r.results {
		if res.Status == OK {
			best = math.Max(best, res.Score)
		}
	}
	return best
}

// Curve is one search's best score after each evaluation, as a fraction of
// the optimum.
type Curve struct {
	Method string
	Seed   uint64
	Best   []float64
}

// EvalsTo is the number of evaluations after which the curve reached frac,
// or 0 if it never did.
func (c Curve) EvalsTo(frac float64) int {
	for i, b := range c.Best {
		if b >= frac {
			return i + 1
		}
	}
	return 0
}

// Efficiency runs each method with seeds 1..seeds on the replayed space for
// up to maxEvals evaluations (0: every point), primed with starts, and
// returns their curves.
func Efficiency(space *Space, r *Replay, methods []string, seeds, maxEvals int, starts []Point) ([]Curve, error) {
	opt := r.Optimum()
	if opt <= 0 {
		return nil, fmt.Errorf("replay: no valid result")
	}
	var out []Curve
	for _, name := range methods {
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			m, ok := NewMethod(name)
			if !ok {
				return nil, fmt.Errorf("unknown method %q", name)
			}
			sum, err := Run(context.Background(), Task{Name: "replay"}, space, m, r, Settings{MaxEvals: maxEvals, Seed: seed, Starts: starts}, nil, nil)
			if err != nil {
				return nil, err
			}
			c := Curve{Method: name, Seed: seed}
			best := 0.0
			for _, res := range sum.Results {
				if res.Status == OK {
					best = math.Max(best, res.Score)
				}
				c.Best = append(c.Best, best/opt)
			}
			out = append(out, c)
			if name == "exhaustive" {
				break // deterministic: one seed says it all
			}
		}
	}
	return out, nil
}

// MethodSummary condenses a method's curves: the median over seeds of the
// evaluations needed to reach frac of the optimum (seeds that never got
// there count as the whole space), and the share of seeds that got there.
type MethodSummary struct {
	Method      string
	Seeds       int
	MedianEvals float64
	Reached     float64
}

// Summarize gives one MethodSummary per method, in the order of curves.
func Summarize(curves []Curve, frac float64, points int) []MethodSummary {
	by := map[string][]float64{}
	reached := map[string]int{}
	var order []string
	for _, c := range curves {
		if _, ok := by[c.Method]; !ok {
			order = append(order, c.Method)
		}
		n := c.EvalsTo(frac)
		if n == 0 {
			n = points
		} else {
			reached[c.Method]++
		}
		by[c.Method] = append(by[c.Method], float64(n))
	}
	var out []MethodSummary
	for _, m := range order {
		v := by[m]
		sort.Float64s(v)
		med := v[len(v)/2]
		if len(v)%2 == 0 {
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		out = append(out, MethodSummary{Method: m, Seeds: len(v), MedianEvals: med, Reached: float64(reached[m]) / float64(len(v))})
	}
	return out
}

// noisyReplay answers as r does, each valid score multiplied by
// exp(noise * N(0,1)): a device whose repeated measurements scatter.
type noisyReplay struct {
	*Replay
	noise float64
	rng   *rand.Rand
}

func (n noisyReplay) Evaluate(ctx context.Context, p Point) Result {
	res := n.Replay.Evaluate(ctx, p)
	if res.Status == OK {
		res.Score *= math.Exp(n.noise * n.rng.NormFloat64())
	}
	return res
}

// RerunOptions shape the reruns RerunPicks replays.
type RerunOptions struct {
	Reruns   int
	MaxEvals int
	Finals   int     // best-measured points the finals take
	Noise    float64 // the scatter of a measurement, as the standard deviation of its log
	Draw     uint64  // the first rerun's noise draw; rerun i takes Draw+i
	Starts   []Point
	// Incumbent, an ID or "", is proposed first and stays the pick unless
	// a finalist's recorded score beats it by more than Threshold, as live
	// finals decide it given their rounds (FinalOptions.Incumbent).
	Incumbent string
	Threshold float64
}

// RerunPick is one replayed rerun's pick, with its recorded score.
type RerunPick struct {
	Result
	// TimedOptimum says whether the rerun's search timed a point of the
	// recorded optimum's score: a rerun that picked another one without
	// doing so was let down by its search, not by its finals.
	TimedOptimum bool
}

// RerunPicks replays reruns of one tune, as tune stability runs them live:
// each rerun runs method with the same seed and starts up to MaxEvals
// evaluations on scores scattered by Noise (a different draw per rerun),
// then the finals take the truly best of its Finals best-measured points
// (live finals re-time them paired until they separate), the incumbent's
// rule applied. It returns each rerun's pick.
func RerunPicks(space *Space, r *Replay, method string, seed uint64, o RerunOptions) ([]RerunPick, error) {
	starts := o.Starts
	if o.Incumbent != "" {
		p, err := space.Parse(o.Incumbent)
		if err != nil {
			return nil, fmt.Errorf("replay: incumbent: %w", err)
		}
		starts = append([]Point{p}, starts...)
	}
	var picks []RerunPick
	optimum := r.Optimum()
	for i := range o.Reruns {
		m, ok := NewMethod(method)
		if !ok {
			return nil, fmt.Errorf("unknown method %q", method)
		}
		ev := noisyReplay{Replay: r, noise: o.Noise, rng: rand.New(rand.NewPCG(o.Draw+uint64(i), 0x5ca77e2))}
		sum, err := Run(context.Background(), Task{Name: "replay"}, space, m, ev, Settings{MaxEvals: o.MaxEvals, Seed: seed, Starts: starts}, nil, nil)
		if err != nil {
			return nil, err
		}
		var valid []Result
		timedOptimum := false
		for _, res := range sum.Results {
			if res.Status == OK {
				valid = append(valid, res)
				timedOptimum = timedOptimum || r.results[res.ID].Score == optimum
			}
		}
		if len(valid) == 0 {
			return nil, fmt.Errorf("replay: rerun %d found no valid point", i+1)
		}
		sort.SliceStable(valid, func(a, b int) bool { return valid[a].Score > valid[b].Score })
		var pick Result
		for _, res := range valid[:min(o.Finals, len(valid))] {
			if rec := r.results[res.ID]; rec.Score > pick.Score {
				pick = rec
			}
		}
		measured := slices.ContainsFunc(valid, func(res Result) bool { return res.ID == o.Incumbent })
		if inc := r.results[o.Incumbent]; o.Incumbent != "" && measured && pick.Score <= inc.Score*(1+o.Threshold) {
			pick = inc
		}
		picks = append(picks, RerunPick{pick, timedOptimum})
	}
	return picks, nil
}
