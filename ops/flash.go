package ops

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// AttnShape is an attention workload: Seq queries from position 0
// (prefill), or one query seeing Seq positions (decode), with caches of f32
// or, with KV8, int8.
type AttnShape struct {
	Seq, Heads, KVHeads, HeadDim int
	KV8                          bool
}

func (s AttnShape) String() string {
	return fmt.Sprintf("%dx%dx%dx%d", s.Seq, s.Heads, s.KVHeads, s.HeadDim)
}

// Dims returns the shape as profiles store it.
func (s AttnShape) Dims() []int { return []int{s.Seq, s.Heads, s.KVHeads, s.HeadDim} }

// Dtype is the cache format.
func (s AttnShape) Dtype() string {
	if s.KV8 {
		return "kv-int8"
	}
	return "f32"
}

// MaxAttnBytes bounds the f32 queries and caches of one attention shape.
const MaxAttnBytes = 4 << 30

// ParseAttnShapes reads a comma-separated list of SEQxHEADSxKVHEADSxHEADDIM.
func ParseAttnShapes(list string, kv8 bool) ([]AttnShape, error) {
	var out []AttnShape
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		parts := strings.Split(f, "x")
		if len(parts) != 4 {
			return nil, fmt.Errorf("attention shape %q: want SEQxHEADSxKVHEADSxHEADDIM", f)
		}
		var v [4]int
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 1<<20 {
				return nil, fmt.Errorf("attention shape %q: %q is not a size in 1..%d", f, p, 1<<20)
			}
			v[i] = n
		}
		s := AttnShape{Seq: v[0], Heads: v[1], KVHeads: v[2], HeadDim: v[3], KV8: kv8}
		if s.Heads%s.KVHeads != 0 || s.HeadDim%4 != 0 || s.HeadDim > 256 {
			return nil, fmt.Errorf("attention shape %q: heads must be a multiple of key/value heads and head dim a multiple of 4 up to 256", f)
		}
		// The host holds the queries and both caches in f32 to check them.
		if n := int64(s.Seq) * int64(s.Heads+2*s.KVHeads) * int64(s.HeadDim) * 4; n > MaxAttnBytes {
			return nil, fmt.Errorf("attention shape %q: %d MiB of queries and caches, more than %d MiB", f, n>>20, MaxAttnBytes>>20)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no attention shapes in %q", list)
	}
	return out, nil
}

// DefaultAttnShapes are Llama-3.1-8B's attention (32 heads, 8 key/value
// heads, head dim 128) at 2048 prompt tokens for prefill and 4096 for
// decode; small ones on a CPU adapter.
func DefaultAttnShapes(a runner.AdapterInfo, decode bool) []AttnShape {
	switch {
	case a.Type == "cpu" && decode:
		return []AttnShape{{Seq: 512, Heads: 8, KVHeads: 2, HeadDim: 64}}
	case a.Type == "cpu":
		return []AttnShape{{Seq: 128, Heads: 8, KVHeads: 2, HeadDim: 64}}
	case decode:
		return []AttnShape{{Seq: 4096, Heads: 32, KVHeads: 8, HeadDim: 128}}
	}
	return []AttnShape{{Seq: 2048, Heads: 32, KVHeads: 8, HeadDim: 128}}
}

// PrefillSpace is the flash-prefill search space for head dim hd.
func PrefillSpace(hd int, kv8 bool, lim Limits) *search.Space {
	return &search.Space{
		Axes: []search.Axis{
			search.Ints("bq", 16, 32, 64),
			search.Ints("bk", 16, 32, 64),
			search.Ints("tr", 4, 8, 16),
			search.Ints("tc", 4, 8, 16, 32),
		},
		Constraints: []search.Constraint{
			{Name: "params the template accepts", OK: func(p search.Point) bool { return PrefillParams(p, hd, kv8).Check() == nil }},
			{Name: fmt.Sprintf("invocations <= %d", lim.Invocations), OK: func(p search.Point) bool {
				return p.Int("tr")*p.Int("tc") <= min(lim.Invocations, lim.SizeX)
			}},
			{Name: fmt.Sprintf("workgroup memory <= %d B", lim.WorkgroupBytes), OK: func(p search.Point) bool {
				return PrefillParams(p, hd, kv8).WorkgroupBytes() <= lim.WorkgroupBytes
			}},
		},
	}
}

