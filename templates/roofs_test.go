package templates_test

import (
	"testing"

	"github.com/tune-gpu/tune/templates"
)

// Golden read roofs: one vector a thread, two, and a loop of four a trip.
func TestReadGolden(t *testing.T) {
	checkGolden(t, []templates.Kernel{templates.Read{WG: 256, Vecs: 1}, templates.Read{WG: 128, Vecs: 2}, templates.Read{WG: 256, Vecs: 64}})
}

func TestReadRejectsBadParams(t *testing.T) {
	for _, k := range []templates.Read{{WG: 256, Vecs: 0}, {WG: 256, Vecs: 3}, {WG: 256, Vecs: 18}, {WG: 256, Vecs: 260}, {WG: 0, Vecs: 4}, {WG: 2048, Vecs: 1}} {
		if _, err := templates.Render(k); err == nil {
			t.Errorf("%s rendered", k)
		}
	}
}

// The grid covers every vector: a workgroup reads WG*Vecs of them.
func TestReadGroups(t *testing.T) {
	k := templates.Read{WG: 256, Vecs: 4}
	for _, c := range []struct {
		n    int
		want [3]uint32
	}{{1, [3]uint32{1, 1, 1}}, {1024, [3]uint32{1, 1, 1}}, {1025, [3]uint32{2, 1, 1}}, {1024 * 40000, [3]uint32{32768, 2, 1}}} {
		if got := k.Groups(c.n); got != c.want {
			t.Errorf("Groups(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}
