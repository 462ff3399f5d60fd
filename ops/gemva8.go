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

// The integer GEMV of W8A8 and W4A8: activations quantized to int8 on the
// device (templates.QuantAct, a dynamic absmax scale per token or a static
// calibrated one), then y = W x with i32 inner products (templates.GemvA8).
// The references below say exactly what both must compute, and
// GemvA8Evaluator validates and times the GEMV as GemvEvaluator does the
// f32-dequantizing one, so the two compare on the same shapes.

// GemvA8Task names an integer GEMV workload in journals and profiles.
func GemvA8Task(s GemvShape, f quant.Format) string {
	return fmt.Sprintf("gemv-a8/%s/N=%d/K=%d", f, s.Rows, s.Cols)
}

// GemvA8Space is the integer GEMV search space for format f.
func GemvA8Space(f quant.Format, lim Limits) *search.Space {
	return &search.Space{
		Axes: []search.Axis{
			search.Ints("wg", 32, 64, 128, 256),
			search.Ints("rows", 1, 2, 4, 8),
			search.Ints("vec", 1, 2, 4),
			search.Bools("fold"),
		},
		Constraints: []search.Constraint{
			{Name: "params the template accepts", OK: func(p search.Point) bool { return GemvA8Params(p, f).Check() == nil }},
			{Name: fmt.Sprintf("invocations <= %d", lim.Invocations), OK: func(p search.Point) bool {
				return p.Int("wg") <= lim.Invocations && p.Int("wg") <= lim.SizeX
			}},
			{Name: fmt.Sprintf("workgroup memory <= %d B", lim.WorkgroupBytes), OK: func(p search.Point) bool {
				return GemvA8Params(p, f).WorkgroupBytes() <= lim.WorkgroupBytes
			}},
		},
	}
}

// GemvA8Params turns a point of GemvA8Space into template params.
func GemvA8Params(p search.Point, f quant.Format) templates.GemvA8 {
	return templates.GemvA8{Bits: f.Bits, Group: f.Group, WG: p.Int("wg"), Rows: p.Int("rows"), Vec: p.Int("vec"), Fold: p.Bool("fold")}
}

// GemvA8ParamsFromID reads a profile's ID of GemvA8Space back; IDs from
// before the fold axis ran unfolded.
func GemvA8ParamsFromID(id string, f quant.Format, lim Limits) (templates.GemvA8, error) {
	space := GemvA8Space(f, lim)
	p, err := ParseGemvID(space, id)
	if err == nil {
		err = space.Check(p)
	}
	if err != nil {
		return templates.GemvA8{}, err
	}
	return GemvA8Params(p, f), nil
}

// GemvA8Baseline is the simplest integer GEMV: one row per workgroup, one
// word per load.
func GemvA8Baseline(f quant.Format) templates.GemvA8 {
	return templates.GemvA8{Bits: f.Bits, Group: f.Group, WG: 64, Rows: 1, Vec: 1}
}

// CheckA8Format rejects formats the integer GEMV does not take: it needs a
// symmetric format (the code offset is folded into the weight codes).
func CheckA8Format(f quant.Format) error {
	if f.Asym {
		return fmt.Errorf("%w: %s: the integer GEMV takes symmetric formats", quant.ErrInvalid, f)
	}
	return f.Validate()
}

// GemvA8Bindings are the integer GEMV's bindings in order: {rows, cols,
// glen, row_offset}, weight words, weight scales, activation codes, y, and
// the activation scale.
var GemvA8Bindings = []runner.Binding{runner.Uniform, runner.ReadOnly, runner.ReadOnly, runner.ReadOnly, runner.ReadWrite, runner.ReadOnly}

// QuantActBindings are the quantizer's bindings in order: {cols, 0, 0, 0},
// x, the codes (cols/4 words per token) and the scales (one per token;
// static kernels read element 0).
var QuantActBindings = []runner.Binding{runner.Uniform, runner.ReadOnly, runner.ReadWrite, runner.ReadWrite}

// QuantAct is the quantizer kernel the evaluators and the GPU path use.
func QuantAct(static bool) templates.QuantAct { return templates.QuantAct{WG: 256, Static: static} }

