package ops

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// GemmShape is a prefill product with quantized weights: C (M x N) = A
// (M x K, f32 activations) x W^T, W being N output channels x K.
type GemmShape struct{ M, N, K int }

func (s GemmShape) String() string { return fmt.Sprintf("%dx%dx%d", s.M, s.N, s.K) }

// Dims returns the shape as profiles store it.
func (s GemmShape) Dims() []int { return []int{s.M, s.N, s.K} }

// FLOPs is the work of one product: a multiply and an add per term.
func (s GemmShape) FLOPs() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// GemmTask names a GEMM workload in journals, results and profiles.
func GemmTask(s GemmShape, f quant.Format) string {
	return fmt.Sprintf("gemm/%s/M=%d/N=%d/K=%d", f, s.M, s.N, s.K)
}

// GemmSpace is the quantized GEMM search space for format f on a device
// with limits lim.
func GemmSpace(f quant.Format, lim Limits) *search.Space {
	return &search.Space{
		Axes: []search.Axis{
			search.Ints("wgx", 8, 16, 32),
			search.Ints("wgy", 8, 16, 32),
			search.Ints("rm", 1, 2, 4, 8),
			search.Ints("rn", 1, 2, 4, 8),
			search.Ints("tk", 16, 32, 64),
			search.Ints("vec", 1, 2, 4),
			search.Bools("prefetch"),
			search.Bools("unroll"),
		},
		Constraints: []search.Constraint{
			{Name: "params the template accepts", OK: func(p search.Point) bool { return GemmParams(p, f).Check() == nil }},
			{Name: fmt.Sprintf("invocations <= %d", lim.Invocations), OK: func(p search.Point) bool {
				return p.Int("wgx")*p.Int("wgy") <= lim.Invocations
			}},
			{Name: fmt.Sprintf("workgroup size <= %dx%d", lim.SizeX, lim.SizeY), OK: func(p search.Point) bool {
				return p.Int("wgx") <= lim.SizeX && p.Int("wgy") <= lim.SizeY
			}},
			{Name: fmt.Sprintf("workgroup memory <= %d B", lim.WorkgroupBytes), OK: func(p search.Point) bool {
				return GemmParams(p, f).WorkgroupBytes() <= lim.WorkgroupBytes
			}},
			{Name: "register block of at most 64 accumulators", OK: func(p search.Point) bool {
				return p.Int("rm")*p.Int("rn") <= 64
			}},
			{Name: fmt.Sprintf("unrolled tile loop of at most %d statements", maxUnrolled), OK: func(p search.Point) bool {
				return !p.Bool("unroll") || GemmParams(p, f).UnrolledStatements() <= maxUnrolled
			}},
		},
	}
}

// GemmParams turns a point of GemmSpace into template params for format f.
func GemmParams(p search.Point, f quant.Format) templates.Gemm {
	return templates.Gemm{Bits: f.Bits, Group: f.Group, Asym: f.Asym,
		WGX: p.Int("wgx"), WGY: p.Int("wgy"), RM: p.Int("rm"), RN: p.Int("rn"), TK: p.Int("tk"),
		Vec: p.Int("vec"), Prefetch: p.Bool("prefetch"), Unroll: p.Bool("unroll")}
}

// GemmBaseline is the simple GEMM every tuned one is compared with: a
// 16x16 workgroup with one output per thread, scalar loads, no prefetch,
// no unrolling. Its tk of 16 suits every format.
func GemmBaseline(f quant.Format) templates.Gemm {
	return templates.Gemm{Bits: f.Bits, Group: f.Group, Asym: f.Asym, WGX: 16, WGY: 16, RM: 1, RN: 1, TK: 16, Vec: 1}
}

// GemmBindingsFor lists a GEMM kernel's bindings in order: dims, A, W
// words, scales, C, and mins for asymmetric formats.
func GemmBindingsFor(k templates.Gemm) []runner.Binding {
	b := []runner.Binding{runner.Uniform, runner.ReadOnly, runner.ReadOnly, runner.ReadOnly, runner.ReadWrite}
	if k.Asym {
		b = append(b, runner.ReadOnly)
	}
	return b
}

// GemmWorkloads are quantized GEMM workloads for every format and shape.
func GemmWorkloads(d *runner.Device, formats []quant.Format, shapes []GemmShape, timing runner.TimeOptions) []Workload {
	var out []Workload
	for _, f := range formats {
		for _, s := range shapes {
			e := &GemmEvaluator{Dev: d, Shape: s, Format: f, Timing: timing}
			base := GemmBaseline(f)
			out = append(out, Workload{
				Op: "gemm", Dtype: f.String(), Dims: s.Dims(), Label: s.String() + " " + f.String(), Task: GemmTask(s, f), Unit: "FLOP/s",
				Space: GemmSpace(f, DeviceLimits(d)), Eval: e, Baseline: base,
				EvaluateBaseline: func(ctx context.Context) search.Result { return e.EvaluateKernel(ctx, base) },
			})
		}
	}
	return out
}

