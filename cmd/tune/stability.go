package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/reports"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
)

func runStability(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("stability", stderr, `Run the same tune of one shape several times without a journal, each as
sweep runs it (the profile's winner for the shape as its incumbent, its drift
sentinel, then its finals), then re-time every distinct winner side by side;
-incumbent=false tunes from scratch. A rerun agrees if it picked the
overall winner or one whose re-timed median is inside the winner's 95%
interval or within the practical threshold of it: -threshold, or the
device's resolution where that is larger, how far the winner re-timed back to
back differs from itself (the median over -noise-rounds rounds spaced out
between the other picks' re-timings), as two kernels closer than one kernel
is to itself cannot be told apart there. The tune is stable when at least
-criterion of the reruns agree; on a device whose resolution exceeds
-max-noise the verdict is undetermined.`)
	op := fs.String("op", "matmul", "kernel family: matmul, gemv or gemm")
	format := fs.String("format", "", "gemv/gemm weight format, e.g. int4-g32-sym")
	adapter := fs.String("adapter", "auto", "adapter: auto, an index or a name substring")
	shapeFlag := fs.String("shape", "", "the shape to tune (required): MxNxK for matmul and gemm, NxK for gemv")
	where := fs.String("where", "", "restrict axes, as in sweep, e.g. to 20-40 points for a quick check")
	strategy := fs.String("strategy", "bayes", "search strategy: "+strings.Join(search.MethodNames, ", "))
	maxEvals := fs.Int("max-evals", -1, "candidates each rerun evaluates, 0 for every legal one (default as sweep's: 24 on a CPU adapter, 120 on a GPU)")
	reruns := fs.Int("reruns", 10, "tunes to run")
	varySeed := fs.Bool("vary-seed", false, "give rerun i the seed -seed+i instead of -seed, to include the strategy's randomness")
	seed := fs.Uint64("seed", 1, "seed of the search strategy")
	threshold := fs.Float64("threshold", 0.01, "practical threshold: a median within this fraction of the winner's agrees")
	criterion := fs.Float64("criterion", 0.95, "share of reruns that must agree")
	sentinelEvery := fs.Int("sentinel", 16, "as in sweep: re-time the baseline kernel after every N measurements and measure again a window in which it drifted by more than 5%; 0 turns it off")
	noiseRounds := fs.Int("noise-rounds", 5, "re-timings of the overall winner that measure the device's reproducibility, 0 for none")
	maxNoise := fs.Float64("max-noise", 0.05, "the largest resolution that can stand for the practical threshold: a device noisier than this cannot judge stability")
	samples := fs.Int("samples", 10, "timed passes per candidate (at least 10)")
	target := fs.Duration("target", 10*time.Millisecond, "length of one timed pass")
	nStarts := fs.Int("starts", 0, "as in sweep: start each search from the winners of this many of the op's nearest other shapes in -profile")
	fromOthers := fs.Bool("others", true, "as in sweep: start each search from the winners the other adapters' profiles beside -profile hold for the shape")
	incumbent := fs.Bool("incumbent", true, "as in sweep: measure first the winner -profile holds for the shape, and keep it unless a finalist beats it in enough rounds of the finals (a sign test over five to nine)")
	profilePath := fs.String("profile", "", "the profile -starts and -incumbent read, beside which -others looks (default profiles/<adapter>.yaml; for -incumbent and -others, none if that file is missing)")
	picksFile := fs.String("picks", "", "keep each finished rerun's pick in this file and resume from it: a run cut short goes on at the next rerun")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, ok := search.NewMethod(*strategy); !ok {
		return fmt.Errorf("parsing -strategy: %q is not one of %s", *strategy, strings.Join(search.MethodNames, ", "))
	}
	if *reruns < 2 || *maxEvals < -1 || *nStarts < 0 || *sentinelEvery < 0 || *noiseRounds < 0 || *noiseRounds == 1 || *samples < 10 || *target <= 0 || !(*threshold >= 0 && *threshold < 1) || !(*criterion > 0 && *criterion <= 1) || !(*maxNoise > 0) {
		return fmt.Errorf("parsing flags: want -reruns >= 2, -max-evals >= 0 (or -1), -starts >= 0, -sentinel >= 0, -noise-rounds 0 or >= 2, at least 10 samples, a positive target, 0 <= -threshold < 1 and 0 < -criterion <= 1 and -max-noise > 0")
	}
	if *op != "matmul" && *format == "" {
		return fmt.Errorf("parsing -format: %s needs a weight format, e.g. int4-g32-sym", *op)
	}
	dtypes, err := parseDtypes(*op, *format)
	if err != nil {
		return fmt.Errorf("parsing -op/-format: %w", err)
	}
	shapes, err := parseOpShapes(*op, *shapeFlag)
	if err != nil {
		return fmt.Errorf("parsing -shape: %w", err)
	}
	if len(shapes) != 1 || len(dtypes) != 1 {
		return fmt.Errorf("parsing -shape/-format: want one shape and one format")
	}
	dev, err := runner.Open(*adapter)
	if err != nil {
		return err
	}
	defer dev.Close()
	w, err := workload(dev, opShape{*op, dtypes[0], shapes[0]}, runner.TimeOptions{Samples: *samples, Target: *target})
	if err != nil {
		return err
	}
	defer w.Eval.Close()
	if err := restrict(w.Space, *where); err != nil {
		return fmt.Errorf("parsing -where: %w", err)
	}
	rt, ok := w.Eval.(search.Retimer)
	if !ok {
		return fmt.Errorf("stability: %s candidates cannot be re-timed", *op)
	}
	if *maxEvals < 0 {
		*maxEvals = defaultMaxEvals(dev.Info)
	}
	fmt.Fprintf(stderr, "adapter: %s\n%s: %d legal candidates, %d reruns of %s over up to %d\n", dev.Info, w.Label, len(w.Space.Legal()), *reruns, *strategy, *maxEvals)
	task := search.Task{Name: w.Task, Env: fingerprint(dev.Info)}
	var plan startPlan
	if *nStarts > 0 || *incumbent || *fromOthers {
		path := *profilePath
		if path == "" {
			path = defaultProfile(profileAdapter(dev.Info))
		}
		prof, err := profiles.Load(path)
		switch {
		case err != nil && *nStarts == 0 && *profilePath == "" && errors.Is(err, os.ErrNotExist):
			if *incumbent {
				fmt.Fprintf(stderr, "incumbent: none (no profile at %s)\n", path)
			}
		case err != nil:
			return fmt.Errorf("reading -profile: %w", err)
		}
		src := startSources{profile: prof, incumbent: *incumbent, fromOthers: *fromOthers, nearest: *nStarts}
		if *fromOthers {
			if src.others, err = otherProfiles(path, profileAdapter(dev.Info), stderr); err != nil {
				return err
			}
		}
		if plan, err = searchStarts(w, task, src, nil); err != nil {
			return err
		}
		if *incumbent && prof != nil {
			if plan.incumbent != "" {
				fmt.Fprintf(stderr, "incumbent: %s, the winner %s holds\n", plan.incumbent, path)
			} else {
				fmt.Fprintf(stderr, "incumbent: none (%s holds no winner for this shape that the space has)\n", path)
			}
		}
		if *nStarts > 0 || *fromOthers {
			fmt.Fprintln(stderr, startsLine(plan))
		}
	}

	type rerun struct {
		seed     uint64
		final    *search.Final
		evals    int
		elapsed  time.Duration
		measured map[string]bool // the points its search timed; nil where a -picks file did not keep them
	}
	var runs []rerun
	setup := stabilityPick{Task: task.Name, Env: task.Env, Strategy: *strategy, MaxEvals: *maxEvals, Where: *where, Runs: fmt.Sprintf("seed=%d/vary=%t", *seed, *varySeed)}
	if plan.incumbent != "" {
		setup.Runs += "/incumbent=" + plan.incumbent
	}
	if starts := plan.neighbours(); len(starts) > 0 {
		setup.Runs += "/starts=" + pointIDs(starts)
	}
	fromPicks := 0 // reruns taken from the -picks file
	if *picksFile != "" {
		fileRuns, err := readPicks(*picksFile, setup)
		if err != nil {
			return fmt.Errorf("reading -picks: %w", err)
		}
		fromFile := fileRuns[:min(len(fileRuns), *reruns)]
		fromPicks = len(fromFile)
		for i, p := range fromFile {
			runs = append(runs, rerun{p.Seed, &search.Final{Winner: search.Result{ID: p.Winner, Status: search.OK, Score: p.Score}}, p.Evals, time.Duration(p.Seconds * float64(time.Second)), idSet(p.Measured)})
			fmt.Fprintf(stderr, "rerun %d/%d: %s %s after %d candidates (kept in %s)\n", i+1, *reruns, p.Winner, reports.FormatRate(p.Score, w.Unit), p.Evals, *picksFile)
		}
	}
	for i := len(runs); i < *reruns; i++ {
		s := *seed
		if *varySeed {
			s += uint64(i)
		}
		m, _ := search.NewMethod(*strategy)
		start := time.Now()
		settings := search.Settings{MaxEvals: *maxEvals, Seed: s, Starts: plan.points}
		if *sentinelEvery > 0 {
			settings.Sentinel = w.Sentinel
			settings.SentinelEvery = *sentinelEvery
		}
		sum, err := search.Run(ctx, task, w.Space, m, w.Eval, settings, nil, nil)
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if sum.Best == nil {
			return fmt.Errorf("rerun %d: no candidate validated", i+1)
		}
		f, err := search.Finals(ctx, w.Space, sum.Results, rt, search.FinalOptions{Threshold: *threshold, Incumbent: plan.incumbent})
		if err != nil {
			return fmt.Errorf("rerun %d: %w", i+1, err)
		}
		var measured []string
		for _, r := range sum.Results {
			if r.Status == search.OK {
				measured = append(measured, r.ID)
			}
		}
		runs = append(runs, rerun{s, f, sum.Evals, time.Since(start), idSet(measured)})
		if *picksFile != "" {
			p := setup
			p.Seed, p.Winner, p.Score, p.Evals, p.Seconds, p.Measured = s, f.Winner.ID, f.Winner.Score, sum.Evals, time.Since(start).Seconds(), measured
			if err := appendPick(*picksFile, p); err != nil {
				return fmt.Errorf("writing -picks: %w", err)
			}
		}
		notes := ""
		if f.Kept {
			notes = " (kept the incumbent: no finalist beat it in enough rounds)"
		}
		if sum.Remeasured > 0 {
			notes += fmt.Sprintf(" (the sentinel drifted: %d measured again, %d unsettled)", sum.Remeasured, sum.Unsettled)
		}
		fmt.Fprintf(stderr, "rerun %d/%d: %s %s after %d candidates in %s%s\n", i+1, *reruns, f.Winner.ID, reports.FormatRate(f.Winner.Score, w.Unit), sum.Evals, time.Since(start).Round(time.Millisecond), notes)
		var others []string
		for _, r := range f.Finalists {
			if r.ID != f.Winner.ID {
				others = append(others, fmt.Sprintf("%s %s", r.ID, reports.FormatRate(r.Score, w.Unit)))
			}
		}
		if len(others) > 0 {
			fmt.Fprintf(stderr, "  its finals (%d rounds) also re-timed: %s\n", f.Rounds, strings.Join(others, ", "))
		}
	}

	// Every distinct pick, re-timed side by side from fresh samples. A
	// pick kept in the -picks file was validated by an earlier process:
	// this one validates it, which times it too (a rerun of this process
	// that timed it already validated it).
	validated := map[string]bool{}
	for _, r := range runs[fromPicks:] {
		maps.Copy(validated, r.measured)
	}
	var picks []string
	var distinct []search.Result
	seen := map[string]bool{}
	for _, r := range runs {
		id := r.final.Winner.ID
		picks = append(picks, id)
		if seen[id] {
			continue
		}
		seen[id] = true
		var m *search.Measurement
		if !validated[id] {
			p, err := w.Space.Parse(id)
			if err != nil {
				return fmt.Errorf("a kept pick: %w", err)
			}
			res := w.Eval.Evaluate(ctx, p)
			if res.Status != search.OK {
				return fmt.Errorf("the kept pick %s no longer validates: %s", id, res.Reason)
			}
			m = res.Measure
		}
		if m == nil {
			var err error
			if m, err = retimeID(ctx, w.Space, rt, id); err != nil {
				return err
			}
		}
		distinct = append(distinct, search.Result{ID: id, Status: search.OK, Score: m.Work / m.Median, Measure: m})
	}
	retimed := map[string]*search.Measurement{}
	ref := distinct[0]
	if len(distinct) > 1 {
		f, err := search.Finals(ctx, w.Space, distinct, rt, search.FinalOptions{Finalists: len(distinct), Threshold: *threshold})
		if err != nil {
			return err
		}
		ref = f.Winner
		for _, r := range f.Finalists {
			retimed[r.ID] = r.Measure
		}
	} else {
		retimed[ref.ID] = ref.Measure
	}
	// Each other pick against the overall winner, paired round by round.
	// Where a pick comes out faster paired by more than the threshold
	// (the finals' rounds are few), it becomes the overall winner and the
	// others are paired with it instead.
	var scatters []float64 // of the paired rounds, as a device resolution
	paired := func(ref string) (map[string]float64, error) {
		refPoint, err := w.Space.Parse(ref)
		if err != nil {
			return nil, err
		}
		ratios := map[string]float64{}
		scatters = scatters[:0]
		for _, d := range distinct {
			if d.ID == ref {
				continue
			}
			p, err := w.Space.Parse(d.ID)
			if err != nil {
				return nil, err
			}
			r, sc, err := search.PairedRatio(ctx, rt, refPoint, p, max(3, *noiseRounds))
			if err != nil {
				return nil, err
			}
			ratios[d.ID] = r
			scatters = append(scatters, sc)
		}
		return ratios, nil
	}
	ratios, err := paired(ref.ID)
	if err != nil {
		return err
	}
	fastest, best := ref.ID, 1-*threshold // faster by more than the threshold
	for _, d := range distinct {
		if r, ok := ratios[d.ID]; ok && r < best {
			fastest, best = d.ID, r
		}
	}
	if fastest != ref.ID {
		fmt.Fprintf(stderr, "paired, %s is %.1f%% faster than the finals' pick %s: it is the overall winner\n", fastest, 100*(1/best-1), ref.ID)
		for _, d := range distinct {
			if d.ID == fastest {
				ref = d
			}
		}
		if retimed[ref.ID] == nil {
			retimed[ref.ID] = ref.Measure
		}
		if ratios, err = paired(ref.ID); err != nil {
			return err
		}
	}
	var noise deviceNoise
	var drift float64
	if *noiseRounds > 0 {
		if noise.backToBack, drift, err = reproducibility(ctx, w.Space, rt, ref.ID, distinct, *noiseRounds); err != nil {
			return err
		}
	}
	if len(scatters) > 0 {
		noise.scatter, noise.paired = median(scatters), true
	}
	practical := max(*threshold, noise.resolution())
	agree, err := search.Agreement(picks, ref.ID, ratios, practical)
	if err != nil {
		return err
	}

	t := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("rerun", "seed", "winner", "rate in its finals", "paired with the overall winner", "agrees", "its search timed the overall winner")
	n, same, missed, unknown := 0, 0, 0, 0
	for i, r := range runs {
		rel := "="
		if id := r.final.Winner.ID; id != ref.ID {
			rel = fmt.Sprintf("%+.1f%% time", 100*(ratios[id]-1))
		} else {
			same++
		}
		yes := "no"
		if agree[i] {
			yes, n = "yes", n+1
		}
		timed := "not kept"
		switch {
		case r.measured == nil:
			unknown++
		case r.measured[ref.ID]:
			timed = "yes"
		default:
			timed = "no"
			if !agree[i] {
				missed++
			}
		}
		t.Append(fmt.Sprint(i+1), fmt.Sprint(r.seed), r.final.Winner.ID, reports.FormatRate(r.final.Winner.Score, w.Unit), rel, yes, timed)
	}
	if err := t.Render(); err != nil {
		return err
	}
	rm := retimed[ref.ID]
	verdict, determined := stabilityVerdict(rerunCounts{runs: len(runs), agree: n, same: same}, noise, *criterion, *maxNoise)
	if !determined {
		verdict += fmt.Sprintf("; longer timings (now -samples %d -target %s) average more of its noise", *samples, *target)
	}
	fmt.Fprintf(stdout, "%s: overall winner %s, %s (95%% CI %s-%s)\n", w.Label, ref.ID, reports.FormatRate(rm.Work/rm.Median, w.Unit),
		reports.FormatRate(rm.Work/rm.Hi, w.Unit), reports.FormatRate(rm.Work/rm.Lo, w.Unit))
	if *noiseRounds > 0 {
		pairs := fmt.Sprintf("the paired rounds scattered by %.1f%% (median pair)", 100*noise.scatter)
		if !noise.paired {
			pairs = "no paired rounds (one kernel picked)"
		}
		fmt.Fprintf(stdout, "reproducibility: the winner re-timed back to back differs from itself by %.1f%% (median of %d rounds); its medians drifted by %.1f%% over them; %s; practical threshold %.1f%%\n",
			100*noise.backToBack, *noiseRounds, 100*drift, pairs, 100*practical)
	}
	fmt.Fprintf(stdout, "%d/%d reruns agree (%.0f%%; criterion %.0f%%): %s\n", n, len(runs), 100*float64(n)/float64(len(runs)), 100**criterion, verdict)
	if n < len(runs) && unknown == 0 {
		// Which part of a tune to mend: a search that never timed the
		// winner needs a better search or budget; one that did, its finals.
		fmt.Fprintf(stdout, "of the %d reruns that disagree, %d never timed the overall winner in their search\n", len(runs)-n, missed)
	}
	if plan.incumbent != "" {
		kept := 0
		for _, r := range runs {
			if r.final.Winner.ID == plan.incumbent {
				kept++
			}
		}
		how := "the overall winner"
		if r, ok := ratios[plan.incumbent]; ok {
			how = fmt.Sprintf("%+.1f%% time paired with the overall winner", 100*(r-1))
		} else if plan.incumbent != ref.ID {
			how = "not re-timed: no rerun picked it"
		}
		fmt.Fprintf(stdout, "incumbent %s: picked by %d/%d reruns (%s)\n", plan.incumbent, kept, len(runs), how)
	}
	return nil
}

