package ops

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// BlockOp is a block kernel family as the tuner sees it (tune sweep -op
// Name): the variants it is tuned for separately, its search space, the
// kernel model code uses where a profile has no entry, and the shapes it is
// tuned at. Its workloads time the bytes a kernel must move (inputs read
// once, outputs written once) per second.
type BlockOp struct {
	Name string // -op name, the profile's op and the template's name
	Dims string // what a shape's dims are, e.g. "rows x n"
	// Dtypes are the variants, each a workload of its own and a profile
	// entry's dtype: "f32", or a variant such as "f32-noweight"; for
	// embedq, quantized formats (any that quant.ParseFormat reads; the
	// listed ones are the default).
	Dtypes []string
	// Default is the point of Space that model code uses where a profile
	// has no entry, and the baseline of the sweep.
	Default string

	axes   []search.Axis
	wgMem  func(p search.Point) int // workgroup memory, or nil where it is small
	kernel func(p search.Point, dtype string) (templates.Kernel, error)
	check  func(shape []int) error
	shapes func(dtype string, cpu bool) [][]int
	target func(k templates.Kernel, dtype string, shape []int) (BlockCase, float64, error)
}

var wgAxis = search.Ints("wg", 32, 64, 128, 256)

// BlockOps lists the block kernels the tuner sweeps, by name.
var BlockOps = []*BlockOp{
	{
		Name: "rmsnorm", Dims: "rows x n", Dtypes: []string{"f32", "f32-noweight"}, Default: "wg=64",
		axes: []search.Axis{wgAxis},
		kernel: func(p search.Point, dtype string) (templates.Kernel, error) {
			return templates.RMSNorm{WG: p.Int("wg"), NoWeight: dtype == "f32-noweight"}, nil
		},
		check: func(s []int) error { return atMost(s[0], 65535, "rows") },
		shapes: func(dtype string, cpu bool) [][]int {
			switch {
			case dtype == "f32-noweight" && cpu:
				return [][]int{{8, 128}}
			case dtype == "f32-noweight":
				return [][]int{{40, 128}, {8, 128}} // Llama 4's q and k heads
			case cpu:
				return [][]int{{1, 2048}}
			}
			return [][]int{{1, 4096}, {1, 5120}}
		},
		target: func(k templates.Kernel, _ string, s []int) (BlockCase, float64, error) {
			n := 8 * s[0] * s[1]
			if !k.(templates.RMSNorm).NoWeight {
				n += 4 * s[1]
			}
			return RMSNormCase(k.(templates.RMSNorm), s[0], s[1], 2), float64(n), nil
		},
	},
	{
		Name: "rope", Dims: "heads x head_dim", Dtypes: []string{"f32", "f32-freqs", "f32-half", "f32-half-freqs"}, Default: "wg=64",
		axes: []search.Axis{wgAxis},
		kernel: func(p search.Point, dtype string) (templates.Kernel, error) {
			return templates.Rope{WG: p.Int("wg"), Half: strings.Contains(dtype, "half"), Freqs: strings.Contains(dtype, "freqs")}, nil
		},
		check: func(s []int) error {
			if s[1]%2 != 0 {
				return fmt.Errorf("head_dim %d is odd", s[1])
			}
			return nil
		},
		shapes: func(_ string, cpu bool) [][]int {
			if cpu {
				return [][]int{{8, 64}}
			}
			return [][]int{{32, 128}, {8, 128}}
		},
		// Llama 3.1's base and, with Freqs, its table at a long position.
		target: func(k templates.Kernel, _ string, s []int) (BlockCase, float64, error) {
			r := k.(templates.Rope)
			var freqs []float32
			n := 8 * s[0] * s[1]
			if r.Freqs {
				var err error
				if freqs, err = Llama3RopeFreqs(s[1], 500000, 8, 1, 4, 8192); err != nil {
					return BlockCase{}, 0, err
				}
				n += 2 * s[1]
			}
			return RopeCase(r, s[0], s[1], s[1], 4095, 500000, freqs), float64(n), nil
		},
	},
	{
		Name: "swiglu", Dims: "n", Dtypes: []string{"f32"}, Default: "wg=64",
		axes: []search.Axis{wgAxis},
		kernel: func(p search.Point, _ string) (templates.Kernel, error) {
			return templates.SwiGLU{WG: p.Int("wg")}, nil
		},
		shapes: func(_ string, cpu bool) [][]int { return cpuOr(cpu, [][]int{{2048}}, [][]int{{14336}, {8192}}) },
		target: func(k templates.Kernel, _ string, s []int) (BlockCase, float64, error) {
			return SwiGLUCase(k.(templates.SwiGLU), s[0]), float64(12 * s[0]), nil
		},
	},
	{
		Name: "add", Dims: "n", Dtypes: []string{"f32"}, Default: "wg=64",
		axes: []search.Axis{wgAxis},
		kernel: func(p search.Point, _ string) (templates.Kernel, error) {
			return templates.Add{WG: p.Int("wg")}, nil
		},
		shapes: func(_ string, cpu bool) [][]int { return cpuOr(cpu, [][]int{{2048}}, [][]int{{4096}, {5120}}) },
		target: func(k templates.Kernel, _ string, s []int) (BlockCase, float64, error) {
			return AddCase(k.(templates.Add), s[0]), float64(12 * s[0]), nil
		},
	},
	{
		Name: "embed", Dims: "dim", Dtypes: []string{"f32"}, Default: "wg=64",
		axes: []search.Axis{wgAxis},
		kernel: func(p search.Point, _ string) (templates.Kernel, error) {
			return templates.Embed{WG: p.Int("wg")}, nil
		},
		shapes: func(_ string, cpu bool) [][]int { return cpuOr(cpu, [][]int{{2048}}, [][]int{{4096}, {5120}}) },
		target: func(k templates.Kernel, _ string, s []int) (BlockCase, float64, error) {
			return EmbedCase(k.(templates.Embed), embedVocab, s[0], embedVocab-1), float64(8*s[0] + 4), nil
		},
	},
	{
		Name: "embedq", Dims: "dim", Default: "wg=64",
		Dtypes: []string{DefaultFormats[0].String(), DefaultFormats[1].String(), DefaultFormats[2].String()},
		axes:   []search.Axis{wgAxis},
		kernel: func(p search.Point, dtype string) (templates.Kernel, error) {
			f, err := quant.ParseFormat(dtype)
			if err != nil {
				return nil, err
			}
			return templates.EmbedQ{Bits: f.Bits, Group: f.Group, Asym: f.Asym, WG: p.Int("wg")}, nil
		},
		shapes: func(_ string, cpu bool) [][]int { return cpuOr(cpu, [][]int{{2048}}, [][]int{{4096}, {5120}}) },
		target: func(k templates.Kernel, dtype string, s []int) (BlockCase, float64, error) {
			f, err := quant.ParseFormat(dtype)
			if err != nil {
				return BlockCase{}, 0, err
			}
			if s[0]%32 != 0 || s[0]%f.GroupLen(s[0]) != 0 {
				return BlockCase{}, 0, fmt.Errorf("dim %d is not a multiple of 32 and of %s's group", s[0], f)
			}
			c, err := EmbedQCase(k.(templates.EmbedQ), f, embedVocab, s[0], embedVocab-1, 0)
			return c, float64(quantBytes(GemvShape{1, s[0]}, f) + 4*int64(s[0]) + 4), err
		},
	},
	{
		Name: "argmax", Dims: "n", Dtypes: []string{"f32"}, Default: "wg=256",
		axes: []search.Axis{wgAxis},
		kernel: func(p search.Point, _ string) (templates.Kernel, error) {
			return templates.Argmax{WG: p.Int("wg")}, nil
		},
		shapes: func(_ string, cpu bool) [][]int { return cpuOr(cpu, [][]int{{32000}}, [][]int{{128256}, {202048}}) },
		target: func(k templates.Kernel, _ string, s []int) (BlockCase, float64, error) {
			r := rand.New(rand.NewPCG(uint64(s[0]), 59))
			return ArgmaxCase(k.(templates.Argmax), fmt.Sprintf("n=%d", s[0]), scaled(r, s[0], 10)), float64(4*s[0] + 4), nil
		},
	},
	{
		Name: "softmax", Dims: "rows x n", Dtypes: []string{"f32"}, Default: "wg=256",
		axes: []search.Axis{wgAxis},
		kernel: func(p search.Point, _ string) (templates.Kernel, error) {
			return templates.Softmax{WG: p.Int("wg")}, nil
		},
		check: func(s []int) error { return atMost(s[0], 65535, "rows") },
		shapes: func(_ string, cpu bool) [][]int {
			return cpuOr(cpu, [][]int{{1, 32000}}, [][]int{{1, 128256}, {1, 202048}})
		},
		target: func(k templates.Kernel, _ string, s []int) (BlockCase, float64, error) {
			return SoftmaxCase(k.(templates.Softmax), s[0], s[1], 0.8, 12), float64(8 * s[0] * s[1]), nil
		},
	},
	{
		Name: "topp", Dims: "n", Dtypes: []string{"f32"}, Default: "wg=256/chunk=1024",
		axes:  []search.Axis{wgAxis, search.Ints("chunk", 128, 256, 512, 1024)},
		wgMem: func(p search.Point) int { return toppParams(p).WorkgroupBytes() },
		kernel: func(p search.Point, _ string) (templates.Kernel, error) {
			return toppParams(p), nil
		},
		shapes: func(_ string, cpu bool) [][]int { return cpuOr(cpu, [][]int{{32000}}, [][]int{{128256}, {202048}}) },
		// A language model's long tail (ZipfProbs): about 60 tokens in the
		// nucleus, thousands of candidates.
		target: func(k templates.Kernel, _ string, s []int) (BlockCase, float64, error) {
			c := TopPCase(k.(templates.TopP), fmt.Sprintf("zipf/n=%d", s[0]), ZipfProbs(1, s[0], 1.5), 0.9, 0.5)
			return c, float64(4*s[0] + 4), nil
		},
	},
	{
		Name: "router", Dims: "experts x k", Dtypes: []string{"f32"}, Default: "wg=64",
		axes: []search.Axis{wgAxis},
		kernel: func(p search.Point, _ string) (templates.Kernel, error) {
			return templates.Router{WG: p.Int("wg")}, nil
		},
		check: func(s []int) error {
			if s[1] > min(s[0], templates.MaxRouterK) {
				return fmt.Errorf("k %d is more than min(experts %d, %d)", s[1], s[0], templates.MaxRouterK)
			}
			return nil
		},
		shapes: func(_ string, cpu bool) [][]int {
			return cpuOr(cpu, [][]int{{16, 1}}, [][]int{{16, 1}, {128, 1}, {128, 8}})
		},
		target: func(k templates.Kernel, _ string, s []int) (BlockCase, float64, error) {
			r := rand.New(rand.NewPCG(uint64(s[0]), 61))
			c := RouterCase(k.(templates.Router), fmt.Sprintf("experts=%d/k=%d", s[0], s[1]), scaled(r, s[0], 4), s[1])
			return c, float64(4*s[0] + 8*s[1]), nil
		},
	},
	{
		Name: "matvec", Dims: "rows x cols", Dtypes: []string{"f32"}, Default: "wg=64/rows=1",
		axes:  []search.Axis{wgAxis, search.Ints("rows", 1, 2, 4, 8, 16)},
		wgMem: func(p search.Point) int { return matvecParams(p).WorkgroupBytes() },
		kernel: func(p search.Point, _ string) (templates.Kernel, error) {
			return matvecParams(p), nil
		},
		// The routers of Llama 4 Scout and Maverick.
		shapes: func(_ string, cpu bool) [][]int {
			return cpuOr(cpu, [][]int{{16, 2048}}, [][]int{{16, 5120}, {128, 5120}})
		},
		target: func(k templates.Kernel, _ string, s []int) (BlockCase, float64, error) {
			return MatVecCase(k.(templates.MatVec), s[0], s[1]), float64(4 * (s[0]*s[1] + s[0] + s[1])), nil
		},
	},
}

