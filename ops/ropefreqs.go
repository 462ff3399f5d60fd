package ops

import (
	"errors"
	"fmt"
	"math"
)

// ErrRopeScaling marks llama3 RoPE scaling parameters that make no table.
var ErrRopeScaling = errors.New("ops: invalid llama3 rope scaling")

// Llama3RopeFreqs returns the rope_freqs table of Llama 3.1's "llama3" RoPE
// scaling, headDim/2 divisors of the pairs' frequencies (Rope with Freqs,
// RopeFreqsRef), as llama.cpp's converter writes it to rope_freqs.weight
// when a GGUF lacks it: with freq = 1 / theta^(2i/headDim) and wavelen =
// 2π / freq, the factor is 1 when wavelen < origCtx/high, factor when
// wavelen > origCtx/low, and in between 1 / ((1 - smooth)/factor + smooth)
// with smooth = (origCtx/wavelen - low) / (high - low). The converter
// computes in torch's float32 (freq, wavelen and the blend), and so does
// this; the comparisons take the bounds in float32, as torch does with a
// Python float against a float32 tensor.
//
// Llama 3.1 uses factor 8, low 1, high 4, origCtx 8192 (the converter's
// defaults for missing keys); Llama 4 Scout factor 16, low = high = 1,
// origCtx 8192, where the band between is empty. A wavelength exactly on an
// empty band would divide by zero: that is an error, as is headDim not
// even and positive, theta, factor or origCtx not positive, or low not in
// (0, high].
func Llama3RopeFreqs(headDim int, theta, factor, low, high float64, origCtx int) ([]float32, error) {
	switch {
	case headDim < 2 || headDim%2 != 0:
		return nil, fmt.Errorf("%w: head dim %d is not even and positive", ErrRopeScaling, headDim)
	case !(theta > 0) || !(factor > 0) || origCtx <= 0:
		return nil, fmt.Errorf("%w: theta %g, factor %g and original context %d must be positive", ErrRopeScaling, theta, factor, origCtx)
	case !(low > 0) || !(high >= low) || math.IsInf(high, 0):
		return nil, fmt.Errorf("%w: low frequency factor %g must be in (0, high frequency factor %g]", ErrRopeScaling, low, high)
	}
	lowWavelen := float32(float64(origCtx) / low)
	highWavelen := float32(float64(origCtx) / high)
	out := make([]float32, headDim/2)
	for i := range out {
		e := float32(2*i) / float32(headDim)
		freq := 1 / float32(math.Pow(theta, float64(e)))
		wavelen := float32(2*math.Pi) / freq
		switch {
		case wavelen < highWavelen:
			out[i] = 1
		case wavelen > lowWavelen:
			out[i] = float32(factor)
		case high == low:
			return nil, fmt.Errorf("%w: pair %d's wavelength %g lies on the empty band at %g", ErrRopeScaling, i, wavelen, lowWavelen)
		default:
			smooth := float32(float32(float32(origCtx)/wavelen)-float32(low)) / float32(high-low)
			out[i] = 1 / float32(float32(float32(1-smooth)/float32(factor))+smooth)
		}
	}
	return out, nil
}
