package ops

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// GemvShape is a decode matrix-vector product: y (Rows) = W (Rows x Cols) x.
type GemvShape struct{ Rows, Cols int }

func (s GemvShape) String() string { return fmt.Sprintf("%dx%d", s.Rows, s.Cols) }

// Dims returns the shape as profiles store it.
func (s GemvShape) Dims() []int { return []int{s.Rows, s.Cols} }

// GemvTask names a GEMV workload in journals, results and profiles.
func GemvTask(s GemvShape, f quant.Format) string {
	return fmt.Sprintf("gemv/%s/N=%d/K=%d", f, s.Rows, s.Cols)
}

// DecodeShapes are the GEMV shapes of Llama decode: the Llama-3.1-8B
// projections and FFN, and the Llama-3.2-1B classifier.
var DecodeShapes = []GemvShape{{4096, 4096}, {14336, 4096}, {4096, 14336}, {128256, 2048}}

// GemvSpace is the GEMV search space for format f on a device with limits lim.
func GemvSpace(f quant.Format, lim Limits) *search.Space {
	return GemvVariantSpace(f, GemvVariant{}, lim)
}

// GemvVariantSpace is the search space of variant v of the GEMV. Up to 32
// rows share a workgroup: every workgroup loads the whole of x (and with
// the fusions computes the normalised or SwiGLU'd input), which the more
// rows share the cheaper it is. The constraints judge the kernel with its
// fusions, whose sum of squares (Norm) takes workgroup memory.
func GemvVariantSpace(f quant.Format, v GemvVariant, lim Limits) *search.Space {
	rows := []int{1, 2, 4, 8, 16, 32}
	kernel := func(p search.Point) templates.Gemv { return v.Apply(GemvParams(p, f)) }
	return &search.Space{
		Axes: []search.Axis{
			search.Ints("wg", 32, 64, 128, 256),
			search.Ints("rows", rows...),
			search.Ints("vec", 1, 2, 4),
			{Name: "unpack", Values: templates.Unpacks},
			search.Bools("fold"),
			splitAxis(),
			layoutAxis(v),
		},
		Constraints: []search.Constraint{
			{Name: "params the template accepts", OK: func(p search.Point) bool { return kernel(p).Check() == nil }},
			{Name: fmt.Sprintf("invocations <= %d", lim.Invocations), OK: func(p search.Point) bool {
				return p.Int("wg") <= lim.Invocations && p.Int("wg") <= lim.SizeX
			}},
			{Name: fmt.Sprintf("workgroup memory <= %d B", lim.WorkgroupBytes), OK: func(p search.Point) bool {
				return kernel(p).WorkgroupBytes() <= lim.WorkgroupBytes
			}},
		},
	}
}

// splitAxis lists the GEMV's K splits; 1 (none) is left out of IDs, so
// that IDs from before the axis still parse.
func splitAxis() search.Axis {
	a := search.Ints("split", append([]int{1}, templates.SplitCounts...)...)
	a.Omit = "1"
	return a
}

// layoutAxis lists the weight layouts of variant v's GEMV; apart is left
// out of IDs, so that IDs from before the axis still parse. The fused
// variants, the model's, take apart alone: a model's weights are uploaded
// apart, as its GEMMs and embedding lookups read them.
func layoutAxis(v GemvVariant) search.Axis {
	a := search.Axis{Name: "layout", Values: templates.Layouts}
	if v.Fused() {
		a.Values = a.Values[:1]
	}
	a.Omit = "apart"
	return a
}

// ParseGemvID reads a profile's or journal's ID of a GEMV space; IDs from
// before the fold axis existed ran unfolded.
func ParseGemvID(space *search.Space, id string) (search.Point, error) {
	p, err := space.Parse(id)
	if err != nil && !strings.Contains(id, "fold=") {
		p, err = space.Parse(id + "/fold=false")
	}
	return p, err
}