// embedVocab is the rows of the timed embedding tables: a step reads one
// row, so the rest only take memory.
const embedVocab = 64

// maxBlockElems bounds a shape's elements, to keep a mistyped shape from
// allocating gigabytes.
const maxBlockElems = 1 << 26

func toppParams(p search.Point) templates.TopP {
	return templates.TopP{WG: p.Int("wg"), Chunk: p.Int("chunk")}
}

func matvecParams(p search.Point) templates.MatVec {
	return templates.MatVec{WG: p.Int("wg"), Rows: p.Int("rows")}
}

func cpuOr(cpu bool, small, large [][]int) [][]int {
	if cpu {
		return small
	}
	return large
}

func atMost(v, limit int, name string) error {
	if v > limit {
		return fmt.Errorf("%s %d is over %d", name, v, limit)
	}
	return nil
}

// BlockOpNames lists BlockOps' names.
func BlockOpNames() []string {
	var names []string
	for _, op := range BlockOps {
		names = append(names, op.Name)
	}
	return names
}

// LookupBlockOp returns the block op of that name.
func LookupBlockOp(name string) (*BlockOp, error) {
	for _, op := range BlockOps {
		if op.Name == name {
			return op, nil
		}
	}
	return nil, fmt.Errorf("%q is not a block op (%s)", name, strings.Join(BlockOpNames(), ", "))
}

