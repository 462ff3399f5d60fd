package runner

import (
	"fmt"
	"slices"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Program is a sequence of dispatches checked and bound once, to be
// submitted many times: a model's decode step. Making bind groups for
// hundreds of dispatches costs more host time than a small model's step
// takes on a GPU, so Run and Time, which bind on every call, do not suit
// such a loop.
type Program struct {
	dev    *Device
	ds     []Dispatch
	groups []*wgpu.BindGroup
}

// NewProgram checks the dispatches as Run does and makes their bind groups.
// The kernels and buffers must outlive the program.
func (d *Device) NewProgram(ds ...Dispatch) (*Program, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	groups, err := d.bindGroups(ds)
	if err != nil {
		releaseAll(groups)
		return nil, err
	}
	return &Program{dev: d, ds: append([]Dispatch(nil), ds...), groups: groups}, nil
}

// Len is the number of dispatches.
func (p *Program) Len() int { return len(p.ds) }

// Copy is a buffer-to-buffer copy submitted after a program's dispatches.
// Offsets and Size are multiples of 4.
type Copy struct {
	Src, Dst             *Buffer
	SrcOffset, DstOffset uint64
	Size                 uint64
}

// Submit encodes the dispatches in one compute pass followed by copies and
// submits them without waiting for them to complete. Work submitted later,
// buffer writes made later (they are ordered after it), Buffer.Read and
// Device.Wait see its results.
func (p *Program) Submit(copies ...Copy) error {
	return p.dev.SubmitAll(Submission{Program: p, After: copies})
}

// Submission is a program with copies encoded before and after its pass:
// the copies before can set the uniforms it reads from a table written
// once for many submissions.
type Submission struct {
	Before  []Copy
	Program *Program
	After   []Copy
}

// SubmitAll encodes the submissions in order, each program's dispatches in
// a compute pass between its copies, in one command buffer, and submits it
// without waiting, as Program.Submit does one. A queue submission costs
// the GPU time of its own, which many small steps in one saves.
func (d *Device) SubmitAll(subs ...Submission) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range subs {
		if s.Program == nil || s.Program.groups == nil {
			return fmt.Errorf("program: nil or released")
		}
		if s.Program.dev != d {
			return fmt.Errorf("program: made on another device")
		}
		for _, c := range slices.Concat(s.Before, s.After) {
			if err := d.checkCopy(c); err != nil {
				return err
			}
		}
	}
	enc, err := d.dev.CreateCommandEncoder(nil)
	if err != nil {
		return fmt.Errorf("command encoder: %w", err)
	}
	defer enc.Release()
	copies := func(cs []Copy) error {
		for _, c := range cs {
			if err := enc.CopyBufferToBuffer(c.Src.buf, c.SrcOffset, c.Dst.buf, c.DstOffset, c.Size); err != nil {
				return fmt.Errorf("copy %s to %s: %w", c.Src.Label, c.Dst.Label, err)
			}
		}
		return nil
	}
	for _, s := range subs {
		if err := copies(s.Before); err != nil {
			return err
		}
		if err := encodePass(enc, s.Program.ds, s.Program.groups, 1); err != nil {
			return err
		}
		if err := copies(s.After); err != nil {
			return err
		}
	}
	cb, err := enc.Finish(nil)
	if err != nil {
		return fmt.Errorf("finishing commands: %w", err)
	}
	if cb == nil {
		return fmt.Errorf("finishing commands: no command buffer")
	}
	defer cb.Release()
	d.queue.Submit(cb)
	return nil
}

// Run submits the program and waits for it to complete.
func (p *Program) Run() error {
	if err := p.Submit(); err != nil {
		return err
	}
	p.dev.Wait()
	return nil
}

// Release frees the bind groups. Work using them must have completed.
func (p *Program) Release() {
	p.dev.mu.Lock()
	defer p.dev.mu.Unlock()
	releaseAll(p.groups)
	p.groups = nil
}

// Wait blocks until all submitted work has completed.
func (d *Device) Wait() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wait()
}

// checkCopy rejects a copy wgpu would turn into a fatal Submit.
func (d *Device) checkCopy(c Copy) error {
	for _, b := range []*Buffer{c.Src, c.Dst} {
		if b == nil || b.buf == nil {
			return fmt.Errorf("copy: buffer is nil or released")
		}
		if b.dev != d {
			return fmt.Errorf("copy: buffer %s belongs to another device", b.Label)
		}
	}
	if c.Src == c.Dst || c.Size == 0 || (c.SrcOffset|c.DstOffset|c.Size)%4 != 0 ||
		c.SrcOffset+c.Size > c.Src.Size || c.DstOffset+c.Size > c.Dst.Size {
		return fmt.Errorf("copy %s[%d:+%d] to %s[%d]: not distinct buffers, or not 4-byte units within both",
			c.Src.Label, c.SrcOffset, c.Size, c.Dst.Label, c.DstOffset)
	}
	return nil
}