// PrefillParams turns a point of PrefillSpace into template params.
func PrefillParams(p search.Point, hd int, kv8 bool) templates.FlashPrefill {
	return templates.FlashPrefill{HD: hd, BQ: p.Int("bq"), BK: p.Int("bk"), TR: p.Int("tr"), TC: p.Int("tc"), KV8: kv8}
}

// PrefillBaseline is a small, plain configuration: 16x16 tiles, one query
// row and one key per thread.
func PrefillBaseline(hd int, kv8 bool) templates.FlashPrefill {
	tc := 16
	for hd%(4*tc) != 0 {
		tc /= 2
	}
	return templates.FlashPrefill{HD: hd, BQ: 16, BK: 16, TR: 16, TC: tc, KV8: kv8}
}

// DecodeKernels are the two dispatches of split decode attention and the
// positions each workgroup of the first takes; with Decode.Final, one
// dispatch for a query that sees one split's positions, Reduce unused.
type DecodeKernels struct {
	Decode templates.FlashDecode
	Reduce templates.FlashReduce
	Split  int
}

func (k DecodeKernels) Name() string   { return k.Decode.Name() }
func (k DecodeKernels) String() string { return fmt.Sprintf("%s/split=%d", k.Decode, k.Split) }

// Check reports kernels that cannot run.
func (k DecodeKernels) Check() error {
	if k.Split < 1 {
		return fmt.Errorf("decode split %d", k.Split)
	}
	if err := k.Decode.Check(); err != nil {
		return err
	}
	if k.Decode.Final {
		return nil
	}
	return k.Reduce.Check()
}

// fits reports a call the kernels cannot compute: Final takes one split.
func (k DecodeKernels) fits(a Attn) error {
	if k.Decode.Final && a.Splits() != 1 {
		return fmt.Errorf("attention: final decode takes one split; position %d with split %d has %d", a.QPos+a.QLen-1, a.Split, a.Splits())
	}
	return nil
}

// DecodeSpace is the flash-decode search space for head dim hd and g query
// heads per key/value head.
func DecodeSpace(hd, g int, kv8 bool, lim Limits) *search.Space {
	return &search.Space{
		Axes: []search.Axis{
			search.Ints("wg", 32, 64, 128, 256),
			search.Ints("bt", 8, 16, 32, 64),
			search.Ints("split", 16, 32, 64, 128, 256, 512),
			search.Bools("stagev"),
		},
		Constraints: []search.Constraint{
			{Name: "params the template accepts", OK: func(p search.Point) bool { return DecodeParams(p, hd, g, kv8).Check() == nil }},
			{Name: "tile within the split", OK: func(p search.Point) bool { return p.Int("bt") <= p.Int("split") }},
			{Name: fmt.Sprintf("invocations <= %d", lim.Invocations), OK: func(p search.Point) bool {
				return p.Int("wg") <= min(lim.Invocations, lim.SizeX)
			}},
			{Name: fmt.Sprintf("workgroup memory <= %d B", lim.WorkgroupBytes), OK: func(p search.Point) bool {
				return DecodeParams(p, hd, g, kv8).Decode.WorkgroupBytes() <= lim.WorkgroupBytes
			}},
		},
	}
}

// DecodeParams turns a point of DecodeSpace into kernels.
func DecodeParams(p search.Point, hd, g int, kv8 bool) DecodeKernels {
	wg := p.Int("wg")
	return DecodeKernels{
		Decode: templates.FlashDecode{HD: hd, G: g, WG: wg, BT: p.Int("bt"), KV8: kv8, StageV: p.Bool("stagev")},
		Reduce: templates.FlashReduce{HD: hd, WG: 128, Cols: reduceCols(hd)},
		Split:  p.Int("split"),
	}
}

