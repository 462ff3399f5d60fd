package templates_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/templates"
)

// Golden integer-GEMV kernels: every weight width, vector width, one scale
// per row, several rows per workgroup; the quantizer dynamic and static.
var goldenA8 = []templates.Kernel{
	templates.GemvA8{Bits: 8, Group: 32, WG: 64, Rows: 2, Vec: 1},
	templates.GemvA8{Bits: 4, Group: 32, WG: 128, Rows: 4, Vec: 4},
	templates.GemvA8{Bits: 4, Group: 32, WG: 128, Rows: 4, Vec: 4, Fold: true},
	templates.GemvA8{Bits: 2, Group: 64, WG: 32, Rows: 1, Vec: 2},
	templates.GemvA8{Bits: 8, Group: 0, WG: 256, Rows: 8, Vec: 4, Fold: true},
	templates.QuantAct{WG: 64},
	templates.QuantAct{WG: 256, Static: true},
}

// goldenA8Path names the weight format too: GemvA8's params do not.
func goldenA8Path(k templates.Kernel) string {
	name := k.String()
	if g, ok := k.(templates.GemvA8); ok {
		name = g.Format() + "/" + name
	}
	return filepath.Join("testdata", k.Name(), strings.ReplaceAll(name, "/", "_")+".wgsl")
}

func TestGoldenA8(t *testing.T) {
	for _, k := range goldenA8 {
		t.Run(k.Name()+"/"+k.String(), func(t *testing.T) {
			got, err := templates.Render(k)
			if err != nil {
				t.Fatal(err)
			}
			path := goldenA8Path(k)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./templates -run TestGoldenA8 -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s; rerun with -update if the change is intended", k, path)
			}
		})
	}
}

func TestGemvA8Check(t *testing.T) {
	ok := templates.GemvA8{Bits: 4, Group: 32, WG: 64, Rows: 2, Vec: 4}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []templates.GemvA8{
		{Bits: 3, Group: 32, WG: 64, Rows: 1, Vec: 1},
		{Bits: 4, Group: 48, WG: 64, Rows: 1, Vec: 1},
		{Bits: 4, Group: 32, WG: 48, Rows: 1, Vec: 1},
		{Bits: 4, Group: 32, WG: 64, Rows: 0, Vec: 1},
		{Bits: 4, Group: 32, WG: 64, Rows: 1, Vec: 3},
		{Bits: 2, Group: 32, WG: 64, Rows: 1, Vec: 4}, // 64 elements span groups of 32
	} {
		if bad.Check() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if !ok.Fits(3, 64) || ok.Fits(3, 48) || ok.Fits(0, 64) {
		t.Error("Fits: wrong answer for 3x64, 3x48 or 0x64")
	}
	if (templates.QuantAct{WG: 100}).Check() == nil {
		t.Error("QuantAct accepted a workgroup of 100")
	}
}

// The K split and its reduce take the split counts SplitCounts lists, and
// nothing else.
func TestGemvSplitCounts(t *testing.T) {
	g := templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 4, Vec: 2, Unpack: "half"}
	for _, n := range append([]int{0, 1}, templates.SplitCounts...) {
		g.Split = n
		if err := g.Check(); err != nil {
			t.Errorf("split %d: %v", n, err)
		}
		if r := (templates.GemvReduce{WG: 64, Split: n}); (r.Check() == nil) != (n > 1) {
			t.Errorf("reduce of %d parts: Check() = %v", n, r.Check())
		}
	}
	for _, n := range []int{-2, 3, 16} {
		g.Split = n
		if g.Check() == nil {
			t.Errorf("split %d accepted", n)
		}
		if (templates.GemvReduce{WG: 64, Split: n}).Check() == nil {
			t.Errorf("reduce of %d parts accepted", n)
		}
	}
}
