package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/search"
)

func runEfficiency(_ context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("efficiency", stderr, `Replay search strategies against the journal of an exhaustive sweep, without a
device: for each strategy and seed, the best score after every evaluation as a
fraction of the recorded optimum.`)
	journal := fs.String("journal", "", "journal of an exhaustive sweep (required)")
	task := fs.String("task", "", "task to replay, e.g. matmul/f32/M=4096/N=4096/K=4096 (required)")
	methods := fs.String("methods", "random,local,anneal,evolve,bayes", "strategies to compare")
	seeds := fs.Int("seeds", 10, "seeds per strategy")
	frac := fs.Float64("frac", 0.95, "fraction of the optimum a search must reach")
	budget := fs.Float64("budget", 0.10, "the evaluation budget, as a fraction of the recorded points")
	reruns := fs.Int("reruns", 0, "also replay this many reruns of each strategy and seed, scores scattered by -noise, and count how many pick the same kernel, as tune stability does live")
	noise := fs.Float64("noise", 0.01, "with -reruns: the scatter of a measurement, as the standard deviation of its log")
	threshold := fs.Float64("threshold", 0.01, "with -reruns: how much slower than the best pick a pick may be and agree")
	nStarts := fs.Int("starts", 0, "as in sweep: start every search from the winners of this many of the op's nearest other shapes in -starts-from (those the journal recorded)")
	startsFrom := fs.String("starts-from", "", "with -starts: the profile")
	others := fs.String("others", "", "as in sweep: start every search from the winners these profiles (comma-separated files, other adapters') hold for the task's shape, before any -starts")
	retune := fs.Bool("incumbent", false, "with -reruns: replay re-tunes instead: each seed's first tune (a noise draw of its own) picks the incumbent that its reruns start from and keep unless a finalist beats it by more than -threshold, as sweep does against a profile")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *journal == "" || *task == "" || *seeds < 1 || *frac <= 0 || *frac > 1 || *budget <= 0 || *reruns < 0 || *nStarts < 0 || *nStarts > 0 && *startsFrom == "" || *retune && *reruns == 0 || !(*noise >= 0) || !(*threshold >= 0) {
		fs.Usage()
		return fmt.Errorf("efficiency: -journal and -task are required; -seeds >= 1; 0 < -frac <= 1; -budget > 0; -reruns and -starts not negative, -starts with -starts-from, -incumbent with -reruns; -noise and -threshold numbers, not negative")
	}
	results, err := search.ReadJournal(*journal)
	if err != nil {
		return err
	}
	space, kernel, err := spaceForTask(*task)
	if err != nil {
		return err
	}
	replay, err := search.NewReplay(results, *task, kernel)
	if err != nil {
		return err
	}
	replay.Restrict(space)
	points := len(space.Legal())
	var starts []search.Point
	if *nStarts > 0 || *others != "" {
		plan, err := replayStarts(*startsFrom, *others, *task, space, *nStarts)
		if err != nil {
			return err
		}
		starts = plan.points
		fmt.Fprintln(stderr, startsLine(plan))
	}
	curves, err := search.Efficiency(space, replay, append([]string{"exhaustive"}, strings.Split(*methods, ",")...), *seeds, 0, starts)
	if err != nil {
		return err
	}
	limit := max(1, int(*budget*float64(points)))
	fmt.Fprintf(stdout, "%s: %d recorded points, optimum %.4g; budget %d evaluations (%.0f%%)\n", *task, points, replay.Optimum(), limit, 100**budget)
	t := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("strategy", "seeds", fmt.Sprintf("median evals to %.0f%%", 100**frac), "share of points", fmt.Sprintf("seeds within budget"), fmt.Sprintf("median best at budget"))
	for _, s := range search.Summarize(curves, *frac, points) {
		within, atBudget := 0, []float64{}
		for _, c := range curves {
			if c.Method != s.Method {
				continue
			}
			if n := c.EvalsTo(*frac); n > 0 && n <= limit {
				within++
			}
			atBudget = append(atBudget, c.Best[min(limit, len(c.Best))-1])
		}
		t.Append(s.Method, s.Seeds, fmt.Sprintf("%.1f", s.MedianEvals), fmt.Sprintf("%.1f%%", 100*s.MedianEvals/float64(points)),
			fmt.Sprintf("%d/%d", within, s.Seeds), fmt.Sprintf("%.1f%%", 100*median(atBudget)))
	}
	if err := t.Render(); err != nil || *reruns == 0 {
		return err
	}
	o := search.RerunOptions{Reruns: *reruns, MaxEvals: limit, Finals: 4, Noise: *noise, Starts: starts, Threshold: *threshold}
	return rerunTable(stdout, space, replay, strings.Split(*methods, ","), *seeds, o, *retune)
}

