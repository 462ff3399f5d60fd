package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
)

func runBuckets(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("buckets", stderr, `After a sweep over several shapes of one op, merge neighbouring shapes (by
size) whose winners are within noise of each other into buckets served by
one kernel: a shape's winner is within noise on another shape if, timed
there, it falls inside that shape's winner's 95% interval or within
-threshold of its median. Timings come from the journal where both were
measured, else are measured now and journaled. Each bucket's kernel is then
checked on held-out shapes against a quick tune there, and the buckets go
into the profile, where lookups use them for shapes inside their range.`)
	op := fs.String("op", "matmul", "kernel family: matmul, gemv or gemm")
	formats := fs.String("formats", "", "gemv/gemm weight formats (default those sweep tunes)")
	adapter := fs.String("adapter", "auto", "adapter: auto, an index or a name substring")
	shapesFlag := fs.String("shapes", "", "the swept shapes to bucket, at least 2 (required)")
	holdoutFlag := fs.String("holdout", "auto", "held-out shapes: auto (the midpoint between neighbouring members of each bucket), none, or a comma-separated list")
	holdoutEvals := fs.Int("holdout-evals", 16, "candidates the quick tune on a held-out shape evaluates")
	strategy := fs.String("strategy", "bayes", "search strategy of the quick tune: "+strings.Join(search.MethodNames, ", "))
	threshold := fs.Float64("threshold", 0.01, "practical threshold: a time within this fraction of a winner's median is as good")
	where := fs.String("where", "", "restrict the quick tune's axes, as in sweep")
	profile := fs.String("profile", "", "profile holding the sweep's winners, updated with the buckets (default profiles/<adapter>.yaml)")
	journal := fs.String("journal", "", "the sweep's journal, appended to (default out/<adapter>.journal.jsonl)")
	samples := fs.Int("samples", 10, "timed passes per candidate (at least 10)")
	target := fs.Duration("target", 10*time.Millisecond, "length of one timed pass")
	seed := fs.Uint64("seed", 1, "seed of the quick tune")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *samples < 10 || *target <= 0 || *holdoutEvals < 1 || !(*threshold >= 0 && *threshold < 1) {
		return fmt.Errorf("parsing -samples/-target/-holdout-evals/-threshold: want at least 10 samples, a positive target, at least 1 evaluation and 0 <= threshold < 1")
	}
	if _, ok := search.NewMethod(*strategy); !ok {
		return fmt.Errorf("parsing -strategy: %q is not one of %s", *strategy, strings.Join(search.MethodNames, ", "))
	}
	dtypes, err := parseDtypes(*op, *formats)
	if err != nil {
		return fmt.Errorf("parsing -op/-formats: %w", err)
	}
	shapes, err := parseOpShapes(*op, *shapesFlag)
	if err != nil {
		return fmt.Errorf("parsing -shapes: %w", err)
	}
	if len(shapes) < 2 {
		return fmt.Errorf("parsing -shapes: buckets need at least 2 swept shapes")
	}
	var holdouts [][]int
	switch *holdoutFlag {
	case "auto", "none":
	default:
		if holdouts, err = parseOpShapes(*op, *holdoutFlag); err != nil {
			return fmt.Errorf("parsing -holdout: %w", err)
		}
	}

	dev, err := runner.Open(*adapter)
	if err != nil {
		return err
	}
	defer dev.Close()
	ident := profileAdapter(dev.Info)
	if *profile == "" {
		*profile = defaultProfile(ident)
	}
	if *journal == "" {
		*journal = filepath.Join("out", ident.Slug()+".journal.jsonl")
	}
	prof, err := profiles.Load(*profile)
	if err != nil {
		return fmt.Errorf("%w (run tune sweep over the shapes first)", err)
	}
	j, err := search.OpenJournal(*journal)
	if err != nil {
		return err
	}
	defer j.Close()
	fmt.Fprintf(stderr, "adapter: %s\nprofile: %s\njournal: %s\n", dev.Info, *profile, *journal)

	b := &bucketer{
		dev: dev, j: j, env: fingerprint(dev.Info), where: *where, stderr: stderr,
		timing: runner.TimeOptions{Samples: *samples, Target: *target},
		ws:     map[string]ops.Workload{},
	}
	defer b.close()
	var rows [][]string
	for _, dtype := range dtypes {
		var winners []search.ShapeWinner
		entries := map[string]profiles.Entry{}
		for _, dims := range shapes {
			e, exact, err := prof.Lookup(*op, dtype, dims)
			if err != nil || !exact {
				return fmt.Errorf("%s has no %s %s entry for %s: run tune sweep -op %s -shapes %s first", *profile, *op, dtype, shapeString(dims), *op, shapeString(dims))
			}
			entries[shapeString(dims)] = e
			winners = append(winners, search.ShapeWinner{Dims: dims, ID: e.ID, Measure: &search.Measurement{Median: e.Stats.Median, Lo: e.Stats.Lo, Hi: e.Stats.Hi}})
		}
		b.op, b.dtype = *op, dtype
		buckets, err := search.Buckets(ctx, winners, b, *threshold)
		if err != nil {
			return err
		}
		var out []profiles.Bucket
		for _, bk := range buckets {
			lo, hi := bk.Range()
			w, err := b.workload(bk.Members[0].Dims)
			if err != nil {
				return err
			}
			pb := profiles.Bucket{Lo: lo, Hi: hi, Kernel: w.Eval.Kernel(), ID: bk.ID}
			if p, err := w.Parse(bk.ID); err == nil {
				pb.Params = p.Params()
			}
			for _, m := range bk.Members {
				st := entries[shapeString(m.Dims)].Stats
				if m.Source != "winner" {
					st = stats(m.Measure)
				}
				pb.Members = append(pb.Members, profiles.Member{Shape: m.Dims, Fraction: m.Fraction, Source: m.Source, Stats: st})
			}
			out = append(out, pb)
		}
		// Held-out shapes: given, or the midpoints inside each bucket.
		hs := holdouts
		if *holdoutFlag == "auto" {
			for _, bk := range buckets {
				for i := 1; i < len(bk.Members); i++ {
					m := midShape(*op, bk.Members[i-1].Dims, bk.Members[i].Dims)
					if !sameShape(m, bk.Members[i-1].Dims) && !sameShape(m, bk.Members[i].Dims) {
						hs = append(hs, m)
					}
				}
			}
		}
		for _, h := range hs {
			in := -1
			for i := range out {
				if out[i].Contains(h) {
					in = i
					break
				}
			}
			if in < 0 {
				fmt.Fprintf(stderr, "%s %s: held-out shape %s lies in no bucket; skipped\n", *op, dtype, shapeString(h))
				continue
			}
			ho, err := b.holdout(ctx, h, out[in].ID, *strategy, *holdoutEvals, *seed, *threshold)
			if err != nil {
				return err
			}
			if ho != nil {
				out[in].Holdout = append(out[in].Holdout, *ho)
			}
		}
		prof.SetBuckets(*op, dtype, out)
		for _, bk := range out {
			rng := shapeString(bk.Lo) + ".." + shapeString(bk.Hi)
			for _, m := range bk.Members {
				rows = append(rows, []string{dtype, rng, bk.ID, shapeString(m.Shape), "swept", fmt.Sprintf("%.1f%%", 100*m.Fraction), m.Source})
			}
			for _, h := range bk.Holdout {
				rows = append(rows, []string{dtype, rng, bk.ID, shapeString(h.Shape), "held out", fmt.Sprintf("%.1f%%", 100*h.Fraction), fmt.Sprintf("best of %d: %s", h.Evals, h.Best)})
			}
		}
	}
	prof.Tool = "tune buckets " + strings.Join(args, " ")
	if err := prof.Save(*profile); err != nil {
		return fmt.Errorf("saving profile: %w", err)
	}
	t := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("dtype", "bucket", "kernel", "shape", "kind", "of best", "evidence")
	for _, r := range rows {
		t.Append(r)
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "profile: %s\n", *profile)
	return ctx.Err()
}

