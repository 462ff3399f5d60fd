package templates_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Golden kernels: each template branch (staged or not, unrolled or not,
// every vector width, a ragged tile load) appears at least once.
var golden = []templates.Kernel{
	templates.Naive{WGX: 16, WGY: 16},
	templates.Matmul{WGX: 16, WGY: 16, RM: 8, RN: 8, TK: 8, Vec: 4, Staged: true, Unroll: true},
	templates.Matmul{WGX: 16, WGY: 8, RM: 4, RN: 4, TK: 8, Vec: 4, Staged: true, Unroll: false},
	templates.Matmul{WGX: 16, WGY: 16, RM: 8, RN: 8, TK: 16, Vec: 4, Staged: true, Prefetch: true, Unroll: true},
	templates.Matmul{WGX: 16, WGY: 8, RM: 4, RN: 4, TK: 8, Vec: 4, Staged: true, Prefetch: true, Unroll: false},
	templates.Matmul{WGX: 8, WGY: 8, RM: 2, RN: 2, TK: 4, Vec: 2, Staged: true, Unroll: true},
	templates.Matmul{WGX: 8, WGY: 8, RM: 1, RN: 1, TK: 8, Vec: 1, Staged: true, Unroll: false},
	templates.Matmul{WGX: 8, WGY: 8, RM: 4, RN: 4, TK: 4, Vec: 4, Staged: false, Unroll: true},
	templates.Matmul{WGX: 16, WGY: 4, RM: 2, RN: 1, TK: 4, Vec: 1, Staged: false, Unroll: false},
	templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 4, Vec: 4, Unpack: "magic", Fold: true},
	templates.Gemv{Bits: 8, Group: 0, Asym: true, WG: 128, Rows: 2, Vec: 1, Unpack: "unorm"},
	templates.Gemv{Bits: 2, Group: 64, WG: 32, Rows: 8, Vec: 2, Unpack: "lut"},
	templates.Gemv{Bits: 4, Group: 128, Asym: true, WG: 256, Rows: 1, Vec: 2, Unpack: "vec"},
	templates.Gemv{Bits: 2, Group: 32, WG: 32, Rows: 1, Vec: 1, Unpack: "shift"},
	templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 16, Vec: 2, Unpack: "mant"},
	templates.Gemv{Bits: 8, Group: 0, Asym: true, WG: 32, Rows: 2, Vec: 1, Unpack: "mant"},
	templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 8, Vec: 2, Unpack: "half"},
	templates.Gemv{Bits: 2, Group: 64, Asym: true, WG: 32, Rows: 4, Vec: 1, Unpack: "half"},
	templates.Gemv{Bits: 8, Group: 128, WG: 128, Rows: 2, Vec: 4, Unpack: "half"},
	templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 4, Vec: 4, Unpack: "half", Layout: "beside"},
	templates.Gemv{Bits: 8, Group: 64, Asym: true, WG: 32, Rows: 2, Vec: 1, Unpack: "shift", Layout: "beside"},
	templates.Gemv{Bits: 2, Group: 64, WG: 32, Rows: 8, Vec: 2, Unpack: "shift", Fold: true, Split: 2, Layout: "beside"},
	templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 16, Vec: 2, Unpack: "half", Norm: true, Expert: true},
	templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 16, Vec: 2, Unpack: "mant", Norm: true, Rope: true},
	templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 4, Vec: 4, Unpack: "magic", Fold: true, Norm: true},
	templates.Gemv{Bits: 8, Group: 0, Asym: true, WG: 128, Rows: 2, Vec: 1, Unpack: "unorm", Norm: true},
	templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 2, Vec: 2, Unpack: "vec", GLU: true, Acc: true},
	templates.Gemv{Bits: 4, Group: 128, Asym: true, WG: 256, Rows: 1, Vec: 2, Unpack: "vec", Acc: true},
	templates.Gemv{Bits: 4, Group: 32, WG: 64, Rows: 4, Vec: 2, Unpack: "half", Split: 4},
	templates.GemvReduce{WG: 64, Split: 4},
	templates.GemvReduce{WG: 64, Split: 2, Acc: true},
}

func goldenPath(k templates.Kernel) string {
	name := k.String()
	if g, ok := k.(templates.Gemv); ok {
		name = g.Format() + "/" + name // the params do not name the format
	}
	if q, ok := k.(templates.EmbedQ); ok {
		name = q.Format() + "/" + name
	}
	return filepath.Join("testdata", k.Name(), strings.ReplaceAll(name, "/", "_")+".wgsl")
}

func TestGolden(t *testing.T) { checkGolden(t, golden) }

// checkGolden renders each kernel and compares it with its golden file,
// rewriting the file under -update.
func checkGolden(t *testing.T, kernels []templates.Kernel) {
	t.Helper()
	for _, k := range kernels {
		t.Run(k.Name()+"/"+k.String(), func(t *testing.T) {
			got, err := templates.Render(k)
			if err != nil {
				t.Fatal(err)
			}
			path := goldenPath(k)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./templates -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the rendered source; if the change is intended, run go test ./templates -update", path)
			}
		})
	}
}

// The source must be what naga 0.13 and Tint both accept: the constructs
// below are rejected by one or the other (webgpu-runtime.md §0, §2).
func TestRenderedSourceAvoidsUnportableWGSL(t *testing.T) {
	forbidden := []string{"override", "enable ", "break if", "const_assert", "diagnostic(", "f16", "dot4"}
	for _, k := range golden {
		src, err := templates.Render(k)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(src, []byte("// tune kernel "+k.Name()+" "+k.String())) {
			t.Errorf("%s: source does not start with its header comment", k)
		}
		for _, f := range forbidden {
			if bytes.Contains(src, []byte(f)) {
				t.Errorf("%s: source contains %q", k, f)
			}
		}
	}
}

func TestCheckRejectsInexpressibleParams(t *testing.T) {
	bad := []templates.Matmul{
		{WGX: 8, WGY: 8, RM: 4, RN: 4, TK: 8, Vec: 3},
		{WGX: 8, WGY: 8, RM: 2, RN: 4, TK: 8, Vec: 4},
		{WGX: 8, WGY: 8, RM: 4, RN: 4, TK: 6, Vec: 4},
		{WGX: 0, WGY: 8, RM: 4, RN: 4, TK: 8, Vec: 4},
		{WGX: 8, WGY: 8, RM: 32, RN: 4, TK: 8, Vec: 4},
	}
	for _, p := range bad {
		if _, err := templates.Render(p); err == nil {
			t.Errorf("Render(%s) succeeded; want an error", p)
		}
	}
}

func FuzzMatmulParams(f *testing.F) {
	f.Add(16, 16, 8, 8, 8, 4, true, true, true)
	f.Add(8, 4, 1, 2, 4, 1, false, false, false)
	f.Fuzz(func(t *testing.T, wgx, wgy, rm, rn, tk, vec int, staged, prefetch, unroll bool) {
		p := templates.Matmul{WGX: wgx, WGY: wgy, RM: rm, RN: rn, TK: tk, Vec: vec, Staged: staged, Prefetch: prefetch, Unroll: unroll}
		src, err := templates.Render(p)
		if (err == nil) != (p.Check() == nil) {
			t.Fatalf("Render error %v but Check error %v", err, p.Check())
		}
		if err == nil && !bytes.Contains(src, []byte("fn main(")) {
			t.Fatalf("rendered source has no entry point")
		}
	})
}
