package llama

import (
	"cmp"
	"slices"

	"github.com/tune-gpu/tune/runner"
)

// StepProfile is where the GPU time of one decode step goes: every dispatch
// timed alone (runner.Program.Profile) and, by kernel and shape, what the
// dispatches add to the step's pass (runner.Program.Marginal). Times are
// seconds per step, one sample per run.
type StepProfile struct {
	Pos        int // the position the step decoded
	Dispatches int // of the step
	Kernels    []KernelTime
	// Sum is the dispatches' times added up: the step as if each dispatch
	// ran alone, barriers and launches included.
	Sum []float64
	// Pass is the step in one compute pass, as the decode loop submits it.
	Pass []float64
	// Host is the time the host takes to encode and submit the step; a
	// decode loop is bound by the larger of Host and Pass.
	Host     []float64
	Warnings []string
}

// KernelTime is the share of a step of the dispatches of one kernel at one
// shape.
type KernelTime struct {
	Kernel string // the family, e.g. "gemv" or "flash-decode"
	// Shape is what sets the cost: rows x cols of a GEMV; the width of a
	// norm, the embedding, SwiGLU (hidden) or RoPE (q, k and v); the
	// vocabulary of argmax; heads x kv heads x head dim of attention (the
	// roles of split attention say how many splits the step dispatches).
	Shape   string
	Roles   []string  // the parts of the model they compute, e.g. "q, k, v"
	Count   int       // dispatches per step
	Samples []float64 // seconds per step, one per run, each dispatch alone
	Median  float64
	// InPass is what the dispatches add to the step in one pass: the pass
	// with each of them run twice less the pass, one per run.
	InPass       []float64
	InPassMedian float64
	Bytes        int64 // moved per step, inputs read and outputs written once
	// Sizes are the bytes each of its dispatches stands for: its part's
	// bytes on a part's first dispatch, 0 on the others (StepBytes).
	Sizes []int64
}

// Name is the kernel and shape, e.g. "gemv 3072x2048".
func (k KernelTime) Name() string { return k.Kernel + " " + k.Shape }

// ProfileStep runs the decode step at pos runs times as
// runner.Program.Profile does (plus one run of each kind to warm up) on
// the token in g.tok, and adds up its dispatches' times by kernel and
// shape, largest share of the pass first. The caches at pos, g.tok and
// the residual stream change as the step, and steps with some dispatches
// run twice, leave them.
func (g *GPU) ProfileStep(pos, runs int) (*StepProfile, error) {
	if err := g.setStep(pos); err != nil {
		return nil, err
	}
	s := g.stepFor(pos)
	prof, err := s.prog.Profile(runs)
	if err != nil {
		return nil, err
	}
	sp := &StepProfile{Pos: pos, Dispatches: s.prog.Len(), Pass: prof.Pass, Host: prof.Host, Warnings: prof.Warnings}
	byName := map[string]*KernelTime{}
	var order []*KernelTime
	var sets [][]int // the dispatches of each of order
	sizes := g.StepBytes(pos)
	for i, info := range s.info {
		name := info.kernel + " " + info.shape
		k := byName[name]
		if k == nil {
			k = &KernelTime{Kernel: info.kernel, Shape: info.shape, Samples: make([]float64, len(prof.Dispatches))}
			byName[name] = k
			order = append(order, k)
			sets = append(sets, nil)
		}
		k.Count++
		sets[slices.Index(order, k)] = append(sets[slices.Index(order, k)], i)
		if info.role != "" && !slices.Contains(k.Roles, info.role) {
			k.Roles = append(k.Roles, info.role)
		}
		b := sizes[i]
		k.Bytes += b
		k.Sizes = append(k.Sizes, b)
		for r, row := range prof.Dispatches {
			k.Samples[r] += row[i]
		}
	}
	for _, row := range prof.Dispatches {
		var sum float64
		for _, t := range row {
			sum += t
		}
		sp.Sum = append(sp.Sum, sum)
	}
	marg, err := s.prog.Marginal(runs, sets)
	if err != nil {
		return nil, err
	}
	for i, k := range order {
		k.Median = median(k.Samples)
		for r, with := range marg.With[i] {
			k.InPass = append(k.InPass, with-marg.Base[r])
		}
		k.InPassMedian = median(k.InPass)
		sp.Kernels = append(sp.Kernels, *k)
	}
	slices.SortStableFunc(sp.Kernels, func(a, b KernelTime) int { return cmp.Compare(b.InPassMedian, a.InPassMedian) })
	return sp, nil
}

// StepBytes lists, for each dispatch of the decode step at pos, the bytes
// its part of the model moves (StepProfile's bytes), on the part's first
// dispatch and 0 on the others: what a chain of bandwidth-bound dispatches
// standing in for the step must move (ops.MeasureReadChain).
func (g *GPU) StepBytes(pos int) []int64 {
	s := g.stepFor(pos)
	out := make([]int64, len(s.info))
	for i, info := range s.info {
		if info.bytes != nil {
			out[i] = info.bytes(pos)
		}
	}
	return out
}

// stepFor is the step program for a step at pos: the smallest tier above
// it.
func (g *GPU) stepFor(pos int) stepProgram {
	i := 0
	for g.steps[i].limit <= pos {
		i++
	}
	return g.steps[i]
}

// median is the median of v (v is not changed); 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	t := runner.Timing{Samples: v}
	t.Summarize()
	return t.Median
}