// GemvParams turns a point of GemvSpace into template params for format f.
func GemvParams(p search.Point, f quant.Format) templates.Gemv {
	return templates.Gemv{Bits: f.Bits, Group: f.Group, Asym: f.Asym,
		WG: p.Int("wg"), Rows: p.Int("rows"), Vec: p.Int("vec"), Unpack: p.Get("unpack"), Fold: p.Bool("fold"), Split: p.Int("split"), Layout: gemvLayout(p)}
}

// gemvLayout is p's layout in templates.Gemv's spelling: empty for apart,
// as the kernels made without the axis have it.
func gemvLayout(p search.Point) string {
	if l := p.Get("layout"); l != "apart" {
		return l
	}
	return ""
}

// GemvBaseline is the simplest GEMV: one row per workgroup, one word per
// load, codes shifted out one by one.
func GemvBaseline(f quant.Format) templates.Gemv {
	return templates.Gemv{Bits: f.Bits, Group: f.Group, Asym: f.Asym, WG: 64, Rows: 1, Vec: 1, Unpack: "shift"}
}

// GemvVariant is which of templates.Gemv's fusions a GEMV carries. The
// decode step runs norm (the Q, K, V and gate/up products, the quantized
// classifier), acc (the attention output) and glu+acc (the down
// projection). A fused variant is tuned and kept in profiles as an op of
// its own, "gemv-" and its name (gemv-norm, gemv-acc, gemv-glu+acc), with
// the format as dtype and the IDs of GemvVariantSpace, so that its winners
// and the plain GEMV's ("gemv") never stand in for one another.
type GemvVariant struct{ Norm, GLU, Acc bool }

// GemvVariants lists the variants ParseGemvVariant accepts, plain first.
var GemvVariants = []GemvVariant{{}, {Norm: true}, {GLU: true}, {Acc: true}, {Norm: true, Acc: true}, {GLU: true, Acc: true}}

// ParseGemvVariant reads a variant's name: "plain", or fusions joined by
// "+" (norm, glu, acc), e.g. "glu+acc".
func ParseGemvVariant(s string) (GemvVariant, error) {
	var v GemvVariant
	if s == "plain" {
		return v, nil
	}
	for _, name := range strings.Split(s, "+") {
		var on *bool
		switch name {
		case "norm":
			on = &v.Norm
		case "glu":
			on = &v.GLU
		case "acc":
			on = &v.Acc
		default:
			return GemvVariant{}, fmt.Errorf("gemv variant %q: %q is not norm, glu or acc (or the whole name plain)", s, name)
		}
		if *on {
			return GemvVariant{}, fmt.Errorf("gemv variant %q: %s twice", s, name)
		}
		*on = true
	}
	if v.Norm && v.GLU {
		return GemvVariant{}, fmt.Errorf("gemv variant %q: the norm and glu prologues cannot be combined", s)
	}
	return v, nil
}

// GemvVariantOf is the variant of kernel k.
func GemvVariantOf(k templates.Gemv) GemvVariant { return GemvVariant{k.Norm, k.GLU, k.Acc} }

// String names the variant as ParseGemvVariant reads it.
func (v GemvVariant) String() string {
	var names []string
	for _, f := range []struct {
		on   bool
		name string
	}{{v.Norm, "norm"}, {v.GLU, "glu"}, {v.Acc, "acc"}} {
		if f.on {
			names = append(names, f.name)
		}
	}
	if len(names) == 0 {
		return "plain"
	}
	return strings.Join(names, "+")
}

// Fused reports whether any fusion is on.
func (v GemvVariant) Fused() bool { return v.Norm || v.GLU || v.Acc }

// Op is the variant's op in profiles and journals: "gemv" for the plain
// GEMV, else "gemv-" and its name.
func (v GemvVariant) Op() string {
	if !v.Fused() {
		return "gemv"
	}
	return "gemv-" + v.String()
}

// Task names the variant's workload in journals and results, GemvTask's
// name under the variant's op.
func (v GemvVariant) Task(s GemvShape, f quant.Format) string {
	return v.Op() + strings.TrimPrefix(GemvTask(s, f), "gemv")
}

