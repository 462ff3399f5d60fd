package ops

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// roofRounds is how many times the read roofs are timed, the variants in
// turn; the fastest round stands. A roof is the best the device does, and
// a GPU in a slow phase for a moment (a clock drop, a neighbour) only
// makes a round slower.
const roofRounds = 3

// readKernels are the read roof's variants, from one vector a thread (many
// short workgroups) to 256 (few long-lived ones, each reading 1 MiB); a
// sized read keeps the fastest at its size.
var readKernels = []templates.Read{{WG: 256, Vecs: 1}, {WG: 256, Vecs: 2}, {WG: 256, Vecs: 4}, {WG: 256, Vecs: 16}, {WG: 256, Vecs: 64}, {WG: 256, Vecs: 256}}

// readControl is the read kernel's uniform: x a NaN, which no sum equals,
// y whether every sum is written.
func readControl(write bool) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b, 0x7fc00000)
	if write {
		binary.LittleEndian.PutUint32(b[4:], 1)
	}
	return b
}

// readPattern is n bytes of small whole floats, whose sums are exact.
func readPattern(n uint64) []byte {
	data := make([]byte, n)
	for i := uint64(0); i < n/4; i++ {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(i%13)-6))
	}
	return data
}

// readPool holds the read roof's buffers: per size, source copies that
// together exceed the caches; the control words; the sums.
type readPool struct {
	d       *runner.Device
	copies  func(size uint64) int // sources of a size that rotate on a GPU
	bufs    []*runner.Buffer
	srcs    map[uint64][]*runner.Buffer
	used    map[uint64]int // sources of each size handed out, for rotation
	timeCtl *runner.Buffer
}

func newReadPool(d *runner.Device, copies func(size uint64) int) (*readPool, error) {
	p := &readPool{d: d, copies: copies, srcs: map[uint64][]*runner.Buffer{}, used: map[uint64]int{}}
	var err error
	if p.timeCtl, err = p.buffer("read-ctl", 16, readControl(false)); err != nil {
		p.release()
		return nil, err
	}
	return p, nil
}

