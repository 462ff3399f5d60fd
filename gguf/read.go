package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

const (
	magic            = 0x46554747 // "GGUF" read as a little-endian u32
	defaultAlignment = 32
	maxDims          = 4 // GGML_MAX_DIMS
	maxKeyLen        = 65535
	maxNesting       = 8 // arrays of arrays; llama.cpp allows none
)

// GGUF metadata value types (gguf_metadata_value_type).
type valueType uint32

const (
	tUint8 valueType = iota
	tInt8
	tUint16
	tInt16
	tUint32
	tInt32
	tFloat32
	tBool
	tString
	tArray
	tUint64
	tInt64
	tFloat64
)

// minSize is the fewest bytes a value of type t occupies, 0 for an unknown
// type; array lengths are checked against it before allocating.
func (t valueType) minSize() int64 {
	switch t {
	case tUint8, tInt8, tBool:
		return 1
	case tUint16, tInt16:
		return 2
	case tUint32, tInt32, tFloat32:
		return 4
	case tUint64, tInt64, tFloat64, tString:
		return 8
	case tArray:
		return 12
	}
	return 0
}

// File is a parsed GGUF file: everything but the tensor data, which is read
// on demand.
type File struct {
	Version    uint32
	Alignment  int64 // general.alignment, or 32
	DataOffset int64 // file offset of the tensor data section
	Metadata   Metadata
	Tensors    []TensorInfo

	r      io.ReaderAt
	closer io.Closer
}

// TensorInfo describes one tensor. Offset and Size have been checked to lie
// inside the file.
type TensorInfo struct {
	Name   string
	Dims   []uint64 // ggml order: Dims[0] is the contiguous row length
	Type   Type
	Offset int64 // relative to File.DataOffset
	Size   int64 // bytes, from Dims and Type
}

// Elements returns the number of elements of the tensor.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Open reads the GGUF file at path. Close the File when done with its data.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("gguf: %w", err)
	}
	gf, err := Read(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	gf.closer = f
	return gf, nil
}

// Close releases the file opened by Open; it does nothing for a File from Read.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
}

// Tensor returns the info of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// TensorData reads the bytes of the named tensor.
func (f *File) TensorData(name string) ([]byte, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("%w: tensor %q", ErrNotFound, name)
	}
	b := make([]byte, t.Size)
	if t.Size == 0 {
		return b, nil
	}
	// ReaderAt may report EOF along with a full read that ends the file.
	if n, err := f.r.ReadAt(b, f.DataOffset+t.Offset); n < len(b) {
		return nil, fmt.Errorf("gguf: reading tensor %q: %w", name, err)
	}
	return b, nil
}