// Apply returns k with the variant's fusions, and no others.
func (v GemvVariant) Apply(k templates.Gemv) templates.Gemv {
	k.Norm, k.GLU, k.Acc = v.Norm, v.GLU, v.Acc
	return k
}

// GemvVariantWorkloads are the GEMV workloads of each variant, format and
// shape; the fused ones validate against GemvFusedReference and count the
// bytes their fusions read.
func GemvVariantWorkloads(d *runner.Device, variants []GemvVariant, formats []quant.Format, shapes []GemvShape, timing runner.TimeOptions) []Workload {
	var out []Workload
	for _, v := range variants {
		for _, f := range formats {
			for _, s := range shapes {
				e := &GemvEvaluator{Dev: d, Shape: s, Format: f, Variant: v, Timing: timing}
				base := v.Apply(GemvBaseline(f))
				label := s.String() + " " + f.String()
				if v.Fused() {
					label += " " + v.String()
				}
				out = append(out, Workload{
					Op: v.Op(), Dtype: f.String(), Dims: s.Dims(), Label: label, Task: v.Task(s, f), Unit: "B/s",
					Space: SplitWhereFew(GemvVariantSpace(f, v, DeviceLimits(d)), s, SplitBelowGroups(d.Info)), Eval: e, Baseline: base, Bytes: gemvDispatchBytes(s, f, v),
					EvaluateBaseline: func(ctx context.Context) search.Result { return e.EvaluateKernel(ctx, base) },
				})
			}
		}
	}
	return out
}

// GemvBindingsFor lists a GEMV kernel's bindings in order.
func GemvBindingsFor(k templates.Gemv) []runner.Binding {
	b := []runner.Binding{runner.Uniform, runner.ReadOnly, runner.ReadOnly, runner.ReadOnly, runner.ReadWrite}
	if k.Asym {
		b = append(b, runner.ReadOnly)
	}
	if k.Norm {
		b = append(b, runner.ReadOnly)
	}
	if k.Rope {
		b = append(b, runner.Uniform, runner.Uniform, runner.ReadWrite, runner.ReadWrite)
	}
	if k.RopeFreqs {
		b = append(b, runner.ReadOnly)
	}
	if k.Expert {
		b = append(b, runner.ReadOnly, runner.ReadOnly)
	}
	return b
}

// GemvEvaluator validates and times GEMV kernels for one shape and format.
// Fused kernels run on the fused operands (GemvFusionInputs: the norm
// weight, the packed gate/up input, a y to add into) and are checked
// against GemvFusedReference.
type GemvEvaluator struct {
	Dev    *runner.Device
	Shape  GemvShape
	Format quant.Format
	// Variant is the fusions every point of the space is evaluated with;
	// EvaluateKernel takes its kernel's own.
	Variant GemvVariant
	Timing  runner.TimeOptions
	// WorkingSet is the bytes of weights a timed run streams through,
	// rotating copies so that it exceeds the caches as a decode step does;
	// 0 means 192 MiB on a GPU and one copy on a CPU adapter.
	WorkingSet int64
	// Lanes is how many outputs each weight copy has, written in turn;
	// 0 means enough for 256 dispatches on a GPU, 1 on a CPU adapter. With
	// one, every dispatch after the first round of copies writes a buffer
	// an earlier dispatch wrote and waits on a barrier, as the dependent
	// steps of a decode do; more measure the kernel's own streaming rate.
	Lanes int
	// Source renders a kernel; nil means templates.Render.
	Source func(templates.Kernel) ([]byte, error)

	target *gemvOperands
}

var _ search.Evaluator = (*GemvEvaluator)(nil)

func (e *GemvEvaluator) Kernel() string { return "gemv" }

func (e *GemvEvaluator) Evaluate(ctx context.Context, p search.Point) search.Result {
	return e.EvaluateKernel(ctx, e.Variant.Apply(GemvParams(p, e.Format)))
}

