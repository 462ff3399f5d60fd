package templates_test

import (
	"bytes"
	"testing"

	"github.com/tune-gpu/tune/templates"
)

// Golden GEMM kernels: every bit width, grouped and per-row scales, sym and
// asym, every vector width, prefetch and unroll on and off, and ragged load
// rounds of both tiles.
var goldenGemm = []templates.Gemm{
	{Bits: 4, Group: 32, WGX: 8, WGY: 8, RM: 4, RN: 4, TK: 32, Vec: 4},
	{Bits: 2, Group: 64, Asym: true, WGX: 16, WGY: 8, RM: 2, RN: 2, TK: 16, Vec: 2, Prefetch: true, Unroll: true},
	{Bits: 8, Group: 0, Asym: true, WGX: 8, WGY: 8, RM: 1, RN: 1, TK: 16, Vec: 1, Unroll: true},
	{Bits: 4, Group: 128, WGX: 16, WGY: 16, RM: 8, RN: 8, TK: 16, Vec: 4, Prefetch: true},
}

func TestGemmGolden(t *testing.T) {
	kernels := make([]templates.Kernel, len(goldenGemm))
	for i, k := range goldenGemm {
		kernels[i] = k
	}
	checkGolden(t, kernels)
}

// The golden params must name distinct files: the format is not part of
// String, so two formats with the same params would share one.
func TestGemmGoldenPathsDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range goldenGemm {
		if p := goldenPath(k); seen[p] {
			t.Errorf("two golden GEMM kernels share %s", p)
		} else {
			seen[p] = true
		}
	}
}

func TestGemmSourceAvoidsUnportableWGSL(t *testing.T) {
	forbidden := []string{"override", "enable ", "break if", "const_assert", "diagnostic(", "f16", "dot4"}
	for _, k := range goldenGemm {
		src, err := templates.Render(k)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(src, []byte("// tune kernel gemm "+k.String()+" "+k.Format()+"\n")) {
			t.Errorf("%s: source does not start with its header comment", k)
		}
		for _, f := range forbidden {
			if bytes.Contains(src, []byte(f)) {
				t.Errorf("%s: source contains %q", k, f)
			}
		}
	}
}

func TestGemmCheckRejectsInexpressibleParams(t *testing.T) {
	ok := templates.Gemm{Bits: 4, Group: 32, WGX: 8, WGY: 8, RM: 4, RN: 4, TK: 32, Vec: 4}
	if err := ok.Check(); err != nil {
		t.Fatalf("Check(%s) = %v; want nil", ok, err)
	}
	bad := map[string]func(*templates.Gemm){
		"3 bits":                    func(p *templates.Gemm) { p.Bits = 3 },
		"group 48":                  func(p *templates.Gemm) { p.Group = 48 },
		"vec 3":                     func(p *templates.Gemm) { p.Vec = 3 },
		"rm not a multiple of vec":  func(p *templates.Gemm) { p.RM = 2 },
		"rn over 16":                func(p *templates.Gemm) { p.RN = 32 },
		"zero workgroup":            func(p *templates.Gemm) { p.WGX = 0 },
		"tk over 64":                func(p *templates.Gemm) { p.TK = 128 },
		"tk not a multiple of vec":  func(p *templates.Gemm) { p.Vec, p.TK = 4, 30 },
		"int4 word straddles tiles": func(p *templates.Gemm) { p.TK = 4 },
		"int2 word straddles tiles": func(p *templates.Gemm) { p.Bits, p.TK = 2, 8 },
	}
	for name, mutate := range bad {
		p := ok
		mutate(&p)
		if _, err := templates.Render(p); err == nil {
			t.Errorf("%s: Render(%s) succeeded; want an error", name, p)
		}
	}
}

func TestGemmFits(t *testing.T) {
	p := templates.Gemm{Bits: 4, Group: 128, WGX: 8, WGY: 8, RM: 4, RN: 4, TK: 64, Vec: 4}
	for _, c := range []struct {
		m, n, k int
		want    bool
	}{
		{37, 70, 256, true},
		{1, 1, 128, true},
		{37, 70, 192, false}, // not a multiple of the group
		{37, 70, 0, false},
		{0, 70, 256, false},
	} {
		if got := p.Fits(c.m, c.n, c.k); got != c.want {
			t.Errorf("Fits(%d, %d, %d) = %t; want %t", c.m, c.n, c.k, got, c.want)
		}
	}
	row := templates.Gemm{Bits: 2, WGX: 8, WGY: 8, RM: 1, RN: 1, TK: 16, Vec: 1}
	if row.Fits(1, 1, 48) || !row.Fits(1, 1, 96) {
		t.Errorf("per-row int2 with tk 16: want K=48 rejected (not a multiple of 32), K=96 accepted")
	}
}

func FuzzGemmParams(f *testing.F) {
	f.Add(4, 32, false, 16, 16, 8, 8, 16, 4, true, true)
	f.Add(2, 0, true, 8, 4, 1, 2, 16, 1, false, false)
	f.Fuzz(func(t *testing.T, bits, group int, asym bool, wgx, wgy, rm, rn, tk, vec int, prefetch, unroll bool) {
		p := templates.Gemm{Bits: bits, Group: group, Asym: asym, WGX: wgx, WGY: wgy, RM: rm, RN: rn, TK: tk, Vec: vec, Prefetch: prefetch, Unroll: unroll}
		if p.WGX*p.WGY > 4096 || p.TK > 64 {
			t.Skip() // Check bounds each, not the product; keep renders small
		}
		src, err := templates.Render(p)
		if (err == nil) != (p.Check() == nil) {
			t.Fatalf("Render error %v but Check error %v", err, p.Check())
		}
		if err == nil && !bytes.Contains(src, []byte("fn main(")) {
			t.Fatalf("rendered source has no entry point")
		}
	})
}