// QuantizeActivations is the CPU reference of templates.QuantAct for one
// token: with scale 0 the dynamic scale float32(absmax)/127 is computed;
// otherwise scale is the static one. Codes are x/scale rounded half to
// even and clamped to [-127, 127], all 0 when the scale is 0. The kernel
// multiplies by 1/scale instead of dividing, which can move a value within
// an ulp of a tie to the other side: QuantCodesMatch allows exactly that.
func QuantizeActivations(x []float32, static float32) (codes []int8, scale float32) {
	scale = static
	if static == 0 {
		scale = absmax(x) / 127
	}
	codes = make([]int8, len(x))
	if scale == 0 {
		return codes, 0
	}
	for i, v := range x {
		codes[i] = int8(math.Max(-127, math.Min(127, math.RoundToEven(float64(v)/float64(scale)))))
	}
	return codes, scale
}

func absmax(x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, float32(math.Abs(float64(v))))
	}
	return m
}

// PackCodes packs int8 codes four to a u32, element i in byte i%4.
// len(codes) must be a multiple of 4.
func PackCodes(codes []int8) []uint32 {
	w := make([]uint32, len(codes)/4)
	for i, c := range codes {
		w[i/4] |= uint32(uint8(c)) << (8 * (i % 4))
	}
	return w
}

// UnpackCodes undoes PackCodes for n codes.
func UnpackCodes(words []uint32, n int) []int8 {
	c := make([]int8, n)
	for i := range c {
		c[i] = int8(words[i/4] >> (8 * (i % 4)))
	}
	return c
}

// QuantCodesMatch checks a quantizer's output for one token against
// QuantizeActivations: a dynamic scale (static 0) within 3 ulps of
// absmax/127 (Vulkan lets a division be off by 2.5), a static
// one exactly; codes exactly as the reference makes them from the device's
// scale, except where x/scale lies within 1e-4 of a tie and the scale is
// not a power of two (so x * (1/scale) is inexact), where either neighbour
// is accepted.
func QuantCodesMatch(x []float32, static, gotScale float32, words []uint32) error {
	_, want := QuantizeActivations(x, static)
	if static == 0 {
		if math.Abs(float64(gotScale)-float64(want)) > 3*ulp32(want) || (want == 0) != (gotScale == 0) {
			return fmt.Errorf("%w: scale %g, want %g (absmax/127) within 3 ulps", errMismatch, gotScale, want)
		}
	} else if gotScale != static {
		return fmt.Errorf("%w: static scale read as %g, want %g", errMismatch, gotScale, static)
	}
	got := UnpackCodes(words, len(x))
	exact := gotScale == 0 || math.Abs(math.Log2(float64(gotScale))-math.Round(math.Log2(float64(gotScale)))) == 0
	for i, v := range x {
		var r float64
		if gotScale != 0 {
			r = float64(v) / float64(gotScale)
		}
		want := math.Max(-127, math.Min(127, math.RoundToEven(r)))
		if float64(got[i]) == want {
			continue
		}
		lo := math.Max(-127, math.Min(127, math.Floor(r)))
		hi := math.Max(-127, math.Min(127, math.Ceil(r)))
		near := math.Abs(r-math.Floor(r)-0.5) < 1e-4
		if !exact && near && (float64(got[i]) == lo || float64(got[i]) == hi) {
			continue
		}
		return fmt.Errorf("%w: code %d of x = %g with scale %g is %d, want %g", errMismatch, i, v, gotScale, got[i], want)
	}
	return nil
}

func ulp32(v float32) float64 {
	return float64(math.Nextafter32(v, float32(math.Inf(1))) - v)
}

// weightCode is the signed weight code of element c of row r of a
// symmetric tensor.
func weightCode(t *quant.Tensor, r, c int) int64 {
	per := 32 / t.Bits
	w := t.Words[r*t.WordsPerRow()+c/per]
	u := (w >> (uint(c%per) * uint(t.Bits))) & (1<<t.Bits - 1)
	return int64(u) - 1<<(t.Bits-1)
}

// GemvA8Reference returns y[row] = xscale * sum over groups of
// scale[g] * (the exact integer dot product of the group's weight and
// activation codes), in float64, and the error allowed: the integer sums
// are exact on the device and f32(sum) exact (below 2^24), so only the
// f32 tail rounds — one product per load, a sum of at most cols/4 of them
// and the final product — bounded by Tolerance(cols/4 + 2) of the sum of
// |terms|.
func GemvA8Reference(t *quant.Tensor, codes []int8, xscale float32, row int) (want, tol float64) {
	glen := t.GroupLen(t.Cols)
	var mag float64
	for g := 0; g < t.Cols/glen; g++ {
		var dot, abs int64
		for c := g * glen; c < (g+1)*glen; c++ {
			p := weightCode(t, row, c) * int64(codes[c])
			dot += p
			abs += max(p, -p)
		}
		s := float64(t.Scales[row*(t.Cols/glen)+g])
		want += s * float64(dot)
		mag += math.Abs(s) * float64(abs)
	}
	x := float64(xscale)
	return want * x, Tolerance(t.Cols/4+2, mag*x)
}

