package ops

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// Shape is a matmul problem: C (MxN) = A (MxK) x B (KxN).
type Shape struct{ M, N, K int }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.M, s.N, s.K) }

// Dims returns the shape as profiles store it.
func (s Shape) Dims() []int { return []int{s.M, s.N, s.K} }

// FLOPs is the work of one matmul: a multiply and an add per term.
func (s Shape) FLOPs() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// Task names the workload in journals, results files and profiles.
func (s Shape) Task() string { return fmt.Sprintf("matmul/f32/M=%d/N=%d/K=%d", s.M, s.N, s.K) }

// maxDim bounds each dimension so that every index fits in a u32.
const maxDim = 1 << 16

// ParseShape reads "MxNxK", e.g. "512x512x512".
func ParseShape(s string) (Shape, error) {
	parts := strings.Split(strings.TrimSpace(s), "x")
	if len(parts) != 3 {
		return Shape{}, fmt.Errorf("shape %q: want MxNxK, e.g. 512x512x512", s)
	}
	var d [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 || v > maxDim {
			return Shape{}, fmt.Errorf("shape %q: dimension %q is not an integer in 1..%d", s, p, maxDim)
		}
		d[i] = v
	}
	return Shape{d[0], d[1], d[2]}, nil
}

// ParseShapes reads a comma-separated list of shapes.
func ParseShapes(s string) ([]Shape, error) {
	var out []Shape
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		sh, err := ParseShape(f)
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no shapes in %q", s)
	}
	return out, nil
}

// DefaultShapes are the matmul shapes of a Llama-style model sized to the
// adapter: a CPU adapter gets shapes it can sweep in minutes; a GPU gets the
// prefill shapes of Llama-3.2-1B and Llama-2-7B (512 tokens) and 4096^3.
func DefaultShapes(a runner.AdapterInfo) []Shape {
	if a.Type == "cpu" {
		return []Shape{{512, 512, 512}, {128, 768, 256}}
	}
	return []Shape{
		{4096, 4096, 4096},
		{512, 2048, 2048},  // Llama-3.2-1B attention projections
		{512, 8192, 2048},  // Llama-3.2-1B FFN up/gate
		{512, 4096, 4096},  // Llama-2-7B attention projections
		{512, 11008, 4096}, // Llama-2-7B FFN up/gate
	}
}

// Space is the f32 matmul search space on a device with limits lim.
func Space(lim Limits) *search.Space {
	return &search.Space{
		Axes: []search.Axis{
			search.Ints("wgx", 4, 8, 16, 32),
			search.Ints("wgy", 4, 8, 16, 32),
			search.Ints("rm", 1, 2, 4, 8),
			search.Ints("rn", 1, 2, 4, 8),
			search.Ints("tk", 4, 8, 16, 32),
			search.Ints("vec", 1, 2, 4),
			search.Bools("staged"),
			search.Bools("prefetch"),
			search.Bools("unroll"),
		},
		Core: []string{"wgx", "wgy", "rm", "rn", "unroll"},
		Constraints: []search.Constraint{
			{Name: "params the template accepts", OK: func(p search.Point) bool { return Params(p).Check() == nil }},
			{Name: "unstaged kernels ignore tk: keep tk=4 only", OK: func(p search.Point) bool {
				return p.Bool("staged") || p.Int("tk") == 4
			}},
			{Name: fmt.Sprintf("invocations <= %d", lim.Invocations), OK: func(p search.Point) bool {
				return p.Int("wgx")*p.Int("wgy") <= lim.Invocations
			}},
			{Name: fmt.Sprintf("workgroup size <= %dx%d", lim.SizeX, lim.SizeY), OK: func(p search.Point) bool {
				return p.Int("wgx") <= lim.SizeX && p.Int("wgy") <= lim.SizeY
			}},
			{Name: fmt.Sprintf("workgroup memory <= %d B", lim.WorkgroupBytes), OK: func(p search.Point) bool {
				return Params(p).WorkgroupBytes() <= lim.WorkgroupBytes
			}},
			{Name: "at least 32 threads per workgroup", OK: func(p search.Point) bool {
				return p.Int("wgx")*p.Int("wgy") >= 32
			}},
			{Name: "register block of at most 64 accumulators", OK: func(p search.Point) bool {
				return p.Int("rm")*p.Int("rn") <= 64
			}},
			{Name: fmt.Sprintf("unrolled tile loop of at most %d statements", maxUnrolled), OK: func(p search.Point) bool {
				return !p.Bool("unroll") || Params(p).UnrolledStatements() <= maxUnrolled
			}},
		},
	}
}