// DefaultGemmShapes are prefill shapes sized to the adapter: on a CPU
// adapter small ones that sweep in minutes; on a GPU the projections of
// Llama-3.1-8B for 512 tokens.
func DefaultGemmShapes(a runner.AdapterInfo) []GemmShape {
	if a.Type == "cpu" {
		return []GemmShape{{128, 512, 512}, {64, 1024, 256}}
	}
	return []GemmShape{{512, 4096, 4096}, {512, 14336, 4096}, {512, 4096, 14336}}
}

// ParseGemmShapes reads a comma-separated list of MxNxK shapes.
func ParseGemmShapes(s string) ([]GemmShape, error) {
	shapes, err := ParseShapes(s)
	if err != nil {
		return nil, err
	}
	out := make([]GemmShape, len(shapes))
	for i, sh := range shapes {
		out[i] = GemmShape(sh)
	}
	return out, nil
}

// A GEMM kernel tiles C as a matmul does.
var _ Kernel = templates.Gemm{}

// GemmEvaluator validates and times quantized GEMM kernels for one shape
// and format.
type GemmEvaluator struct {
	Dev    *runner.Device
	Shape  GemmShape
	Format quant.Format
	Timing runner.TimeOptions
	// Source renders a kernel; nil means templates.Render. Tests substitute
	// broken sources here to check that they are caught.
	Source func(templates.Kernel) ([]byte, error)

	target *gemmOperands // the timed shape's inputs, shared read-only by all candidates
}

var _ search.Evaluator = (*GemmEvaluator)(nil)

// Kernel names the template of GemmSpace's points.
func (e *GemmEvaluator) Kernel() string { return templates.Gemm{}.Name() }

// Evaluate implements search.Evaluator for points of GemmSpace.
func (e *GemmEvaluator) Evaluate(ctx context.Context, p search.Point) search.Result {
	return e.EvaluateKernel(ctx, GemmParams(p, e.Format))
}

// EvaluateKernel renders, compiles, validates and, if valid, times k.
func (e *GemmEvaluator) EvaluateKernel(ctx context.Context, k templates.Gemm) search.Result {
	start := time.Now()
	res := e.evaluate(ctx, k)
	res.Kernel, res.ID, res.Seconds = k.Name(), k.String(), time.Since(start).Seconds()
	return res
}

func (e *GemmEvaluator) evaluate(ctx context.Context, k templates.Gemm) search.Result {
	if f := (quant.Format{Bits: k.Bits, Group: k.Group, Asym: k.Asym}); f != e.Format {
		return reject("kernel for %s, evaluator for %s", f, e.Format)
	}
	if s := e.Shape; !k.Fits(s.M, s.N, s.K) {
		return reject("shape %s: K must be a multiple of 32, of the group and of tk %d", s, k.TK)
	}
	kern, why := build(e.Dev, e.Source, k, GemmBindingsFor(k))
	if kern == nil {
		return reject("%s", why)
	}
	defer kern.Release()
	if r := validate(ctx, GemmValidationShapes(k), func(s GemmShape) error {
		o, err := newGemmOperands(e.Dev, s, e.Format)
		if err != nil {
			return err
		}
		defer o.release()
		return o.check(kern, k, nil)
	}); r != nil {
		return *r
	}
	var err error
	if e.target == nil {
		if e.target, err = newGemmOperands(e.Dev, e.Shape, e.Format); err != nil {
			return reject("shape %s: %v", e.Shape, err)
		}
	}
	// The timed shape is checked too, on sampled elements: a full CPU
	// reference of a large product would take minutes.
	s := e.Shape
	if err := e.target.check(kern, k, SampleIndices(Shape(s), 256)); err != nil {
		return reject("validation %s: %v", s, err)
	}
	t, err := e.Dev.Time(e.Timing, e.target.dispatch(kern, k))
	if err != nil {
		return reject("timing: %v", err)
	}
	m := &search.Measurement{
		Clock: t.Clock, Repeats: t.Repeats, Samples: t.Samples,
		Median: t.Median, Lo: t.Lo, Hi: t.Hi, Work: s.FLOPs(), Unit: "FLOP/s",
	}
	return search.Result{Status: search.OK, Score: m.Rate(), Measure: m}
}

// Retime measures a point again on the timed shape, without validating it:
// it must have validated in this evaluator before Close.
func (e *GemmEvaluator) Retime(_ context.Context, p search.Point) (*search.Measurement, error) {
	k := GemmParams(p, e.Format)
	if e.target == nil {
		return nil, fmt.Errorf("retime %s: no measured shape", k)
	}
	return retime(e.Dev, e.Timing, k, GemmBindingsFor(k), e.Shape.FLOPs(), "FLOP/s", func(kern *runner.Kernel) []runner.Dispatch {
		return []runner.Dispatch{e.target.dispatch(kern, k)}
	})
}

// Close releases the timed shape's buffers.
func (e *GemmEvaluator) Close() {
	if e.target != nil {
		e.target.release()
		e.target = nil
	}
}