// replayStarts reads the starts a sweep of task would take from the
// profile at path (none for "") and the other adapters' profiles in the
// comma-separated list others.
func replayStarts(path, others, task string, space *search.Space, n int) (startPlan, error) {
	var src startSources
	if path != "" {
		prof, err := profiles.Load(path)
		if err != nil {
			return startPlan{}, fmt.Errorf("reading -starts-from: %w", err)
		}
		src.profile, src.nearest = prof, n
	}
	if others != "" {
		src.fromOthers = true
		for _, p := range strings.Split(others, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				return startPlan{}, fmt.Errorf("reading -others: an empty file name in %q", others)
			}
			prof, err := profiles.Load(p)
			if err != nil {
				return startPlan{}, fmt.Errorf("reading -others: %w", err)
			}
			src.others = append(src.others, prof)
		}
	}
	s, err := parseTask(task)
	if err != nil {
		return startPlan{}, err
	}
	w := ops.Workload{Task: task, Op: s.op, Dtype: s.dtype, Dims: s.dims, Space: space}
	return searchStarts(w, search.Task{Name: task}, src, nil)
}

// rerunTable replays o's reruns of each method, for each of seeds seeds,
// and tabulates how many agree: pick the best pick of their seed or one
// within o.Threshold of it, as tune stability judges them; how many seeds'
// reruns agree in 95% or more; and how many picks are within the
// threshold of the optimum. With retune, each seed's reruns start from
// the pick of a first tune of their own, their incumbent.
func rerunTable(w io.Writer, space *search.Space, replay *search.Replay, methods []string, seeds int, o search.RerunOptions, retune bool) error {
	reruns, threshold := o.Reruns, o.Threshold
	what := "reruns"
	if retune {
		what = "re-tunes (each from its seed's first tune's pick)"
	}
	fmt.Fprintf(w, "\n%d %s of each strategy and seed, %d evaluations, scores scattered by %.1f%%, finals of %d; agree: within %.1f%% of the seed's best pick\n",
		reruns, what, o.MaxEvals, 100*o.Noise, o.Finals, 100*threshold)
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	header := []string{"strategy", "reruns agreeing", "seeds stable (95%)", fmt.Sprintf("picks within %.1f%% of the optimum", 100*threshold), "searches that timed the optimum", "median pick", "worst pick"}
	if retune {
		header = append(header, "kept the incumbent")
	}
	t.Header(header)
	opt := replay.Optimum()
	for _, m := range methods {
		var all []float64
		agree, stable, atOpt, timedOpt, kept := 0, 0, 0, 0, 0
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			seedOpts := o
			if retune {
				first := o
				first.Reruns, first.Draw = 1, uint64(reruns) // a draw no rerun takes
				tune, err := search.RerunPicks(space, replay, m, seed, first)
				if err != nil {
					return err
				}
				seedOpts.Incumbent = tune[0].ID
			}
			picked, err := search.RerunPicks(space, replay, m, seed, seedOpts)
			if err != nil {
				return err
			}
			var picks []float64
			for _, p := range picked {
				picks = append(picks, p.Score)
				if p.ID == seedOpts.Incumbent {
					kept++
				}
				if p.TimedOptimum {
					timedOpt++
				}
			}
			best := slices.Max(picks)
			n := 0
			for _, p := range picks {
				if p >= best/(1+threshold) {
					n++
				}
				if p >= opt/(1+threshold) {
					atOpt++
				}
			}
			agree += n
			if float64(n) >= 0.95*float64(reruns) {
				stable++
			}
			all = append(all, picks...)
		}
		row := []string{m, fmt.Sprintf("%d/%d", agree, len(all)), fmt.Sprintf("%d/%d", stable, seeds), fmt.Sprintf("%d/%d", atOpt, len(all)), fmt.Sprintf("%d/%d", timedOpt, len(all)),
			fmt.Sprintf("%.1f%%", 100*median(all)/opt), fmt.Sprintf("%.1f%%", 100*slices.Min(all)/opt)}
		if retune {
			row = append(row, fmt.Sprintf("%d/%d", kept, len(all)))
		}
		t.Append(row)
	}
	return t.Render()
}

// spaceForTask rebuilds the search space a task was swept over, with
// limits loose enough to admit every point a device could have accepted.
func spaceForTask(task string) (*search.Space, string, error) {
	loose := ops.Limits{Invocations: 1 << 20, SizeX: 1 << 20, SizeY: 1 << 20, WorkgroupBytes: 1 << 30}
	parts := strings.Split(task, "/")
	switch {
	case len(parts) > 1 && parts[0] == "matmul":
		return ops.Space(loose), "matmul", nil
	case len(parts) > 1 && parts[0] == "gemv":
		f, err := quant.ParseFormat(parts[1])
		if err != nil {
			return nil, "", fmt.Errorf("task %q: %w", task, err)
		}
		return ops.GemvSpace(f, loose), "gemv", nil
	}
	return nil, "", fmt.Errorf("task %q: not a matmul or gemv task", task)
}
