package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Tensor is one tensor to write: its data must be exactly Type.Size(Dims) bytes.
type Tensor struct {
	Name string
	Dims []uint64 // ggml order: Dims[0] is the contiguous row length
	Type Type
	Data []byte
}

// Write writes a GGUF v3 file holding meta and tensors, in order, to w.
// The alignment is general.alignment when meta sets it (as a power-of-two
// uint32), else 32. Values in meta must have one of the Go types listed on
// KV.
func Write(w io.Writer, meta []KV, tensors []Tensor) error {
	align := int64(defaultAlignment)
	keys := make(map[string]bool, len(meta))
	for _, kv := range meta {
		if keys[kv.Key] {
			return fmt.Errorf("gguf: duplicate metadata key %q", kv.Key)
		}
		keys[kv.Key] = true
		if len(kv.Key) > maxKeyLen {
			return fmt.Errorf("gguf: metadata key %.40q... is longer than %d bytes", kv.Key, maxKeyLen)
		}
		if kv.Key == "general.alignment" {
			a, ok := kv.Value.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 {
				return fmt.Errorf("gguf: general.alignment must be a power-of-two uint32, got %T %v", kv.Value, kv.Value)
			}
			align = int64(a)
		}
	}
	names := make(map[string]bool, len(tensors))
	offsets := make([]int64, len(tensors))
	var off int64
	for i, t := range tensors {
		switch {
		case names[t.Name]:
			return fmt.Errorf("gguf: duplicate tensor %q", t.Name)
		case len(t.Name) > maxKeyLen:
			return fmt.Errorf("gguf: tensor name %.40q... is longer than %d bytes", t.Name, maxKeyLen)
		case len(t.Dims) > maxDims:
			return fmt.Errorf("gguf: tensor %q has %d dims, at most %d allowed", t.Name, len(t.Dims), maxDims)
		}
		names[t.Name] = true
		size, err := t.Type.Size(t.Dims)
		if err != nil {
			return fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
		}
		if int64(len(t.Data)) != size {
			return fmt.Errorf("gguf: tensor %q: %d bytes of data, want %d for %s %v", t.Name, len(t.Data), size, t.Type, t.Dims)
		}
		offsets[i] = off
		off = alignUp(off+size, align)
	}

	e := &encoder{w: bufio.NewWriterSize(w, 1<<16)}
	e.u32(magic)
	e.u32(3)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(meta)))
	for _, kv := range meta {
		e.str(kv.Key)
		t, err := typeOf(kv.Value)
		if err != nil {
			return fmt.Errorf("gguf: metadata key %q: %w", kv.Key, err)
		}
		e.u32(uint32(t))
		if err := e.value(kv.Value); err != nil {
			return fmt.Errorf("gguf: metadata key %q: %w", kv.Key, err)
		}
	}
	for i, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(uint64(offsets[i]))
	}
	if len(tensors) > 0 {
		e.pad(align)
	}
	for _, t := range tensors {
		e.bytes(t.Data)
		e.pad(align)
	}
	if e.err == nil {
		e.err = e.w.Flush()
	}
	if e.err != nil {
		return fmt.Errorf("gguf: writing: %w", e.err)
	}
	return nil
}

type encoder struct {
	w   *bufio.Writer
	n   int64 // bytes written, for padding
	err error
	buf [8]byte
}

func (e *encoder) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
		e.n += int64(len(b))
	}
}

func (e *encoder) u8(v uint8) { e.buf[0] = v; e.bytes(e.buf[:1]) }
func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], v)
	e.bytes(e.buf[:2])
}
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	e.bytes(e.buf[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.bytes(e.buf[:8])
}
func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
		e.n += int64(len(s))
	}
}
func (e *encoder) boolean(b bool) {
	if b {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

func (e *encoder) pad(align int64) {
	var zero [64]byte
	for p := alignUp(e.n, align) - e.n; p > 0; p -= min(p, 64) {
		e.bytes(zero[:min(p, 64)])
	}
}

var errValue = errors.New("unsupported value type")

// typeOf maps a Go value to its GGUF value type; see KV.
func typeOf(v any) (valueType, error) {
	switch v.(type) {
	case uint8:
		return tUint8, nil
	case int8:
		return tInt8, nil
	case uint16:
		return tUint16, nil
	case int16:
		return tInt16, nil
	case uint32:
		return tUint32, nil
	case int32:
		return tInt32, nil
	case uint64:
		return tUint64, nil
	case int64:
		return tInt64, nil
	case float32:
		return tFloat32, nil
	case float64:
		return tFloat64, nil
	case bool:
		return tBool, nil
	case string:
		return tString, nil
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []uint64, []int64,
		[]float32, []float64, []bool, []string, []any:
		return tArray, nil
	}
	return 0, fmt.Errorf("%w %T", errValue, v)
}

// value writes v, whose type typeOf accepted, without its type tag.
func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float32:
		e.u32(math.Float32bits(x))
	case float64:
		e.u64(math.Float64bits(x))
	case bool:
		e.boolean(x)
	case string:
		e.str(x)
	case []uint8:
		e.array(tUint8, len(x))
		e.bytes(x)
	case []int8:
		writeArray(e, tInt8, x, func(v int8) { e.u8(uint8(v)) })
	case []uint16:
		writeArray(e, tUint16, x, e.u16)
	case []int16:
		writeArray(e, tInt16, x, func(v int16) { e.u16(uint16(v)) })
	case []uint32:
		writeArray(e, tUint32, x, e.u32)
	case []int32:
		writeArray(e, tInt32, x, func(v int32) { e.u32(uint32(v)) })
	case []uint64:
		writeArray(e, tUint64, x, e.u64)
	case []int64:
		writeArray(e, tInt64, x, func(v int64) { e.u64(uint64(v)) })
	case []float32:
		writeArray(e, tFloat32, x, func(v float32) { e.u32(math.Float32bits(v)) })
	case []float64:
		writeArray(e, tFloat64, x, func(v float64) { e.u64(math.Float64bits(v)) })
	case []bool:
		writeArray(e, tBool, x, e.boolean)
	case []string:
		writeArray(e, tString, x, e.str)
	case []any:
		e.array(tArray, len(x))
		for _, el := range x {
			if t, err := typeOf(el); err != nil || t != tArray {
				return fmt.Errorf("%w %T inside an array of arrays", errValue, el)
			}
			if err := e.value(el); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%w %T", errValue, v)
	}
	return nil
}

func (e *encoder) array(t valueType, n int) {
	e.u32(uint32(t))
	e.u64(uint64(n))
}

func writeArray[T any](e *encoder, t valueType, s []T, put func(T)) {
	e.array(t, len(s))
	for _, v := range s {
		put(v)
	}
}