// Space is the op's search space on a device with limits lim.
func (op *BlockOp) Space(lim Limits) *search.Space {
	s := &search.Space{
		Axes: op.axes,
		Constraints: []search.Constraint{{Name: fmt.Sprintf("invocations <= %d", lim.Invocations), OK: func(p search.Point) bool {
			return p.Int("wg") <= lim.Invocations && p.Int("wg") <= lim.SizeX
		}}},
	}
	if op.wgMem != nil {
		s.Constraints = append(s.Constraints, search.Constraint{Name: fmt.Sprintf("workgroup memory <= %d B", lim.WorkgroupBytes), OK: func(p search.Point) bool {
			return op.wgMem(p) <= lim.WorkgroupBytes
		}})
	}
	return s
}

// CheckDtype reports whether dtype is one of the op's variants.
func (op *BlockOp) CheckDtype(dtype string) error {
	if op.Name == "embedq" {
		_, err := quant.ParseFormat(dtype)
		return err
	}
	if !slices.Contains(op.Dtypes, dtype) {
		return fmt.Errorf("%s has no variant %q (%s)", op.Name, dtype, strings.Join(op.Dtypes, ", "))
	}
	return nil
}

// Kernel is the kernel of a point of the op's space for a variant.
func (op *BlockOp) Kernel(p search.Point, dtype string) (templates.Kernel, error) {
	if err := op.CheckDtype(dtype); err != nil {
		return nil, err
	}
	return op.kernel(p, dtype)
}

