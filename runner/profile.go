package runner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// ErrNoTimestamps is returned by Program.Profile on a device without
// timestamp queries: single dispatches are too short for the wall clock.
var ErrNoTimestamps = errors.New("the device has no timestamp queries")

// profileQueries is the most timestamps one profiled submission writes;
// wgpu caps a query set at 8192 and a failed CreateQuerySet aborts. A
// variable so that tests can make programs span several submissions.
var profileQueries = 4096

// ProgramProfile is where a program's GPU time goes. Each run times the
// program twice: once as Submit encodes it (one compute pass between two
// timestamps), and once with every dispatch in a pass of its own and a
// timestamp after each, so that a dispatch's interval holds its barrier,
// its launch and its execution. Times are seconds, assuming timestamps
// tick in nanoseconds (Warnings says when the wall clock disagrees).
type ProgramProfile struct {
	// Dispatches holds one row per run: the seconds of each dispatch, in
	// program order.
	Dispatches [][]float64
	// Pass holds, per run, the seconds of the whole program in one pass.
	Pass []float64
	// Host holds, per run, the seconds the host spent encoding and
	// submitting the one-pass program, without waiting for it: a program
	// submitted back to back can run no faster than this.
	Host     []float64
	Warnings []string
}

// Profile runs the program 2*(runs+1) times as ProgramProfile describes,
// waiting for each submission; the first run of each kind warms up and is
// not kept. The program's dispatches run as they would from Submit, so its
// buffers change as they would.
func (p *Program) Profile(runs int) (ProgramProfile, error) {
	d := p.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	var prof ProgramProfile
	switch {
	case p.groups == nil:
		return prof, fmt.Errorf("program: released")
	case !d.timestamps:
		return prof, fmt.Errorf("profiling a program: %w", ErrNoTimestamps)
	case runs < 1:
		return prof, fmt.Errorf("profiling a program: %d runs", runs)
	}
	n := len(p.ds)
	set, err := d.newTimestampSet(min(n, profileQueries-1) + 1)
	if err != nil {
		return prof, err
	}
	defer set.release()
	var gpuTotal, wallTotal float64
	for run := range runs + 1 {
		keep := run > 0
		// The program as Submit encodes it.
		start := time.Now()
		enc, err := d.dev.CreateCommandEncoder(nil)
		if err != nil {
			return prof, fmt.Errorf("command encoder: %w", err)
		}
		err = set.encodeTimedPass(enc, p.ds, p.groups)
		var cb *wgpu.CommandBuffer
		if err == nil {
			cb, err = finish(enc)
		}
		enc.Release()
		if err != nil {
			return prof, err
		}
		d.queue.Submit(cb)
		host := time.Since(start).Seconds()
		cb.Release()
		d.wait()
		wall := time.Since(start).Seconds()
		ts, err := set.read(d, 2)
		if err != nil {
			return prof, err
		}
		if keep {
			prof.Pass = append(prof.Pass, ts[0])
			prof.Host = append(prof.Host, host)
			gpuTotal += ts[0]
			wallTotal += wall
		}

		// Every dispatch in a pass of its own, in chunks of at most
		// profileQueries-1 dispatches per submission.
		row := make([]float64, 0, n)
		for lo := 0; lo < n; lo += profileQueries - 1 {
			hi := min(n, lo+profileQueries-1)
			enc, err := d.dev.CreateCommandEncoder(nil)
			if err != nil {
				return prof, fmt.Errorf("command encoder: %w", err)
			}
			err = set.write(enc, 0)
			for i := lo; i < hi && err == nil; i++ {
				if err = encodePass(enc, p.ds[i:i+1], p.groups[i:i+1], 1); err == nil {
					err = set.write(enc, uint32(i-lo+1))
				}
			}
			if err == nil {
				err = set.resolve(enc, uint32(hi-lo+1))
			}
			if err == nil {
				err = d.submit(enc)
			}
			enc.Release()
			if err != nil {
				return prof, err
			}
			ts, err := set.read(d, hi-lo+1)
			if err != nil {
				return prof, err
			}
			row = append(row, ts...)
		}
		if keep {
			prof.Dispatches = append(prof.Dispatches, row)
		}
	}
	if r := gpuTotal / wallTotal; r > 1.5 {
		prof.Warnings = append(prof.Warnings, fmt.Sprintf("timestamp interval is %.2fx the wall-clock interval: timestamps do not tick in ns here, so the times are off by that factor", r))
	}
	return prof, nil
}

