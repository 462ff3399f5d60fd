package ops

import (
	"math/rand/v2"
	"testing"
)

// The two stages' references compose to ArgmaxRef for every chunk length,
// with ties inside and across chunks.
func TestArgmaxSplitRefsComposeToArgmax(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	for _, n := range []int{1, 2, 31, 32, 33, 1000, 4097} {
		for _, chunk := range []int{1, 7, 32, 1024} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.IntN(5)) // many ties
			}
			if got, want := ArgmaxMergeRef(ArgmaxPartsRef(x, chunk)), ArgmaxRef(x); int(got) != want {
				t.Errorf("n %d chunk %d: merged parts give %d, ArgmaxRef %d", n, chunk, got, want)
			}
		}
	}
}
