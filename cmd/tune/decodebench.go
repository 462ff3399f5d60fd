package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/reports"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// decodeBench is tune run -context: decode tokens per second at several
// context lengths against the bandwidth roofline, and batched prefill.
type decodeBench struct {
	src              modelSource
	adapter, profile string
	contexts         []int // ascending
	steps            int   // greedy steps per timed pass
	prefill          int   // prompt positions of the timed prefill; 0: none
	passes           int
	results          string
	breakdown        bool // time each dispatch of a step at each context
}

// parseContexts reads -context: positive lengths, returned ascending.
func parseContexts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("parsing -context: %q is not a positive context length", f)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (b decodeBench) run(ctx context.Context, stdout, stderr io.Writer) error {
	capacity := max(b.contexts[len(b.contexts)-1]+b.steps, b.prefill)
	switch {
	case b.passes < 1 || b.prefill < 0:
		return fmt.Errorf("parsing -passes/-prefill: want passes >= 1 and prefill >= 0")
	case capacity > templates.MaxAttentionSeq:
		return fmt.Errorf("parsing -context/-steps/-prefill: %d positions; the decode attention kernel holds at most %d", capacity, templates.MaxAttentionSeq)
	}
	// The copy roof is measured on the bare device before the upload and
	// again after the benchmark; the best stands (see roofTiming).
	var copies, floors []search.Result
	roof := func(dev *runner.Device, when string) error {
		fmt.Fprintf(stderr, "measuring the copy bandwidth %s\n", when)
		r, err := ops.MeasureRoofs(ctx, dev, roofTiming)
		if err != nil {
			return err
		}
		copies = append(copies, r.Copy)
		floors = append(floors, r.Dispatch)
		return nil
	}
	m, g, closeAll, err := openGPUWith(b.src, b.adapter, b.profile, capacity, max(b.prefill, 1), stderr,
		func(dev *runner.Device) error {
			if b.breakdown && !dev.Timestamps() {
				return fmt.Errorf("parsing -breakdown: %s has no timestamp queries to time single dispatches with", dev.Info.Name)
			}
			return roof(dev, "before the upload")
		})
	if err != nil {
		return err
	}
	defer closeAll()
	dev := g.Device()
	name := strings.TrimPrefix(b.src.path, llama.SyntheticPrefix)
	if !strings.HasPrefix(b.src.path, llama.SyntheticPrefix) {
		name = filepath.Base(name)
	}
	dtype := "f32"
	if b.src.format != nil {
		dtype = b.src.format.String()
	} else if m.Output.Q != nil {
		dtype = m.Output.Q.Format.String()
	}
	if b.src.kv8 {
		dtype += "-kv8"
	}

	var results []search.Result
	rng := rand.New(rand.NewPCG(1, 2))
	token := func() int { return rng.IntN(m.VocabSize) }

	var prefillRate float64
	prefillKind := "batched"
	if b.prefill > 0 {
		if !g.Batchable() {
			prefillKind = "one position per step"
		}
		tokens := make([]int, b.prefill)
		for i := range tokens {
			tokens[i] = token()
		}
		var secs []float64
		for pass := range b.passes + 1 { // the first records and compiles
			if err := ctx.Err(); err != nil {
				return err
			}
			_, d, err := g.PrefillTokens(tokens)
			if err != nil {
				return err
			}
			if pass > 0 {
				secs = append(secs, d.Seconds())
			}
		}
		r := measured(fmt.Sprintf("prefill/%s/model=%s/M=%d", dtype, name, b.prefill), "prefill="+strings.ReplaceAll(prefillKind, " ", "-"), secs, 1, float64(b.prefill), "tok/s")
		prefillRate = r.Score
		results = append(results, r)
		fmt.Fprintf(stderr, "prefill %d positions (%s): %.1f tok/s\n", b.prefill, prefillKind, prefillRate)
	}

	type row struct {
		ctx         int
		tok, bytes  search.Result
		chain       search.Result // the step's dispatches as reads of its bytes
		weights, kv int64
		profile     *llama.StepProfile // with -breakdown
		// kernelReads are, with -breakdown, the seconds per step of each
		// kernel's dispatches as a chain of reads of their bytes, by name.
		kernelReads map[string]float64
	}
	chains := ops.NewReadChains(dev, runner.TimeOptions{})
	var rows []row
	for _, c := range b.contexts {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "context %d: filling the cache, %d passes of %d steps\n", c, b.passes, b.steps)
		if err := g.FillCache(c, uint64(c)); err != nil {
			return err
		}
		var secs []float64
		for pass := range b.passes + 1 { // the first warms up
			_, d, err := g.DecodeSteps(token(), c, b.steps)
			if err != nil {
				return err
			}
			if pass > 0 {
				secs = append(secs, d.Seconds()/float64(b.steps))
			}
		}
		// A step at position p reads the caches up to p: the mean over the
		// pass's positions.
		kv := (g.KVBytes(c) + g.KVBytes(c+b.steps-1)) / 2
		w := g.WeightBytes()
		id := fmt.Sprintf("steps=%d", b.steps)
		tok := measured(fmt.Sprintf("decode/%s/model=%s/ctx=%d", dtype, name, c), id, secs, b.steps, 1, "tok/s")
		bytes := measured(fmt.Sprintf("decodebytes/%s/model=%s/ctx=%d", dtype, name, c), id, secs, b.steps, float64(w+kv), "B/s")
		rw := row{ctx: c, tok: tok, bytes: bytes, weights: w, kv: kv}
		fmt.Fprintf(stderr, "context %d: timing the step's %d dispatches as reads of its bytes\n", c, g.DispatchesAt(c))
		// The chain is a bound beside the benchmark, not the benchmark: a
		// device without memory to spare for its sources still reports.
		if chain, err := chains.Measure(ctx, fmt.Sprintf("readchain/%s/model=%s/ctx=%d", dtype, name, c), g.StepBytes(c)); err != nil {
			fmt.Fprintf(stderr, "warning: context %d: the step as a chain of reads was not measured: %v\n", c, err)
		} else {
			rw.chain = chain
			results = append(results, chain)
		}
		if b.breakdown {
			fmt.Fprintf(stderr, "context %d: timing each dispatch of a step, %d runs\n", c, b.passes)
			if rw.profile, err = g.ProfileStep(c, b.passes); err != nil {
				return err
			}
			results = append(results, breakdownResults(fmt.Sprintf("%s/model=%s/ctx=%d", dtype, name, c), rw.profile)...)
			fmt.Fprintf(stderr, "context %d: timing each kernel's dispatches as reads of their bytes\n", c)
			rw.kernelReads = map[string]float64{}
			for _, k := range rw.profile.Kernels {
				chain, err := chains.Measure(ctx, fmt.Sprintf("readchain/%s/model=%s/ctx=%d/op=%s/shape=%s", dtype, name, c, k.Kernel, k.Shape), k.Sizes)
				if err != nil {
					fmt.Fprintf(stderr, "warning: context %d: %s as a chain of reads was not measured: %v\n", c, k.Name(), err)
					continue
				}
				rw.kernelReads[k.Name()] = 1 / chain.Score
				results = append(results, chain)
			}
		}
		rows = append(rows, rw)
		results = append(results, tok, bytes)
	}
	if err := roof(dev, "after the benchmark"); err != nil {
		return err
	}
	best := slices.MaxFunc(copies, func(a, b search.Result) int { return cmp.Compare(a.Score, b.Score) })
	bw := best.Score
	// The fastest dispatch measured: the bound it gives is the loosest.
	floor := slices.MaxFunc(floors, func(a, b search.Result) int { return cmp.Compare(a.Score, b.Score) })
	results = append(results, best, floor)

	floorSecs := 1 / floor.Score
	fmt.Fprintf(stdout, "%s %s on %s: %d dispatches per token; copy bandwidth %s (best of %s); a dispatch costs at least %s\n", b.src.path, dtype, dev.Info.Name,
		g.DispatchesPerStep(), reports.FormatRate(bw, "B/s"), roofList(copies), reports.FormatSeconds(floorSecs))
	if lo := slices.MinFunc(copies, func(a, b search.Result) int { return cmp.Compare(a.Score, b.Score) }); lo.Score < 0.9*bw {
		fmt.Fprintf(stdout, "warning: the copy bandwidth varied by more than 10%% (%s); the device was not in a steady state for one measurement\n", roofList(copies))
	}
	if b.prefill > 0 {
		fmt.Fprintf(stdout, "prefill %d positions (%s): %.1f tok/s\n", b.prefill, prefillKind, prefillRate)
	}
	t := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("context", "tok/s (95% CI of the median)", "ms/token", "read/token (weights + KV)", "roofline tok/s", "of roofline", "with dispatch floor", "of that", "read chain", "of roofline", "of that")
	for _, r := range rows {
		m := r.tok.Measure
		read := float64(r.weights + r.kv)
		roof := bw / read
		// The roofline with every dispatch of the step paying the floor.
		bound := 1 / (read/bw + float64(g.DispatchesAt(r.ctx))*floorSecs)
		rate := fmt.Sprintf("%.1f", m.Rate())
		if m.Lo > 0 && !math.IsInf(m.Hi, 0) {
			rate += fmt.Sprintf(" (%.1f-%.1f)", 1/m.Hi, 1/m.Lo)
		}
		cells := []string{strconv.Itoa(r.ctx), rate, fmt.Sprintf("%.3f", 1e3*m.Median),
			fmt.Sprintf("%.3g GB (%.3g + %.3g)", read/1e9, float64(r.weights)/1e9, float64(r.kv)/1e9),
			fmt.Sprintf("%.1f", roof), fmt.Sprintf("%.0f%%", 100*m.Rate()/roof),
			fmt.Sprintf("%.1f", bound), fmt.Sprintf("%.0f%%", 100*m.Rate()/bound)}
		if err := t.Append(append(cells, chainCells(r.chain.Score, roof, m.Rate())...)); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.profile != nil {
			if err := writeBreakdown(stdout, r.ctx, r.profile, r.kernelReads, r.tok.Measure.Median, bw); err != nil {
				return err
			}
		}
	}
	for _, k := range g.Kernels {
		fmt.Fprintf(stdout, "kernel: %s\n", k)
	}

	path := b.results
	if path == "" {
		path = filepath.Join("out", profileAdapter(dev.Info).Slug()+".decode.txt")
	}
	config := [][2]string{{"adapter", dev.Info.Name}, {"driver", dev.Info.Driver}, {"backend", dev.Info.Backend},
		{"templates", templates.Fingerprint()}, {"model", b.src.path}}
	if err := reports.WriteFileAtomic(path, func(w io.Writer) error { return reports.WriteResults(w, config, results) }); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "results: %s\n", path)
	return nil
}