// finish finishes enc, checking Finish's error before anything can be
// submitted.
func finish(enc *wgpu.CommandEncoder) (*wgpu.CommandBuffer, error) {
	cb, err := enc.Finish(nil)
	if err != nil {
		return nil, fmt.Errorf("finishing commands: %w", err)
	}
	if cb == nil {
		return nil, fmt.Errorf("finishing commands: no command buffer")
	}
	return cb, nil
}

// timestampSet is a query set of count timestamps and the buffers they are
// resolved and read back through.
type timestampSet struct {
	count    int
	set      *wgpu.QuerySet
	resolved *wgpu.Buffer
	staging  *wgpu.Buffer
}

// newTimestampSet must only be called on a device with timestamp queries
// and count <= profileQueries: a query set the device cannot make aborts
// the process.
func (d *Device) newTimestampSet(count int) (*timestampSet, error) {
	s := &timestampSet{count: count}
	var err error
	s.set, err = d.dev.CreateQuerySet(&wgpu.QuerySetDescriptor{Label: "profile", Type: wgpu.QueryType_Timestamp, Count: uint32(count)})
	if err != nil {
		return nil, fmt.Errorf("timestamp query set: %w", err)
	}
	size := uint64(8 * count)
	s.resolved, err = d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: "profile-timestamps", Size: size, Usage: wgpu.BufferUsage_QueryResolve | wgpu.BufferUsage_CopySrc})
	if err != nil {
		s.release()
		return nil, fmt.Errorf("timestamp buffer: %w", err)
	}
	s.staging, err = d.dev.CreateBuffer(&wgpu.BufferDescriptor{Label: "profile-timestamps-read", Size: size, Usage: wgpu.BufferUsage_MapRead | wgpu.BufferUsage_CopyDst})
	if err != nil {
		s.release()
		return nil, fmt.Errorf("timestamp buffer: %w", err)
	}
	return s, nil
}

func (s *timestampSet) write(enc *wgpu.CommandEncoder, i uint32) error {
	if err := enc.WriteTimestamp(s.set, i); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	return nil
}

// encodeTimedPass encodes ds in one compute pass between timestamps 0 and
// 1, and their resolution.
func (s *timestampSet) encodeTimedPass(enc *wgpu.CommandEncoder, ds []Dispatch, groups []*wgpu.BindGroup) error {
	if err := s.write(enc, 0); err != nil {
		return err
	}
	if err := encodePass(enc, ds, groups, 1); err != nil {
		return err
	}
	if err := s.write(enc, 1); err != nil {
		return err
	}
	return s.resolve(enc, 2)
}

// resolve copies the first n timestamps to the staging buffer.
func (s *timestampSet) resolve(enc *wgpu.CommandEncoder, n uint32) error {
	if err := enc.ResolveQuerySet(s.set, 0, n, s.resolved, 0); err != nil {
		return fmt.Errorf("resolving timestamps: %w", err)
	}
	if err := enc.CopyBufferToBuffer(s.resolved, 0, s.staging, 0, 8*uint64(n)); err != nil {
		return fmt.Errorf("copying timestamps: %w", err)
	}
	return nil
}

