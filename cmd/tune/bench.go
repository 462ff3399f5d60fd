package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/reports"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

func runBench(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("bench", stderr, `Re-measure the kernels a profile chose (matmul and the GEMVs, fused variants
included), each at its tuned shape, and the device's roofs; write them as a
results file for tune report.`)
	adapter := fs.String("adapter", "auto", "adapter: auto, an index or a name substring")
	dir := fs.String("dir", "profiles", "folder of profiles, searched for the adapter's")
	results := fs.String("results", "", "results file to write (default out/<adapter>.bench.txt)")
	samples := fs.Int("samples", 10, "timed passes per kernel and round (at least 10)")
	rounds := fs.Int("rounds", 6, "rounds: each re-creates every kernel's buffers and writes one line per kernel, the median of its passes")
	target := fs.Duration("target", 10*time.Millisecond, "length of one timed pass")
	baseline := fs.Bool("baseline", false, "also measure the naive baseline at each shape")
	roofs := fs.Bool("roofs", true, "also measure the copy and fma roofs")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *samples < 10 || *target <= 0 || *rounds < 1 {
		return fmt.Errorf("parsing -samples/-target/-rounds: want at least 10 samples, a positive target and a round")
	}
	dev, err := runner.Open(*adapter)
	if err != nil {
		return err
	}
	defer dev.Close()
	ident := profileAdapter(dev.Info)
	prof, path, warnings, err := profiles.Find(*dir, ident)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if prof == nil {
		return fmt.Errorf("bench: no profile for %s in %s", dev.Info.Name, *dir)
	}
	if *results == "" {
		*results = "out/" + ident.Slug() + ".bench.txt"
	}
	fmt.Fprintf(stderr, "adapter: %s\nprofile: %s\n", dev.Info, path)
	timing := runner.TimeOptions{Samples: *samples, Target: *target}
	space := ops.Space(ops.DeviceLimits(dev))
	var out []search.Result
	// Rounds interleave the kernels, so that a slow spell of the machine
	// touches all of them, and each round's median is one line: rounds, not
	// passes, are the independent samples a comparison tests.
	for round := 1; round <= *rounds; round++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if *roofs {
			r, err := ops.MeasureRoofs(ctx, dev, timing)
			if err != nil {
				return fmt.Errorf("measuring roofs: %w", err)
			}
			fmt.Fprintf(stderr, "round %d: roofs: %s\n", round, roofsLine(r))
			out = append(out, perRound(r.Copy), perRound(r.FMA), perRound(r.Dispatch), perRound(r.Unordered))
		}
		for _, e := range prof.Entries {
			rs, err := benchGemv(ctx, dev, e, timing, *baseline)
			if err != nil {
				return fmt.Errorf("profile %s: entry %s %v: %w", path, e.Op, e.Shape, err)
			}
			for _, r := range rs {
				fmt.Fprintf(stderr, "round %d: %s %s: %s\n", round, r.Task, r.ID, reports.FormatRate(r.Score, r.Measure.Unit))
				out = append(out, perRound(r))
			}
			if e.Op != "matmul" || e.Dtype != "f32" || len(e.Shape) != 3 {
				continue
			}
			p, err := space.Parse(e.ID)
			if err != nil {
				return fmt.Errorf("profile %s: entry %v: %w", path, e.Shape, err)
			}
			shape := ops.Shape{M: e.Shape[0], N: e.Shape[1], K: e.Shape[2]}
			eval := &ops.Evaluator{Dev: dev, Shape: shape, Timing: timing}
			kernels := []ops.Kernel{ops.Params(p)}
			if *baseline {
				kernels = append(kernels, ops.Baseline)
			}
			for _, k := range kernels {
				r := eval.EvaluateKernel(ctx, k)
				r.Task = shape.Task()
				if r.Status != search.OK {
					eval.Close()
					return fmt.Errorf("bench %s %s: %s", shape, k, r.Reason)
				}
				fmt.Fprintf(stderr, "round %d: %s %s %s: %s\n", round, shape, k.Name(), k, reports.FormatRate(r.Score, r.Measure.Unit))
				out = append(out, perRound(r))
			}
			eval.Close()
		}
	}
	config := [][2]string{{"adapter", dev.Info.Name}, {"driver", dev.Info.Driver}, {"backend", dev.Info.Backend}, {"templates", templates.Fingerprint()}}
	if err := reports.WriteFileAtomic(*results, func(w io.Writer) error { return reports.WriteResults(w, config, out) }); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "results: %s\n", *results)
	return nil
}

// benchGemv re-measures a GEMV entry of a profile (the plain GEMV or a
// fused variant) at its tuned shape, and the baseline kernel if asked;
// nothing for entries of other ops.
func benchGemv(ctx context.Context, dev *runner.Device, e profiles.Entry, timing runner.TimeOptions, baseline bool) ([]search.Result, error) {
	var v ops.GemvVariant
	switch {
	case e.Op == "gemv":
	case strings.HasPrefix(e.Op, "gemv-") && e.Op != "gemv-a8":
		var err error
		if v, err = ops.ParseGemvVariant(strings.TrimPrefix(e.Op, "gemv-")); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	if len(e.Shape) != 2 {
		return nil, fmt.Errorf("shape %v: want [N, K]", e.Shape)
	}
	f, err := quant.ParseFormat(e.Dtype)
	if err != nil {
		return nil, err
	}
	p, err := ops.ParseGemvID(ops.GemvVariantSpace(f, v, ops.DeviceLimits(dev)), e.ID)
	if err != nil {
		return nil, err
	}
	shape := ops.GemvShape{Rows: e.Shape[0], Cols: e.Shape[1]}
	eval := &ops.GemvEvaluator{Dev: dev, Shape: shape, Format: f, Variant: v, Timing: timing}
	defer eval.Close()
	kernels := []templates.Gemv{v.Apply(ops.GemvParams(p, f))}
	if baseline {
		kernels = append(kernels, v.Apply(ops.GemvBaseline(f)))
	}
	var out []search.Result
	for _, k := range kernels {
		r := eval.EvaluateKernel(ctx, k)
		if r.Status != search.OK {
			return nil, fmt.Errorf("bench %s %s: %s", shape, k, r.Reason)
		}
		r.Task = v.Task(shape, f)
		out = append(out, r)
	}
	return out, nil
}

// perRound reduces a measurement to its median: one sample of a round.
func perRound(r search.Result) search.Result {
	m := *r.Measure
	m.Repeats *= len(m.Samples)
	m.Samples = []float64{m.Median}
	r.Measure = &m
	return r
}