// GemvA8Evaluator validates and times integer GEMV kernels for one shape
// and symmetric format; activations are quantized on the device by
// QuantAct (dynamic, or static with StaticScale).
type GemvA8Evaluator struct {
	Dev    *runner.Device
	Shape  GemvShape
	Format quant.Format
	Timing runner.TimeOptions
	// StaticScale, when positive, is the activation scale of the static
	// scheme; 0 computes it from the activations.
	StaticScale float32
	// WorkingSet and Lanes are GemvEvaluator's.
	WorkingSet int64
	Lanes      int
	// Source renders a kernel; nil means templates.Render.
	Source func(templates.Kernel) ([]byte, error)

	quant  *runner.Kernel
	target *gemvA8Operands
}

var _ search.Evaluator = (*GemvA8Evaluator)(nil)

func (e *GemvA8Evaluator) Kernel() string { return "gemva8" }

func (e *GemvA8Evaluator) Evaluate(ctx context.Context, p search.Point) search.Result {
	return e.EvaluateKernel(ctx, GemvA8Params(p, e.Format))
}

// EvaluateKernel renders, compiles, validates and, if valid, times k.
func (e *GemvA8Evaluator) EvaluateKernel(ctx context.Context, k templates.GemvA8) search.Result {
	start := time.Now()
	res := e.evaluate(ctx, k)
	res.Kernel, res.ID, res.Seconds = k.Name(), k.String(), time.Since(start).Seconds()
	return res
}

// quantizer compiles the activation quantizer once per evaluator.
func (e *GemvA8Evaluator) quantizer() (*runner.Kernel, error) {
	if e.quant == nil {
		k := QuantAct(e.StaticScale > 0)
		kern, why := build(e.Dev, e.Source, k, QuantActBindings)
		if kern == nil {
			return nil, fmt.Errorf("quantizer %s: %s", k, why)
		}
		e.quant = kern
	}
	return e.quant, nil
}

func (e *GemvA8Evaluator) evaluate(ctx context.Context, k templates.GemvA8) search.Result {
	if err := CheckA8Format(e.Format); err != nil {
		return reject("%v", err)
	}
	if e.StaticScale < 0 || math.IsInf(float64(e.StaticScale), 0) || math.IsNaN(float64(e.StaticScale)) {
		return reject("static scale %g: want a positive finite scale, or 0 for dynamic", e.StaticScale)
	}
	if !k.Fits(e.Shape.Rows, e.Shape.Cols) {
		return reject("shape %s: K must be a multiple of %d and of the group", e.Shape, k.Elems())
	}
	q, err := e.quantizer()
	if err != nil {
		return reject("%v", err)
	}
	kern, why := build(e.Dev, e.Source, k, GemvA8Bindings)
	if kern == nil {
		return reject("%s", why)
	}
	defer kern.Release()
	if r := validate(ctx, GemvValidationShapes(templates.Gemv{Rows: k.Rows, Group: k.Group, Bits: k.Bits, Vec: k.Vec}), func(s GemvShape) error {
		o, err := newGemvA8Operands(e.Dev, s, e.Format, e.StaticScale, q, 1, 1)
		if err != nil {
			return err
		}
		defer o.release()
		return o.check(kern, k, nil)
	}); r != nil {
		return *r
	}
	if e.target == nil {
		copies := 1
		if ws := e.workingSet(); ws > 0 {
			bytes := quantBytes(e.Shape, e.Format)
			copies = int(min(16, max(1, (ws+bytes-1)/bytes)))
		}
		if e.target, err = newGemvA8Operands(e.Dev, e.Shape, e.Format, e.StaticScale, q, copies, e.lanes(copies)); err != nil {
			return reject("shape %s: %v", e.Shape, err)
		}
	}
	if err := e.target.check(kern, k, SampleRows(e.Shape.Rows, 256)); err != nil {
		return reject("validation %s: %v", e.Shape, err)
	}
	t, err := e.Dev.Time(e.Timing, e.target.dispatches(kern, k, -1)...)
	if err != nil {
		return reject("timing: %v", err)
	}
	m := &search.Measurement{Clock: t.Clock, Repeats: t.Repeats, Samples: t.Samples, Median: t.Median, Lo: t.Lo, Hi: t.Hi,
		Work: e.target.bytesPerRun(), Unit: "B/s"}
	return search.Result{Status: search.OK, Score: m.Rate(), Measure: m}
}