// read returns the n-1 intervals between the first n timestamps, in
// seconds.
func (s *timestampSet) read(d *Device, n int) ([]float64, error) {
	b, err := d.mapRead(s.staging, 8*uint64(s.count))
	if err != nil {
		return nil, fmt.Errorf("reading timestamps: %w", err)
	}
	out := make([]float64, n-1)
	prev := binary.LittleEndian.Uint64(b)
	for i := range out {
		t := binary.LittleEndian.Uint64(b[8*(i+1):])
		if prev == 0 || t < prev {
			return nil, fmt.Errorf("timestamps %d and %d not written or out of order (%d, %d)", i, i+1, prev, t)
		}
		out[i] = float64(t-prev) * 1e-9
		prev = t
	}
	return out, nil
}

func (s *timestampSet) release() {
	if s.staging != nil {
		s.staging.Release()
	}
	if s.resolved != nil {
		s.resolved.Release()
	}
	if s.set != nil {
		s.set.Release()
	}
}

// Marginal is what sets of a program's dispatches cost inside its pass.
// Each run times the program in one pass as Submit encodes it (Base) and,
// for each set, with the set's dispatches encoded twice in a row (With):
// With - Base is the set's share of the pass, barriers and launches
// included, which timing a dispatch alone (Profile) overstates by a
// pass's overhead. The duplicates run on the program's buffers, so a
// program that adds into a buffer leaves different values there.
type Marginal struct {
	Base []float64   // seconds per run
	With [][]float64 // per set, seconds per run
}

// Marginal times the program as Marginal describes, runs times plus one
// warm-up of each; sets list dispatch indices.
func (p *Program) Marginal(runs int, sets [][]int) (Marginal, error) {
	d := p.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	m := Marginal{With: make([][]float64, len(sets))}
	switch {
	case p.groups == nil:
		return m, fmt.Errorf("program: released")
	case !d.timestamps:
		return m, fmt.Errorf("timing a program's dispatches: %w", ErrNoTimestamps)
	case runs < 1:
		return m, fmt.Errorf("timing a program's dispatches: %d runs", runs)
	}
	for _, s := range sets {
		for _, i := range s {
			if i < 0 || i >= len(p.ds) {
				return m, fmt.Errorf("timing a program's dispatches: dispatch %d of %d", i, len(p.ds))
			}
		}
	}
	set, err := d.newTimestampSet(2)
	if err != nil {
		return m, err
	}
	defer set.release()
	type variant struct {
		ds     []Dispatch
		groups []*wgpu.BindGroup
	}
	variants := []variant{{p.ds, p.groups}}
	for _, s := range sets {
		twice := make([]bool, len(p.ds))
		for _, i := range s {
			twice[i] = true
		}
		var v variant
		for i := range p.ds {
			for range 1 + btoi(twice[i]) {
				v.ds, v.groups = append(v.ds, p.ds[i]), append(v.groups, p.groups[i])
			}
		}
		variants = append(variants, v)
	}
	for run := range runs + 1 {
		for vi, v := range variants {
			secs, err := d.timePass(set, v.ds, v.groups)
			if err != nil {
				return m, err
			}
			switch {
			case run == 0:
			case vi == 0:
				m.Base = append(m.Base, secs)
			default:
				m.With[vi-1] = append(m.With[vi-1], secs)
			}
		}
	}
	return m, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// timePass runs ds in one compute pass between two timestamps of set and
// returns the seconds between them.
func (d *Device) timePass(set *timestampSet, ds []Dispatch, groups []*wgpu.BindGroup) (float64, error) {
	enc, err := d.dev.CreateCommandEncoder(nil)
	if err != nil {
		return 0, fmt.Errorf("command encoder: %w", err)
	}
	defer enc.Release()
	err = set.encodeTimedPass(enc, ds, groups)
	if err == nil {
		err = d.submit(enc)
	}
	if err != nil {
		return 0, err
	}
	ts, err := set.read(d, 2)
	if err != nil {
		return 0, err
	}
	return ts[0], nil
}
