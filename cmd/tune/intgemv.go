package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/reports"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

func runIntGemv(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("intgemv", stderr, `Compare the integer GEMV (int8 activations, i32 sums; tune sweep -op gemv-a8) with the
f32-dequantizing GEMV (tune sweep -op gemv) on the same shapes and weights. Each path runs
the profile's kernel for the shape (the nearest tuned shape's, or the baseline when the
profile has none), validated against its CPU reference and timed the same way; the int8
quantizer of the activations is timed alone. SPEEDUP is the f32 time over the integer time;
+QUANT adds one quantization to every integer GEMV, the worst case (in a decode step Q, K and
V share one, as do gate and up).`)
	adapter := fs.String("adapter", "auto", "adapter: auto, an index or a name substring (see tune adapters)")
	dir := fs.String("dir", "profiles", "folder of profiles")
	shapesFlag := fs.String("shapes", "", "comma-separated NxK shapes (default: the gemv sweep's shapes for the adapter)")
	formatsFlag := fs.String("formats", "int8-g32-sym,int4-g32-sym", "symmetric weight formats")
	samples := fs.Int("samples", 10, "timed passes per kernel (at least 10)")
	target := fs.Duration("target", 10*time.Millisecond, "length of one timed pass")
	lanes := fs.Int("lanes", 0, "outputs per weight copy, as tune sweep's -lanes")
	static := fs.Float64("static", 0, "a static activation scale (the inputs are uniform in [-1, 1): 1/127 covers them); 0 quantizes dynamically, by absmax")
	out := fs.String("o", "", "also write the measurements to this results file (Go benchmark format, written atomically)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *static < 0 || *static > 1e30 || *static != *static {
		return fmt.Errorf("parsing -static: %g is not a scale: want 0 (dynamic) or a positive float", *static)
	}
	if *samples < 10 || *target <= 0 {
		return fmt.Errorf("parsing -samples/-target: want at least 10 samples and a positive target")
	}
	var formats []quant.Format
	for _, name := range strings.Split(*formatsFlag, ",") {
		f, err := quant.ParseFormat(strings.TrimSpace(name))
		if err == nil {
			err = ops.CheckA8Format(f)
		}
		if err != nil {
			return fmt.Errorf("parsing -formats: %w", err)
		}
		formats = append(formats, f)
	}
	var shapes []ops.GemvShape
	if *shapesFlag != "" {
		var err error
		if shapes, err = ops.ParseGemvShapes(*shapesFlag); err != nil {
			return fmt.Errorf("parsing -shapes: %w", err)
		}
	}
	dev, err := runner.Open(*adapter)
	if err != nil {
		return err
	}
	defer dev.Close()
	fmt.Fprintf(stderr, "adapter: %s\n", dev.Info)
	if shapes == nil {
		shapes = ops.DefaultGemvShapes(dev.Info)
	}
	prof, _, _, err := profiles.Find(*dir, profileAdapter(dev.Info))
	if err != nil {
		return err
	}
	timing := runner.TimeOptions{Samples: *samples, Target: *target}
	lim := ops.DeviceLimits(dev)

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SHAPE\tFORMAT\tF32 KERNEL\tF32\tINT KERNEL\tINT\tQUANT\tSPEEDUP\t+QUANT")
	var runs []search.Result
	for _, f := range formats {
		for _, s := range shapes {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fk := ops.GemvBaseline(f)
			if e, ok := lookupEntry(prof, "gemv", f, s); ok {
				p, err := ops.ParseGemvID(ops.GemvSpace(f, lim), e.ID)
				if err == nil && ops.GemvParams(p, f).Fits(s.Rows, s.Cols) {
					fk = ops.GemvParams(p, f)
				} else {
					fmt.Fprintf(stderr, "warning: %s %s: the profile's gemv %s is unusable here, running the baseline\n", s, f, e.ID)
				}
			}
			ik := ops.GemvA8Baseline(f)
			if e, ok := lookupEntry(prof, "gemv-a8", f, s); ok {
				k, err := ops.GemvA8ParamsFromID(e.ID, f, lim)
				if err == nil && k.Fits(s.Rows, s.Cols) {
					ik = k
				} else {
					fmt.Fprintf(stderr, "warning: %s %s: the profile's gemv-a8 %s is unusable here, running the baseline\n", s, f, e.ID)
				}
			}
			fe := &ops.GemvEvaluator{Dev: dev, Shape: s, Format: f, Timing: timing, Lanes: *lanes}
			fr := fe.EvaluateKernel(ctx, fk)
			fe.Close()
			if fr.Status != search.OK {
				return fmt.Errorf("%s %s: f32 GEMV %s rejected: %s", s, f, fk, fr.Reason)
			}
			ie := &ops.GemvA8Evaluator{Dev: dev, Shape: s, Format: f, Timing: timing, Lanes: *lanes, StaticScale: float32(*static)}
			ir := ie.EvaluateKernel(ctx, ik)
			var qm *search.Measurement
			if ir.Status == search.OK {
				qm, err = ie.TimeQuantizer()
			}
			ie.Close()
			if ir.Status != search.OK {
				return fmt.Errorf("%s %s: integer GEMV %s rejected: %s", s, f, ik, ir.Reason)
			}
			if err != nil {
				return fmt.Errorf("%s %s: timing the quantizer: %w", s, f, err)
			}
			fr.Task, ir.Task = ops.GemvTask(s, f), ops.GemvA8Task(s, f)
			qk := ops.QuantAct(*static > 0)
			qr := search.Result{Status: search.OK, Task: fmt.Sprintf("quantact/f32/K=%d", s.Cols), Kernel: qk.Name(), ID: qk.String(), Measure: qm, Score: qm.Rate()}
			runs = append(runs, fr, ir, qr)
			ft := ops.GemvBytes(s, f) / fr.Score
			it := ops.GemvA8Bytes(s, f) / ir.Score
			qt := qm.Median
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2fx\t%.2fx\n", s, f, fk, micros(ft), ik, micros(it), micros(qt), ft/it, ft/(it+qt))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if *out != "" {
		config := [][2]string{{"adapter", dev.Info.Name}, {"driver", dev.Info.Driver}, {"backend", dev.Info.Backend}, {"templates", templates.Fingerprint()}}
		if err := reports.WriteFileAtomic(*out, func(w io.Writer) error { return reports.WriteResults(w, config, runs) }); err != nil {
			return fmt.Errorf("saving results: %w", err)
		}
	}
	return nil
}

// lookupEntry is the profile's entry for op, format and shape, exact or
// the nearest tuned shape's.
func lookupEntry(p *profiles.Profile, op string, f quant.Format, s ops.GemvShape) (profiles.Entry, bool) {
	if p == nil {
		return profiles.Entry{}, false
	}
	e, _, err := p.Lookup(op, f.String(), s.Dims())
	return e, err == nil
}

func micros(sec float64) string { return fmt.Sprintf("%.1f µs", sec*1e6) }