// KernelByID is the kernel a profile entry's ID names for the variant, or
// the op's Default for an empty ID: what model code runs.
func (op *BlockOp) KernelByID(id, dtype string) (templates.Kernel, error) {
	if id == "" {
		id = op.Default
	}
	p, err := op.Space(Limits{}).Parse(id)
	if err != nil {
		return nil, err
	}
	return op.Kernel(p, dtype)
}

// DefaultShapes are the shapes the op is tuned at for a variant: Llama 3
// and Llama 4 decode shapes on a GPU, smaller ones on a CPU adapter.
func (op *BlockOp) DefaultShapes(a runner.AdapterInfo, dtype string) [][]int {
	return op.shapes(dtype, a.Type == "cpu")
}

// ParseShapes reads a comma-separated list of shapes, each its dims joined
// by 'x' (e.g. 1x4096 for rows x n).
func (op *BlockOp) ParseShapes(s string) ([][]int, error) {
	ndims := len(strings.Split(op.Dims, " x "))
	var out [][]int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		parts := strings.Split(f, "x")
		shape := make([]int, len(parts))
		elems := 1
		for i, p := range parts {
			v, err := strconv.Atoi(p)
			if err != nil || v < 1 || v > maxBlockElems {
				return nil, fmt.Errorf("shape %q: %q is not a dimension in 1..%d", f, p, maxBlockElems)
			}
			shape[i] = v
			elems *= v
			if elems > maxBlockElems {
				return nil, fmt.Errorf("shape %q: over %d elements", f, maxBlockElems)
			}
		}
		if len(shape) != ndims {
			return nil, fmt.Errorf("shape %q: %s takes %s", f, op.Name, op.Dims)
		}
		if op.check != nil {
			if err := op.check(shape); err != nil {
				return nil, fmt.Errorf("shape %q: %v", f, err)
			}
		}
		out = append(out, shape)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no shapes in %q", s)
	}
	return out, nil
}