// EvaluateKernel renders, compiles, validates and, if valid, times k.
func (e *GemvEvaluator) EvaluateKernel(ctx context.Context, k templates.Gemv) search.Result {
	start := time.Now()
	res := e.evaluate(ctx, k)
	res.Kernel, res.ID, res.Seconds = k.Name(), k.String(), time.Since(start).Seconds()
	return res
}

func (e *GemvEvaluator) evaluate(ctx context.Context, k templates.Gemv) search.Result {
	if !k.Fits(e.Shape.Rows, e.Shape.Cols) {
		return reject("shape %s: K must be a multiple of %d and of the group (with the beside layout, of four groups)", e.Shape, k.Elems())
	}
	kern, why := build(e.Dev, e.Source, k, GemvBindingsFor(k))
	if kern == nil {
		return reject("%s", why)
	}
	defer kern.Release()
	if r := validate(ctx, GemvValidationShapes(k), func(s GemvShape) error {
		o, err := newGemvOperands(e.Dev, s, e.Format, 1, 1)
		if err != nil {
			return err
		}
		defer o.release()
		o.source = e.Source
		return o.check(kern, k, nil)
	}); r != nil {
		return *r
	}
	var err error
	if e.target == nil {
		copies := 1
		if ws := e.workingSet(); ws > 0 {
			bytes := quantBytes(e.Shape, e.Format)
			copies = int(min(16, max(1, (ws+bytes-1)/bytes)))
		}
		if e.target, err = newGemvOperands(e.Dev, e.Shape, e.Format, copies, e.lanes(copies)); err != nil {
			return reject("shape %s: %v", e.Shape, err)
		}
		e.target.source = e.Source
	}
	if err := e.target.check(kern, k, SampleRows(e.Shape.Rows, 256)); err != nil {
		return reject("validation %s: %v", e.Shape, err)
	}
	ds, err := e.target.dispatches(kern, k, -1)
	if err != nil {
		return reject("%v", err)
	}
	t, err := e.Dev.Time(e.Timing, ds...)
	if err != nil {
		return reject("timing: %v", err)
	}
	m := &search.Measurement{Clock: t.Clock, Repeats: t.Repeats, Samples: t.Samples, Median: t.Median, Lo: t.Lo, Hi: t.Hi,
		Work: e.target.bytesPerRun(k), Unit: "B/s"}
	return search.Result{Status: search.OK, Score: m.Rate(), Measure: m}
}

// lanes is how many outputs each copy gets: Lanes, or on a GPU enough that
// a timed run has at least 256 dispatches, none writing a buffer an
// earlier one wrote, within 64 MiB of outputs.
func (e *GemvEvaluator) lanes(copies int) int {
	if e.Lanes != 0 || e.Dev.Info.Type == "cpu" {
		return max(1, e.Lanes)
	}
	return max(1, min((256+copies-1)/copies, (64<<20)/(4*e.Shape.Rows*copies)))
}

func (e *GemvEvaluator) workingSet() int64 {
	if e.WorkingSet != 0 || e.Dev.Info.Type == "cpu" {
		return e.WorkingSet
	}
	return beyondCache
}

// Retime measures a point again on the timed shape, without validating it:
// it must have validated in this evaluator before Close.
func (e *GemvEvaluator) Retime(_ context.Context, p search.Point) (*search.Measurement, error) {
	k := e.Variant.Apply(GemvParams(p, e.Format))
	if e.target == nil {
		return nil, fmt.Errorf("retime %s: no measured shape", k)
	}
	if _, err := e.target.stage(k); err != nil {
		return nil, err
	}
	return retime(e.Dev, e.Timing, k, GemvBindingsFor(k), e.target.bytesPerRun(k), "B/s", func(kern *runner.Kernel) []runner.Dispatch {
		ds, _ := e.target.dispatches(kern, k, -1) // the stages are made: no error
		return ds
	})
}