func (p *readPool) buffer(label string, size uint64, data []byte) (*runner.Buffer, error) {
	b, err := p.d.NewBuffer(label, size)
	if err != nil {
		return nil, err
	}
	p.bufs = append(p.bufs, b)
	if data != nil {
		if err := b.Write(0, data); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (p *readPool) release() {
	for _, b := range p.bufs {
		b.Release()
	}
}

// readSize rounds bytes to the whole vec4s a read moves, at least 4 KiB,
// and checks it against the binding limit.
func readSize(d *runner.Device, bytes int64) (uint64, error) {
	size := max(4096, uint64(bytes)&^15)
	if limit := min(d.Limits.MaxStorageBufferBindingSize, d.Limits.MaxBufferSize); size > limit {
		return 0, fmt.Errorf("read of %d bytes: over the binding limit %d", bytes, limit)
	}
	return size, nil
}

// source returns the next source of size bytes: on a GPU, copies of it
// rotate (see copies) so that a buffer comes round again only after
// beyondCache bytes of others.
func (p *readPool) source(size uint64) (*runner.Buffer, error) {
	copies := 1
	if p.d.Info.Type != "cpu" {
		copies = p.copies(size)
	}
	if len(p.srcs[size]) < copies {
		b, err := p.buffer(fmt.Sprintf("read-src-%d", size), size, readPattern(size))
		if err != nil {
			return nil, err
		}
		p.srcs[size] = append(p.srcs[size], b)
		return b, nil
	}
	i := p.used[size] % copies
	p.used[size]++
	return p.srcs[size][i], nil
}

// copiesFor is how many copies of a source of size bytes rotate when it
// comes every share-th byte of the reads (1 when the reads are all of it):
// enough that beyondCache bytes pass between two uses, at most 16.
func copiesFor(size uint64, share float64) int {
	return int(min(16, max(1, math.Ceil(beyondCache*share/float64(size)))))
}

// check runs k once over src, every sum written, and compares the sums
// with the host's.
func (p *readPool) check(c *runner.Kernel, k templates.Read, src *runner.Buffer, size uint64) error {
	n := int(size / 16)
	groups := k.Groups(n)
	threads := int(groups[0]*groups[1]) * k.WG
	ctl, err := p.buffer("read-check-ctl", 16, readControl(true))
	if err != nil {
		return err
	}
	sums, err := p.buffer("read-check-sums", uint64(16*threads), nil)
	if err != nil {
		return err
	}
	if err := p.d.Run(runner.Dispatch{Kernel: c, Buffers: []*runner.Buffer{ctl, src, sums}, Groups: groups}); err != nil {
		return err
	}
	got, err := sums.Read()
	if err != nil {
		return err
	}
	data := readPattern(size)
	vec := func(i int) [4]float32 {
		var v [4]float32
		for c := range v {
			v[c] = math.Float32frombits(binary.LittleEndian.Uint32(data[16*i+4*c:]))
		}
		return v
	}
	for t := range threads {
		g, l := t/k.WG, t%k.WG
		var want [4]float32
		for v := range k.Vecs {
			if i := g*k.WG*k.Vecs + v*k.WG + l; i < n {
				x := vec(i)
				for c := range want {
					want[c] += x[c]
				}
			}
		}
		for c := range want {
			if g := math.Float32frombits(binary.LittleEndian.Uint32(got[16*t+4*c:])); g != want[c] {
				return fmt.Errorf("read kernel %s: thread %d summed %g in lane %d, want %g", k, t, g, c, want[c])
			}
		}
	}
	return nil
}

// compileRead compiles a read kernel.
func compileRead(d *runner.Device, k templates.Read) (*runner.Kernel, error) {
	src, err := templates.Render(k)
	if err != nil {
		return nil, err
	}
	return d.Compile("read", string(src), []runner.Binding{runner.Uniform, runner.ReadOnly, runner.ReadWrite}, k.WorkgroupSize())
}

// MeasureReadSized times the read roof reading bytes per dispatch (rounded
// down to whole vec4s, at least 4 KiB) in runs like MeasureCopySized's:
// 256 dispatches on a GPU (16 on a CPU), sources rotating over copies that
// exceed the caches, each writing (were it to write) sums none of the
// previous 63 wrote, so that dispatches need not wait on one another. Each
// variant of readKernels is checked, then timed in roofRounds rounds; the
// fastest timing is returned.
// A GEMV reads its weights and writes next to nothing, so this, more than
// the copy, is what one dispatch of its size can move; it is no strict
// ceiling (a kernel that reads in another pattern can beat it by a few
// percent).
func MeasureReadSized(ctx context.Context, d *runner.Device, bytes int64, timing runner.TimeOptions) (search.Result, error) {
	res, _, err := measureReadSized(ctx, d, bytes, timing)
	return res, err
}

func measureReadSized(ctx context.Context, d *runner.Device, bytes int64, timing runner.TimeOptions) (search.Result, templates.Read, error) {
	size, err := readSize(d, bytes)
	if err != nil {
		return search.Result{}, templates.Read{}, err
	}
	p, err := newReadPool(d, func(size uint64) int { return copiesFor(size, 1) })
	if err != nil {
		return search.Result{}, templates.Read{}, err
	}
	defer p.release()
	n, lanes := 16, 1
	if d.Info.Type != "cpu" {
		n, lanes = 256, 64
	}
	sums := make([]*runner.Buffer, lanes)
	for i := range sums {
		if sums[i], err = p.buffer("read-sums", 16*256, nil); err != nil {
			return search.Result{}, templates.Read{}, err
		}
	}
	task := fmt.Sprintf("roof/f32/kind=read-sized/bytes=%d", size)
	var best search.Result
	var bestK templates.Read
	runs := make([][]runner.Dispatch, len(readKernels))
	for v, k := range readKernels {
		c, err := compileRead(d, k)
		if err != nil {
			return search.Result{}, k, err
		}
		defer c.Release()
		runs[v] = make([]runner.Dispatch, n)
		for i := range runs[v] {
			src, err := p.source(size)
			if err != nil {
				return search.Result{}, k, err
			}
			runs[v][i] = runner.Dispatch{Kernel: c, Buffers: []*runner.Buffer{p.timeCtl, src, sums[i%lanes]}, Groups: k.Groups(int(size / 16))}
		}
		if err := p.check(c, k, runs[v][0].Buffers[1], size); err != nil {
			return search.Result{}, k, err
		}
	}
	for range roofRounds {
		for v, k := range readKernels {
			if err := ctx.Err(); err != nil {
				return best, bestK, err
			}
			r, err := timed(ctx, d, runs[v], timing, task, k, float64(size)*float64(n), "B/s", time.Now())
			if err != nil {
				return search.Result{}, k, err
			}
			if r.Score > best.Score {
				best, bestK = r, k
			}
		}
	}
	return best, bestK, nil
}

// MeasureReadChain times one pass of dispatches reading sizes[i] bytes
// each, in order, each waiting on the one before (they share the buffer
// they could write), every source a copy that comes round again only
// after 192 MiB of others on a GPU: a chain of dependent, bandwidth-bound
// dispatches moving those bytes with nothing else to do, each with the
// read variant fastest at its size (MeasureReadSized). Zero or tiny sizes
// read 4 KiB, what a dispatch that moves next to nothing costs. The chain
// is timed roofRounds times and the fastest stands; the result is in
// chains a second.
func MeasureReadChain(ctx context.Context, d *runner.Device, task string, sizes []int64, timing runner.TimeOptions) (search.Result, error) {
	return NewReadChains(d, timing).Measure(ctx, task, sizes)
}

// ReadChains measures read chains (MeasureReadChain) on one device,
// keeping each size's fastest read variant once measured, so that chains
// over the same sizes (a step at several contexts, its kernels one by one)
// measure it once.
type ReadChains struct {
	d       *runner.Device
	timing  runner.TimeOptions
	variant map[uint64]templates.Read
}

// NewReadChains returns chains on d timed with timing.
func NewReadChains(d *runner.Device, timing runner.TimeOptions) *ReadChains {
	return &ReadChains{d: d, timing: timing, variant: map[uint64]templates.Read{}}
}

// Measure times the chain of reads of sizes as MeasureReadChain does.
func (rc *ReadChains) Measure(ctx context.Context, task string, sizes []int64) (search.Result, error) {
	d, timing, variant := rc.d, rc.timing, rc.variant
	start := time.Now()
	// Other sizes come between two reads of one size, so a size needs only
	// as many copies as its share of the chain's bytes asks for: far fewer
	// than a sized read, and a model's worth of memory stays free.
	var total uint64
	var rounded []uint64
	count := map[uint64]int{}
	for _, b := range sizes {
		size, err := readSize(d, b)
		if err != nil {
			return search.Result{}, err
		}
		rounded = append(rounded, size)
		total += size
		count[size]++
	}
	if len(rounded) == 0 {
		return search.Result{}, fmt.Errorf("read chain %s: no dispatches", task)
	}
	p, err := newReadPool(d, func(size uint64) int {
		return copiesFor(size, float64(size)*float64(count[size])/float64(total))
	})
	if err != nil {
		return search.Result{}, err
	}
	defer p.release()
	sums, err := p.buffer("read-chain-sums", 16*256, nil)
	if err != nil {
		return search.Result{}, err
	}
	kernels := map[int]*runner.Kernel{}
	defer func() {
		for _, c := range kernels {
			c.Release()
		}
	}()
	for _, size := range rounded {
		if _, ok := variant[size]; ok {
			continue
		}
		_, k, err := measureReadSized(ctx, d, int64(size), timing)
		if err != nil {
			return search.Result{}, err
		}
		variant[size] = k
	}
	var ds []runner.Dispatch
	var vecs []int
	for _, size := range rounded {
		k := variant[size]
		if !slices.Contains(vecs, k.Vecs) {
			vecs = append(vecs, k.Vecs)
		}
		c := kernels[k.Vecs]
		if c == nil {
			if c, err = compileRead(d, k); err != nil {
				return search.Result{}, err
			}
			kernels[k.Vecs] = c
		}
		src, err := p.source(size)
		if err != nil {
			return search.Result{}, err
		}
		ds = append(ds, runner.Dispatch{Kernel: c, Buffers: []*runner.Buffer{p.timeCtl, src, sums}, Groups: k.Groups(int(size / 16))})
	}
	slices.Sort(vecs)
	id := fmt.Sprintf("dispatches=%d/vecs=%s", len(ds), strings.Trim(strings.ReplaceAll(fmt.Sprint(vecs), " ", "+"), "[]"))
	var best search.Result
	for range roofRounds {
		r, err := timedAs(d, ds, timing, task, "read-chain", id, 1, "chain/s", start)
		if err != nil {
			return search.Result{}, err
		}
		if r.Score > best.Score {
			best = r
		}
	}
	return best, nil
}
