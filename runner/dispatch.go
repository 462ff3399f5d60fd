package runner

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/rajveermalviya/go-webgpu/wgpu"
	"golang.org/x/perf/benchmath"
)

// Dispatch is one kernel launch: the kernel, one buffer per binding in
// order, and the number of workgroups in x, y and z.
type Dispatch struct {
	Kernel  *Kernel
	Buffers []*Buffer
	Groups  [3]uint32
}

// check rejects, before anything is encoded, every dispatch that wgpu would
// turn into a fatal Submit.
func (d *Device) check(ds Dispatch) error {
	k := ds.Kernel
	if k == nil || k.compute == nil {
		return fmt.Errorf("dispatch: kernel is nil or released")
	}
	if k.dev != d {
		return fmt.Errorf("dispatch %s: kernel belongs to another device", k.Label)
	}
	if len(ds.Buffers) != len(k.Bindings) {
		return fmt.Errorf("dispatch %s: %d buffers for %d bindings", k.Label, len(ds.Buffers), len(k.Bindings))
	}
	for i, b := range ds.Buffers {
		if b == nil {
			return fmt.Errorf("dispatch %s: buffer %d is nil", k.Label, i)
		}
		if h, _ := b.binding(); h == nil {
			return fmt.Errorf("dispatch %s: buffer %s is released", k.Label, b.Label)
		}
		if b.dev != d {
			return fmt.Errorf("dispatch %s: buffer %s belongs to another device", k.Label, b.Label)
		}
		limit := d.Limits.MaxStorageBufferBindingSize
		if k.Bindings[i] == Uniform {
			limit = d.Limits.MaxUniformBufferBindingSize
		}
		if b.Size > limit {
			return fmt.Errorf("dispatch %s: buffer %s of %d bytes exceeds the %s binding limit %d", k.Label, b.Label, b.Size, k.Bindings[i], limit)
		}
	}
	for i, g := range ds.Groups {
		if g > d.Limits.MaxComputeWorkgroupsPerDimension {
			return fmt.Errorf("dispatch %s: %d workgroups in dimension %d exceed the device's %d", k.Label, g, i, d.Limits.MaxComputeWorkgroupsPerDimension)
		}
	}
	return nil
}

func (d *Device) bindGroup(ds Dispatch) (*wgpu.BindGroup, error) {
	entries := make([]wgpu.BindGroupEntry, len(ds.Buffers))
	for i, b := range ds.Buffers {
		h, offset := b.binding()
		entries[i] = wgpu.BindGroupEntry{Binding: uint32(i), Buffer: h, Offset: offset, Size: b.Size}
	}
	bg, err := d.dev.CreateBindGroup(&wgpu.BindGroupDescriptor{Label: ds.Kernel.Label, Layout: ds.Kernel.layout, Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("bind group for %s: %w", ds.Kernel.Label, err)
	}
	return bg, nil
}

// bindGroups checks each dispatch and makes its bind group. The groups
// made so far are returned with an error too, for the caller to release.
func (d *Device) bindGroups(ds []Dispatch) ([]*wgpu.BindGroup, error) {
	groups := make([]*wgpu.BindGroup, 0, len(ds))
	for _, x := range ds {
		if err := d.check(x); err != nil {
			return groups, err
		}
		bg, err := d.bindGroup(x)
		if err != nil {
			return groups, err
		}
		groups = append(groups, bg)
	}
	return groups, nil
}

func releaseAll(groups []*wgpu.BindGroup) {
	for _, g := range groups {
		g.Release()
	}
}

// encodePass records one compute pass running the sequence of dispatches
// repeats times.
func encodePass(enc *wgpu.CommandEncoder, ds []Dispatch, groups []*wgpu.BindGroup, repeats int) error {
	pass := enc.BeginComputePass(nil)
	defer pass.Release()
	for r := 0; r < repeats; r++ {
		for i, x := range ds {
			pass.SetPipeline(x.Kernel.compute)
			pass.SetBindGroup(0, groups[i], nil)
			pass.DispatchWorkgroups(x.Groups[0], x.Groups[1], x.Groups[2])
		}
	}
	if err := pass.End(); err != nil {
		return fmt.Errorf("compute pass: %w", err)
	}
	return nil
}

// Run executes the dispatches in order in one compute pass and waits for
// them to complete.
func (d *Device) Run(ds ...Dispatch) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	groups, err := d.bindGroups(ds)
	defer releaseAll(groups)
	if err != nil {
		return err
	}
	enc, err := d.dev.CreateCommandEncoder(nil)
	if err != nil {
		return fmt.Errorf("command encoder: %w", err)
	}
	defer enc.Release()
	if err := encodePass(enc, ds, groups, 1); err != nil {
		return err
	}
	return d.submit(enc)
}

