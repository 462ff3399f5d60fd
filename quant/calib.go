package quant

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tune-gpu/tune/gguf"
)

// ActAbsmaxPrefix starts the metadata key of a matrix's calibrated input
// range, for static int8 activation scaling: "tune.act_absmax.<tensor
// name>" = float32, the largest |x| the matrix's input vector held over a
// calibration text (a forward pass of the CPU reference). The static scale
// is StaticScale(absmax); values beyond it clamp to ±127. Save writes
// these keys as any other metadata, and Load returns them in Meta.
const ActAbsmaxPrefix = "tune.act_absmax."

// SetActAbsmax returns meta with the ActAbsmaxPrefix keys replaced by
// absmax, one per tensor name in name order. Every value must be finite
// and non-negative.
func SetActAbsmax(meta gguf.Metadata, absmax map[string]float32) (gguf.Metadata, error) {
	var out gguf.Metadata
	for _, kv := range meta {
		if !strings.HasPrefix(kv.Key, ActAbsmaxPrefix) {
			out = append(out, kv)
		}
	}
	names := make([]string, 0, len(absmax))
	for name := range absmax {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := absmax[name]
		if name == "" || v < 0 || math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
			return nil, fmt.Errorf("%w: activation absmax %g for tensor %q", ErrInvalid, v, name)
		}
		out = append(out, gguf.KV{Key: ActAbsmaxPrefix + name, Value: v})
	}
	return out, nil
}

// ActAbsmax reads the ActAbsmaxPrefix keys of meta back, by tensor name;
// a value that is not a finite non-negative float32 is an error wrapping
// gguf.ErrFormat. A file without calibration gives an empty map.
func ActAbsmax(meta gguf.Metadata) (map[string]float32, error) {
	out := map[string]float32{}
	for _, kv := range meta {
		name, ok := strings.CutPrefix(kv.Key, ActAbsmaxPrefix)
		if !ok {
			continue
		}
		v, isF32 := kv.Value.(float32)
		if !isF32 || name == "" || v < 0 || math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
			return nil, fmt.Errorf("%w: metadata %s = %v: want a finite non-negative float32", gguf.ErrFormat, kv.Key, kv.Value)
		}
		out[name] = v
	}
	return out, nil
}

// StaticScale is the int8 activation scale of a calibrated absmax: codes
// are round(x / scale) clamped to ±127, as templates.QuantAct computes them.
func StaticScale(absmax float32) float32 { return absmax / 127 }
