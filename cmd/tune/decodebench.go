package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

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
	m, g, dev, closeAll, err := openDevice(b.src, b.adapter, b.profile, capacity, max(b.prefill, 1), stderr)
	if err != nil {
		return err
	}
	defer closeAll()
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

	fmt.Fprintf(stderr, "measuring the copy bandwidth\n")
	roofs, err := ops.MeasureRoofs(ctx, dev, runner.TimeOptions{})
	if err != nil {
		return err
	}
	bw := roofs.Copy.Score
	results := []search.Result{roofs.Copy}
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
		weights, kv int64
	}
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
		rows = append(rows, row{c, tok, bytes, w, kv})
		results = append(results, tok, bytes)
	}

	fmt.Fprintf(stdout, "%s %s on %s: %d dispatches per token; copy bandwidth %s\n", b.src.path, dtype, dev.Info.Name,
		g.DispatchesPerStep(), reports.FormatRate(bw, "B/s"))
	if b.prefill > 0 {
		fmt.Fprintf(stdout, "prefill %d positions (%s): %.1f tok/s\n", b.prefill, prefillKind, prefillRate)
	}
	t := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("context", "tok/s (95% CI of the median)", "ms/token", "read/token (weights + KV)", "roofline tok/s", "of roofline")
	for _, r := range rows {
		m := r.tok.Measure
		read := float64(r.weights + r.kv)
		roof := bw / read
		rate := fmt.Sprintf("%.1f", m.Rate())
		if m.Lo > 0 && !math.IsInf(m.Hi, 0) {
			rate += fmt.Sprintf(" (%.1f-%.1f)", 1/m.Hi, 1/m.Lo)
		}
		t.Append(strconv.Itoa(r.ctx), rate, fmt.Sprintf("%.3f", 1e3*m.Median),
			fmt.Sprintf("%.3g GB (%.3g + %.3g)", read/1e9, float64(r.weights)/1e9, float64(r.kv)/1e9),
			fmt.Sprintf("%.1f", roof), fmt.Sprintf("%.0f%%", 100*m.Rate()/roof))
	}
	if err := t.Render(); err != nil {
		return err
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

// measured makes a result of wall-clock samples (seconds per op, each the
// mean of repeats ops) of work units each.
func measured(task, id string, secs []float64, repeats int, work float64, unit string) search.Result {
	t := runner.Timing{Samples: secs}
	t.Summarize()
	m := &search.Measurement{Clock: "wall", Repeats: repeats, Samples: secs, Median: t.Median, Lo: t.Lo, Hi: t.Hi, Work: work, Unit: unit}
	return search.Result{Task: task, Kernel: "llama", ID: id, Status: search.OK, Score: m.Rate(), Measure: m}
}

// openDevice is openGPU that also returns the device.
func openDevice(src modelSource, adapter, profile string, context, batch int, stderr io.Writer) (*llama.Model, *llama.GPU, *runner.Device, func(), error) {
	start := time.Now()
	m, g, closeAll, err := openGPU(src, adapter, profile, context, batch, stderr)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	fmt.Fprintf(stderr, "ready in %s\n", time.Since(start).Round(time.Millisecond))
	return m, g, g.Device(), closeAll, nil
}