// GemmValidationShapes are the small shapes every candidate must compute
// exactly: partial tiles in M and N, a single element, exact multiples of
// the tile, and several K tiles and quantization groups.
func GemmValidationShapes(k templates.Gemm) []GemmShape {
	tm, tn, tk, _ := k.Tile()
	kq := lcm(lcm(32, tk), max(k.Group, 1)) // the least K the kernel and format accept
	return []GemmShape{
		{2*tm + 1, tn + 3, 3 * kq},
		{1, 1, kq},
		{tm, tn, 2 * kq},
		{tm + 3, 2*tn + 1, max(2*kq, 4*tk)},
	}
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// gemmOperands are one shape's random A and quantized W on the host and
// the device, and the output buffer with its guard band.
type gemmOperands struct {
	dev   *runner.Device
	shape GemmShape
	a     []float32
	t     *quant.Tensor
	rows  map[int][]float32 // dequantized rows of W, filled as the reference needs them
	guard int               // words after C that must stay untouched
	dims  *runner.Buffer
	ga    *runner.Buffer
	gw    *runner.Buffer
	gs    *runner.Buffer
	gm    *runner.Buffer // nil for symmetric formats
	gc    *runner.Buffer
	clear []byte
}

func newGemmOperands(d *runner.Device, s GemmShape, f quant.Format) (*gemmOperands, error) {
	t, a, err := GemmInputs(s, f)
	if err != nil {
		return nil, err
	}
	o := &gemmOperands{dev: d, shape: s, t: t, a: a, rows: map[int][]float32{}, guard: max(1024, 64*s.N+128)}
	if o.dims, err = d.NewBuffer("dims", 16); err != nil {
		return nil, err
	}
	dims := make([]byte, 16)
	for i, v := range []int{s.M, s.N, s.K, f.GroupLen(s.K)} {
		binary.LittleEndian.PutUint32(dims[4*i:], uint32(v))
	}
	if err := o.dims.Write(0, dims); err != nil {
		o.release()
		return nil, err
	}
	if o.ga, err = upload(d, "a", o.a); err != nil {
		o.release()
		return nil, err
	}
	if o.gw, err = uploadWords(d, t.Words); err != nil {
		o.release()
		return nil, err
	}
	if o.gs, err = upload(d, "scales", t.Scales); err != nil {
		o.release()
		return nil, err
	}
	if f.Asym {
		if o.gm, err = upload(d, "mins", t.Mins); err != nil {
			o.release()
			return nil, err
		}
	}
	words := s.M*s.N + o.guard
	if o.gc, err = d.NewBuffer("c", uint64(4*words)); err != nil {
		o.release()
		return nil, err
	}
	o.clear = make([]byte, 4*words)
	for i := 0; i < words; i++ {
		binary.LittleEndian.PutUint32(o.clear[4*i:], sentinel)
	}
	return o, nil
}

func (o *gemmOperands) dispatch(kern *runner.Kernel, k templates.Gemm) runner.Dispatch {
	bufs := []*runner.Buffer{o.dims, o.ga, o.gw, o.gs, o.gc}
	if k.Asym {
		bufs = append(bufs, o.gm)
	}
	return runner.Dispatch{Kernel: kern, Buffers: bufs, Groups: k.Groups(o.shape.M, o.shape.N)}
}

// check runs the kernel once on cleared output and compares it with the CPU
// reference: at the listed element indices, or everywhere when sample is
// nil. Every element is checked for being written and finite, and the
// guard band for being untouched.
func (o *gemmOperands) check(kern *runner.Kernel, k templates.Gemm, sample []int) error {
	if err := o.gc.Write(0, o.clear); err != nil {
		return err
	}
	if err := o.dev.Run(o.dispatch(kern, k)); err != nil {
		return err
	}
	raw, err := o.gc.Read()
	if err != nil {
		return err
	}
	s := o.shape
	if err := checkWritten(raw, s.M*s.N, o.guard, func(i int) string { return fmt.Sprintf("C[%d][%d]", i/s.N, i%s.N) }); err != nil {
		return err
	}
	check := func(i int) error {
		row, col := i/s.N, i%s.N
		want, tol := o.reference(row, col)
		if got := at(raw, i); math.Abs(got-want) > tol {
			return fmt.Errorf("%w: C[%d][%d] = %g, want %g within %.3g", errMismatch, row, col, got, want, tol)
		}
		return nil
	}
	return checkEach(s.M*s.N, sample, check)
}

// reference is GemmReference for C[row][col], dequantizing each row of W
// once.
func (o *gemmOperands) reference(row, col int) (want, tol float64) {
	w, ok := o.rows[col]
	if !ok {
		w = make([]float32, o.shape.K)
		o.t.DequantizeRow(col, w)
		o.rows[col] = w
	}
	return GemmReference(o.t, o.a, w, row, col)
}

func (o *gemmOperands) release() {
	for _, b := range []*runner.Buffer{o.dims, o.ga, o.gw, o.gs, o.gm, o.gc} {
		if b != nil {
			b.Release()
		}
	}
}