// Close releases the timed shape's buffers.
func (e *GemvEvaluator) Close() {
	if e.target != nil {
		e.target.release()
		e.target = nil
	}
}

// gemvDispatchBytes is what bytesPerRun counts for one dispatch of a
// shape of variant v that fits one binding.
func gemvDispatchBytes(s GemvShape, f quant.Format, v GemvVariant) int64 {
	in, out := int64(4*s.Cols), int64(4*s.Rows)
	if v.Norm || v.GLU {
		in *= 2
	}
	if v.Acc {
		out *= 2
	}
	return quantBytes(s, f) + in + out
}

// quantBytes is the size of a tensor's codes, scales and mins.
func quantBytes(s GemvShape, f quant.Format) int64 {
	groups := int64(1)
	if f.Group > 0 {
		groups = int64(s.Cols / f.Group)
	}
	n := int64(s.Rows) * (int64(s.Cols)*int64(f.Bits)/8 + 4*groups)
	if f.Asym {
		n += int64(s.Rows) * 4 * groups
	}
	return n
}

// GemvValidationShapes are small shapes every candidate must compute
// exactly: a partial last workgroup of rows, a single row, and several
// groups per row.
func GemvValidationShapes(k templates.Gemv) []GemvShape {
	g := max(128, k.Group, k.Elems()*k.Splits())
	if k.Beside() {
		g = max(g, 4*k.Group) // rows of whole blocks
	}
	return []GemvShape{{2*k.Rows + 1, 3 * g}, {1, g}, {k.Rows*5 + 3, 2 * g}}
}

// gemvPart is a slice of rows small enough for one binding.
type gemvPart struct {
	offset, rows int
	dims         *runner.Buffer
	w, s, m      []*runner.Buffer // one per copy
	beside       []*runner.Buffer // one per copy: the beside layout's words, made at its first use
	reduceDims   *runner.Buffer   // GemvReduce's uniform, made at a K split's first use
}

// gemvOperands hold a random tensor (random codes, scales and mins), x and
// the fusions' inputs on the host, and on the device split by rows into
// bindable parts, each replicated copies times.
type gemvOperands struct {
	dev   *runner.Device
	shape GemvShape
	t     *quant.Tensor
	x     []float32
	fu    GemvFusion
	gx    *runner.Buffer
	gnorm *runner.Buffer // fu.Norm
	ggu   *runner.Buffer // fu.GU
	y0    []byte         // fu.Y0, then the guard band's sentinels
	// gy holds lanes outputs per copy, lane-major: a timed run writes each
	// once, so no dispatch waits on a barrier for an earlier one's write.
	gy    []*runner.Buffer
	lanes int
	guard int
	parts []*gemvPart
	clear []byte
	// A K split's partial sums, one buffer per output (room for the
	// largest split's parts of a part's rows), and its reduce kernels:
	// made at first use.
	partial []*runner.Buffer
	reduces map[templates.GemvReduce]*runner.Kernel
	source  func(templates.Kernel) ([]byte, error) // renders the reduce; nil means templates.Render
}

func newGemvOperands(d *runner.Device, s GemvShape, f quant.Format, copies, lanes int) (*gemvOperands, error) {
	glen := f.Group
	if glen == 0 {
		glen = s.Cols
	}
	t, x, err := GemvInputs(s, f)
	if err != nil {
		return nil, err
	}
	o := &gemvOperands{dev: d, shape: s, t: t, x: x, fu: GemvFusionInputs(s), guard: 1024, lanes: max(1, lanes)}
	if o.gx, err = upload(d, "x", o.x); err != nil {
		return nil, err
	}
	if o.gnorm, err = upload(d, "norm", o.fu.Norm); err != nil {
		o.release()
		return nil, err
	}
	if o.ggu, err = upload(d, "gate_up", o.fu.GU); err != nil {
		o.release()
		return nil, err
	}
	if o.gy, o.clear, err = gemvOutputs(d, s.Rows, o.guard, copies*o.lanes); err != nil {
		o.release()
		return nil, err
	}
	o.y0 = append([]byte(nil), o.clear...)
	for i, v := range o.fu.Y0 {
		binary.LittleEndian.PutUint32(o.y0[4*i:], math.Float32bits(v))
	}
	// The fused kernels' uniform; the plain ones read its first half.
	o.parts, err = uploadGemvParts(d, t, copies, func(rows, offset int) []uint32 {
		return GemvUniform(templates.Gemv{Norm: true}, rows, s.Cols, glen, offset, o.fu.Eps, 0, s.Cols)
	})
	if err != nil {
		o.release()
		return nil, err
	}
	return o, nil
}