// chainCells are the read chain's columns: its rate, as a fraction of the
// roofline, and the decode rate as a fraction of it; dashes where it was
// not measured.
func chainCells(chain, roof, rate float64) []string {
	if chain <= 0 {
		return []string{"-", "-", "-"}
	}
	return []string{fmt.Sprintf("%.1f", chain), fmt.Sprintf("%.0f%%", 100*chain/roof), fmt.Sprintf("%.0f%%", 100*rate/chain)}
}

// measured makes a result of wall-clock samples (seconds per op, each the
// mean of repeats ops) of work units each.
func measured(task, id string, secs []float64, repeats int, work float64, unit string) search.Result {
	t := runner.Timing{Samples: secs}
	t.Summarize()
	m := &search.Measurement{Clock: "wall", Repeats: repeats, Samples: secs, Median: t.Median, Lo: t.Lo, Hi: t.Hi, Work: work, Unit: unit}
	return search.Result{Task: task, Kernel: "llama", ID: id, Status: search.OK, Score: m.Rate(), Measure: m}
}

// roofTiming times the copy roof: 20 warm-up passes (about 200ms of
// copying) so that a device coming out of idle or out of a long upload
// reaches its steady clocks before the samples are taken.
var roofTiming = runner.TimeOptions{Warmup: 20}