// Read parses a GGUF file of the given size from r, which the File keeps
// for TensorData. The input is untrusted: every count and length is checked
// against size before anything is allocated for it.
func Read(r io.ReaderAt, size int64) (*File, error) {
	d := &decoder{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<16), size: size}
	f := &File{r: r, Alignment: defaultAlignment}
	if m := d.u32(); d.err == nil && m != magic {
		d.fail("not a GGUF file (magic %#08x)", m)
	}
	f.Version = d.u32()
	if d.err == nil {
		switch f.Version {
		case 2, 3:
		case 1:
			d.fail("GGUF version 1 (32-bit counts) is not supported")
		case 0x03000000, 0x02000000:
			d.fail("big-endian GGUF is not supported")
		default:
			d.fail("unknown GGUF version %d", f.Version)
		}
	}
	nTensors := d.count("tensor", 8+4+4+8) // name length, n_dims, type, offset
	nKV := d.count("metadata", 8+4+1)      // key length, value type, smallest value
	if d.err != nil {
		return nil, d.err
	}

	f.Metadata = make(Metadata, 0, nKV)
	seen := make(map[string]bool, nKV)
	for range nKV {
		key := d.str("metadata key", maxKeyLen)
		v := d.value(valueType(d.u32()), 0)
		if d.err != nil {
			return nil, fmt.Errorf("%w (reading metadata key %q)", d.err, key)
		}
		if seen[key] {
			return nil, fmt.Errorf("%w: duplicate metadata key %q", ErrFormat, key)
		}
		seen[key] = true
		f.Metadata = append(f.Metadata, KV{key, v})
	}
	if v, ok := f.Metadata.Get("general.alignment"); ok {
		a, isU32 := v.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, fmt.Errorf("%w: general.alignment must be a power-of-two uint32, got %T %v", ErrFormat, v, v)
		}
		f.Alignment = int64(a)
	}

	f.Tensors = make([]TensorInfo, 0, nTensors)
	names := make(map[string]bool, nTensors)
	for range nTensors {
		t := d.tensorInfo()
		if d.err != nil {
			return nil, d.err
		}
		if names[t.Name] {
			return nil, fmt.Errorf("%w: duplicate tensor %q", ErrFormat, t.Name)
		}
		names[t.Name] = true
		f.Tensors = append(f.Tensors, t)
	}

	f.DataOffset = alignUp(d.pos, f.Alignment)
	for i := range f.Tensors {
		t := &f.Tensors[i]
		size, err := t.Type.Size(t.Dims)
		if err != nil {
			return nil, fmt.Errorf("%w (tensor %q)", err, t.Name)
		}
		t.Size = size
		if t.Offset%f.Alignment != 0 {
			return nil, fmt.Errorf("%w: tensor %q offset %d is not a multiple of the alignment %d", ErrFormat, t.Name, t.Offset, f.Alignment)
		}
		if f.DataOffset > d.size || t.Offset > d.size-f.DataOffset || t.Size > d.size-f.DataOffset-t.Offset {
			return nil, fmt.Errorf("%w: tensor %q (%d bytes at %d) extends past the end of the %d-byte file", ErrFormat, t.Name, t.Size, f.DataOffset+t.Offset, d.size)
		}
	}
	return f, nil
}

func alignUp(x, a int64) int64 { return x + (a-x%a)%a }

// decoder reads little-endian GGUF fields. The first error sticks: later
// reads return zero values, so callers check d.err only before acting on
// what they read.
type decoder struct {
	r       *bufio.Reader
	pos     int64 // bytes consumed
	size    int64
	err     error
	buf     [8]byte
	scratch []byte
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrFormat, d.pos, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) remaining() int64 { return d.size - d.pos }

// read fills b, which the caller has checked fits in the remaining bytes,
// unless the reader was shorter than the size claimed.
func (d *decoder) read(b []byte) bool {
	if d.err != nil {
		clear(b)
		return false
	}
	if int64(len(b)) > d.remaining() {
		d.fail("truncated: need %d bytes, %d left", len(b), d.remaining())
		clear(b)
		return false
	}
	n, err := io.ReadFull(d.r, b)
	d.pos += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			d.err = fmt.Errorf("%w: truncated at byte %d: %w", ErrFormat, d.pos, io.ErrUnexpectedEOF)
		} else {
			d.err = fmt.Errorf("gguf: at byte %d: %w", d.pos, err)
		}
		clear(b)
		return false
	}
	return true
}

func (d *decoder) fixed(n int) []byte {
	b := d.buf[:n]
	d.read(b)
	return b
}

func (d *decoder) u8() uint8   { return d.fixed(1)[0] }
func (d *decoder) u16() uint16 { return binary.LittleEndian.Uint16(d.fixed(2)) }
func (d *decoder) u32() uint32 { return binary.LittleEndian.Uint32(d.fixed(4)) }
func (d *decoder) u64() uint64 { return binary.LittleEndian.Uint64(d.fixed(8)) }