// maxUnrolled bounds the unrolled tile loop: driver compile time grows
// faster than its length (44 s for 1280 statements on the H100's driver).
const maxUnrolled = 512

// Limits are the device limits the space is constrained by.
type Limits struct {
	Invocations, SizeX, SizeY, WorkgroupBytes int
}

// DeviceLimits reads Limits from an open device.
func DeviceLimits(d *runner.Device) Limits {
	return Limits{
		Invocations:    int(d.Limits.MaxComputeInvocationsPerWorkgroup),
		SizeX:          int(d.Limits.MaxComputeWorkgroupSizeX),
		SizeY:          int(d.Limits.MaxComputeWorkgroupSizeY),
		WorkgroupBytes: int(d.Limits.MaxComputeWorkgroupStorageSize),
	}
}

// Params turns a point of Space into template params.
func Params(p search.Point) templates.Matmul {
	return templates.Matmul{
		WGX: p.Int("wgx"), WGY: p.Int("wgy"), RM: p.Int("rm"), RN: p.Int("rn"),
		TK: p.Int("tk"), Vec: p.Int("vec"), Staged: p.Bool("staged"), Prefetch: p.Bool("prefetch"), Unroll: p.Bool("unroll"),
	}
}

// Kernel is a renderable matmul kernel: a tuned candidate or the baseline.
type Kernel interface {
	templates.Kernel
	Groups(m, n int) [3]uint32
	Fits(m, n, k int) bool
	// Tile is the block of C a workgroup computes, the K step, and the vector width.
	Tile() (tm, tn, tk, vec int)
}

var (
	_ Kernel = templates.Matmul{}
	_ Kernel = templates.Naive{}
)

// DefaultKernel is used where no profile has an entry: a 64x64 tile with
// 4x4 outputs per thread fits every WebGPU device's default limits.
var DefaultKernel = templates.Matmul{WGX: 16, WGY: 16, RM: 4, RN: 4, TK: 8, Vec: 4, Staged: true, Unroll: true}

// Baseline is the naive kernel every tuned kernel is compared with.
var Baseline = templates.Naive{WGX: 16, WGY: 16}

var matmulBindings = []runner.Binding{runner.Uniform, runner.ReadOnly, runner.ReadOnly, runner.ReadWrite}

// Evaluator validates and times matmul kernels at one shape on one device.
type Evaluator struct {
	Dev    *runner.Device
	Shape  Shape
	Timing runner.TimeOptions
	// Source renders a kernel; nil means templates.Render. Tests substitute
	// broken sources here to check that they are caught.
	Source func(templates.Kernel) ([]byte, error)

	target *operands // the timed shape's inputs, shared read-only by all candidates
}

var _ search.Evaluator = (*Evaluator)(nil)

// Kernel names the template of Space's points.
func (e *Evaluator) Kernel() string { return templates.Matmul{}.Name() }

// Evaluate implements search.Evaluator for points of Space.
func (e *Evaluator) Evaluate(ctx context.Context, p search.Point) search.Result {
	return e.EvaluateKernel(ctx, Params(p))
}

// EvaluateKernel renders, compiles, validates and, if valid, times k.
func (e *Evaluator) EvaluateKernel(ctx context.Context, k Kernel) search.Result {
	start := time.Now()
	res := e.evaluate(ctx, k)
	res.Kernel, res.ID = k.Name(), k.String()
	res.Seconds = time.Since(start).Seconds()
	return res
}

func reject(format string, args ...any) search.Result {
	return search.Result{Status: search.Rejected, Reason: fmt.Sprintf(format, args...)}
}