// reduceCols is the widest block of at most 8 vec4 columns dividing a
// head: narrow blocks give the reduce more workgroups.
func reduceCols(hd int) int {
	for _, c := range []int{8, 4, 2} {
		if (hd/4)%c == 0 {
			return c
		}
	}
	return 1
}

// DecodeBaseline is one workgroup per 256 positions with small tiles.
func DecodeBaseline(hd, g int, kv8 bool) DecodeKernels {
	wg := 64
	for (templates.FlashDecode{HD: hd, G: g, WG: wg, BT: 16}).Check() != nil && wg < 256 {
		wg *= 2
	}
	return DecodeKernels{
		Decode: templates.FlashDecode{HD: hd, G: g, WG: wg, BT: 16, KV8: kv8},
		Reduce: templates.FlashReduce{HD: hd, WG: 64},
		Split:  256,
	}
}

// attnOperands hold random queries and caches on the host (the cache values
// the kernels compute with: dequantized with KV8) and on the device, the
// caches and outputs replicated copies times.
type attnOperands struct {
	dev    *runner.Device
	a      Attn
	kv8    bool
	q      []float32
	kc, vc []float32
	dims   *runner.Buffer
	gq     *runner.Buffer
	caches [][]*runner.Buffer // per copy: k, v, and with KV8 their scales
	out    []*runner.Buffer   // per copy, guard band after
	opart  []*runner.Buffer   // decode: per copy
	mlpart []*runner.Buffer
	guard  int
	clear  []byte
}

func newAttnOperands(d *runner.Device, a Attn, kv8, decode bool, copies int) (*attnOperands, error) {
	if err := a.Check(); err != nil {
		return nil, err
	}
	if decode && (a.Split < 1 || a.Splits() > templates.FlashMaxSplits) {
		return nil, fmt.Errorf("attention: split %d of %d positions: at most %d splits", a.Split, a.QPos+1, templates.FlashMaxSplits)
	}
	r := rand.New(rand.NewPCG(uint64(a.QPos+a.QLen)<<20|uint64(a.Heads), uint64(a.HeadDim)))
	rows := a.QPos + a.QLen
	o := &attnOperands{dev: d, a: a, kv8: kv8, guard: 256}
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 2*r.Float32() - 1
		}
		return v
	}
	// Queries span a wider range so that softmax is peaked as well as flat.
	o.q = fill(a.QLen * a.Heads * a.HeadDim)
	for i := range o.q {
		o.q[i] *= 4
	}
	o.kc, o.vc = fill(rows*a.KVDim()), fill(rows*a.KVDim())
	var kq, vq KV8
	if kv8 {
		kq, vq = QuantizeKV8(o.kc, a.KVHeads, a.HeadDim), QuantizeKV8(o.vc, a.KVHeads, a.HeadDim)
		o.kc, o.vc = kq.Dequantize(a.HeadDim), vq.Dequantize(a.HeadDim)
	}
	var err error
	defer func() {
		if err != nil {
			o.release()
		}
	}()
	if o.dims, err = uploadWords(d, a.Uniform()); err != nil {
		return nil, err
	}
	if o.gq, err = upload(d, "q", o.q); err != nil {
		return nil, err
	}
	outWords := a.QLen * a.Heads * a.HeadDim
	o.clear = make([]byte, 4*(outWords+o.guard))
	for i := 0; i < outWords+o.guard; i++ {
		binary.LittleEndian.PutUint32(o.clear[4*i:], sentinel)
	}
	for c := 0; c < copies; c++ {
		var bufs []*runner.Buffer
		if kv8 {
			for _, t := range []KV8{kq, vq} {
				b, e := uploadWords(d, t.Words)
				if e != nil {
					err = e
					return nil, err
				}
				bufs = append(bufs, b)
			}
			for _, t := range []KV8{kq, vq} {
				b, e := upload(d, "scales", t.Scales)
				if e != nil {
					err = e
					return nil, err
				}
				bufs = append(bufs, b)
			}
		} else {
			for _, t := range [][]float32{o.kc, o.vc} {
				b, e := upload(d, "cache", t)
				if e != nil {
					err = e
					return nil, err
				}
				bufs = append(bufs, b)
			}
		}
		o.caches = append(o.caches, bufs)
		out, e := d.NewBuffer("out", uint64(len(o.clear)))
		if e != nil {
			err = e
			return nil, err
		}
		o.out = append(o.out, out)
		if decode {
			n := a.Splits() * a.Heads
			op, e := d.NewBuffer("opart", uint64(4*n*a.HeadDim))
			if e != nil {
				err = e
				return nil, err
			}
			o.opart = append(o.opart, op)
			ml, e := d.NewBuffer("mlpart", uint64(8*n))
			if e != nil {
				err = e
				return nil, err
			}
			o.mlpart = append(o.mlpart, ml)
		}
	}
	return o, nil
}

