package templates_test

import (
	"bytes"
	"testing"

	"github.com/tune-gpu/tune/templates"
)

// Golden two-stage argmax kernels: the parts at one and several values per
// thread, the merge.
var goldenArgmaxSplit = []templates.Kernel{
	templates.ArgmaxParts{WG: 256, Per: 4},
	templates.ArgmaxParts{WG: 32, Per: 1},
	templates.ArgmaxMerge{WG: 256},
}

func TestArgmaxSplitGolden(t *testing.T) { checkGolden(t, goldenArgmaxSplit) }

// Every workgroup size renders with its header and none of the constructs
// naga 0.13 or Tint reject; params outside the ranges do not render.
func TestArgmaxSplitRenders(t *testing.T) {
	forbidden := []string{"override", "enable ", "break if", "const_assert", "diagnostic(", "f16", "dot4", "arrayLength"}
	for _, wg := range []int{32, 64, 128, 256} {
		for _, k := range []templates.Kernel{templates.ArgmaxParts{WG: wg, Per: 1}, templates.ArgmaxParts{WG: wg, Per: 64}, templates.ArgmaxMerge{WG: wg}} {
			src, err := templates.Render(k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(src, []byte("// tune kernel "+k.Name()+" "+k.String()+"\n")) {
				t.Errorf("%s %s: source does not start with its header comment", k.Name(), k)
			}
			for _, f := range forbidden {
				if bytes.Contains(src, []byte(f)) {
					t.Errorf("%s %s: source contains %q", k.Name(), k, f)
				}
			}
		}
	}
	for _, k := range []templates.Kernel{
		templates.ArgmaxParts{WG: 256, Per: 0}, templates.ArgmaxParts{WG: 256, Per: 65}, templates.ArgmaxParts{WG: 512, Per: 1},
		templates.ArgmaxMerge{WG: 48}, templates.ArgmaxMerge{WG: 16},
	} {
		if _, err := templates.Render(k); err == nil {
			t.Errorf("Render(%s %s) succeeded; want an error", k.Name(), k)
		}
	}
	p := templates.ArgmaxParts{WG: 64, Per: 4}
	if p.Chunk() != 256 || p.Parts(256) != 1 || p.Parts(257) != 2 || p.Groups(256*40000) != [3]uint32{32768, 2, 1} {
		t.Errorf("%s: chunk %d, parts %d and %d, groups %v", p, p.Chunk(), p.Parts(256), p.Parts(257), p.Groups(256*40000))
	}
}
