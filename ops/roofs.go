package ops

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// Roofs are the device's measured ceilings: memory bandwidth from a copy
// kernel (bytes read plus bytes written), the fma rate of an
// arithmetic-bound kernel, and the rate of back-to-back dispatches of a
// kernel with next to no work. Every kernel is reported as a fraction of
// the first two; the third is the floor every dispatch pays, which bounds
// short kernels and decode steps of many dispatches. Unordered is that
// floor for dispatches none of which waits on another (each writes a
// buffer of its own), as a sweep's independent runs of one kernel are.
type Roofs struct {
	Copy      search.Result // Score in B/s
	FMA       search.Result // Score in FLOP/s
	Dispatch  search.Result // Score in dispatches/s
	Unordered search.Result // Score in dispatches/s
}

// DispatchSeconds is the measured floor of one dispatch.
func (r Roofs) DispatchSeconds() float64 { return perDispatch(r.Dispatch) }

// UnorderedSeconds is the measured floor of one dispatch that need not
// wait on the one before.
func (r Roofs) UnorderedSeconds() float64 { return perDispatch(r.Unordered) }

func perDispatch(r search.Result) float64 {
	if r.Score <= 0 {
		return 0
	}
	return 1 / r.Score
}

// Attainable is the best rate, in B/s, of a bandwidth-bound kernel that
// moves bytes in one dispatch: the copy's rate with the dispatch floor
// added to its time.
func (r Roofs) Attainable(bytes float64) float64 {
	if r.Copy.Score <= 0 {
		return 0
	}
	return bytes / (bytes/r.Copy.Score + r.DispatchSeconds())
}

// beyondCache is the working set a timed run rotates its inputs over on a
// GPU, so that a copy comes round again only after that many bytes of
// others: more than a last-level cache holds (50 MB on an H100), as a
// decode step's weights stream.
const beyondCache = 192 << 20

// RoofKernels are the copy and fma kernels the roofs are measured with.
var (
	CopyKernel = templates.Copy{WG: 256}
	FMAKernel  = templates.FMA{WG: 256, Chains: 8, Iters: 512}
)

// MeasureRoofs times the copy and fma kernels after validating their output.
// The copy moves more than a GPU's last-level cache holds, so it measures
// memory and not cache.
func MeasureRoofs(ctx context.Context, d *runner.Device, timing runner.TimeOptions) (Roofs, error) {
	copyBytes := uint64(256 << 20)
	fmaThreads := 1 << 21
	if d.Info.Type == "cpu" {
		copyBytes, fmaThreads = 32<<20, 1<<14
	}
	copyBytes = min(copyBytes, d.Limits.MaxStorageBufferBindingSize, d.Limits.MaxBufferSize) &^ 15
	var r Roofs
	var err error
	if r.Copy, err = measureCopy(ctx, d, copyBytes, timing); err != nil {
		return r, err
	}
	if r.FMA, err = measureFMA(ctx, d, fmaThreads, timing); err != nil {
		return r, err
	}
	r.Dispatch, r.Unordered, err = measureDispatch(ctx, d, timing)
	return r, err
}

// unorderedOutputs is how many outputs the unordered dispatches write in
// turn: a run of that many has no barrier between its dispatches.
const unorderedOutputs = 64

// measureDispatch times the copy kernel on one workgroup's worth (4 KiB):
// what is left is the cost of a dispatch, its barrier and its launch. It
// then times runs of unorderedOutputs such copies, each to an output of
// its own, which need no barrier between them: what is left there is the
// launch of a dispatch that waits on none.
func measureDispatch(ctx context.Context, d *runner.Device, timing runner.TimeOptions) (ordered, unordered search.Result, err error) {
	const size = 16 * 256
	start := time.Now()
	k, err := compileCopy(d)
	if err != nil {
		return ordered, unordered, err
	}
	defer k.Release()
	bufs := make([]*runner.Buffer, 1+unorderedOutputs)
	defer func() {
		for _, b := range bufs {
			if b != nil {
				b.Release()
			}
		}
	}()
	for i := range bufs {
		if bufs[i], err = d.NewBuffer(fmt.Sprintf("dispatch-%d", i), size); err != nil {
			return ordered, unordered, err
		}
	}
	ds := make([]runner.Dispatch, unorderedOutputs)
	for i := range ds {
		ds[i] = runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{bufs[0], bufs[1+i]}, Groups: grid(size/16, CopyKernel.WG)}
	}
	if ordered, err = timed(ctx, d, ds[:1], timing, "roof/f32/kind=dispatch/bytes=4096", CopyKernel, 1, "dispatch/s", start); err != nil {
		return ordered, unordered, err
	}
	unordered, err = timed(ctx, d, ds, timing, "roof/f32/kind=dispatch-unordered/bytes=4096", CopyKernel, unorderedOutputs, "dispatch/s", time.Now())
	return ordered, unordered, err
}