func (o *attnOperands) release() {
	bufs := []*runner.Buffer{o.dims, o.gq}
	for _, c := range o.caches {
		bufs = append(bufs, c...)
	}
	bufs = append(append(append(bufs, o.out...), o.opart...), o.mlpart...)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
}

// prefill lists one dispatch per copy (copy < 0) or of one copy.
func (o *attnOperands) prefill(kern *runner.Kernel, k templates.FlashPrefill, copy int) []runner.Dispatch {
	var ds []runner.Dispatch
	for c := range o.caches {
		if copy >= 0 && c != copy {
			continue
		}
		bufs := append(append([]*runner.Buffer{o.dims, o.gq}, o.caches[c]...), o.out[c])
		ds = append(ds, runner.Dispatch{Kernel: kern, Buffers: bufs, Groups: k.Groups(o.a.QLen, o.a.Heads)})
	}
	return ds
}

// decode lists the two dispatches per copy (copy < 0) or of one copy.
func (o *attnOperands) decode(dec, red *runner.Kernel, k DecodeKernels, copy int) []runner.Dispatch {
	var ds []runner.Dispatch
	for c := range o.caches {
		if copy >= 0 && c != copy {
			continue
		}
		if k.Decode.Final {
			bufs := append(append([]*runner.Buffer{o.dims, o.gq}, o.caches[c]...), o.out[c])
			ds = append(ds, runner.Dispatch{Kernel: dec, Buffers: bufs, Groups: k.Decode.Groups(1, o.a.KVHeads)})
			continue
		}
		bufs := append(append([]*runner.Buffer{o.dims, o.gq}, o.caches[c]...), o.opart[c], o.mlpart[c])
		ds = append(ds,
			runner.Dispatch{Kernel: dec, Buffers: bufs, Groups: k.Decode.Groups(o.a.Splits(), o.a.KVHeads)},
			runner.Dispatch{Kernel: red, Buffers: []*runner.Buffer{o.dims, o.opart[c], o.mlpart[c], o.out[c]}, Groups: k.Reduce.Groups(o.a.Heads)})
	}
	return ds
}