// roofList lists the copy roofs measured, in order.
func roofList(copies []search.Result) string {
	parts := make([]string, len(copies))
	for i, c := range copies {
		parts[i] = reports.FormatRate(c.Score, "B/s")
	}
	return strings.Join(parts, ", ")
}

// breakdownResults are a step profile's measurements: per kernel and shape
// the seconds per step and bytes moved per second, and the step's totals
// in tokens per second (the dispatches added up, the step in one pass,
// the host's encoding and submission). prefix is dtype/model=/ctx=.
func breakdownResults(prefix string, p *llama.StepProfile) []search.Result {
	var out []search.Result
	add := func(task, id string, secs []float64, work float64, unit string) {
		r := measured(task, id, secs, 1, work, unit)
		r.Measure.Clock = "timestamp"
		out = append(out, r)
	}
	for _, k := range p.Kernels {
		add("decodekernel/"+prefix, fmt.Sprintf("op=%s/shape=%s", k.Kernel, k.Shape), k.Samples, float64(k.Bytes), "B/s")
		if slices.Min(k.InPass) > 0 { // a noisy share of a short kernel can come out negative
			add("decodeinpass/"+prefix, fmt.Sprintf("op=%s/shape=%s", k.Kernel, k.Shape), k.InPass, float64(k.Bytes), "B/s")
		}
	}
	add("decodestep/"+prefix, "part=dispatches", p.Sum, 1, "tok/s")
	add("decodestep/"+prefix, "part=pass", p.Pass, 1, "tok/s")
	add("decodestep/"+prefix, "part=host", p.Host, 1, "tok/s")
	out[len(out)-1].Measure.Clock = "wall"
	return out
}

