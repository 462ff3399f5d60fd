package ops_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/ops"
)

// The references of the newer block kernels checked on the CPU: against
// the references they extend, against llama's sampler, and against values
// worked by hand.

// Without a weight, RMSNorm is RMSNormRef with a weight of ones, bit for
// bit: the same steps, and 1 * y is y.
func TestRMSNormNoWeightRefIsUnitWeight(t *testing.T) {
	r := newRand()
	for _, s := range []struct{ rows, n int }{{40, 128}, {3, 7}, {1, 1}} {
		x := uniformRand(r, s.rows*s.n, 3)
		ones := make([]float32, s.n)
		for i := range ones {
			ones[i] = 1
		}
		want, got := make([]float32, len(x)), make([]float32, len(x))
		ops.RMSNormRef(want, x, ones, 1e-5)
		ops.RMSNormNoWeightRef(got, x, s.n, 1e-5)
		if !slices.Equal(got, want) {
			t.Errorf("%dx%d: RMSNormNoWeightRef differs from RMSNormRef with unit weight", s.rows, s.n)
		}
	}
}

// Factors of one leave RoPE as it was, bit for bit (x / 1 is x), and a
// factor f is an angle divided by f.
func TestRopeFreqsRef(t *testing.T) {
	r := newRand()
	for _, half := range []bool{false, true} {
		v := uniformRand(r, 4*64, 1)
		ones := make([]float32, 16)
		for i := range ones {
			ones[i] = 1
		}
		want, got := slices.Clone(v), slices.Clone(v)
		ops.RopeRef(want, 4, 64, 32, 777, 10000, half)
		ops.RopeFreqsRef(got, 4, 64, 32, 777, 10000, ones, half)
		if !slices.Equal(got, want) {
			t.Errorf("half=%t: factors of one change RoPE", half)
		}
	}
	// Pair 0 turns by pos * 1 / f: with f = 4 and pos = 2 that is 0.5 rad.
	v := []float32{1, 0}
	ops.RopeFreqsRef(v, 1, 2, 2, 2, 10000, []float32{4}, false)
	if math.Abs(float64(v[0])-math.Cos(0.5)) > 1e-7 || math.Abs(float64(v[1])-math.Sin(0.5)) > 1e-7 {
		t.Errorf("(1, 0) turned by 0.5 rad = %v, want (%v, %v)", v, math.Cos(0.5), math.Sin(0.5))
	}
}

// RopeReduce splits a into k quarter turns and a remainder within pi/4
// (past it by k's rounding, |a| 2^-23 at most) that together are a, up to
// the remainder's rounding and k times the second constant's; RopeRef with
// pair 0 (frequency 1) turns (1, 0) to (cos pos, sin pos), within one
// rounding and that error, at every position of a 128k context.
func TestRopeReduce(t *testing.T) {
	bound := func(a float64) float64 { return 1.0/(1<<24) + math.Abs(a)/(1<<34) }
	r := newRand()
	for i := range 100000 {
		a := float32(math.Ldexp(2*r.Float64()-1, i%18)) // |a| < 2^17
		if i < 8 {
			a = []float32{0, -0, math.Pi / 4, -math.Pi / 4, math.Pi, 1e-30, 131071, -4095.5}[i]
		}
		k, rem := ops.RopeReduce(a)
		if math.Abs(float64(rem)) > math.Pi/4+math.Abs(float64(a))/(1<<23)+1e-7 {
			t.Fatalf("RopeReduce(%g) = %d, %g: remainder past pi/4", a, k, rem)
		}
		if d := float64(k)*math.Pi/2 + float64(rem) - float64(a); math.Abs(d) > bound(float64(a)) {
			t.Fatalf("RopeReduce(%g) = %d, %g: k pi/2 + r is off by %g", a, k, rem, d)
		}
	}
	if k, rem := ops.RopeReduce(0.5); k != 0 || rem != 0.5 {
		t.Errorf("RopeReduce(0.5) = %d, %g; want 0, 0.5 (no reduction)", k, rem)
	}
	for pos := range 131072 {
		v := []float32{1, 0}
		ops.RopeRef(v, 1, 2, 2, pos, 500000, false)
		c, s := math.Cos(float64(pos)), math.Sin(float64(pos))
		if math.Abs(float64(v[0])-c) > 2*bound(float64(pos)) || math.Abs(float64(v[1])-s) > 2*bound(float64(pos)) {
			t.Fatalf("(1, 0) at position %d = %v, want (%v, %v)", pos, v, c, s)
		}
	}
}