// check runs ds (writing copy 0's output) and compares the output with the
// CPU reference for the listed queries, or all when queries is nil.
func (o *attnOperands) check(ds []runner.Dispatch, queries []int) error {
	if err := o.out[0].Write(0, o.clear); err != nil {
		return err
	}
	if err := o.dev.Run(ds...); err != nil {
		return err
	}
	raw, err := o.out[0].Read()
	if err != nil {
		return err
	}
	a := o.a
	dim := a.Heads * a.HeadDim
	if err := checkWritten(raw, a.QLen*dim, o.guard, func(i int) string {
		return fmt.Sprintf("out[query %d][head %d][%d]", i/dim, i%dim/a.HeadDim, i%a.HeadDim)
	}); err != nil {
		return err
	}
	want := make([]float32, dim)
	return checkEach(a.QLen, queries, func(i int) error {
		one := a
		one.QLen, one.QPos = 1, a.QPos+i
		q := o.q[i*dim : (i+1)*dim]
		CausalAttentionRef(want, q, o.kc, o.vc, one)
		tol := CausalAttentionTolerance(q, o.kc, o.vc, one)
		for j, w := range want {
			if got := at(raw, i*dim+j); math.Abs(got-float64(w)) > tol[j] {
				return fmt.Errorf("%w: out[query %d at %d][head %d][%d] = %g, want %g within %.3g",
					errMismatch, i, one.QPos, j/a.HeadDim, j%a.HeadDim, got, w, tol[j])
			}
		}
		return nil
	})
}

// cacheBytes is what one decode reads of one copy's caches: the positions
// the query sees, and with KV8 their scales.
func (o *attnOperands) cacheBytes() float64 {
	p := o.a.QPos + o.a.QLen - 1
	seen := float64(p - o.a.FirstKey(p) + 1)
	per := 4.0
	if o.kv8 {
		per = 1
	}
	b := 2 * seen * float64(o.a.KVDim()) * per
	if o.kv8 {
		b += 2 * seen * float64(o.a.KVHeads) * 4
	}
	return b
}

// PrefillValidation are small calls every prefill candidate must compute:
// partial query tiles, grouped heads, a prompt after earlier positions,
// chunks that cut tiles, and temperature scaling.
func PrefillValidation(k templates.FlashPrefill) []Attn {
	hd := k.HD
	return []Attn{
		{Heads: 4, KVHeads: 2, HeadDim: hd, QLen: 2*k.BQ + 3},
		{Heads: 2, KVHeads: 1, HeadDim: hd, QLen: k.BQ + 1, QPos: 5, Chunk: 7, FloorScale: 4, AttnScale: 0.1},
		{Heads: 3, KVHeads: 3, HeadDim: hd, QLen: 1, QPos: 2*k.BK + 1},
	}
}

// DecodeValidation are small calls every decode candidate must compute:
// several splits with a partial last one and tile, a single position,
// chunks and temperature scaling; for Final, one split: full, with a
// partial tile, a single position, and a chunk of a split's length.
func DecodeValidation(k DecodeKernels) []Attn {
	g, hd, s := k.Decode.G, k.Decode.HD, k.Split
	if k.Decode.Final {
		return []Attn{
			{Heads: 2 * g, KVHeads: 2, HeadDim: hd, QLen: 1, QPos: s - 1, Split: s},
			{Heads: g, KVHeads: 1, HeadDim: hd, QLen: 1, QPos: min(s-1, k.Decode.BT+k.Decode.BT/2), Split: s},
			{Heads: g, KVHeads: 1, HeadDim: hd, QLen: 1, QPos: 0, Split: s},
			{Heads: g, KVHeads: 1, HeadDim: hd, QLen: 1, QPos: 3*s + 5, Chunk: s, FloorScale: 4, AttnScale: 0.1, Split: s},
		}
	}
	return []Attn{
		{Heads: 2 * g, KVHeads: 2, HeadDim: hd, QLen: 1, QPos: 2*s + k.Decode.BT/2 + 1, Split: s},
		{Heads: g, KVHeads: 1, HeadDim: hd, QLen: 1, QPos: 0, Split: s},
		{Heads: g, KVHeads: 1, HeadDim: hd, QLen: 1, QPos: 3*s + 5, Chunk: s + 3, FloorScale: 4, AttnScale: 0.1, Split: s},
	}
}

type attnString Attn

