package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

type sweepFlags struct {
	op        string
	formats   string
	adapter   string
	shapes    string
	strategy  string
	maxEvals  int
	budget    time.Duration
	seed      uint64
	where     string
	profile   string
	results   string
	journal   string
	samples   int
	target    time.Duration
	roofs     bool
	sentinel  int
	starts    int
	others    bool
	incumbent bool
	lanes     int
	fuse      string
	model     string
	contexts  string
	kv        string
}

func runSweep(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("sweep", stderr, `Sweep the f32 matmul search space on an adapter: every candidate is validated
against a CPU reference, then timed; the winners per shape go into the profile,
every timed pass into a results file in Go benchmark format.`)
	var f sweepFlags
	fs.StringVar(&f.op, "op", "matmul", "kernel family: matmul (f32), gemv (quantized decode), gemv-a8 (integer decode GEMV, int8 activations), gemm (quantized prefill), attention-prefill (flash), attention-decode (split), or a block kernel: "+strings.Join(ops.BlockOpNames(), ", "))
	fs.StringVar(&f.formats, "formats", "", "gemv/gemm weight formats, e.g. int4-g32-sym,int2-g64-asym (default int8-g32-sym,int4-g32-sym,int2-g64-sym); attention KV cache formats f32,kv-int8 (default f32); a block kernel's variants, e.g. f32-noweight (rmsnorm), f32-half-freqs (rope) or a weight format (embedq) (default all)")
	fs.StringVar(&f.adapter, "adapter", "auto", "adapter: auto, an index or a name substring (see tune adapters)")
	fs.StringVar(&f.shapes, "shapes", "", "comma-separated shapes: MxNxK for matmul, NxK for gemv, SEQxHEADSxKVHEADSxHEADDIM for attention, a block kernel's dims joined by x, e.g. 1x4096 for rmsnorm's rows x n (default: Llama-style shapes sized to the adapter)")
	fs.StringVar(&f.strategy, "strategy", "bayes", "search strategy: "+strings.Join(search.MethodNames, ", "))
	fs.IntVar(&f.maxEvals, "max-evals", -1, "candidates evaluated per shape, 0 for no limit (default 24 on a CPU adapter, 120 on a GPU)")
	fs.DurationVar(&f.budget, "budget", 0, "wall time spent measuring per shape, 0 for no limit")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the search strategy")
	fs.StringVar(&f.where, "where", "", "restrict axes, e.g. 'staged=true,vec=4|2'")
	fs.StringVar(&f.profile, "profile", "", "profile to write (default profiles/<adapter>.yaml)")
	fs.StringVar(&f.results, "results", "", "results file, Go benchmark format (default out/<adapter>.bench.txt)")
	fs.StringVar(&f.journal, "journal", "", "journal of every evaluation, for resuming (default out/<adapter>.journal.jsonl)")
	fs.IntVar(&f.samples, "samples", 10, "timed passes per candidate (at least 10)")
	fs.DurationVar(&f.target, "target", 10*time.Millisecond, "length of one timed pass; dispatches are repeated to fill it")
	fs.BoolVar(&f.roofs, "roofs", true, "measure the copy, fma and dispatch roofs first, for reports")
	fs.IntVar(&f.sentinel, "sentinel", 16, "re-time the baseline kernel after every N measurements and measure again the window in which it drifted by more than 5%; 0 turns it off")
	fs.IntVar(&f.starts, "starts", 0, "start each search from the winners of this many of the op's nearest other shapes in the profile (0: from spread points alone)")
	fs.BoolVar(&f.others, "others", true, "start each search from the winners the other adapters' profiles beside -profile (and the portable default there) hold for the shape, each measured first: on a GPU without a profile of its own, what other GPUs chose is all that is known")
	fs.BoolVar(&f.incumbent, "incumbent", true, "re-tuning a shape the profile already holds: make its winner a finalist (bayes measures it first; other strategies where they measure it) and keep it unless a finalist beats it by more than the threshold in so many of five to nine rounds of the finals that a sign test rejects a tie at 5%, so that a re-tune changes the profile only on evidence; false tunes from scratch")
	fs.IntVar(&f.lanes, "lanes", 0, "gemv: outputs per weight copy written in turn; 1 makes every dispatch wait on a barrier as dependent decode steps do (default: enough for 256 independent dispatches on a GPU)")
	fs.StringVar(&f.fuse, "fuse", "", "gemv: tune these variants instead of the plain GEMV, comma-separated: norm, glu, acc, glu+acc, norm+acc or plain; each is an op of its own in the profile (gemv-norm, gemv-glu+acc, ...), where the decode step looks it up")
	fs.StringVar(&f.model, "model", "", "tune every kernel a model's GPU forward pass looks up instead of one -op: its fused GEMVs, prefill GEMMs, attention and block kernels at its shapes (synthetic:NAME or a GGUF file; -formats is then its one weight format, default int4-g32-sym)")
	fs.StringVar(&f.contexts, "contexts", "256,512,1024,2048,4096", "with -model: the contexts decode attention is tuned at")
	fs.StringVar(&f.kv, "kv", "f32", "with -model: the KV cache the model runs with (f32 or int8, as tune run's -kv), whose attention kernels are tuned")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.model != "" {
		return runModelSweep(ctx, stdout, stderr, f, setFlags(fs))
	}
	method, ok := search.NewMethod(f.strategy)
	if !ok {
		return fmt.Errorf("parsing -strategy: %q is not one of %s", f.strategy, strings.Join(search.MethodNames, ", "))
	}
	if f.lanes < 0 {
		return fmt.Errorf("parsing -lanes: %d is negative", f.lanes)
	}
	if f.starts < 0 {
		return fmt.Errorf("parsing -starts: %d is negative", f.starts)
	}
	if f.samples < 10 {
		return fmt.Errorf("parsing -samples: %d is below the minimum of 10", f.samples)
	}
	if f.budget < 0 || f.target <= 0 {
		return fmt.Errorf("parsing -budget/-target: durations must be positive")
	}
	attention := f.op == "attention-prefill" || f.op == "attention-decode"
	blockOp, _ := ops.LookupBlockOp(f.op)
	if f.op != "matmul" && f.op != "gemv" && f.op != "gemv-a8" && f.op != "gemm" && !attention && blockOp == nil {
		return fmt.Errorf("parsing -op: %q is not matmul, gemv, gemv-a8, gemm, attention-prefill, attention-decode or a block kernel (%s)", f.op, strings.Join(ops.BlockOpNames(), ", "))
	}
	var variants []ops.GemvVariant
	if f.fuse != "" {
		if f.op != "gemv" {
			return fmt.Errorf("parsing -fuse: only -op gemv has fused variants, not %q", f.op)
		}
		for _, name := range strings.Split(f.fuse, ",") {
			v, err := ops.ParseGemvVariant(strings.TrimSpace(name))
			if err != nil {
				return fmt.Errorf("parsing -fuse: %w", err)
			}
			if !slices.Contains(variants, v) {
				variants = append(variants, v)
			}
		}
	}
	formats := ops.DefaultFormats
	if attention {
		formats = nil
	}
	var blockDtypes []string
	if f.formats != "" && blockOp != nil {
		for _, name := range strings.Split(f.formats, ",") {
			name = strings.TrimSpace(name)
			if err := blockOp.CheckDtype(name); err != nil {
				return fmt.Errorf("parsing -formats: %w", err)
			}
			blockDtypes = append(blockDtypes, name)
		}
	}
	if f.formats != "" && !attention && blockOp == nil {
		formats = nil
		for _, name := range strings.Split(f.formats, ",") {
			fm, err := quant.ParseFormat(strings.TrimSpace(name))
			if err != nil {
				return fmt.Errorf("parsing -formats: %w", err)
			}
			formats = append(formats, fm)
		}
	}
	var shapes []ops.Shape
	var gemvShapes []ops.GemvShape
	var gemmShapes []ops.GemmShape
	var attnShapes []ops.AttnShape
	var blockShapes [][]int
	if f.shapes != "" {
		var err error
		switch f.op {
		case "matmul":
			shapes, err = ops.ParseShapes(f.shapes)
		case "gemm":
			gemmShapes, err = ops.ParseGemmShapes(f.shapes)
		case "attention-prefill", "attention-decode":
			attnShapes, err = parseAttnShapes(f.shapes, f.formats)
		case "gemv", "gemv-a8":
			gemvShapes, err = ops.ParseGemvShapes(f.shapes)
		default:
			blockShapes, err = blockOp.ParseShapes(f.shapes)
		}
		if err != nil {
			return fmt.Errorf("parsing -shapes: %w", err)
		}
	}

	dev, err := runner.Open(f.adapter)
	if err != nil {
		return err
	}
	defer dev.Close()
	info := dev.Info
	ident := profileAdapter(info)
	clock := "GPU timestamps"
	if !dev.Timestamps() {
		clock = "wall clock (this adapter has no timestamp queries)"
	}
	fmt.Fprintf(stderr, "adapter: %s\ntiming: %s\n", info, clock)
	if shapes == nil {
		shapes = ops.DefaultShapes(info)
	}
	if gemvShapes == nil {
		gemvShapes = ops.DefaultGemvShapes(info)
	}
	if gemmShapes == nil {
		gemmShapes = ops.DefaultGemmShapes(info)
	}
	if attnShapes == nil && attention {
		def := ops.DefaultAttnShapes(info, f.op == "attention-decode")
		var list []string
		for _, s := range def {
			list = append(list, s.String())
		}
		if attnShapes, err = parseAttnShapes(strings.Join(list, ","), f.formats); err != nil {
			return fmt.Errorf("parsing -formats: %w", err)
		}
	}
	if f.maxEvals < 0 {
		f.maxEvals = defaultMaxEvals(info)
	}
	if f.profile == "" {
		f.profile = defaultProfile(ident)
	}
	if f.results == "" {
		f.results = filepath.Join("out", ident.Slug()+".bench.txt")
	}
	if f.journal == "" {
		f.journal = filepath.Join("out", ident.Slug()+".journal.jsonl")
	}

	if err := os.MkdirAll(filepath.Dir(f.journal), 0o755); err != nil {
		return err
	}
	journal, err := search.OpenJournal(f.journal)
	if err != nil {
		return err
	}
	defer journal.Close()
	if n := journal.Len(); n > 0 {
		fmt.Fprintf(stderr, "journal %s: %d results recorded earlier are reused, not re-measured\n", f.journal, n)
	}
	if journal.Dropped > 0 {
		fmt.Fprintf(stderr, "journal %s: skipped %d unreadable lines (a run killed mid-write leaves one)\n", f.journal, journal.Dropped)
	}

	prof, err := sweepProfile(f.profile, ident, stderr)
	if err != nil {
		return err
	}
	var others []*profiles.Profile
	if f.others {
		if others, err = otherProfiles(f.profile, ident, stderr); err != nil {
			return err
		}
	}
	prof.Created = time.Now().UTC().Truncate(time.Second)
	prof.Tool = "tune sweep " + strings.Join(args, " ")

	env := fingerprint(info)
	timing := runner.TimeOptions{Samples: f.samples, Target: f.target}
	var runs []search.Result
	var rows []reports.ShapeRow
	if f.roofs {
		r, err := ops.MeasureRoofs(ctx, dev, timing)
		if err != nil {
			return fmt.Errorf("measuring roofs: %w", err)
		}
		fmt.Fprintf(stderr, "roofs: %s\n", roofsLine(r))
		runs = append(runs, r.Copy, r.FMA, r.Dispatch, r.Unordered)
	}
	workloads := ops.MatmulWorkloads(dev, shapes, timing)
	switch f.op {
	case "gemv":
		workloads = ops.GemvWorkloads(dev, formats, gemvShapes, timing)
		if variants != nil {
			workloads = ops.GemvVariantWorkloads(dev, variants, formats, gemvShapes, timing)
		}
	case "gemv-a8":
		if workloads, err = ops.GemvA8Workloads(dev, formats, gemvShapes, timing); err != nil {
			return fmt.Errorf("parsing -formats: %w", err)
		}
	case "gemm":
		workloads = ops.GemmWorkloads(dev, formats, gemmShapes, timing)
	case "attention-prefill", "attention-decode":
		workloads = ops.FlashWorkloads(dev, attnShapes, f.op == "attention-decode", timing)
	default:
		if blockOp != nil {
			if workloads, err = ops.BlockWorkloads(dev, blockOp, blockDtypes, blockShapes, timing); err != nil {
				return err
			}
		}
	}
	for i, w := range workloads {
		lanes := false
		if ge, ok := w.Eval.(*ops.GemvEvaluator); ok {
			ge.Lanes, lanes = f.lanes, true
		}
		if ge, ok := w.Eval.(*ops.GemvA8Evaluator); ok {
			ge.Lanes, lanes = f.lanes, true
		}
		if lanes && f.lanes > 0 {
			// Timed with other lanes, a kernel is measured another way: the
			// journal must not hand one way's timings to the other.
			workloads[i].Task += fmt.Sprintf("/lanes=%d", f.lanes)
		}
		if err := restrict(w.Space, f.where); err != nil {
			return fmt.Errorf("parsing -where: %w", err)
		}
	}
	for _, w := range workloads {
		if ctx.Err() != nil {
			break
		}
		task := search.Task{Name: w.Task, Env: env}
		base, err := measureBaseline(ctx, w, task, journal)
		if err != nil {
			w.Eval.Close()
			return err
		}
		if base.Status != search.OK {
			fmt.Fprintf(stderr, "warning: baseline %s rejected on %s: %s\n", w.Baseline, w.Label, base.Reason)
		} else {
			runs = append(runs, base)
			fmt.Fprintf(stderr, "%s: baseline %s %s\n", w.Label, w.Baseline, reports.FormatRate(base.Score, w.Unit))
		}
		rec := &progress{w: stderr, shape: w.Label, unit: w.Unit}
		src := startSources{profile: prof, incumbent: f.incumbent, fromOthers: f.others, others: others, nearest: f.starts}
		plan, err := searchStarts(w, task, src, journal)
		if err != nil {
			w.Eval.Close()
			return err
		}
		if plan.incumbent != "" {
			first := ""
			if _, ok := method.(search.Primed); ok {
				first = ", measured first"
			}
			fmt.Fprintf(stderr, "%s: incumbent %s, the profile's winner%s\n", w.Label, plan.incumbent, first)
		}
		if f.starts > 0 || f.others {
			fmt.Fprintf(stderr, "%s: %s\n", w.Label, startsLine(plan))
		}
		settings := search.Settings{MaxEvals: f.maxEvals, Budget: f.budget, Seed: f.seed, Starts: plan.points}
		if f.sentinel > 0 && base.Status == search.OK {
			settings.Sentinel = w.Sentinel
			settings.SentinelEvery = f.sentinel
		}
		sum, err := search.Run(ctx, task, w.Space, method, w.Eval, settings, journal, rec)
		if err != nil {
			w.Eval.Close()
			return err
		}
		var final *search.Final
		if sum.Best != nil && ctx.Err() == nil {
			final, err = finals(ctx, w, task, sum, plan.incumbent, journal, stderr)
		}
		w.Eval.Close()
		if err != nil {
			return err
		}
		runs = append(runs, sum.Results...)
		row := shapeRow(w, final, sum, base)
		if f.roofs && w.Bytes > 0 && final != nil && ctx.Err() == nil {
			c, err := ops.MeasureCopySized(ctx, dev, w.Bytes, timing)
			if err != nil {
				return fmt.Errorf("%s: measuring a copy of its bytes: %w", w.Label, err)
			}
			rd, err := ops.MeasureReadSized(ctx, dev, w.Bytes, timing)
			if err != nil {
				return fmt.Errorf("%s: measuring a read of its bytes: %w", w.Label, err)
			}
			runs = append(runs, c, rd)
			row.Read = rd.Score
			fmt.Fprintf(stderr, "%s: moving its %s per dispatch, the copy kernel %s, the read kernel (%s) %s; the winner %.0f%% and %.0f%% of them\n", w.Label,
				reports.FormatRate(float64(w.Bytes), "B"), reports.FormatRate(c.Score, "B/s"), rd.ID, reports.FormatRate(rd.Score, "B/s"),
				100*final.Winner.Score/c.Score, 100*final.Winner.Score/rd.Score)
		}
		rows = append(rows, row)
		if final != nil {
			prof.Put(profileEntry(w, final, base))
		}
	}

	if err := prof.Save(f.profile); err != nil {
		return fmt.Errorf("saving profile: %w", err)
	}
	config := [][2]string{{"adapter", info.Name}, {"driver", info.Driver}, {"backend", info.Backend}, {"templates", templates.Fingerprint()}}
	if err := reports.WriteFileAtomic(f.results, func(w io.Writer) error { return reports.WriteResults(w, config, runs) }); err != nil {
		return fmt.Errorf("saving results: %w", err)
	}
	if err := reports.WriteSweepTable(stdout, rows); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "profile: %s\nresults: %s\njournal: %s\n", f.profile, f.results, f.journal)
	return ctx.Err()
}

