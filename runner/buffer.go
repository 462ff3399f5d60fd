package runner

import (
	"fmt"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Buffer is a device buffer usable as a storage or uniform binding and as a
// copy source and destination.
type Buffer struct {
	Label string
	Size  uint64

	dev *Device
	buf *wgpu.Buffer
	// of and offset make the buffer a view: Size bytes of of from offset.
	of     *Buffer
	offset uint64
}

// View is size bytes of b from offset, to bind on their own, e.g. one
// matrix of a stack in one buffer: offset a multiple of the device's
// storage-buffer offset alignment, size a positive multiple of 4, both
// within b. It is bound only, never read, written or released itself, and
// goes with b.
func (b *Buffer) View(offset, size uint64) (*Buffer, error) {
	if b.of != nil {
		offset, b = offset+b.offset, b.of
	}
	align := uint64(b.dev.Limits.MinStorageBufferOffsetAlignment)
	if size == 0 || size%4 != 0 || (align > 0 && offset%align != 0) || offset+size > b.Size {
		return nil, fmt.Errorf("view of buffer %s: %d bytes at offset %d are not a positive multiple of 4 at a multiple of %d within %d", b.Label, size, offset, align, b.Size)
	}
	return &Buffer{Label: fmt.Sprintf("%s[%d:+%d]", b.Label, offset, size), Size: size, dev: b.dev, of: b, offset: offset}, nil
}

// binding is what a bind group takes of b: the device buffer (nil once
// released) and the offset.
func (b *Buffer) binding() (*wgpu.Buffer, uint64) {
	if b.of != nil {
		return b.of.buf, b.offset
	}
	return b.buf, 0
}

// NewBuffer creates a zero-filled buffer of size bytes; size must be a
// positive multiple of 4 within the device's buffer size limit.
func (d *Device) NewBuffer(label string, size uint64) (*Buffer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if size == 0 || size%4 != 0 {
		return nil, fmt.Errorf("buffer %s: size %d is not a positive multiple of 4", label, size)
	}
	if size > d.Limits.MaxBufferSize {
		return nil, fmt.Errorf("buffer %s: size %d exceeds the device's maximum buffer size %d", label, size, d.Limits.MaxBufferSize)
	}
	buf, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{
		Label: label,
		Size:  size,
		Usage: wgpu.BufferUsage_Storage | wgpu.BufferUsage_Uniform | wgpu.BufferUsage_CopySrc | wgpu.BufferUsage_CopyDst,
	})
	if err != nil {
		return nil, fmt.Errorf("buffer %s: %w", label, err)
	}
	return &Buffer{Label: label, Size: size, dev: d, buf: buf}, nil
}

// Write copies data into the buffer at offset; both must be multiples of 4.
func (b *Buffer) Write(offset uint64, data []byte) error {
	d := b.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.buf == nil {
		return fmt.Errorf("writing buffer %s: released, or a view", b.Label)
	}
	if offset%4 != 0 || len(data)%4 != 0 || offset+uint64(len(data)) > b.Size {
		return fmt.Errorf("writing buffer %s: %d bytes at offset %d do not fit %d bytes in 4-byte units", b.Label, len(data), offset, b.Size)
	}
	if len(data) == 0 {
		return nil
	}
	if err := d.queue.WriteBuffer(b.buf, offset, data); err != nil {
		return fmt.Errorf("writing buffer %s: %w", b.Label, err)
	}
	return nil
}

// Read copies the whole buffer back to the host. It waits for all work
// submitted before it.
func (b *Buffer) Read() ([]byte, error) {
	d := b.dev
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.buf == nil {
		return nil, fmt.Errorf("reading buffer %s: released, or a view", b.Label)
	}
	return d.readBack(b.buf, b.Size)
}

func (d *Device) readBack(src *wgpu.Buffer, size uint64) ([]byte, error) {
	staging, err := d.dev.CreateBuffer(&wgpu.BufferDescriptor{
		Label: "readback",
		Size:  size,
		Usage: wgpu.BufferUsage_MapRead | wgpu.BufferUsage_CopyDst,
	})
	if err != nil {
		return nil, fmt.Errorf("readback buffer: %w", err)
	}
	defer staging.Release()
	enc, err := d.dev.CreateCommandEncoder(nil)
	if err != nil {
		return nil, fmt.Errorf("readback encoder: %w", err)
	}
	defer enc.Release()
	if err := enc.CopyBufferToBuffer(src, 0, staging, 0, size); err != nil {
		return nil, fmt.Errorf("readback copy: %w", err)
	}
	if err := d.submit(enc); err != nil {
		return nil, fmt.Errorf("readback: %w", err)
	}
	return d.mapRead(staging, size)
}

// mapRead maps a MapRead buffer whose writes have been submitted and copies
// its contents out.
func (d *Device) mapRead(staging *wgpu.Buffer, size uint64) ([]byte, error) {
	status := wgpu.BufferMapAsyncStatus(0xffffffff)
	err := staging.MapAsync(wgpu.MapMode_Read, 0, size, func(s wgpu.BufferMapAsyncStatus) { status = s })
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	d.wait()
	if status != wgpu.BufferMapAsyncStatus_Success {
		return nil, fmt.Errorf("mapping: status %v", status)
	}
	out := make([]byte, size)
	copy(out, staging.GetMappedRange(0, uint(size)))
	if err := staging.Unmap(); err != nil {
		return nil, fmt.Errorf("unmapping: %w", err)
	}
	return out, nil
}

// submit finishes enc, submits it and waits for completion. Finish's error is
// checked first: submitting an invalid command buffer aborts the process.
func (d *Device) submit(enc *wgpu.CommandEncoder) error {
	cb, err := enc.Finish(nil)
	if err != nil {
		return fmt.Errorf("finishing commands: %w", err)
	}
	if cb == nil {
		return fmt.Errorf("finishing commands: no command buffer")
	}
	defer cb.Release()
	d.queue.Submit(cb)
	d.wait()
	return nil
}

// Release frees the buffer. Work using it must have completed, which every
// Device method that submits guarantees before returning.
func (b *Buffer) Release() {
	b.dev.mu.Lock()
	defer b.dev.mu.Unlock()
	if b.buf != nil {
		b.buf.Release()
		b.buf = nil
	}
}