func (a attnString) String() string {
	s := fmt.Sprintf("q%d@%d h%d/%d d%d", a.QLen, a.QPos, a.Heads, a.KVHeads, a.HeadDim)
	if a.Chunk > 0 {
		s += fmt.Sprintf(" chunk%d", a.Chunk)
	}
	if a.FloorScale > 0 {
		s += " temp"
	}
	return s
}

// FlashEvaluator validates and times attention kernels for one shape:
// flash prefill, or with Decode split decode attention.
type FlashEvaluator struct {
	Dev    *runner.Device
	Shape  AttnShape
	Decode bool
	Timing runner.TimeOptions
	// WorkingSet is the bytes of caches a timed decode streams through,
	// rotating copies; 0 means 192 MiB on a GPU and one copy on a CPU.
	WorkingSet int64

	target *attnOperands
}

var _ search.Evaluator = (*FlashEvaluator)(nil)

func (e *FlashEvaluator) Kernel() string {
	if e.Decode {
		return "flash-decode"
	}
	return "flash-prefill"
}

// Space is the evaluator's search space on its device.
func (e *FlashEvaluator) Space() *search.Space {
	if e.Decode {
		return DecodeSpace(e.Shape.HeadDim, e.Shape.Heads/e.Shape.KVHeads, e.Shape.KV8, DeviceLimits(e.Dev))
	}
	return PrefillSpace(e.Shape.HeadDim, e.Shape.KV8, DeviceLimits(e.Dev))
}

// Baseline is the plain configuration winners are compared with.
func (e *FlashEvaluator) Baseline() Named {
	if e.Decode {
		return DecodeBaseline(e.Shape.HeadDim, e.Shape.Heads/e.Shape.KVHeads, e.Shape.KV8)
	}
	return PrefillBaseline(e.Shape.HeadDim, e.Shape.KV8)
}

func (e *FlashEvaluator) Evaluate(ctx context.Context, p search.Point) search.Result {
	return e.EvaluateKernel(ctx, e.params(p))
}

func (e *FlashEvaluator) params(p search.Point) fmt.Stringer {
	if e.Decode {
		return DecodeParams(p, e.Shape.HeadDim, e.Shape.Heads/e.Shape.KVHeads, e.Shape.KV8)
	}
	return PrefillParams(p, e.Shape.HeadDim, e.Shape.KV8)
}

// EvaluateKernel validates and times k: a templates.FlashPrefill or a
// DecodeKernels.
func (e *FlashEvaluator) EvaluateKernel(ctx context.Context, k fmt.Stringer) search.Result {
	start := time.Now()
	res := e.evaluate(ctx, k)
	res.Kernel, res.ID, res.Seconds = e.Kernel(), k.String(), time.Since(start).Seconds()
	return res
}

// flashKernels compiles k's kernels and returns a function listing the
// dispatches of operands o (copy < 0: all copies).
func (e *FlashEvaluator) compile(k fmt.Stringer) (func(o *attnOperands, copy int) []runner.Dispatch, func(), string) {
	switch k := k.(type) {
	case templates.FlashPrefill:
		kern, why := build(e.Dev, nil, k, FlashBindings(k))
		if kern == nil {
			return nil, nil, why
		}
		return func(o *attnOperands, copy int) []runner.Dispatch { return o.prefill(kern, k, copy) }, kern.Release, ""
	case DecodeKernels:
		if err := k.Check(); err != nil {
			return nil, nil, err.Error()
		}
		dec, why := build(e.Dev, nil, k.Decode, FlashBindings(k.Decode))
		if dec == nil {
			return nil, nil, why
		}
		if k.Decode.Final {
			return func(o *attnOperands, copy int) []runner.Dispatch { return o.decode(dec, nil, k, copy) }, dec.Release, ""
		}
		red, why := build(e.Dev, nil, k.Reduce, FlashBindings(k.Reduce))
		if red == nil {
			dec.Release()
			return nil, nil, why
		}
		return func(o *attnOperands, copy int) []runner.Dispatch { return o.decode(dec, red, k, copy) },
			func() { dec.Release(); red.Release() }, ""
	}
	return nil, nil, fmt.Sprintf("%T is not an attention kernel", k)
}

