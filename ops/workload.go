package ops

import (
	"context"
	"fmt"
	"strings"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
)

// Named is a kernel, or kernels, as journals and profiles name them.
type Named interface {
	Name() string
	String() string
}

// Workload is one op, dtype and shape to tune: its space, the evaluator of
// its points, and its baseline kernel.
type Workload struct {
	Op, Dtype string
	Dims      []int  // as profiles store them
	Label     string // for people, e.g. "4096x4096 int4-g32-sym"
	Task      string
	Unit      string // the rate unit of its measurements
	Space     *search.Space
	Eval      interface {
		search.Evaluator
		Close()
	}
	// Baseline is the simple kernel every winner is compared with.
	Baseline Named
	// Bytes is what one dispatch of a bandwidth-bound workload moves (as
	// its rate counts them), for MeasureCopySized; 0 for others.
	Bytes int64
	// EvaluateBaseline measures it with the same evaluator.
	EvaluateBaseline func(context.Context) search.Result
}

// Parse reads an ID of w's space as profiles and journals name its points,
// the spellings of older versions of the space included (ParseGemvID).
func (w Workload) Parse(id string) (search.Point, error) {
	if strings.HasPrefix(w.Op, "gemv") {
		return ParseGemvID(w.Space, id)
	}
	return w.Space.Parse(id)
}

// Sentinel is search.Settings.Sentinel for w: its baseline re-timed, the
// median seconds.
func (w Workload) Sentinel(ctx context.Context) (float64, error) {
	r := w.EvaluateBaseline(ctx)
	if r.Status != search.OK {
		return 0, fmt.Errorf("%s: %s", w.Baseline, r.Reason)
	}
	return r.Measure.Median, nil
}

// MatmulWorkloads are f32 matmul workloads for the shapes.
func MatmulWorkloads(d *runner.Device, shapes []Shape, timing runner.TimeOptions) []Workload {
	var out []Workload
	for _, s := range shapes {
		e := &Evaluator{Dev: d, Shape: s, Timing: timing}
		out = append(out, Workload{
			Op: "matmul", Dtype: "f32", Dims: s.Dims(), Label: s.String(), Task: s.Task(), Unit: "FLOP/s",
			Space: Space(DeviceLimits(d)), Eval: e, Baseline: Baseline,
			EvaluateBaseline: func(ctx context.Context) search.Result { return e.EvaluateKernel(ctx, Baseline) },
		})
	}
	return out
}

// GemvWorkloads are quantized GEMV workloads for every format and shape.
func GemvWorkloads(d *runner.Device, formats []quant.Format, shapes []GemvShape, timing runner.TimeOptions) []Workload {
	var out []Workload
	for _, f := range formats {
		for _, s := range shapes {
			e := &GemvEvaluator{Dev: d, Shape: s, Format: f, Timing: timing}
			base := GemvBaseline(f)
			out = append(out, Workload{
				Op: "gemv", Dtype: f.String(), Dims: s.Dims(), Label: s.String() + " " + f.String(), Task: GemvTask(s, f), Unit: "B/s",
				Space: SplitWhereFew(GemvSpace(f, DeviceLimits(d)), s, SplitBelowGroups(d.Info)), Eval: e, Baseline: base, Bytes: gemvDispatchBytes(s, f, GemvVariant{}),
				EvaluateBaseline: func(ctx context.Context) search.Result { return e.EvaluateKernel(ctx, base) },
			})
		}
	}
	return out
}

// DefaultGemvShapes are the decode shapes sized to the adapter.
func DefaultGemvShapes(a runner.AdapterInfo) []GemvShape {
	if a.Type == "cpu" {
		return []GemvShape{{2048, 1024}, {512, 2048}}
	}
	return DecodeShapes
}

// DefaultFormats are the formats tuned unless asked otherwise.
var DefaultFormats = []quant.Format{{Bits: 8, Group: 32}, {Bits: 4, Group: 32}, {Bits: 2, Group: 64}}

// ParseGemvShapes reads a comma-separated list of NxK shapes.
func ParseGemvShapes(s string) ([]GemvShape, error) {
	var out []GemvShape
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		var n, k int
		if _, err := fmt.Sscanf(f, "%dx%d", &n, &k); err != nil || fmt.Sprintf("%dx%d", n, k) != f || n < 1 || k < 1 || n > 1<<24 || k > 1<<20 {
			return nil, fmt.Errorf("shape %q: want NxK with N up to %d and K up to %d, e.g. 4096x4096", f, 1<<24, 1<<20)
		}
		out = append(out, GemvShape{n, k})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no shapes in %q", s)
	}
	return out, nil
}