// MeasureCopySized times the copy kernel moving bytes (read plus written)
// per dispatch, in runs like a GEMV sweep's: 256 dispatches, their sources
// rotating over copies that exceed the caches (192 MiB on a GPU, as the
// GEMV's weights do) and each writing an output none of the previous 63
// wrote, so that dispatches need not wait on one another. It is what the
// copy roof leaves a bandwidth-bound kernel of one dispatch of that size:
// the launch and the ramp up and down of every dispatch included.
func MeasureCopySized(ctx context.Context, d *runner.Device, bytes int64, timing runner.TimeOptions) (search.Result, error) {
	half := max(4096, uint64(bytes/2)&^15)
	limit := min(d.Limits.MaxStorageBufferBindingSize, d.Limits.MaxBufferSize)
	if half > limit {
		return search.Result{}, fmt.Errorf("sized copy of %d bytes: a buffer of %d is over the binding limit %d", bytes, half, limit)
	}
	task := fmt.Sprintf("roof/f32/kind=copy-sized/bytes=%d", 2*half)
	start := time.Now()
	srcs, dsts, n := 1, 1, 16
	if d.Info.Type != "cpu" {
		srcs = copiesFor(half, 1)
		dsts = int(min(64, max(1, (1<<30)/half)))
		n = 256
	}
	k, err := compileCopy(d)
	if err != nil {
		return search.Result{}, err
	}
	defer k.Release()
	var bufs []*runner.Buffer
	defer func() {
		for _, b := range bufs {
			b.Release()
		}
	}()
	data := copyPattern(half)
	for i := range srcs + dsts {
		b, err := d.NewBuffer(fmt.Sprintf("copy-sized-%d", i), half)
		if err != nil {
			return search.Result{}, err
		}
		bufs = append(bufs, b)
		if i < srcs {
			if err := b.Write(0, data); err != nil {
				return search.Result{}, err
			}
		}
	}
	ds := make([]runner.Dispatch, n)
	for i := range ds {
		ds[i] = runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{bufs[i%srcs], bufs[srcs+i%dsts]}, Groups: grid(int(half/16), CopyKernel.WG)}
	}
	if err := d.Run(ds[0]); err != nil {
		return search.Result{}, err
	}
	got, err := bufs[srcs].Read()
	if err != nil {
		return search.Result{}, err
	}
	if i := slices.Compare(got, data); i != 0 {
		return search.Result{}, fmt.Errorf("sized copy kernel: the output differs from its source")
	}
	return timed(ctx, d, ds, timing, task, CopyKernel, float64(2*half*uint64(n)), "B/s", start)
}

// compileCopy compiles the copy kernel of the roofs.
func compileCopy(d *runner.Device) (*runner.Kernel, error) {
	src, err := templates.Render(CopyKernel)
	if err != nil {
		return nil, err
	}
	return d.Compile("copy", string(src), []runner.Binding{runner.ReadOnly, runner.ReadWrite}, CopyKernel.WorkgroupSize())
}

// copyPattern is n bytes of the words a copy is checked with.
func copyPattern[N int | uint64](n N) []byte {
	data := make([]byte, n)
	for i := 0; i < len(data); i += 4 {
		binary.LittleEndian.PutUint32(data[i:], uint32(i)*2654435761)
	}
	return data
}

// grid spreads threads over x and y so that no dimension exceeds the limit.
func grid(threads, wg int) [3]uint32 {
	groups := (threads + wg - 1) / wg
	x := min(groups, 32768)
	return [3]uint32{uint32(x), uint32((groups + x - 1) / x), 1}
}