// TimedCase is the case a workload of the op times kernel k at: the shape's
// inputs, the expected outputs, and the bytes a run must move.
func (op *BlockOp) TimedCase(k templates.Kernel, dtype string, shape []int) (BlockCase, float64, error) {
	if err := op.CheckDtype(dtype); err != nil {
		return BlockCase{}, 0, err
	}
	return op.target(k, dtype, shape)
}

// BlockTask names a block workload in journals, results and profiles.
func BlockTask(op, dtype string, shape []int) string {
	return op + "/" + dtype + "/" + shapeString(shape)
}

func shapeString(shape []int) string {
	s := make([]string, len(shape))
	for i, v := range shape {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, "x")
}

// BlockWorkloads are the op's workloads for each variant and shape; nil
// dtypes means all of op.Dtypes, nil shapes each variant's DefaultShapes.
func BlockWorkloads(d *runner.Device, op *BlockOp, dtypes []string, shapes [][]int, timing runner.TimeOptions) ([]Workload, error) {
	if dtypes == nil {
		dtypes = op.Dtypes
	}
	var out []Workload
	for _, dtype := range dtypes {
		base, err := op.KernelByID("", dtype)
		if err != nil {
			return nil, err
		}
		list := shapes
		if list == nil {
			list = op.DefaultShapes(d.Info, dtype)
		}
		for _, s := range list {
			e := &BlockEvaluator{Dev: d, Op: op, Dtype: dtype, Shape: s, Timing: timing}
			out = append(out, Workload{
				Op: op.Name, Dtype: dtype, Dims: slices.Clone(s), Label: shapeString(s) + " " + op.Name + " " + dtype,
				Task: BlockTask(op.Name, dtype, s), Unit: "B/s", Space: op.Space(DeviceLimits(d)), Eval: e, Baseline: base,
				EvaluateBaseline: func(ctx context.Context) search.Result { return e.EvaluateKernel(ctx, base) },
			})
		}
	}
	return out, nil
}

// BlockEvaluator validates and times the kernels of one block op, variant
// and shape: each candidate must pass BlockCases and the timed shape's own
// case before it is timed.
type BlockEvaluator struct {
	Dev    *runner.Device
	Op     *BlockOp
	Dtype  string
	Shape  []int
	Timing runner.TimeOptions
	// Source renders a kernel; nil means templates.Render.
	Source func(templates.Kernel) ([]byte, error)

	target *blockTarget
}

var _ search.Evaluator = (*BlockEvaluator)(nil)

// blockTarget holds the device buffers the timing runs on, made once from
// the timed shape's case and shared by every candidate, and the bytes a run
// must move.
type blockTarget struct {
	bytes float64
	bufs  []*runner.Buffer
}