// TimeOptions control Time. Zero values select the documented defaults.
type TimeOptions struct {
	Warmup     int           // passes discarded before sampling; 0 means 2
	Samples    int           // passes measured, at least 10; 0 means 10
	Target     time.Duration // aimed-for length of one pass; 0 means 10ms
	MaxRepeats int           // most dispatches per pass; 0 means 1000
}

func (o TimeOptions) withDefaults() TimeOptions {
	if o.Warmup <= 0 {
		o.Warmup = 2
	}
	if o.Samples < 10 {
		o.Samples = 10
	}
	if o.Target <= 0 {
		o.Target = 10 * time.Millisecond
	}
	if o.MaxRepeats <= 0 {
		o.MaxRepeats = 1000
	}
	return o
}

// Timing is the measured time of one dispatch.
type Timing struct {
	Clock   string    // "timestamp" (GPU timestamp queries) or "wall" (host clock around submit and wait)
	Repeats int       // back-to-back runs of the sequence per measured pass
	Samples []float64 // seconds per run, one per pass, in the order measured
	Median  float64   // seconds per run
	Lo, Hi  float64   // 95% confidence interval of the median
	// WallRatio is the timestamp interval over the wall-clock interval of the
	// same submissions; a sound timer gives a value a little under 1.
	WallRatio float64
	Warnings  []string
}

// Summarize fills Median, Lo and Hi from Samples.
func (t *Timing) Summarize() {
	values := append([]float64(nil), t.Samples...)
	s := benchmath.AssumeNothing.Summary(benchmath.NewSample(values, &benchmath.DefaultThresholds), 0.95)
	t.Median, t.Lo, t.Hi = s.Center, s.Lo, s.Hi
}

// Time measures one run of a sequence of dispatches (usually one; several
// to rotate through copies of data larger than the caches): a calibration
// pass picks how many back-to-back runs make a pass of about opts.Target,
// warm-up passes are discarded, then opts.Samples passes are timed.
func (d *Device) Time(opts TimeOptions, ds ...Dispatch) (Timing, error) {
	opts = opts.withDefaults()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(ds) == 0 {
		return Timing{}, fmt.Errorf("timing: no dispatches")
	}
	groups, err := d.bindGroups(ds)
	defer releaseAll(groups)
	if err != nil {
		return Timing{}, err
	}

	var clock *timestampClock
	if d.timestamps {
		clock, err = d.newTimestampClock()
		if err != nil {
			return Timing{}, err
		}
		defer clock.release()
	}
	t := Timing{Clock: "wall"}
	if clock != nil {
		t.Clock = "timestamp"
	}
	pass := func(repeats int) (gpu, wall float64, err error) {
		enc, err := d.dev.CreateCommandEncoder(nil)
		if err != nil {
			return 0, 0, fmt.Errorf("command encoder: %w", err)
		}
		defer enc.Release()
		if clock != nil {
			if err := enc.WriteTimestamp(clock.set, 0); err != nil {
				return 0, 0, fmt.Errorf("timestamp: %w", err)
			}
		}
		if err := encodePass(enc, ds, groups, repeats); err != nil {
			return 0, 0, err
		}
		if clock != nil {
			if err := clock.resolve(enc); err != nil {
				return 0, 0, err
			}
		}
		start := time.Now()
		if err := d.submit(enc); err != nil {
			return 0, 0, err
		}
		wall = time.Since(start).Seconds()
		if clock == nil {
			return wall, wall, nil
		}
		gpu, err = clock.read(d)
		return gpu, wall, err
	}

	first, _, err := pass(1)
	if err != nil {
		return Timing{}, err
	}
	t.Repeats = 1
	if first > 0 {
		t.Repeats = int(math.Ceil(opts.Target.Seconds() / first))
	}
	t.Repeats = max(1, min(t.Repeats, opts.MaxRepeats))
	for i := 1; i < opts.Warmup; i++ {
		if _, _, err := pass(t.Repeats); err != nil {
			return Timing{}, err
		}
	}
	var gpuTotal, wallTotal float64
	for i := 0; i < opts.Samples; i++ {
		gpu, wall, err := pass(t.Repeats)
		if err != nil {
			return Timing{}, err
		}
		gpuTotal += gpu
		wallTotal += wall
		t.Samples = append(t.Samples, gpu/float64(t.Repeats))
	}
	t.WallRatio = gpuTotal / wallTotal
	if clock != nil && t.WallRatio > 1.5 {
		// Timestamp ticks longer than a nanosecond: the binding cannot ask
		// for the period, so trust the wall clock instead.
		t.Warnings = append(t.Warnings, fmt.Sprintf("timestamp interval is %.2fx the wall-clock interval; timestamps do not tick in ns here, using wall clock", t.WallRatio))
		t.Clock = "wall"
		t.Samples = t.Samples[:0]
		for i := 0; i < opts.Samples; i++ {
			_, wall, err := pass(t.Repeats)
			if err != nil {
				return Timing{}, err
			}
			t.Samples = append(t.Samples, wall/float64(t.Repeats))
		}
	}
	t.Summarize()
	return t, nil
}