func measureCopy(ctx context.Context, d *runner.Device, size uint64, timing runner.TimeOptions) (search.Result, error) {
	task := fmt.Sprintf("roof/f32/kind=copy/bytes=%d", size)
	start := time.Now()
	k, err := compileCopy(d)
	if err != nil {
		return search.Result{}, err
	}
	defer k.Release()
	in, err := d.NewBuffer("copy-src", size)
	if err != nil {
		return search.Result{}, err
	}
	defer in.Release()
	out, err := d.NewBuffer("copy-dst", size)
	if err != nil {
		return search.Result{}, err
	}
	defer out.Release()
	data := copyPattern(size)
	if err := in.Write(0, data); err != nil {
		return search.Result{}, err
	}
	ds := runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{in, out}, Groups: grid(int(size/16), CopyKernel.WG)}
	if err := d.Run(ds); err != nil {
		return search.Result{}, err
	}
	got, err := out.Read()
	if err != nil {
		return search.Result{}, err
	}
	for i := range got {
		if got[i] != data[i] {
			return search.Result{}, fmt.Errorf("copy kernel: byte %d is %d, want %d", i, got[i], data[i])
		}
	}
	return timed(ctx, d, []runner.Dispatch{ds}, timing, task, CopyKernel, 2*float64(size), "B/s", start)
}

func measureFMA(ctx context.Context, d *runner.Device, threads int, timing runner.TimeOptions) (search.Result, error) {
	g := grid(threads, FMAKernel.WG)
	threads = int(g[0]*g[1]) * FMAKernel.WG
	task := fmt.Sprintf("roof/f32/kind=fma/threads=%d", threads)
	start := time.Now()
	src, err := templates.Render(FMAKernel)
	if err != nil {
		return search.Result{}, err
	}
	k, err := d.Compile("fma", string(src), []runner.Binding{runner.ReadWrite}, FMAKernel.WorkgroupSize())
	if err != nil {
		return search.Result{}, err
	}
	defer k.Release()
	out, err := d.NewBuffer("fma-out", uint64(4*threads))
	if err != nil {
		return search.Result{}, err
	}
	defer out.Release()
	ds := runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{out}, Groups: g}
	if err := d.Run(ds); err != nil {
		return search.Result{}, err
	}
	got, err := out.Read()
	if err != nil {
		return search.Result{}, err
	}
	for _, i := range []int{0, 1, 1023, 1024, 5000 % threads, threads - 1} {
		want := fmaReference(i)
		v := float64(math.Float32frombits(binary.LittleEndian.Uint32(got[4*i:])))
		if math.Abs(v-want) > 1e-4*math.Abs(want) {
			return search.Result{}, fmt.Errorf("fma kernel: thread %d wrote %g, want %g", i, v, want)
		}
	}
	return timed(ctx, d, []runner.Dispatch{ds}, timing, task, FMAKernel, FMAKernel.FLOPsPerThread()*float64(threads), "FLOP/s", start)
}

// fmaReference is what thread i of the fma kernel writes.
func fmaReference(i int) float64 {
	seed := float32(i%1024) * 0.0009765625
	var sum float64
	for c := 0; c < FMAKernel.Chains; c++ {
		x := seed + float32(c)
		for n := 0; n < FMAKernel.Iters; n++ {
			x = float32(math.FMA(float64(x), float64(float32(0.999)), float64(float32(0.001))))
		}
		sum += float64(x)
	}
	return sum
}

func timed(_ context.Context, d *runner.Device, ds []runner.Dispatch, timing runner.TimeOptions, task string, k templates.Kernel, work float64, unit string, start time.Time) (search.Result, error) {
	return timedAs(d, ds, timing, task, k.Name(), k.String(), work, unit, start)
}

// timedAs times ds as one run of work units, the result named kernel and
// id.
func timedAs(d *runner.Device, ds []runner.Dispatch, timing runner.TimeOptions, task, kernel, id string, work float64, unit string, start time.Time) (search.Result, error) {
	t, err := d.Time(timing, ds...)
	if err != nil {
		return search.Result{}, err
	}
	m := &search.Measurement{Clock: t.Clock, Repeats: t.Repeats, Samples: t.Samples, Median: t.Median, Lo: t.Lo, Hi: t.Hi, Work: work, Unit: unit}
	return search.Result{
		Task: task, Kernel: kernel, ID: id, Status: search.OK,
		Score: m.Rate(), Measure: m, Seconds: time.Since(start).Seconds(),
	}, nil
}