// Llama3RopeFreqs against values worked by hand from the HF formula in
// float64 (formats.md §1.7): freq_i = 500000^(-i/64), wavelen_i = 2π /
// freq_i; Llama 3.1 8B (factor 8, low 1, high 4, orig 8192) has wavelen <
// 2048 up to i = 28 (i = 28: 1954.7), wavelen > 8192 from i = 35 (8218.5;
// i = 34: 6694.1), and between them 1 / ((1 - s)/8 + s) with s = (8192 /
// wavelen - 1) / 3, e.g. i = 29: wavelen 2402.1, s = 0.80346, factor
// 1.20748. Scout (factor 16, low = high = 1) has no band between: 1 below
// i = 35, 16 from it.
func TestLlama3RopeFreqs(t *testing.T) {
	got, err := ops.Llama3RopeFreqs(128, 500000, 8, 1, 4, 8192)
	if err != nil {
		t.Fatal(err)
	}
	band := map[int]float64{
		29: 1.207483871283662, 30: 1.5534146285049255, 31: 2.0263132059050557,
		32: 2.6945296878947333, 33: 3.684252527745718, 34: 5.257326588708467,
	}
	if len(got) != 64 {
		t.Fatalf("Llama 3.1: %d factors, want 64", len(got))
	}
	for i, f := range got {
		want := 1.0
		if i >= 35 {
			want = 8
		} else if b, ok := band[i]; ok {
			want = b
		}
		// float32 arithmetic, as the converter's torch tensors: a few ULP.
		if math.Abs(float64(f)-want) > 4e-6*want {
			t.Errorf("Llama 3.1 factor %d = %v, want %v", i, f, want)
		}
	}
	got, err = ops.Llama3RopeFreqs(128, 500000, 16, 1, 1, 8192)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range got {
		want := float32(1)
		if i >= 35 {
			want = 16
		}
		if f != want {
			t.Errorf("Scout factor %d = %v, want %v", i, f, want)
		}
	}
	for _, bad := range []struct {
		headDim                  int
		theta, factor, low, high float64
		orig                     int
	}{
		{127, 500000, 8, 1, 4, 8192}, {0, 500000, 8, 1, 4, 8192}, {128, 0, 8, 1, 4, 8192},
		{128, 500000, -1, 1, 4, 8192}, {128, 500000, 8, 4, 1, 8192}, {128, 500000, 8, 0, 4, 8192},
		{128, 500000, 8, 1, 4, 0}, {128, math.NaN(), 8, 1, 4, 8192}, {128, 500000, 8, 1, math.Inf(1), 8192},
	} {
		if _, err := ops.Llama3RopeFreqs(bad.headDim, bad.theta, bad.factor, bad.low, bad.high, bad.orig); !errors.Is(err, ops.ErrRopeScaling) {
			t.Errorf("Llama3RopeFreqs%v = %v, want ErrRopeScaling", bad, err)
		}
	}
	// Pair 0's wavelength is 2π (in float32); an empty band there would
	// divide by zero, which the error says rather than a NaN in the table.
	if _, err := ops.Llama3RopeFreqs(2, 500000, 16, 1/(2*math.Pi), 1/(2*math.Pi), 1); err == nil || !strings.Contains(err.Error(), "empty band") {
		t.Errorf("a wavelength on the empty band gave %v", err)
	}
}