// gemvOutputs makes n outputs of rows words, each followed by guard words,
// and the bytes that reset one to the sentinel.
func gemvOutputs(d *runner.Device, rows, guard, n int) ([]*runner.Buffer, []byte, error) {
	words := rows + guard
	clear := make([]byte, 4*words)
	for i := 0; i < words; i++ {
		binary.LittleEndian.PutUint32(clear[4*i:], sentinel)
	}
	var out []*runner.Buffer
	for i := 0; i < n; i++ {
		b, err := d.NewBuffer("y", uint64(4*words))
		if err != nil {
			for _, b := range out {
				b.Release()
			}
			return nil, nil, err
		}
		out = append(out, b)
	}
	return out, clear, nil
}

// uploadGemvParts splits t by rows into parts small enough for one
// binding, each with its uniform (made by uniform from the part's rows and
// first row) and copies of its codes, scales and mins. On an error the
// parts made so far are returned for the caller to release.
func uploadGemvParts(d *runner.Device, t *quant.Tensor, copies int, uniform func(rows, offset int) []uint32) ([]*gemvPart, error) {
	limit := min(d.Limits.MaxBufferSize, d.Limits.MaxStorageBufferBindingSize)
	wpr, gpr := t.WordsPerRow(), t.Cols/t.Format.GroupLen(t.Cols)
	// A row with its scales and mins, as the beside layout holds it.
	rowWords := wpr + gpr
	if t.Asym {
		rowWords += gpr
	}
	rowsPerPart := max(1, int(limit/uint64(4*rowWords)))
	var parts []*gemvPart
	for off := 0; off < t.Rows; off += rowsPerPart {
		n := min(rowsPerPart, t.Rows-off)
		p := &gemvPart{offset: off, rows: n}
		parts = append(parts, p)
		var err error
		if p.dims, err = uploadWords(d, uniform(n, off)); err != nil {
			return parts, err
		}
		rows := t.RowRange(off, n)
		for c := 0; c < copies; c++ {
			wb, err := uploadWords(d, rows.Words)
			if err != nil {
				return parts, err
			}
			p.w = append(p.w, wb)
			sb, err := upload(d, "scales", rows.Scales)
			if err != nil {
				return parts, err
			}
			p.s = append(p.s, sb)
			if t.Format.Asym {
				mb, err := upload(d, "mins", rows.Mins)
				if err != nil {
					return parts, err
				}
				p.m = append(p.m, mb)
			}
		}
	}
	return parts, nil
}

func uploadWords(d *runner.Device, w []uint32) (*runner.Buffer, error) {
	b, err := d.NewBuffer("weights", uint64(4*len(w)))
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 4*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint32(buf[4*i:], v)
	}
	if err := b.Write(0, buf); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