func (e *FlashEvaluator) evaluate(ctx context.Context, k fmt.Stringer) search.Result {
	ds, release, why := e.compile(k)
	if ds == nil {
		return reject("%s", why)
	}
	defer release()
	var checks []Attn
	switch k := k.(type) {
	case templates.FlashPrefill:
		checks = PrefillValidation(k)
	case DecodeKernels:
		checks = DecodeValidation(k)
	}
	if r := validate(ctx, attnStrings(checks), func(a attnString) error {
		if dk, ok := k.(DecodeKernels); ok {
			if err := dk.fits(Attn(a)); err != nil {
				return err
			}
		}
		o, err := newAttnOperands(e.Dev, Attn(a), e.Shape.KV8, e.Decode, 1)
		if err != nil {
			return err
		}
		defer o.release()
		return o.check(ds(o, 0), nil)
	}); r != nil {
		return *r
	}
	if e.target == nil {
		if err := e.newTarget(k); err != nil {
			return reject("shape %s: %v", e.Shape, err)
		}
	} else if dk, ok := k.(DecodeKernels); ok {
		// The split is a uniform: the same caches serve every candidate.
		if err := e.target.setSplit(dk.Split); err != nil {
			return reject("%v", err)
		}
	}
	if dk, ok := k.(DecodeKernels); ok {
		if err := dk.fits(e.target.a); err != nil {
			return reject("shape %s: %v", e.Shape, err)
		}
	}
	if err := e.target.check(ds(e.target, 0), SampleRows(e.target.a.QLen, 8)); err != nil {
		return reject("validation %s: %v", e.Shape, err)
	}
	m, err := e.time(ds(e.target, -1))
	if err != nil {
		return reject("timing: %v", err)
	}
	return search.Result{Status: search.OK, Score: m.Rate(), Measure: m}
}

func (e *FlashEvaluator) time(ds []runner.Dispatch) (*search.Measurement, error) {
	t, err := e.Dev.Time(e.Timing, ds...)
	if err != nil {
		return nil, err
	}
	m := &search.Measurement{Clock: t.Clock, Repeats: t.Repeats, Samples: t.Samples, Median: t.Median, Lo: t.Lo, Hi: t.Hi}
	if e.Decode {
		m.Work, m.Unit = float64(len(e.target.caches))*e.target.cacheBytes(), "B/s"
	} else {
		m.Work, m.Unit = float64(len(e.target.caches))*AttentionFLOPs(e.target.a), "FLOP/s"
	}
	return m, nil
}

func (e *FlashEvaluator) newTarget(k fmt.Stringer) error {
	s := e.Shape
	a := Attn{Heads: s.Heads, KVHeads: s.KVHeads, HeadDim: s.HeadDim, QLen: s.Seq}
	copies := 1
	if e.Decode {
		a.QLen, a.QPos, a.Split = 1, s.Seq-1, k.(DecodeKernels).Split
		ws := e.WorkingSet
		if ws == 0 && e.Dev.Info.Type != "cpu" {
			ws = beyondCache
		}
		per := int64(2 * s.Seq * s.KVHeads * s.HeadDim * 4)
		if s.KV8 {
			per /= 4
		}
		copies = int(min(32, max(1, (ws+per-1)/per)))
	}
	o, err := newAttnOperands(e.Dev, a, s.KV8, e.Decode, copies)
	if err != nil {
		return err
	}
	e.target = o
	return nil
}