// writeBreakdown prints where a step's GPU time goes at context ctx, by
// kernel and shape, largest share of the pass first, with each kernel's
// dispatches timed as a chain of reads of their bytes where reads has
// them (seconds per step by name); wall is the decode loop's seconds per
// token, bw the copy roof.
func writeBreakdown(w io.Writer, ctx int, p *llama.StepProfile, reads map[string]float64, wall, bw float64) error {
	sum, pass, host := median(p.Sum), median(p.Pass), median(p.Host)
	fmt.Fprintf(w, "\nstep breakdown at context %d: %d dispatches; in pass: what each kernel's dispatches add to the step's pass when run twice; alone: each dispatch in a pass of its own (medians of %d runs)\n", ctx, p.Dispatches, len(p.Sum))
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("kernel", "shape", "computes", "per step", "µs in pass", "of pass", "µs alone", "MB/step", "GB/s in pass", "of copy roof", "µs as reads", "reads/in pass")
	var bytes int64
	var inPass float64
	for _, k := range p.Kernels {
		bytes += k.Bytes
		inPass += k.InPassMedian
		rate, ofRoof := "-", "-" // a share lost in the pass's noise has no rate
		if k.InPassMedian > 0 {
			r := float64(k.Bytes) / k.InPassMedian
			rate, ofRoof = fmt.Sprintf("%.3g", r/1e9), fmt.Sprintf("%.0f%%", 100*r/bw)
		}
		asReads, ofReads := "-", "-"
		if r, ok := reads[k.Name()]; ok {
			asReads = fmt.Sprintf("%.1f", 1e6*r)
			if k.InPassMedian > 0 {
				ofReads = fmt.Sprintf("%.0f%%", 100*r/k.InPassMedian)
			}
		}
		t.Append(k.Kernel, k.Shape, strings.Join(k.Roles, "; "), strconv.Itoa(k.Count), fmt.Sprintf("%.1f", 1e6*k.InPassMedian),
			fmt.Sprintf("%.1f%%", 100*k.InPassMedian/pass), fmt.Sprintf("%.1f", 1e6*k.Median), fmt.Sprintf("%.3g", float64(k.Bytes)/1e6),
			rate, ofRoof, asReads, ofReads)
	}
	t.Footer("all", "", "", strconv.Itoa(p.Dispatches), fmt.Sprintf("%.1f", 1e6*inPass), fmt.Sprintf("%.1f%%", 100*inPass/pass),
		fmt.Sprintf("%.1f", 1e6*sum), fmt.Sprintf("%.3g", float64(bytes)/1e6),
		fmt.Sprintf("%.3g", float64(bytes)/pass/1e9), fmt.Sprintf("%.0f%%", 100*float64(bytes)/pass/bw), "", "")
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "the step in one pass: %.1f µs (its bytes at %s of the copy roof); dispatches alone: %.1f µs; host encode and submit: %.1f µs; decode loop: %.1f µs per token\n",
		1e6*pass, fmt.Sprintf("%.0f%%", 100*float64(bytes)/pass/bw), 1e6*sum, 1e6*host, 1e6*wall)
	for _, warn := range p.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	return nil
}

// median is the median of samples.
func median(samples []float64) float64 {
	t := runner.Timing{Samples: samples}
	t.Summarize()
	return t.Median
}