// xorshiftCoin is run.c's first random_f32 from a seed: the coin a
// llama.Sampler with that seed draws first.
func xorshiftCoin(seed uint64) float32 {
	s := seed
	s ^= s >> 12
	s ^= s << 25
	s ^= s >> 27
	return float32(uint32((s*0x2545F4914F6CDD1D)>>32)>>8) / 16777216
}

// TopPRef chooses what llama's Sampler (run.c's sample) chooses, from the
// same logits, temperature, top-p and seed.
func TestTopPRefMatchesLlamaSampler(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 300 {
		n := 1 + r.IntN(3000)
		logits := uniformRand(r, n, 1+15*r.Float32())
		temp := 0.2 + 2*r.Float32()
		topp := []float32{0.9, 0.5, 0.99, r.Float32(), 1}[trial%5]
		seed := r.Uint64() | 1
		want := llama.NewSampler(temp, topp, seed).Sample(slices.Clone(logits))
		probs := make([]float32, n)
		ops.SoftmaxRowsRef(probs, logits, n, temp)
		got, _ := ops.TopPRef(probs, topp, xorshiftCoin(seed))
		if got != want {
			t.Fatalf("trial %d (n=%d T=%g topp=%g): TopPRef chose %d, the sampler %d", trial, n, temp, topp, got, want)
		}
	}
}

// A nucleus worked by hand: probabilities 0.1, 0.4, 0.2, 0.3 with topp 0.6
// sort to 0.4 (1), 0.3 (3), 0.2 (2), 0.1 (0); the sums 0.4, 0.7 pass 0.6 at
// the second; coin 0.5 gives r = 0.35 < 0.4: index 1; coin 0.9 gives r =
// 0.63 < 0.7: index 3.
func TestTopPRefByHand(t *testing.T) {
	probs := []float32{0.1, 0.4, 0.2, 0.3}
	for _, c := range []struct {
		coin float32
		want int
	}{{0.5, 1}, {0.9, 3}} {
		got, nucleus := ops.TopPRef(probs, 0.6, c.coin)
		if got != c.want || len(nucleus) != 2 || nucleus[0].Index != 1 || nucleus[1].Index != 3 || nucleus[1].Sum != float32(0.4)+float32(0.3) {
			t.Errorf("coin %g: TopPRef = %d, %v; want %d and the nucleus 1, 3", c.coin, got, nucleus, c.want)
		}
	}
	// Outside (0, 1), sample_mult: the first running sum past the coin.
	if got, nucleus := ops.TopPRef(probs, 1, 0.55); got != 2 || nucleus != nil {
		t.Errorf("topp 1: TopPRef = %d, %v; want 2 and no nucleus", got, nucleus)
	}
}

// Llama 4's router worked by hand: W = [[1, 0], [0, 1], [1, 1], [-1, 0]]
// and x = (2, -1) give logits 2, -1, 1, -2; top-1 is expert 0 with
// sigmoid(2) = 0.880797, top-2 adds expert 2 with sigmoid(1) = 0.731059.
func TestMoERouterRefByHand(t *testing.T) {
	w := []float32{1, 0, 0, 1, 1, 1, -1, 0}
	x := []float32{2, -1}
	chosen, scores := ops.MoERouterRef(w, x, 4, 2)
	if !slices.Equal(chosen, []int{0, 2}) || math.Abs(float64(scores[0])-0.880797) > 1e-6 || math.Abs(float64(scores[1])-0.731059) > 1e-6 {
		t.Errorf("MoERouterRef = %v, %v; want [0 2], [0.880797 0.731059]", chosen, scores)
	}
	// Equal logits: the lower index first.
	if chosen, _ := ops.RouterRef([]float32{1, 3, 3, 0, 3}, 3); !slices.Equal(chosen, []int{1, 2, 4}) {
		t.Errorf("RouterRef with ties = %v, want [1 2 4]", chosen)
	}
}