// dispatches lists one dispatch per part and copy, each lane in turn (a
// K split's followed by its reduce); copy < 0 means all copies and lanes,
// else that copy's first lane.
func (o *gemvOperands) dispatches(kern *runner.Kernel, k templates.Gemv, copy int) ([]runner.Dispatch, error) {
	x := o.gx
	if k.GLU {
		x = o.ggu
	}
	red, err := o.stage(k)
	if err != nil {
		return nil, err
	}
	var ds []runner.Dispatch
	eachPart(o.parts, o.lanes, copy, func(p *gemvPart, c, y int) runner.Dispatch {
		out := o.gy[y]
		if red != nil {
			out = o.partial[y]
		}
		w, s, m := p.w[c], p.s[c], (*runner.Buffer)(nil)
		if k.Asym {
			m = p.m[c]
		}
		if k.Beside() {
			// The scales and mins bindings are unread: they take w again.
			w = p.beside[c]
			s, m = w, w
		}
		bufs := []*runner.Buffer{p.dims, w, s, x, out}
		if k.Asym {
			bufs = append(bufs, m)
		}
		if k.Norm {
			bufs = append(bufs, o.gnorm)
		}
		d := runner.Dispatch{Kernel: kern, Buffers: bufs, Groups: k.Groups(p.rows)}
		ds = append(ds, d)
		if red != nil {
			ds = append(ds, runner.Dispatch{Kernel: red, Buffers: []*runner.Buffer{p.reduceDims, out, o.gy[y]}, Groups: k.Reduce().Groups(p.rows)})
		}
		return d
	})
	return ds, nil
}

// SplitBelowGroups is how few groups of rows make a K split worth trying
// on adapter a: on a GPU fewer than 128, under one per compute unit of a
// large one (the H100 has 132; with more, a split only adds its reduce
// dispatch), which keeps the splits out of the large decode shapes'
// spaces; on a CPU adapter none (a few workgroups fill its cores).
func SplitBelowGroups(a runner.AdapterInfo) int {
	if a.Type == "cpu" {
		return 0
	}
	return 128
}

// SplitWhereFew constrains sp, a GEMV space, to K splits of shape s only
// where its rows make fewer than below groups.
func SplitWhereFew(sp *search.Space, s GemvShape, below int) *search.Space {
	sp.Constraints = append(sp.Constraints, search.Constraint{
		Name: fmt.Sprintf("a K split only under %d groups of rows", below),
		OK: func(p search.Point) bool {
			return p.Int("split") == 1 || (s.Rows+p.Int("rows")-1)/p.Int("rows") < below
		},
	})
	return sp
}

// GemvReduceBindings are templates.GemvReduce's bindings.
var GemvReduceBindings = []runner.Binding{runner.Uniform, runner.ReadOnly, runner.ReadWrite}

// stage makes what k needs beyond the operands at its first use: the
// beside layout's words (besideStage), a K split's reduce (splitStage),
// which it returns.
func (o *gemvOperands) stage(k templates.Gemv) (*runner.Kernel, error) {
	if k.Beside() {
		if err := o.besideStage(); err != nil {
			return nil, err
		}
	}
	return o.splitStage(k)
}

// besideStage packs every part's rows in the beside layout, a buffer per
// copy, unless it is done.
func (o *gemvOperands) besideStage() error {
	if o.parts[0].beside != nil {
		return nil
	}
	for _, p := range o.parts {
		words, err := o.t.RowRange(p.offset, p.rows).PackBeside()
		if err != nil {
			return err
		}
		for range p.w {
			b, err := uploadWords(o.dev, words)
			if err != nil {
				return err
			}
			p.beside = append(p.beside, b)
		}
	}
	return nil
}

// splitStage returns a K-split k's reduce kernel, making it, the partial
// sums' buffers and the parts' reduce uniforms at first use; nil for a
// kernel without a split.
func (o *gemvOperands) splitStage(k templates.Gemv) (*runner.Kernel, error) {
	if k.Splits() == 1 {
		return nil, nil
	}
	r := k.Reduce()
	if kern := o.reduces[r]; kern != nil {
		return kern, nil
	}
	if o.partial == nil {
		most := 0
		for _, p := range o.parts {
			most = max(most, p.rows)
			b, err := uploadWords(o.dev, []uint32{uint32(p.rows), uint32(p.offset), 0, 0})
			if err != nil {
				return nil, err
			}
			p.reduceDims = b
		}
		for range o.gy {
			b, err := o.dev.NewBuffer("gemv-parts", uint64(4*slices.Max(templates.SplitCounts)*most))
			if err != nil {
				return nil, err
			}
			o.partial = append(o.partial, b)
		}
	}
	kern, why := build(o.dev, o.source, r, GemvReduceBindings)
	if kern == nil {
		return nil, fmt.Errorf("%s: %s", r, why)
	}
	if o.reduces == nil {
		o.reduces = map[templates.GemvReduce]*runner.Kernel{}
	}
	o.reduces[r] = kern
	return kern, nil
}