// sweepProfile loads the profile a sweep adds its winners to: the file at
// path, or a new one where there is none. A profile of the same adapter
// tuned with another driver or backend is started afresh, with a warning;
// one of another adapter is an error, not overwritten.
func sweepProfile(path string, a profiles.Adapter, stderr io.Writer) (*profiles.Profile, error) {
	p, err := profiles.Load(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return &profiles.Profile{Schema: profiles.SchemaVersion, Adapter: a}, nil
	case err != nil:
		return nil, err
	case p.Portable || p.Adapter.Name != a.Name:
		return nil, fmt.Errorf("profile %s is %s's, not %s's: give -profile a file for this adapter", path, p.Adapter.Name, a.Name)
	case p.Adapter != a:
		fmt.Fprintf(stderr, "warning: profile %s was tuned with driver %q (%s); starting it afresh for %q (%s)\n", path, p.Adapter.Driver, p.Adapter.Backend, a.Driver, a.Backend)
		return &profiles.Profile{Schema: profiles.SchemaVersion, Adapter: a}, nil
	}
	return p, nil
}

// measureBaseline times the workload's baseline kernel, or takes its result
// from the journal.
func measureBaseline(ctx context.Context, w ops.Workload, task search.Task, j *search.Journal) (search.Result, error) {
	if r, ok := j.Lookup(task, w.Baseline.Name(), w.Baseline.String()); ok {
		return r, nil
	}
	r := w.EvaluateBaseline(ctx)
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	r.Task, r.Env = task.Name, task.Env
	return r, j.Append(r)
}