func (e *GemvA8Evaluator) lanes(copies int) int {
	g := GemvEvaluator{Dev: e.Dev, Shape: e.Shape, Lanes: e.Lanes}
	return g.lanes(copies)
}

func (e *GemvA8Evaluator) workingSet() int64 {
	g := GemvEvaluator{Dev: e.Dev, WorkingSet: e.WorkingSet}
	return g.workingSet()
}

// Retime measures a point again on the timed shape, without validating it:
// it must have validated in this evaluator before Close.
func (e *GemvA8Evaluator) Retime(_ context.Context, p search.Point) (*search.Measurement, error) {
	k := GemvA8Params(p, e.Format)
	if e.target == nil {
		return nil, fmt.Errorf("retime %s: no measured shape", k)
	}
	return retime(e.Dev, e.Timing, k, GemvA8Bindings, e.target.bytesPerRun(), "B/s", func(kern *runner.Kernel) []runner.Dispatch {
		return e.target.dispatches(kern, k, -1)
	})
}

// TimeQuantizer times the activation quantizer alone on the evaluator's
// shape (one token of Cols values), in bytes of x read and codes written
// per second: the cost the integer path adds per distinct input vector.
func (e *GemvA8Evaluator) TimeQuantizer() (*search.Measurement, error) {
	if e.target == nil {
		return nil, fmt.Errorf("quantizer: no measured shape")
	}
	t, err := e.Dev.Time(e.Timing, e.target.quantDispatch())
	if err != nil {
		return nil, err
	}
	work := float64(4*e.Shape.Cols + e.Shape.Cols + 4)
	return &search.Measurement{Clock: t.Clock, Repeats: t.Repeats, Samples: t.Samples, Median: t.Median, Lo: t.Lo, Hi: t.Hi, Work: work, Unit: "B/s"}, nil
}

// Close releases the quantizer and the timed shape's buffers.
func (e *GemvA8Evaluator) Close() {
	if e.target != nil {
		e.target.release()
		e.target = nil
	}
	if e.quant != nil {
		e.quant.Release()
		e.quant = nil
	}
}

// GemvA8Workloads are integer GEMV workloads for every format and shape.
func GemvA8Workloads(d *runner.Device, formats []quant.Format, shapes []GemvShape, timing runner.TimeOptions) ([]Workload, error) {
	var out []Workload
	for _, f := range formats {
		if err := CheckA8Format(f); err != nil {
			return nil, err
		}
		for _, s := range shapes {
			e := &GemvA8Evaluator{Dev: d, Shape: s, Format: f, Timing: timing}
			base := GemvA8Baseline(f)
			out = append(out, Workload{
				Op: "gemv-a8", Dtype: f.String(), Dims: s.Dims(), Label: s.String() + " " + f.String() + " a8", Task: GemvA8Task(s, f), Unit: "B/s",
				Space: GemvA8Space(f, DeviceLimits(d)), Eval: e, Baseline: base,
				EvaluateBaseline: func(ctx context.Context) search.Result { return e.EvaluateKernel(ctx, base) },
			})
		}
	}
	return out, nil
}

// GemvA8Bytes is the memory one integer GEMV streams: W's codes and
// scales, the activation codes and scale, and y.
func GemvA8Bytes(s GemvShape, f quant.Format) float64 {
	return float64(quantBytes(s, f)) + float64(s.Cols+4) + float64(4*s.Rows)
}

// gemvA8Operands are gemvOperands for the integer GEMV: a random tensor,
// x, its codes and scale on the device (made there by the quantizer and
// checked against QuantizeActivations when the operands are made), and y.
type gemvA8Operands struct {
	dev    *runner.Device
	shape  GemvShape
	t      *quant.Tensor
	x      []float32
	codes  []int8  // the device's codes
	xscale float32 // the device's scale
	qdims  *runner.Buffer
	quant  *runner.Kernel
	gx     *runner.Buffer
	gxq    *runner.Buffer
	gsc    *runner.Buffer
	gy     []*runner.Buffer
	lanes  int
	guard  int
	parts  []*gemvPart
	clear  []byte
}