// setSplit changes the decode split of the uniform, growing the partial
// buffers when the new split needs more of them.
func (o *attnOperands) setSplit(split int) error {
	old := o.a.Splits()
	if n := (Attn{QLen: o.a.QLen, QPos: o.a.QPos, Chunk: o.a.Chunk, Split: split}).Splits(); n > templates.FlashMaxSplits {
		return fmt.Errorf("split %d makes %d splits, more than %d", split, n, templates.FlashMaxSplits)
	}
	o.a.Split = split
	if err := o.dims.Write(0, wordBytes(o.a.Uniform())); err != nil {
		return err
	}
	if n := o.a.Splits(); n > old {
		for c := range o.opart {
			o.opart[c].Release()
			o.mlpart[c].Release()
			o.opart[c], o.mlpart[c] = nil, nil
		}
		for c := range o.opart {
			var err error
			if o.opart[c], err = o.dev.NewBuffer("opart", uint64(4*n*o.a.Heads*o.a.HeadDim)); err != nil {
				return err
			}
			if o.mlpart[c], err = o.dev.NewBuffer("mlpart", uint64(8*n*o.a.Heads)); err != nil {
				return err
			}
		}
	}
	return nil
}

func wordBytes(w []uint32) []byte {
	b := make([]byte, 4*len(w))
	for i, v := range w {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

func attnStrings(as []Attn) []attnString {
	out := make([]attnString, len(as))
	for i, a := range as {
		out[i] = attnString(a)
	}
	return out
}

// Retime measures a point again on the timed shape, without validating it.
func (e *FlashEvaluator) Retime(_ context.Context, p search.Point) (*search.Measurement, error) {
	k := e.params(p)
	if e.target == nil {
		return nil, fmt.Errorf("retime %s: no measured shape", k)
	}
	ds, release, why := e.compile(k)
	if ds == nil {
		return nil, fmt.Errorf("retime %s: %s", k, why)
	}
	defer release()
	if dk, ok := k.(DecodeKernels); ok {
		if err := e.target.setSplit(dk.Split); err != nil {
			return nil, err
		}
	}
	return e.time(ds(e.target, -1))
}

// Close releases the timed shape's buffers.
func (e *FlashEvaluator) Close() {
	if e.target != nil {
		e.target.release()
		e.target = nil
	}
}

// CheckAttention compiles k (a templates.FlashPrefill or DecodeKernels)
// and checks it on random queries and caches for the call a against
// CausalAttentionRef, every query and element. A final decode (one
// dispatch, no reduce) is checked the same way, on a call of one split.
func CheckAttention(d *runner.Device, k fmt.Stringer, a Attn, kv8 bool) error {
	e := &FlashEvaluator{Dev: d}
	dk, decode := k.(DecodeKernels)
	if decode {
		if err := dk.fits(a); err != nil {
			return err
		}
	}
	ds, release, why := e.compile(k)
	if ds == nil {
		return fmt.Errorf("%s: %s", k, why)
	}
	defer release()
	o, err := newAttnOperands(d, a, kv8, decode, 1)
	if err != nil {
		return err
	}
	defer o.release()
	return o.check(ds(o, 0), nil)
}

// FlashWorkloads are attention workloads: flash prefill, or with decode
// split decode attention, for every shape.
func FlashWorkloads(d *runner.Device, shapes []AttnShape, decode bool, timing runner.TimeOptions) []Workload {
	var out []Workload
	for _, s := range shapes {
		e := &FlashEvaluator{Dev: d, Shape: s, Decode: decode, Timing: timing}
		op, unit := "attention-prefill", "FLOP/s"
		if decode {
			op, unit = "attention-decode", "B/s"
		}
		base := e.Baseline()
		out = append(out, Workload{
			Op: op, Dtype: s.Dtype(), Dims: s.Dims(), Label: s.String() + " " + s.Dtype(),
			Task: fmt.Sprintf("%s/%s/S=%d/H=%d/KV=%d/D=%d", op, s.Dtype(), s.Seq, s.Heads, s.KVHeads, s.HeadDim),
			Unit: unit, Space: e.Space(), Eval: e, Baseline: base,
			EvaluateBaseline: func(ctx context.Context) search.Result { return e.EvaluateKernel(ctx, base) },
		})
	}
	return out
}