// fingerprint identifies what besides the candidate decides a measurement:
// the adapter, its driver and the template sources.
func fingerprint(a runner.AdapterInfo) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%x|%x|%s|%s|%s", a.Name, a.Vendor, a.Device, a.Driver, a.Backend, templates.Fingerprint())))
	return hex.EncodeToString(h[:8])
}

// defaultProfile is where an adapter's profile is checked in.
func defaultProfile(a profiles.Adapter) string {
	return filepath.Join("profiles", a.Slug()+".yaml")
}

func profileAdapter(a runner.AdapterInfo) profiles.Adapter {
	return profiles.Adapter{Name: a.Name, Vendor: a.Vendor, Device: a.Device, Driver: a.Driver, Backend: a.Backend, Type: a.Type}
}

func stats(m *search.Measurement) profiles.Stats {
	return profiles.Stats{Median: m.Median, Lo: m.Lo, Hi: m.Hi, Samples: len(m.Samples), Rate: m.Rate(), Unit: m.Unit, Clock: m.Clock}
}

// finals re-times the search's best candidates and the incumbent, if any,
// interleaved (search.Finals) and journals the verdict, so a rerun decides
// the same without measuring, and writes the same margin to the profile.
func finals(ctx context.Context, w ops.Workload, task search.Task, sum *search.Summary, incumbent string, j *search.Journal, stderr io.Writer) (*search.Final, error) {
	ft := search.Task{Name: w.Task + "#finals/" + sum.Best.ID, Env: task.Env}
	if win, ok := j.Lookup(ft, "finals", "winner"); ok {
		f := &search.Final{Winner: win}
		if ru, ok := j.Lookup(ft, "finals", "runner-up"); ok {
			f.RunnerUp = &ru
			f.Margin = win.Score/ru.Score - 1
			f.Separated = win.Measure.Hi < ru.Measure.Lo
		}
		if readVerdict(f, win.Params) {
			printVerdict(stderr, w, f, " (journaled)")
		}
		return f, nil
	}
	rt, ok := w.Eval.(search.Retimer)
	if !ok {
		return &search.Final{Winner: *sum.Best}, nil
	}
	f, err := search.Finals(ctx, w.Space, sum.Results, rt, search.FinalOptions{Incumbent: incumbent})
	if err != nil {
		return nil, err
	}
	printVerdict(stderr, w, f, "")
	win := f.Winner
	win.Task, win.Env, win.Kernel, win.ID = ft.Name, ft.Env, "finals", "winner"
	win.Params = verdictParams(f)
	if err := j.Append(win); err != nil {
		return nil, err
	}
	if f.RunnerUp != nil {
		ru := *f.RunnerUp
		ru.Task, ru.Env, ru.Kernel, ru.ID = ft.Name, ft.Env, "finals", "runner-up"
		ru.Params = map[string]string{"id": f.RunnerUp.ID}
		if err := j.Append(ru); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// printVerdict says in one line how the finals decided; note marks a
// verdict read back from the journal.
func printVerdict(stderr io.Writer, w ops.Workload, f *search.Final, note string) {
	how := "separated"
	if !f.Separated {
		how = "within noise"
	}
	if f.Tie {
		how += ", tie kept the simpler"
	}
	if f.Kept {
		how += ", the incumbent kept: no finalist beat it in enough rounds"
	}
	fmt.Fprintf(stderr, "%s: finals after %d rounds%s: %s %s (%+.1f%% over #2, %s)\n", w.Label, f.Rounds, note, finalID(f.Winner), reports.FormatRate(f.Winner.Score, w.Unit), 100*f.Margin, how)
}

// verdictParams are the params of the journal's winner record: the
// winner's ID and how the finals decided, which the records' own samples
// cannot tell again (the margin is the median of paired rounds).
func verdictParams(f *search.Final) map[string]string {
	return map[string]string{
		"id":        f.Winner.ID,
		"margin":    strconv.FormatFloat(f.Margin, 'g', -1, 64),
		"separated": strconv.FormatBool(f.Separated),
		"rounds":    strconv.Itoa(f.Rounds),
		"tie":       strconv.FormatBool(f.Tie),
		"kept":      strconv.FormatBool(f.Kept),
	}
}

// readVerdict sets f's verdict from a journaled winner record's params and
// reports whether they held one; journals written before the verdict was
// kept leave f as it was (the margin then comes from the records' scores).
func readVerdict(f *search.Final, params map[string]string) bool {
	margin, err1 := strconv.ParseFloat(params["margin"], 64)
	separated, err2 := strconv.ParseBool(params["separated"])
	rounds, err3 := strconv.Atoi(params["rounds"])
	tie, err4 := strconv.ParseBool(params["tie"])
	kept, err5 := strconv.ParseBool(params["kept"])
	if errors.Join(err1, err2, err3, err4, err5) != nil || math.IsNaN(margin) || math.IsInf(margin, 0) || rounds < 0 {
		return false
	}
	f.Margin, f.Separated, f.Rounds, f.Tie, f.Kept = margin, separated, rounds, tie, kept
	return true
}

// finalID is the candidate ID of a finals verdict, which the journal keeps
// under fixed IDs.
func finalID(r search.Result) string {
	if r.Kernel == "finals" {
		return r.Params["id"]
	}
	return r.ID
}

func profileEntry(w ops.Workload, f *search.Final, base search.Result) profiles.Entry {
	best := f.Winner
	params := best.Params
	kernel := best.Kernel
	if kernel == "finals" {
		params, kernel = nil, w.Eval.Kernel()
	}
	id := finalID(best)
	if params == nil {
		if p, err := w.Space.Parse(id); err == nil {
			params = p.Params()
		}
	}
	e := profiles.Entry{
		Op: w.Op, Dtype: w.Dtype, Shape: w.Dims, Kernel: kernel,
		ID: id, Params: params, Stats: stats(best.Measure),
	}
	if base.Status == search.OK {
		e.Baseline = &profiles.Baseline{Kernel: w.Baseline.Name() + " " + w.Baseline.String(), Stats: stats(base.Measure)}
	}
	if ru := f.RunnerUp; ru != nil {
		e.RunnerUp = &profiles.RunnerUp{ID: finalID(*ru), Stats: stats(ru.Measure), Margin: f.Margin, Separated: f.Separated}
	}
	return e
}

func shapeRow(w ops.Workload, f *search.Final, sum *search.Summary, base search.Result) reports.ShapeRow {
	row := reports.ShapeRow{Shape: w.Label, Unit: w.Unit, Evals: sum.Evals, Measured: sum.Measured, Rejected: sum.Rejected, RunnerUp: math.NaN()}
	if base.Status == search.OK {
		row.Baseline = base.Score
	}
	if f != nil {
		b := f.Winner
		m := b.Measure
		row.Winner, row.Rate = finalID(b), b.Score
		row.Lo, row.Hi = m.Work/m.Hi, m.Work/m.Lo
		if f.RunnerUp != nil {
			row.RunnerUp, row.Separated = f.Margin, f.Separated
		}
	}
	return row
}

// restrict adds a constraint per "axis=v1|v2" clause of where.
func restrict(space *search.Space, where string) error {
	for _, clause := range strings.Split(where, ",") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		name, vals, ok := strings.Cut(clause, "=")
		if !ok {
			return fmt.Errorf("clause %q: want axis=value[|value...]", clause)
		}
		var axis *search.Axis
		for i := range space.Axes {
			if space.Axes[i].Name == name {
				axis = &space.Axes[i]
			}
		}
		if axis == nil {
			var names []string
			for _, a := range space.Axes {
				names = append(names, a.Name)
			}
			return fmt.Errorf("clause %q: no axis %q (axes: %s)", clause, name, strings.Join(names, ", "))
		}
		allowed := map[string]bool{}
		for _, v := range strings.Split(vals, "|") {
			found := false
			for _, av := range axis.Values {
				found = found || av == v
			}
			if !found {
				return fmt.Errorf("clause %q: %q is not a value of %s (values: %s)", clause, v, name, strings.Join(axis.Values, ", "))
			}
			allowed[v] = true
		}
		space.Constraints = append(space.Constraints, search.Constraint{
			Name: "-where " + clause,
			OK:   func(p search.Point) bool { return allowed[p.Get(name)] },
		})
	}
	return nil
}

// progress prints one line per evaluated candidate.
type progress struct {
	unit  string
	w     io.Writer
	shape string
	max   int
	start time.Time
}

// defaultMaxEvals is a tune's budget of candidates per shape: a CPU
// adapter measures slowly, a GPU can afford a wider search.
func defaultMaxEvals(info runner.AdapterInfo) int {
	if info.Type == "cpu" {
		return 24
	}
	return 120
}

func (p *progress) Start(task search.Task, legal, maxEvals int) {
	p.max, p.start = legal, time.Now()
	if maxEvals > 0 && maxEvals < legal {
		p.max = maxEvals
	}
	fmt.Fprintf(p.w, "%s: %d legal candidates, evaluating up to %d\n", p.shape, legal, p.max)
}

func (p *progress) Record(r search.Result, evals int, best *search.Result) {
	unit := p.unit
	what := reports.FormatRate(r.Score, unit)
	if r.Status != search.OK {
		what = "rejected: " + firstLine(r.Reason)
	} else if m := r.Measure; m != nil {
		what += fmt.Sprintf(" ±%.1f%%", 50*(m.Hi-m.Lo)/m.Median)
	}
	if r.Cached {
		what += " (journal)"
	}
	bestRate := "-"
	if best != nil {
		bestRate = reports.FormatRate(best.Score, unit)
	}
	fmt.Fprintf(p.w, "[%3d/%d %s] %s %s: %s | best %s\n", evals, p.max, time.Since(p.start).Round(time.Second), p.shape, r.ID, what, bestRate)
}

func (p *progress) Finish(s *search.Summary) {
	fmt.Fprintf(p.w, "%s: stopped (%s) after %d candidates, %d measured now, %d rejected, in %s\n",
		p.shape, s.Status, s.Evals, s.Measured, s.Rejected, s.Elapsed.Round(time.Millisecond))
	if s.Remeasured > 0 {
		fmt.Fprintf(p.w, "%s: the sentinel drifted; %d candidates measured again\n", p.shape, s.Remeasured)
	}
	if s.Unsettled > 0 {
		fmt.Fprintf(p.w, "warning: %s: the device did not hold still: %d candidates were last measured while the sentinel moved, and may rank wrongly (the finals re-time only the leaders); run the sweep again at a quieter time\n", p.shape, s.Unsettled)
	}
}

// roofsLine describes the device's measured roofs in one line.
func roofsLine(r ops.Roofs) string {
	return fmt.Sprintf("copy %s, fma %s, dispatch %s (%s waiting on none)", reports.FormatRate(r.Copy.Score, "B/s"),
		reports.FormatRate(r.FMA.Score, "FLOP/s"), reports.FormatSeconds(r.DispatchSeconds()), reports.FormatSeconds(r.UnorderedSeconds()))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// parseAttnShapes reads attention shapes for each KV cache format listed
// (f32 and kv-int8; f32 when none).
func parseAttnShapes(shapes, formats string) ([]ops.AttnShape, error) {
	if formats == "" {
		formats = "f32"
	}
	var out []ops.AttnShape
	for _, name := range strings.Split(formats, ",") {
		name = strings.TrimSpace(name)
		if name != "f32" && name != "kv-int8" {
			return nil, fmt.Errorf("%q is not an attention cache format (f32, kv-int8)", name)
		}
		s, err := ops.ParseAttnShapes(shapes, name == "kv-int8")
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}
