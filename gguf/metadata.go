package gguf

import (
	"errors"
	"fmt"
	"math"
)

var (
	// ErrFormat marks a malformed or unsupported file, or a metadata value
	// of the wrong type.
	ErrFormat = errors.New("gguf: bad format")
	// ErrNotFound marks a lookup of a metadata key or tensor name that is absent.
	ErrNotFound = errors.New("gguf: not found")
)

// KV is one metadata entry. Value holds the natural Go type of the GGUF
// value: uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32,
// float64, bool or string; an array is a slice of one of those ([]string,
// []float32, ...), and an array of arrays is []any whose elements are such
// slices. Write maps the Go type back to the GGUF type, so the exact type
// round-trips.
type KV struct {
	Key   string
	Value any
}

// Metadata is the ordered list of a file's key/values. Lookups scan it
// linearly: files hold tens of keys, and a scan stays right when callers
// edit the list.
type Metadata []KV

// Get returns the value of key.
func (m Metadata) Get(key string) (any, bool) {
	for _, kv := range m {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

func (m Metadata) get(key string) (any, error) {
	v, ok := m.Get(key)
	if !ok {
		return nil, fmt.Errorf("%w: metadata key %q", ErrNotFound, key)
	}
	return v, nil
}

func typeErr(key string, v any, want string) error {
	return fmt.Errorf("%w: metadata key %q holds %T, want %s", ErrFormat, key, v, want)
}

// String returns the string value of key.
func (m Metadata) String(key string) (string, error) {
	v, err := m.get(key)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", typeErr(key, v, "string")
	}
	return s, nil
}

// Bool returns the bool value of key.
func (m Metadata) Bool(key string) (bool, error) {
	v, err := m.get(key)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, typeErr(key, v, "bool")
	}
	return b, nil
}

// toInt converts any GGUF integer to int64; big reports a uint64 above MaxInt64.
func toInt(v any) (n int64, big, ok bool) {
	switch x := v.(type) {
	case uint8:
		return int64(x), false, true
	case int8:
		return int64(x), false, true
	case uint16:
		return int64(x), false, true
	case int16:
		return int64(x), false, true
	case uint32:
		return int64(x), false, true
	case int32:
		return int64(x), false, true
	case int64:
		return x, false, true
	case uint64:
		return int64(x), x > math.MaxInt64, true
	}
	return 0, false, false
}

// Uint returns the value of key, which may have any integer type (writers
// disagree on u32 vs u64 for counts) as long as it is not negative.
func (m Metadata) Uint(key string) (uint64, error) {
	v, err := m.get(key)
	if err != nil {
		return 0, err
	}
	n, big, ok := toInt(v)
	switch {
	case !ok:
		return 0, typeErr(key, v, "an integer")
	case big:
		return v.(uint64), nil
	case n < 0:
		return 0, fmt.Errorf("%w: metadata key %q is negative (%d)", ErrFormat, key, n)
	}
	return uint64(n), nil
}

// Int returns the value of key, which may have any integer type that fits int64.
func (m Metadata) Int(key string) (int64, error) {
	v, err := m.get(key)
	if err != nil {
		return 0, err
	}
	n, big, ok := toInt(v)
	if !ok {
		return 0, typeErr(key, v, "an integer")
	}
	if big {
		return 0, fmt.Errorf("%w: metadata key %q overflows int64", ErrFormat, key)
	}
	return n, nil
}

// Float returns the value of key, a float32 or float64.
func (m Metadata) Float(key string) (float64, error) {
	v, err := m.get(key)
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, typeErr(key, v, "a float")
}

// Strings returns the string array value of key. The slice is shared with
// the metadata.
func (m Metadata) Strings(key string) ([]string, error) {
	v, err := m.get(key)
	if err != nil {
		return nil, err
	}
	s, ok := v.([]string)
	if !ok {
		return nil, typeErr(key, v, "a string array")
	}
	return s, nil
}

// Floats returns the float32 or float64 array value of key as a new []float64.
func (m Metadata) Floats(key string) ([]float64, error) {
	v, err := m.get(key)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case []float32:
		return convert[float64](x), nil
	case []float64:
		return append([]float64(nil), x...), nil
	}
	return nil, typeErr(key, v, "a float array")
}

// Ints returns the integer array value of key, of any integer element type
// that fits int64, as a new []int64.
func (m Metadata) Ints(key string) ([]int64, error) {
	v, err := m.get(key)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case []uint8:
		return convert[int64](x), nil
	case []int8:
		return convert[int64](x), nil
	case []uint16:
		return convert[int64](x), nil
	case []int16:
		return convert[int64](x), nil
	case []uint32:
		return convert[int64](x), nil
	case []int32:
		return convert[int64](x), nil
	case []int64:
		return append([]int64(nil), x...), nil
	case []uint64:
		for _, u := range x {
			if u > math.MaxInt64 {
				return nil, fmt.Errorf("%w: metadata key %q: element %d overflows int64", ErrFormat, key, u)
			}
		}
		return convert[int64](x), nil
	}
	return nil, typeErr(key, v, "an integer array")
}

func convert[To int64 | float64, From uint8 | int8 | uint16 | int16 | uint32 | int32 | uint64 | float32](s []From) []To {
	out := make([]To, len(s))
	for i, x := range s {
		out[i] = To(x)
	}
	return out
}