// newGemvA8Operands uploads a random tensor and x, runs the quantizer q on
// x (static scale, or dynamic when 0) and checks its output.
func newGemvA8Operands(d *runner.Device, s GemvShape, f quant.Format, static float32, q *runner.Kernel, copies, lanes int) (*gemvA8Operands, error) {
	t, x, err := GemvInputs(s, f)
	if err != nil {
		return nil, err
	}
	return gemvA8OperandsFor(d, t, x, static, q, copies, lanes)
}

// gemvA8OperandsFor is newGemvA8Operands for a given tensor and x.
func gemvA8OperandsFor(d *runner.Device, t *quant.Tensor, x []float32, static float32, q *runner.Kernel, copies, lanes int) (*gemvA8Operands, error) {
	s, f := GemvShape{Rows: t.Rows, Cols: t.Cols}, t.Format
	var err error
	o := &gemvA8Operands{dev: d, shape: s, t: t, x: x, quant: q, guard: 1024, lanes: max(1, lanes)}
	if err := o.quantize(static); err != nil {
		o.release()
		return nil, err
	}
	if o.gy, o.clear, err = gemvOutputs(d, s.Rows, o.guard, copies*o.lanes); err != nil {
		o.release()
		return nil, err
	}
	glen := f.GroupLen(s.Cols)
	o.parts, err = uploadGemvParts(d, t, copies, func(rows, offset int) []uint32 {
		return []uint32{uint32(rows), uint32(s.Cols), uint32(glen), uint32(offset)}
	})
	if err != nil {
		o.release()
		return nil, err
	}
	return o, nil
}