// bucketer times points on the shapes of one op and dtype: from the
// journal where recorded, else on the device, journaling what it measures.
type bucketer struct {
	dev       *runner.Device
	j         *search.Journal
	env       string
	where     string
	timing    runner.TimeOptions
	op, dtype string
	ws        map[string]ops.Workload // by task
	stderr    io.Writer
}

var _ search.CrossTimer = (*bucketer)(nil)

func (b *bucketer) workload(dims []int) (ops.Workload, error) {
	s := opShape{b.op, b.dtype, dims}
	if w, ok := b.ws[s.task()]; ok {
		return w, nil
	}
	w, err := workload(b.dev, s, b.timing)
	if err != nil {
		return w, err
	}
	if err := restrict(w.Space, b.where); err != nil {
		w.Eval.Close()
		return w, fmt.Errorf("parsing -where: %w", err)
	}
	b.ws[s.task()] = w
	return w, nil
}

func (b *bucketer) close() {
	for _, w := range b.ws {
		w.Eval.Close()
	}
}

// time returns point id's result on dims: journaled, or measured now.
func (b *bucketer) time(ctx context.Context, w ops.Workload, id string) (search.Result, error) {
	task := search.Task{Name: w.Task, Env: b.env}
	if r, ok := b.j.Lookup(task, w.Eval.Kernel(), id); ok {
		return r, nil
	}
	// Parse checks no constraint: a bucket's kernel is timed even where
	// -where would leave it out.
	p, err := w.Parse(id)
	if err != nil {
		return search.Result{Status: search.Rejected, Reason: err.Error()}, nil
	}
	r := w.Eval.Evaluate(ctx, p)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	r.Task, r.Env, r.Kernel, r.ID, r.Params = task.Name, task.Env, w.Eval.Kernel(), id, p.Params()
	what := "rejected: " + firstLine(r.Reason)
	if r.Status == search.OK {
		what = fmt.Sprintf("%.4g s", r.Measure.Median)
	}
	fmt.Fprintf(b.stderr, "%s: %s %s\n", w.Label, id, what)
	return r, b.j.Append(r)
}