// build renders k with source (templates.Render when nil) and compiles it;
// on failure it returns nil and the reason.
func build(d *runner.Device, source func(templates.Kernel) ([]byte, error), k templates.Kernel, bindings []runner.Binding) (*runner.Kernel, string) {
	if source == nil {
		source = templates.Render
	}
	src, err := source(k)
	if err != nil {
		return nil, fmt.Sprintf("render: %v", err)
	}
	kern, err := d.Compile(k.Name(), string(src), bindings, k.WorkgroupSize())
	if err != nil {
		return nil, err.Error()
	}
	return kern, ""
}

// validate runs check on every shape and returns the rejection of the
// first that fails, or nil.
func validate[S fmt.Stringer](ctx context.Context, shapes []S, check func(S) error) *search.Result {
	for _, s := range shapes {
		if ctx.Err() != nil {
			r := reject("canceled")
			return &r
		}
		if err := check(s); err != nil {
			r := reject("validation %s: %v", s, err)
			return &r
		}
	}
	return nil
}

func (e *Evaluator) evaluate(ctx context.Context, k Kernel) search.Result {
	if !k.Fits(e.Shape.M, e.Shape.N, e.Shape.K) {
		_, _, _, v := k.Tile()
		return reject("shape %s: N and K must be multiples of vec %d", e.Shape, v)
	}
	kern, why := build(e.Dev, e.Source, k, matmulBindings)
	if kern == nil {
		return reject("%s", why)
	}
	defer kern.Release()
	if r := validate(ctx, ValidationShapes(k), func(s Shape) error {
		o, err := newOperands(e.Dev, s)
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
		if e.target, err = newOperands(e.Dev, e.Shape); err != nil {
			return reject("shape %s: %v", e.Shape, err)
		}
	}
	// The timed shape is checked too, on sampled elements: a full CPU
	// reference of a large matmul would take minutes.
	if err := e.target.check(kern, k, SampleIndices(e.Shape, 512)); err != nil {
		return reject("validation %s: %v", e.Shape, err)
	}
	t, err := e.Dev.Time(e.Timing, e.target.dispatch(kern, k))
	if err != nil {
		return reject("timing: %v", err)
	}
	m := &search.Measurement{
		Clock: t.Clock, Repeats: t.Repeats, Samples: t.Samples,
		Median: t.Median, Lo: t.Lo, Hi: t.Hi, Work: e.Shape.FLOPs(), Unit: "FLOP/s",
	}
	return search.Result{Status: search.OK, Score: m.Rate(), Measure: m}
}

// Retime measures a point again on the timed shape, without validating it:
// it must have validated in this evaluator before Close.
func (e *Evaluator) Retime(_ context.Context, p search.Point) (*search.Measurement, error) {
	k := Params(p)
	if e.target == nil {
		return nil, fmt.Errorf("retime %s: no measured shape", k)
	}
	return retime(e.Dev, e.Timing, k, matmulBindings, e.Shape.FLOPs(), "FLOP/s", func(kern *runner.Kernel) []runner.Dispatch {
		return []runner.Dispatch{e.target.dispatch(kern, k)}
	})
}

// retime compiles k and times the dispatches made for it.
func retime(d *runner.Device, opts runner.TimeOptions, k templates.Kernel, bindings []runner.Binding, work float64, unit string, ds func(*runner.Kernel) []runner.Dispatch) (*search.Measurement, error) {
	src, err := templates.Render(k)
	if err != nil {
		return nil, err
	}
	kern, err := d.Compile(k.Name(), string(src), bindings, k.WorkgroupSize())
	if err != nil {
		return nil, err
	}
	defer kern.Release()
	t, err := d.Time(opts, ds(kern)...)
	if err != nil {
		return nil, err
	}
	return &search.Measurement{Clock: t.Clock, Repeats: t.Repeats, Samples: t.Samples, Median: t.Median, Lo: t.Lo, Hi: t.Hi, Work: work, Unit: unit}, nil
}

// Close releases the shared inputs.
func (e *Evaluator) Close() {
	if e.target != nil {
		e.target.release()
		e.target = nil
	}
}

// ValidationShapes are the small shapes every candidate must compute
// exactly: partial tiles in every dimension, a single element, and exact
// multiples of the tile.
func ValidationShapes(k Kernel) []Shape {
	tm, tn, tk, v := k.Tile()
	return []Shape{
		{2*tm + 1, tn + v, 2*tk + v},
		{1, v, v},
		{tm, tn, 3 * tk},
		{tm + 3, 2*tn + v, tk + v},
	}
}

// sentinel marks output words no kernel has written: a NaN no arithmetic
// produces, so it cannot be mistaken for a result.
const sentinel = 0x7fbadbad

// operands are one shape's buffers and host copies of the inputs.
type operands struct {
	shape   Shape
	a, b    []float32
	guard   int // words after C that must stay untouched
	dims    *runner.Buffer
	ga, gb  *runner.Buffer
	gc      *runner.Buffer
	dev     *runner.Device
	cleared []byte
}

func newOperands(d *runner.Device, s Shape) (*operands, error) {
	o := &operands{shape: s, dev: d, guard: max(1024, 64*s.N+128)}
	o.a, o.b = MatmulInputs(s)
	var err error
	if o.dims, err = d.NewBuffer("dims", 16); err != nil {
		return nil, err
	}
	dims := make([]byte, 16)
	binary.LittleEndian.PutUint32(dims[0:], uint32(s.M))
	binary.LittleEndian.PutUint32(dims[4:], uint32(s.N))
	binary.LittleEndian.PutUint32(dims[8:], uint32(s.K))
	if err := o.dims.Write(0, dims); err != nil {
		o.release()
		return nil, err
	}
	if o.ga, err = upload(d, "a", o.a); err != nil {
		o.release()
		return nil, err
	}
	if o.gb, err = upload(d, "b", o.b); err != nil {
		o.release()
		return nil, err
	}
	words := s.M*s.N + o.guard
	if o.gc, err = d.NewBuffer("c", uint64(4*words)); err != nil {
		o.release()
		return nil, err
	}
	o.cleared = make([]byte, 4*words)
	for i := 0; i < words; i++ {
		binary.LittleEndian.PutUint32(o.cleared[4*i:], sentinel)
	}
	return o, nil
}

func upload(d *runner.Device, label string, v []float32) (*runner.Buffer, error) {
	b, err := d.NewBuffer(label, uint64(4*len(v)))
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
	}
	if err := b.Write(0, buf); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

func (o *operands) dispatch(kern *runner.Kernel, k Kernel) runner.Dispatch {
	return runner.Dispatch{
		Kernel:  kern,
		Buffers: []*runner.Buffer{o.dims, o.ga, o.gb, o.gc},
		Groups:  k.Groups(o.shape.M, o.shape.N),
	}
}

// errMismatch marks a wrong value, as opposed to a device failure.
var errMismatch = errors.New("wrong result")

// check runs the kernel once on cleared output and compares it with the CPU
// reference: at the listed element indices, or everywhere when sample is
// nil. Every element is checked for being written and finite, and the
// guard band for being untouched.
func (o *operands) check(kern *runner.Kernel, k Kernel, sample []int) error {
	if err := o.gc.Write(0, o.cleared); err != nil {
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
		want, tol := MatmulReference(s, o.a, o.b, row, col)
		if got := at(raw, i); math.Abs(got-want) > tol {
			return fmt.Errorf("%w: C[%d][%d] = %g, want %g within %.3g", errMismatch, row, col, got, want, tol)
		}
		return nil
	}
	return checkEach(s.M*s.N, sample, check)
}

// Tolerance is the error allowed for an f32 dot product of length k whose
// terms have absolute sum mag: the classic bound k*u*sum|a*b| for
// recursive summation (u = 2^-24), doubled for the rounding of the inputs'
// products under any order of summation.
func Tolerance(k int, mag float64) float64 {
	const u = 1.0 / (1 << 24)
	return 2*float64(k)*u*mag + 1e-30
}

func (o *operands) release() {
	for _, b := range []*runner.Buffer{o.dims, o.ga, o.gb, o.gc} {
		if b != nil {
			b.Release()
		}
	}
}