// eachPart lists dispatch(p, c, y) for every part p of every weight copy c
// in every lane, y being the output that lane and copy write (lane-major);
// copy >= 0 keeps only that copy's first lane.
func eachPart(parts []*gemvPart, lanes, copy int, dispatch func(p *gemvPart, c, y int) runner.Dispatch) []runner.Dispatch {
	var ds []runner.Dispatch
	copies := len(parts[0].w)
	for l := 0; l < lanes; l++ {
		if copy >= 0 && l > 0 {
			break
		}
		for c := 0; c < copies; c++ {
			if copy >= 0 && c != copy {
				continue
			}
			for _, p := range parts {
				ds = append(ds, dispatch(p, c, l*copies+c))
			}
		}
	}
	return ds
}

// bytesPerRun counts what one timed run of k reads and writes: every copy's
// codes, scales and mins once; the input side once per part (x; with Norm
// x and the norm weight; with GLU the gate and up halves); and y, read
// and written with Acc. Every workgroup reads the whole input side, but
// from cache after the first: counting it once keeps a fused variant's
// rate comparable with the plain GEMV's at the same shape.
func (o *gemvOperands) bytesPerRun(k templates.Gemv) float64 {
	copies := len(o.parts[0].w)
	in, out := 4*o.shape.Cols, 4*o.shape.Rows
	if k.Norm || k.GLU {
		in *= 2
	}
	if k.Acc {
		out *= 2
	}
	return float64(copies*o.lanes) * (float64(quantBytes(o.shape, o.t.Format)) + float64(in*len(o.parts)) + float64(out))
}

// check runs the kernel once over every part and compares y with the CPU
// reference at the listed rows, or all rows when rows is nil; every row must
// be written (with Acc, added to its Y0) and finite and the guard band
// untouched.
func (o *gemvOperands) check(kern *runner.Kernel, k templates.Gemv, rows []int) error {
	clear := o.clear
	if k.Acc {
		clear = o.y0
	}
	if err := o.gy[0].Write(0, clear); err != nil {
		return err
	}
	ds, err := o.dispatches(kern, k, 0)
	if err != nil {
		return err
	}
	if err := o.dev.Run(ds...); err != nil {
		return err
	}
	raw, err := o.gy[0].Read()
	if err != nil {
		return err
	}
	n := o.shape.Rows
	if err := checkWritten(raw, n, o.guard, func(i int) string { return fmt.Sprintf("y[%d]", i) }); err != nil {
		return err
	}
	if rows == nil {
		rows = make([]int, n)
		for i := range rows {
			rows[i] = i
		}
	}
	row := make([]float32, o.shape.Cols)
	for _, r := range rows {
		want, tol := GemvFusedReference(o.t, o.x, o.fu, k, r, row)
		if got := at(raw, r); math.Abs(got-want) > tol {
			return fmt.Errorf("%w: y[%d] = %g, want %g within %.3g", errMismatch, r, got, want, tol)
		}
	}
	return nil
}

func (o *gemvOperands) release() {
	bufs := append(append([]*runner.Buffer{o.gx, o.gnorm, o.ggu}, o.gy...), o.partial...)
	for _, p := range o.parts {
		bufs = append(append(append(append(append(bufs, p.dims, p.reduceDims), p.w...), p.s...), p.m...), p.beside...)
	}
	for _, k := range o.reduces {
		k.Release()
	}
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
}
