package llama

import (
	"github.com/tune-gpu/tune/ops"
	"math"
	"runtime"
	"sync"
)

// The operations below repeat run.c's float32 arithmetic step for step.
// Explicit float32(a*b) conversions stop Go from fusing a*b+c into an FMA
// (which it may do on some targets), and float32 math functions are the
// float64 ones rounded once, which is what a correctly rounded libm gives.

// exp is expf.
func exp(x float32) float32 { return float32(math.Exp(float64(x))) }

// dot is run.c's inner loop: a float32 sum in index order.
func dot(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += float32(v * b[i])
	}
	return s
}

// parallelWork is the size (rows*cols) from which matmul splits rows over
// goroutines; each row is still summed in order, so results do not change.
const parallelWork = 1 << 16

// matmul returns W x: out[i] = dot(row i of W, x). A quantized W is
// dequantized one row at a time.
func matmul(w *Weight, x []float32) []float32 {
	if len(x) != w.Cols {
		panic("llama: matmul width mismatch")
	}
	if w.observe != nil {
		w.observe(x)
	}
	out := make([]float32, w.Rows)
	rows := func(lo, hi int) {
		if w.Q == nil {
			for i := lo; i < hi; i++ {
				out[i] = dot(w.Row(i), x)
			}
			return
		}
		row := make([]float32, w.Cols)
		for i := lo; i < hi; i++ {
			out[i] = dot(w.RowTo(i, row), x)
		}
	}
	n := runtime.GOMAXPROCS(0)
	if n == 1 || w.Rows*w.Cols < parallelWork {
		rows(0, w.Rows)
		return out
	}
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() { rows(k*w.Rows/n, (k+1)*w.Rows/n) })
	}
	wg.Wait()
	return out
}

// add adds b into a.
func add(a, b []float32) {
	for i, v := range b {
		a[i] += v
	}
}

// rmsNorm returns weight * x / sqrt(mean(x²) + eps), in run.c's order.
func rmsNorm(x, weight []float32, eps float32) []float32 {
	out := make([]float32, len(x))
	ops.RMSNormRef(out, x, weight, eps)
	return out
}

// softmax turns x into probabilities in place, subtracting the maximum
// first.
func softmax(x []float32) { ops.SoftmaxRef(x) }

// rope rotates each head of x (heads of HeadDim) at position pos: pair
// (x[2i], x[2i+1]) of the first RopeDim dimensions turns by the angle
// pos * theta^(-2i/RopeDim). Adjacent pairs are the layout of llama2.c
// checkpoints and of GGUF llama tensors (whose Q and K rows the converter
// permuted for exactly this). cos and sin are float64's of the angle as
// the GPU kernels split it (ops.RopeReduce), where run.c's cosf and sinf
// take the whole angle: over stories260K's 512 positions 490 of the 4096
// values differ, by an ULP, and its greedy and sampled tokens are run.c's
// all the same (TestStoriesGreedy, TestStoriesSampled).
//
// With RopeFreqs each pair's angle is divided by its factor, as ggml does
// with a llama3 GGUF's rope_freqs.weight.
func rope(x []float32, pos int, o *Options) {
	if o.RopeFreqs != nil {
		ops.RopeFreqsRef(x, len(x)/o.HeadDim, o.HeadDim, o.RopeDim, pos, o.RopeTheta, o.RopeFreqs, false)
		return
	}
	ops.RopeRef(x, len(x)/o.HeadDim, o.HeadDim, o.RopeDim, pos, o.RopeTheta, false)
}