// quantize runs the quantizer on x, reads the codes and scale back and
// checks them with QuantCodesMatch.
func (o *gemvA8Operands) quantize(static float32) error {
	var err error
	cols := o.shape.Cols
	if o.qdims, err = uploadWords(o.dev, []uint32{uint32(cols), 0, 0, 0}); err != nil {
		return err
	}
	if o.gx, err = upload(o.dev, "x", o.x); err != nil {
		return err
	}
	// The codes, then guard words the quantizer must leave alone.
	const guard = 64
	if o.gxq, err = o.dev.NewBuffer("xq", uint64(cols+4*guard)); err != nil {
		return err
	}
	fill := make([]byte, cols+4*guard)
	for i := 0; i < len(fill); i += 4 {
		binary.LittleEndian.PutUint32(fill[i:], sentinel)
	}
	if err := o.gxq.Write(0, fill); err != nil {
		return err
	}
	// One scale, then a guard word the quantizer must leave alone.
	if o.gsc, err = upload(o.dev, "xscale", []float32{static, math.Float32frombits(sentinel)}); err != nil {
		return err
	}
	if err := o.dev.Run(o.quantDispatch()); err != nil {
		return err
	}
	raw, err := o.gxq.Read()
	if err != nil {
		return err
	}
	sc, err := o.gsc.Read()
	if err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(sc[4:]) != sentinel {
		return fmt.Errorf("%w: quantizer wrote past its one scale", errMismatch)
	}
	for i := cols; i < cols+4*guard; i += 4 {
		if binary.LittleEndian.Uint32(raw[i:]) != sentinel {
			return fmt.Errorf("%w: quantizer wrote past its %d codes", errMismatch, cols)
		}
	}
	words := make([]uint32, cols/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	o.xscale = math.Float32frombits(binary.LittleEndian.Uint32(sc))
	if err := QuantCodesMatch(o.x, static, o.xscale, words); err != nil {
		return fmt.Errorf("quantizer: %w", err)
	}
	o.codes = UnpackCodes(words, cols)
	return nil
}

func (o *gemvA8Operands) quantDispatch() runner.Dispatch {
	return runner.Dispatch{Kernel: o.quant, Buffers: []*runner.Buffer{o.qdims, o.gx, o.gxq, o.gsc}, Groups: templates.QuantAct{}.Groups(1)}
}

// dispatches lists one dispatch per part and copy, each lane in turn;
// copy < 0 means all copies and lanes, else that copy's first lane.
func (o *gemvA8Operands) dispatches(kern *runner.Kernel, k templates.GemvA8, copy int) []runner.Dispatch {
	return eachPart(o.parts, o.lanes, copy, func(p *gemvPart, c, y int) runner.Dispatch {
		bufs := []*runner.Buffer{p.dims, p.w[c], p.s[c], o.gxq, o.gy[y], o.gsc}
		return runner.Dispatch{Kernel: kern, Buffers: bufs, Groups: k.Groups(p.rows)}
	})
}

// bytesPerRun counts what one timed run reads and writes: every copy's
// codes and scales once, the activation codes and scale once per part,
// and y.
func (o *gemvA8Operands) bytesPerRun() float64 {
	copies := len(o.parts[0].w)
	return float64(copies*o.lanes) * (float64(quantBytes(o.shape, o.t.Format)) + float64((o.shape.Cols+4)*len(o.parts)) + float64(4*o.shape.Rows))
}

// check runs the kernel once over every part and compares y with
// GemvA8Reference of the device's codes at the listed rows (all when nil);
// every row must be written and finite and the guard band untouched.
func (o *gemvA8Operands) check(kern *runner.Kernel, k templates.GemvA8, rows []int) error {
	_, err := o.checkY(kern, k, rows)
	return err
}

// checkY is check, returning y's raw words.
func (o *gemvA8Operands) checkY(kern *runner.Kernel, k templates.GemvA8, rows []int) ([]byte, error) {
	if err := o.gy[0].Write(0, o.clear); err != nil {
		return nil, err
	}
	if err := o.dev.Run(o.dispatches(kern, k, 0)...); err != nil {
		return nil, err
	}
	raw, err := o.gy[0].Read()
	if err != nil {
		return nil, err
	}
	n := o.shape.Rows
	if err := checkWritten(raw, n, o.guard, func(i int) string { return fmt.Sprintf("y[%d]", i) }); err != nil {
		return nil, err
	}
	return raw, checkEach(n, rows, func(r int) error {
		want, tol := GemvA8Reference(o.t, o.codes, o.xscale, r)
		if got := at(raw, r); math.Abs(got-want) > tol {
			return fmt.Errorf("%w: y[%d] = %g, want %g within %.3g", errMismatch, r, got, want, tol)
		}
		return nil
	})
}

func (o *gemvA8Operands) release() {
	bufs := append([]*runner.Buffer{o.qdims, o.gx, o.gxq, o.gsc}, o.gy...)
	for _, p := range o.parts {
		bufs = append(append(append(bufs, p.dims), p.w...), p.s...)
	}
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
}

// CheckQuantAct runs the quantizer kern (templates.QuantAct, static when
// static > 0) on one token x, whose length is a multiple of 4, and checks
// its codes and scale with QuantCodesMatch, and that it writes nothing past
// them.
func CheckQuantAct(d *runner.Device, kern *runner.Kernel, x []float32, static float32) error {
	if len(x) == 0 || len(x)%4 != 0 {
		return fmt.Errorf("%w: %d activations, want a positive multiple of 4", quant.ErrInvalid, len(x))
	}
	o := &gemvA8Operands{dev: d, shape: GemvShape{Rows: 1, Cols: len(x)}, x: x, quant: kern}
	defer o.release()
	return o.quantize(static)
}

// RunGemvA8 quantizes x on the device (static scale, or dynamic when 0)
// and multiplies t, a symmetric tensor, by it with the integer GEMV k,
// checking the codes and every row against the references; it returns y
// and the activation scale used.
func RunGemvA8(d *runner.Device, t *quant.Tensor, x []float32, static float32, k templates.GemvA8) ([]float32, float32, error) {
	if err := CheckA8Format(t.Format); err != nil {
		return nil, 0, err
	}
	if len(x) != t.Cols || !k.Fits(t.Rows, t.Cols) || k.Bits != t.Bits || k.Group != t.Group {
		return nil, 0, fmt.Errorf("%w: %s for a %dx%d %s tensor and %d activations", quant.ErrInvalid, k, t.Rows, t.Cols, t.Format, len(x))
	}
	q, why := build(d, nil, QuantAct(static > 0), QuantActBindings)
	if q == nil {
		return nil, 0, fmt.Errorf("quantizer: %s", why)
	}
	defer q.Release()
	kern, why := build(d, nil, k, GemvA8Bindings)
	if kern == nil {
		return nil, 0, fmt.Errorf("%s: %s", k, why)
	}
	defer kern.Release()
	o, err := gemvA8OperandsFor(d, t, x, static, q, 1, 1)
	if err != nil {
		return nil, 0, err
	}
	defer o.release()
	raw, err := o.checkY(kern, k, nil)
	if err != nil {
		return nil, 0, err
	}
	y := make([]float32, t.Rows)
	for i := range y {
		y[i] = float32(at(raw, i))
	}
	return y, o.xscale, nil
}