// rerunCounts are a stability run's reruns: all of them, those that agree
// with the overall winner, and those that picked it itself.
type rerunCounts struct{ runs, agree, same int }

// deviceNoise is how well the device reproduced timings: the overall
// winner re-timed back to back, and the median pair's scatter over the
// paired rounds (paired: there were any).
type deviceNoise struct {
	backToBack, scatter float64
	paired              bool
}

// resolution is the smallest difference the device can tell apart: paired
// rounds that scatter more than the back-to-back re-timings resolve no
// finer than their scatter (the median pair's; the noisiest pair's says
// only how loud one moment of a shared machine was).
func (d deviceNoise) resolution() float64 {
	if d.paired {
		return max(d.backToBack, d.scatter)
	}
	return d.backToBack
}

// stabilityVerdict judges reruns: stable when the criterion's share of
// them agree, unless the device's noise exceeds maxNoise, which widens the
// practical threshold until different kernels agree by default; then it
// is undetermined, and stable only if the criterion's share picked the
// overall winner itself, which no noise can blur. determined is false for
// an undetermined verdict.
func stabilityVerdict(c rerunCounts, d deviceNoise, criterion, maxNoise float64) (verdict string, determined bool) {
	enough := func(k int) bool { return float64(k) >= criterion*float64(c.runs) }
	resolution := d.resolution()
	switch {
	case resolution <= maxNoise && enough(c.agree):
		return "stable", true
	case resolution <= maxNoise:
		return "not stable", true
	case enough(c.same):
		return fmt.Sprintf("stable: %d of them picked the overall winner itself, which the device's noise (resolution %.1f%%, past %.0f%%) cannot blur", c.same, 100*resolution, 100*maxNoise), true
	}
	limit := fmt.Sprintf("%.0f%%", 100*maxNoise)
	switch {
	case d.backToBack > maxNoise && d.paired && d.scatter > maxNoise:
		return "undetermined: the device reproduced neither the winner's own median back to back nor the paired rounds within " + limit, false
	case d.backToBack > maxNoise:
		return "undetermined: back to back, the device did not reproduce the winner's own median within " + limit, false
	}
	return "undetermined: the paired rounds scattered by more than " + limit, false
}