func (e *BlockEvaluator) Kernel() string { return e.Op.Name }

func (e *BlockEvaluator) Evaluate(ctx context.Context, p search.Point) search.Result {
	k, err := e.Op.Kernel(p, e.Dtype)
	if err != nil {
		return reject("%v", err)
	}
	return e.EvaluateKernel(ctx, k)
}

// EvaluateKernel renders, compiles, validates and, if valid, times k.
func (e *BlockEvaluator) EvaluateKernel(ctx context.Context, k templates.Kernel) search.Result {
	start := time.Now()
	res := e.evaluate(ctx, k)
	res.Kernel, res.ID, res.Seconds = k.Name(), k.String(), time.Since(start).Seconds()
	return res
}

func (e *BlockEvaluator) evaluate(ctx context.Context, k templates.Kernel) search.Result {
	kern, why := build(e.Dev, e.Source, k, BlockBindings(k))
	if kern == nil {
		return reject("%s", why)
	}
	defer kern.Release()
	cases, err := BlockCases(k)
	if err != nil {
		return reject("%v", err)
	}
	// The timed shape's case is made for each kernel (its dispatch size
	// depends on the params); its inputs are the same for all of them.
	c, err := e.prepare(k)
	if err != nil {
		return reject("shape %s: %v", shapeString(e.Shape), err)
	}
	for _, c := range append(cases, c) {
		if ctx.Err() != nil {
			return reject("canceled")
		}
		if err := c.Check(e.Dev, kern); err != nil {
			return reject("validation %v", err)
		}
	}
	m, err := e.time(kern, c.Groups)
	if err != nil {
		return reject("timing: %v", err)
	}
	return search.Result{Status: search.OK, Score: m.Rate(), Measure: m}
}

// prepare makes the timed shape's case for k and, the first time, uploads
// its inputs.
func (e *BlockEvaluator) prepare(k templates.Kernel) (BlockCase, error) {
	c, bytes, err := e.Op.TimedCase(k, e.Dtype, e.Shape)
	if err != nil || e.target != nil {
		return c, err
	}
	t := &blockTarget{bytes: bytes}
	for _, b := range c.Bufs {
		g, err := uploadWords(e.Dev, b.Data)
		if err != nil {
			t.release()
			return c, err
		}
		t.bufs = append(t.bufs, g)
	}
	e.target = t
	return c, nil
}

func (e *BlockEvaluator) time(kern *runner.Kernel, groups [3]uint32) (*search.Measurement, error) {
	t, err := e.Dev.Time(e.Timing, runner.Dispatch{Kernel: kern, Buffers: e.target.bufs, Groups: groups})
	if err != nil {
		return nil, err
	}
	return &search.Measurement{Clock: t.Clock, Repeats: t.Repeats, Samples: t.Samples, Median: t.Median, Lo: t.Lo, Hi: t.Hi,
		Work: e.target.bytes, Unit: "B/s"}, nil
}

// Retime measures a point again on the timed shape, without validating it:
// it must have validated in this evaluator before Close.
func (e *BlockEvaluator) Retime(_ context.Context, p search.Point) (*search.Measurement, error) {
	k, err := e.Op.Kernel(p, e.Dtype)
	if err != nil {
		return nil, err
	}
	if e.target == nil {
		return nil, fmt.Errorf("retime %s: no measured shape", k)
	}
	c, _, err := e.Op.TimedCase(k, e.Dtype, e.Shape)
	if err != nil {
		return nil, err
	}
	kern, why := build(e.Dev, nil, k, BlockBindings(k))
	if kern == nil {
		return nil, fmt.Errorf("retime %s: %s", k, why)
	}
	defer kern.Release()
	return e.time(kern, c.Groups)
}

// Close releases the timed shape's buffers.
func (e *BlockEvaluator) Close() {
	if e.target != nil {
		e.target.release()
		e.target = nil
	}
}

func (t *blockTarget) release() {
	for _, b := range t.bufs {
		b.Release()
	}
	t.bufs = nil
}