// count reads a u64 count of items that each take at least minSize bytes,
// and rejects counts the rest of the file cannot hold.
func (d *decoder) count(what string, minSize int64) int {
	n := d.u64()
	if d.err == nil && n > uint64(d.remaining()/minSize) {
		d.fail("%s count %d is more than the %d bytes left can hold", what, n, d.remaining())
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

func (d *decoder) str(what string, limit int64) string {
	n := d.u64()
	if d.err != nil {
		return ""
	}
	if n > uint64(min(limit, d.remaining())) {
		d.fail("%s length %d exceeds the limit or the %d bytes left", what, n, d.remaining())
		return ""
	}
	if uint64(cap(d.scratch)) < n {
		d.scratch = make([]byte, n)
	}
	b := d.scratch[:n]
	if !d.read(b) {
		return ""
	}
	return string(b)
}

func (d *decoder) boolean() bool {
	b := d.u8()
	if b > 1 {
		d.fail("bool value %d is not 0 or 1", b)
	}
	return b == 1
}

func (d *decoder) value(t valueType, depth int) any {
	switch t {
	case tUint8:
		return d.u8()
	case tInt8:
		return int8(d.u8())
	case tUint16:
		return d.u16()
	case tInt16:
		return int16(d.u16())
	case tUint32:
		return d.u32()
	case tInt32:
		return int32(d.u32())
	case tUint64:
		return d.u64()
	case tInt64:
		return int64(d.u64())
	case tFloat32:
		return math.Float32frombits(d.u32())
	case tFloat64:
		return math.Float64frombits(d.u64())
	case tBool:
		return d.boolean()
	case tString:
		return d.str("string", math.MaxInt64)
	case tArray:
		return d.array(depth + 1)
	}
	d.fail("unknown metadata value type %d", t)
	return nil
}

func (d *decoder) array(depth int) any {
	et := valueType(d.u32())
	if d.err != nil {
		return nil
	}
	if depth > maxNesting {
		d.fail("arrays nested deeper than %d", maxNesting)
		return nil
	}
	minSize := et.minSize()
	if minSize == 0 {
		d.fail("unknown array element type %d", et)
		return nil
	}
	n := d.count("array element", minSize)
	switch et {
	case tUint8:
		return arrayOf(d, n, d.u8)
	case tInt8:
		return arrayOf(d, n, func() int8 { return int8(d.u8()) })
	case tUint16:
		return arrayOf(d, n, d.u16)
	case tInt16:
		return arrayOf(d, n, func() int16 { return int16(d.u16()) })
	case tUint32:
		return arrayOf(d, n, d.u32)
	case tInt32:
		return arrayOf(d, n, func() int32 { return int32(d.u32()) })
	case tUint64:
		return arrayOf(d, n, d.u64)
	case tInt64:
		return arrayOf(d, n, func() int64 { return int64(d.u64()) })
	case tFloat32:
		return arrayOf(d, n, func() float32 { return math.Float32frombits(d.u32()) })
	case tFloat64:
		return arrayOf(d, n, func() float64 { return math.Float64frombits(d.u64()) })
	case tBool:
		return arrayOf(d, n, d.boolean)
	case tString:
		return arrayOf(d, n, func() string { return d.str("string", math.MaxInt64) })
	default: // tArray
		return arrayOf(d, n, func() any { return d.array(depth + 1) })
	}
}

func arrayOf[T any](d *decoder, n int, next func() T) []T {
	s := make([]T, n)
	for i := range s {
		if d.err != nil {
			return nil
		}
		s[i] = next()
	}
	return s
}

func (d *decoder) tensorInfo() TensorInfo {
	var t TensorInfo
	t.Name = d.str("tensor name", maxKeyLen)
	nd := d.u32()
	if d.err == nil && nd > maxDims {
		d.fail("tensor %q has %d dims, at most %d allowed", t.Name, nd, maxDims)
	}
	if d.err != nil {
		return t
	}
	t.Dims = make([]uint64, nd)
	for i := range t.Dims {
		t.Dims[i] = d.u64()
		if t.Dims[i] > math.MaxInt64 {
			d.fail("tensor %q dim %d is negative as int64", t.Name, i)
		}
	}
	t.Type = Type(d.u32())
	off := d.u64()
	if d.err == nil && off > math.MaxInt64 {
		d.fail("tensor %q offset %d is too large", t.Name, off)
	}
	t.Offset = int64(off)
	return t
}