// idSet makes a set of point IDs; nil for none, as a -picks file written
// before it kept them reads.
func idSet(ids []string) map[string]bool {
	if len(ids) == 0 {
		return nil
	}
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}

// reproducibility re-times the point ref twice in a row in each of rounds
// rounds, each round after re-timing every other of picks once so that the
// rounds spread over the device's drift. resolution is the median over
// the rounds of how far the two back-to-back medians differ (|a/b - 1|):
// what a paired comparison of a kernel with itself shows, the smallest
// difference between two kernels the device can resolve. drift is how far
// ref's medians moved over the rounds: the largest over the smallest, less
// one.
func reproducibility(ctx context.Context, space *search.Space, rt search.Retimer, ref string, picks []search.Result, rounds int) (resolution, drift float64, err error) {
	retime := func(id string) (float64, error) {
		m, err := retimeID(ctx, space, rt, id)
		if err != nil {
			return 0, err
		}
		return m.Median, nil
	}
	var pairs, all []float64
	for range rounds {
		for _, p := range picks {
			if p.ID == ref {
				continue
			}
			if _, err := retime(p.ID); err != nil {
				return 0, 0, err
			}
		}
		a, err := retime(ref)
		if err != nil {
			return 0, 0, err
		}
		b, err := retime(ref)
		if err != nil {
			return 0, 0, err
		}
		pairs = append(pairs, math.Abs(a/b-1))
		all = append(all, a, b)
	}
	slices.Sort(pairs)
	return pairs[len(pairs)/2], slices.Max(all)/slices.Min(all) - 1, nil
}

// retimeID re-times the point of space with the given ID.
func retimeID(ctx context.Context, space *search.Space, rt search.Retimer, id string) (*search.Measurement, error) {
	p, err := space.Parse(id)
	if err != nil {
		return nil, err
	}
	m, err := rt.Retime(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("re-timing %s: %w", id, err)
	}
	return m, nil
}
