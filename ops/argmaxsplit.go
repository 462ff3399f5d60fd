package ops

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tune-gpu/tune/templates"
)

// The two-stage argmax (templates.ArgmaxParts, then ArgmaxMerge) is stated
// by ArgmaxRef: each chunk's pair is ArgmaxRef of the chunk, and merging the
// pairs gives ArgmaxRef of the whole. Both stages copy and compare values,
// so every word is exact.

// ArgmaxPartsRef is what ArgmaxParts writes for x in chunks of chunk
// values: per chunk the f32 bits of its largest value and the index (in
// x) of the first occurrence.
func ArgmaxPartsRef(x []float32, chunk int) []uint32 {
	var pairs []uint32
	for lo := 0; lo < len(x); lo += chunk {
		i := lo + ArgmaxRef(x[lo:min(len(x), lo+chunk)])
		pairs = append(pairs, math.Float32bits(x[i]), uint32(i))
	}
	return pairs
}

// ArgmaxMergeRef is the index of the largest value among (value bits,
// index) pairs, the lowest index among equal values.
func ArgmaxMergeRef(pairs []uint32) uint32 {
	best := 0
	for p := 1; 2*p < len(pairs); p++ {
		v, bv := math.Float32frombits(pairs[2*p]), math.Float32frombits(pairs[2*best])
		if v > bv || v == bv && pairs[2*p+1] < pairs[2*best+1] {
			best = p
		}
	}
	return pairs[2*best+1]
}

// ArgmaxPartsCase reduces x chunk by chunk: exact pairs.
func ArgmaxPartsCase(k templates.ArgmaxParts, name string, x []float32) BlockCase {
	want := ArgmaxPartsRef(x, k.Chunk())
	return BlockCase{Name: name, Groups: k.Groups(len(x)), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(len(x)))},
		{Name: "x", Data: F32Words(x)},
		{Name: "parts", Data: SentinelWords(len(want)), Want: want},
	}}
}

// ArgmaxMergeCase merges pairs: the exact index.
func ArgmaxMergeCase(k templates.ArgmaxMerge, name string, pairs []uint32) BlockCase {
	return BlockCase{Name: name, Groups: k.Groups(), Bufs: []BlockBuffer{
		{Name: "dims", Data: UniformWords(uint32(len(pairs) / 2))},
		{Name: "pairs", Data: pairs},
		{Name: "out", Data: SentinelWords(1), Want: []uint32{ArgmaxMergeRef(pairs)}},
	}}
}

// argmaxPartsCases: a ragged last chunk, the maximum twice in one chunk
// where different threads scan it (the first must win) and in two chunks,
// all values equal, infinities, one value, and a grid folded past 32768
// chunks whose idle workgroups must write nothing.
func argmaxPartsCases(k templates.ArgmaxParts) []BlockCase {
	r := rand.New(rand.NewPCG(uint64(k.Chunk()), 3))
	c := k.Chunk()
	ragged := scaled(r, 3*c+c/2+1, 1)
	tie := scaled(r, 2*c+5, 1)
	// Once in the first chunk, twice in the second: by one thread where
	// it scans several values, else by two.
	j := c + 1 + k.WG
	if j >= 2*c {
		j = 2*c - 1
	}
	tie[3], tie[c+1], tie[j] = 4, 4, 4
	inf := make([]float32, c+7)
	for i := range inf {
		inf[i] = -float32(math.Inf(1))
	}
	inf[c+6] = -math.MaxFloat32
	cs := []BlockCase{
		ArgmaxPartsCase(k, fmt.Sprintf("ragged/n=%d", len(ragged)), ragged),
		ArgmaxPartsCase(k, fmt.Sprintf("tie/n=%d", len(tie)), tie),
		ArgmaxPartsCase(k, fmt.Sprintf("all-equal/n=%d", 2*c+3), make([]float32, 2*c+3)),
		ArgmaxPartsCase(k, fmt.Sprintf("infinities/n=%d", len(inf)), inf),
		ArgmaxPartsCase(k, "n=1", []float32{-7}),
	}
	if c <= 32 {
		folded := scaled(r, 32768*c+c/2+1, 1)
		cs = append(cs, ArgmaxPartsCase(k, fmt.Sprintf("folded/n=%d", len(folded)), folded))
	}
	return cs
}

// argmaxMergeCases: pairs from a vocabulary's chunks, equal values under
// different indices, later pairs lower (the lowest index must win),
// more pairs than threads, infinities, one pair.
func argmaxMergeCases(k templates.ArgmaxMerge) []BlockCase {
	r := rand.New(rand.NewPCG(uint64(k.WG), 5))
	vocab := scaled(r, 128256, 10)
	vocab[100000] = 11
	// Few distinct values, indices falling: a thread meets equal values
	// at ever lower indices.
	n := k.WG + 37
	ties := make([]uint32, 2*n)
	for p := range n {
		ties[2*p], ties[2*p+1] = math.Float32bits(float32(r.IntN(3))), uint32(10*(n-p)+r.IntN(10))
	}
	inf := []uint32{math.Float32bits(-float32(math.Inf(1))), 9, math.Float32bits(-float32(math.Inf(1))), 4, math.Float32bits(-math.MaxFloat32), 700}
	return []BlockCase{
		ArgmaxMergeCase(k, "vocab/n=128256/chunk=1024", ArgmaxPartsRef(vocab, 1024)),
		ArgmaxMergeCase(k, fmt.Sprintf("ties/pairs=%d", len(ties)/2), ties),
		ArgmaxMergeCase(k, "infinities/pairs=3", inf),
		ArgmaxMergeCase(k, "pairs=1", []uint32{math.Float32bits(-3), 12345}),
	}
}