func (b *bucketer) CrossTime(ctx context.Context, dims []int, id string) (search.Result, error) {
	w, err := b.workload(dims)
	if err != nil {
		return search.Result{}, err
	}
	return b.time(ctx, w, id)
}

// holdout times the bucket's kernel on a shape left out of the sweep
// against a quick tune there, re-timing the two side by side when they
// differ. It returns nil, after a warning, when the kernel fails there.
func (b *bucketer) holdout(ctx context.Context, dims []int, id, strategy string, evals int, seed uint64, threshold float64) (*profiles.Holdout, error) {
	w, err := b.workload(dims)
	if err != nil {
		return nil, err
	}
	mine, err := b.time(ctx, w, id)
	if err != nil {
		return nil, err
	}
	if mine.Status != search.OK {
		fmt.Fprintf(b.stderr, "warning: %s: the bucket's kernel %s fails on held-out shape %s: %s\n", w.Label, id, shapeString(dims), firstLine(mine.Reason))
		return nil, nil
	}
	m, _ := search.NewMethod(strategy)
	rec := &progress{w: b.stderr, shape: w.Label + " (held out)", unit: w.Unit}
	sum, err := search.Run(ctx, search.Task{Name: w.Task, Env: b.env}, w.Space, m, w.Eval, search.Settings{MaxEvals: evals, Seed: seed}, b.j, rec)
	if err != nil {
		return nil, err
	}
	h := &profiles.Holdout{Shape: dims, Evals: sum.Evals, Best: id, Fraction: 1}
	if best := sum.Best; best != nil && best.ID != id {
		if best.Measure.Median < mine.Measure.Median {
			h.Best, h.Fraction = best.ID, best.Measure.Median/mine.Measure.Median
		}
		if rt, ok := w.Eval.(search.Retimer); ok {
			// Paired re-timing, so that drift touches both alike: the
			// fraction is the paired rounds' ratio, not of medians pooled
			// over them.
			f, err := search.Finals(ctx, w.Space, []search.Result{mine, *best}, rt, search.FinalOptions{Finalists: 2, Threshold: threshold})
			if err != nil {
				return nil, err
			}
			// A tie goes to the simpler kernel: the bucket's may have lost
			// one while faster, and reaches all of the best.
			h.Best, h.Fraction = f.Winner.ID, min(1, 1/(1+f.Margin))
			if f.Winner.ID == id {
				h.Fraction = 1
			}
			for _, r := range f.Finalists {
				if r.ID == id {
					mine = r
				}
			}
		}
	}
	h.Stats = stats(mine.Measure)
	return h, nil
}