// timestampClock holds a two-entry timestamp query set and its buffers.
type timestampClock struct {
	set      *wgpu.QuerySet
	resolved *wgpu.Buffer
	staging  *wgpu.Buffer
}

// newTimestampClock must only be called on a device with timestamp queries:
// creating a query set on one without them aborts the process.
func (d *Device) newTimestampClock() (*timestampClock, error) {
	c := &timestampClock{}
	var err error
	c.set, err = d.dev.CreateQuerySet(&wgpu.QuerySetDescriptor{Label: "timing", Type: wgpu.QueryType_Timestamp, Count: 2})
	if err != nil {
		return nil, fmt.Errorf("timestamp query set: %w", err)
	}
	c.resolved, err = d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: "timestamps", Size: 16, Usage: wgpu.BufferUsage_QueryResolve | wgpu.BufferUsage_CopySrc})
	if err != nil {
		c.release()
		return nil, fmt.Errorf("timestamp buffer: %w", err)
	}
	c.staging, err = d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: "timestamps-read", Size: 16, Usage: wgpu.BufferUsage_MapRead | wgpu.BufferUsage_CopyDst})
	if err != nil {
		c.release()
		return nil, fmt.Errorf("timestamp buffer: %w", err)
	}
	return c, nil
}

func (c *timestampClock) resolve(enc *wgpu.CommandEncoder) error {
	if err := enc.WriteTimestamp(c.set, 1); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	if err := enc.ResolveQuerySet(c.set, 0, 2, c.resolved, 0); err != nil {
		return fmt.Errorf("resolving timestamps: %w", err)
	}
	if err := enc.CopyBufferToBuffer(c.resolved, 0, c.staging, 0, 16); err != nil {
		return fmt.Errorf("copying timestamps: %w", err)
	}
	return nil
}

// read returns the interval in seconds, assuming nanosecond ticks (the
// binding cannot ask for the timestamp period; Time checks the assumption
// against the wall clock).
func (c *timestampClock) read(d *Device) (float64, error) {
	b, err := d.mapRead(c.staging, 16)
	if err != nil {
		return 0, fmt.Errorf("reading timestamps: %w", err)
	}
	t0 := binary.LittleEndian.Uint64(b[0:])
	t1 := binary.LittleEndian.Uint64(b[8:])
	if t0 == 0 || t1 <= t0 {
		return 0, fmt.Errorf("timestamps not written (begin %d, end %d)", t0, t1)
	}
	return float64(t1-t0) * 1e-9, nil
}

func (c *timestampClock) release() {
	if c.staging != nil {
		c.staging.Release()
	}
	if c.resolved != nil {
		c.resolved.Release()
	}
	if c.set != nil {
		c.set.Release()
	}
}
