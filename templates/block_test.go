package templates_test

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
	"testing"

	"github.com/tune-gpu/tune/templates"
)

// Golden block kernels: every template, rmsnorm with and without weight,
// both rope layouts with and without frequency factors, matvec with one and
// several rows, attention with a scores array longer and shorter than the
// workgroup, quantized embedding of each kind of format, top-p at both ends
// of its chunk sizes.
var goldenBlock = []templates.Kernel{
	templates.RMSNorm{WG: 64},
	templates.RMSNorm{WG: 128, NoWeight: true},
	templates.Rope{WG: 64},
	templates.Rope{WG: 64, Half: true},
	templates.Rope{WG: 64, Freqs: true},
	templates.Rope{WG: 32, Half: true, Freqs: true},
	templates.SwiGLU{WG: 64},
	templates.Add{WG: 64},
	templates.Embed{WG: 64},
	templates.KVStore{WG: 64},
	templates.Attention{WG: 128, MaxSeq: 4096},
	templates.Attention{WG: 256, MaxSeq: 128},
	templates.Argmax{WG: 256},
	templates.MatVec{WG: 128, Rows: 1},
	templates.MatVec{WG: 64, Rows: 4},
	templates.EmbedQ{Bits: 4, Group: 32, WG: 64},
	templates.EmbedQ{Bits: 2, Group: 0, Asym: true, WG: 128},
	templates.EmbedQ{Bits: 8, Group: 128, WG: 256},
	templates.Softmax{WG: 256},
	templates.TopP{WG: 256, Chunk: 1024},
	templates.TopP{WG: 32, Chunk: 128},
	templates.Router{WG: 64},
}

func TestBlockGolden(t *testing.T) { checkGolden(t, goldenBlock) }

// Every block kernel at every workgroup size renders to a source with its
// header, its literal workgroup size, and none of the constructs naga 0.13
// or Tint reject (webgpu-runtime.md §0, §2). Compiling them on the device
// is ops.TestBlockCompilesEveryWG.
func TestBlockRenderedSourceAvoidsUnportableWGSL(t *testing.T) {
	forbidden := []string{"override", "enable ", "break if", "const_assert", "diagnostic(", "f16", "dot4", "arrayLength"}
	for _, wg := range []int{32, 64, 128, 256} {
		for _, k := range []templates.Kernel{
			templates.RMSNorm{WG: wg}, templates.Rope{WG: wg}, templates.Rope{WG: wg, Half: true},
			templates.SwiGLU{WG: wg}, templates.Add{WG: wg}, templates.Embed{WG: wg}, templates.KVStore{WG: wg},
			templates.Attention{WG: wg, MaxSeq: 4096}, templates.Argmax{WG: wg}, templates.MatVec{WG: wg, Rows: 16},
			templates.RMSNorm{WG: wg, NoWeight: true}, templates.Rope{WG: wg, Freqs: true}, templates.Rope{WG: wg, Half: true, Freqs: true},
			templates.EmbedQ{Bits: 4, Group: 64, WG: wg}, templates.EmbedQ{Bits: 2, Group: 32, Asym: true, WG: wg},
			templates.Softmax{WG: wg}, templates.TopP{WG: wg, Chunk: 128}, templates.TopP{WG: wg, Chunk: 1024}, templates.Router{WG: wg},
		} {
			src, err := templates.Render(k)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(src, []byte("// tune kernel "+k.Name()+" "+k.String()+"\n")) {
				t.Errorf("%s %s: source does not start with its header comment", k.Name(), k)
			}
			ws := k.WorkgroupSize()
			if !bytes.Contains(src, []byte("@workgroup_size("+strconv.Itoa(int(ws[0]))+", 1, 1)")) {
				t.Errorf("%s %s: source does not declare @workgroup_size(%d, 1, 1)", k.Name(), k, ws[0])
			}
			for _, f := range forbidden {
				if bytes.Contains(src, []byte(f)) {
					t.Errorf("%s %s: source contains %q", k.Name(), k, f)
				}
			}
		}
	}
}

// The RoPE kernels reduce angles by the exported constants (ops mirrors
// them): each appears, as the shortest decimal of its f32 value, in both
// kernels, and the split is what its doc says.
func TestRopeReductionConstants(t *testing.T) {
	builtinSinCos := regexp.MustCompile(`\b(sin|cos)\(`)
	if float64(templates.RopePiOver2Hi)*128 != 201 {
		t.Errorf("RopePiOver2Hi = %g, want 201/128 (8 significant bits)", templates.RopePiOver2Hi)
	}
	if d := float64(templates.RopePiOver2Hi) + float64(templates.RopePiOver2Lo) - math.Pi/2; math.Abs(d) > 1e-11 {
		t.Errorf("RopePiOver2Hi + RopePiOver2Lo is pi/2 %+g", d)
	}
	for _, k := range []templates.Kernel{templates.Rope{WG: 64}, templates.Rope{WG: 32, Half: true, Freqs: true}, templates.QKVRope{WG: 64}} {
		src, err := templates.Render(k)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []float32{templates.RopeTwoOverPi, templates.RopePiOver2Hi, templates.RopePiOver2Lo} {
			if lit := "* " + strconv.FormatFloat(float64(c), 'f', -1, 32); !bytes.Contains(src, []byte(lit)) {
				t.Errorf("%s %s: source lacks %q", k.Name(), k, lit)
			}
		}
		if builtinSinCos.Match(src) {
			t.Errorf("%s %s: source calls WGSL's sin or cos", k.Name(), k)
		}
	}
}

func TestBlockCheckRejectsInexpressibleParams(t *testing.T) {
	for _, k := range []templates.Kernel{
		templates.RMSNorm{WG: 48},
		templates.Rope{WG: 16},
		templates.SwiGLU{WG: 512},
		templates.Add{WG: 0},
		templates.Embed{WG: 100},
		templates.KVStore{WG: -64},
		templates.Attention{WG: 64, MaxSeq: 0},
		templates.Attention{WG: 64, MaxSeq: 4097},
		templates.Attention{WG: 96, MaxSeq: 64},
		templates.Argmax{WG: 1024},
		templates.MatVec{WG: 64, Rows: 0},
		templates.MatVec{WG: 64, Rows: 17},
		templates.MatVec{WG: 24, Rows: 1},
		templates.RMSNorm{WG: 16, NoWeight: true},
		templates.Rope{WG: 100, Freqs: true},
		templates.EmbedQ{Bits: 3, Group: 32, WG: 64},
		templates.EmbedQ{Bits: 4, Group: 48, WG: 64},
		templates.EmbedQ{Bits: 4, Group: 32, WG: 512},
		templates.Softmax{WG: 1024},
		templates.TopP{WG: 64, Chunk: 64},
		templates.TopP{WG: 64, Chunk: 2048},
		templates.TopP{WG: 64, Chunk: 384},
		templates.TopP{WG: 48, Chunk: 256},
		templates.Router{WG: 0},
	} {
		if _, err := templates.Render(k); err == nil {
			t.Errorf("Render(%s %s) succeeded; want an error", k.Name(), k)
		}
	}
}

// Workgroup memory stays within WebGPU's default 16 KiB for every
// accepted params.
func TestBlockWorkgroupBytes(t *testing.T) {
	for _, wg := range []int{32, 64, 128, 256} {
		if a := (templates.Attention{WG: wg, MaxSeq: templates.MaxAttentionSeq}); a.WorkgroupBytes() > 16384 {
			t.Errorf("%s: %d bytes of workgroup memory", a, a.WorkgroupBytes())
		}
		if m := (templates.MatVec{WG: wg, Rows: 16}); m.WorkgroupBytes() > 16384 {
			t.Errorf("%s: %d bytes of workgroup memory", m, m.WorkgroupBytes())
		}
		if p := (templates.TopP{WG: wg, Chunk: 1024}); p.WorkgroupBytes() > 16384 {
			t.Errorf("%s: %d bytes of workgroup memory", p, p.WorkgroupBytes())
		}
	}
}

func TestBlockGroups(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want [3]uint32
	}{
		{"rmsnorm rows", templates.RMSNorm{WG: 64}.Groups(67), [3]uint32{67, 1, 1}},
		{"rope heads*ropeDim/2 threads", templates.Rope{WG: 64}.Groups(32, 128), [3]uint32{32, 1, 1}},
		{"rope ragged", templates.Rope{WG: 64}.Groups(3, 62), [3]uint32{2, 1, 1}},
		{"swiglu", templates.SwiGLU{WG: 64}.Groups(172), [3]uint32{3, 1, 1}},
		{"add", templates.Add{WG: 256}.Groups(4096), [3]uint32{16, 1, 1}},
		{"embed", templates.Embed{WG: 32}.Groups(100), [3]uint32{4, 1, 1}},
		{"kvstore", templates.KVStore{WG: 128}.Groups(1024), [3]uint32{8, 1, 1}},
		{"attention", templates.Attention{WG: 64, MaxSeq: 2048}.Groups(32), [3]uint32{32, 1, 1}},
		{"argmax", templates.Argmax{WG: 256}.Groups(), [3]uint32{1, 1, 1}},
		{"matvec", templates.MatVec{WG: 64, Rows: 4}.Groups(67), [3]uint32{17, 1, 1}},
		{"matvec classifier", templates.MatVec{WG: 64, Rows: 1}.Groups(128256), [3]uint32{32768, 4, 1}},
		{"swiglu huge", templates.SwiGLU{WG: 32}.Groups(32768*32 + 1), [3]uint32{32768, 2, 1}},
		{"rmsnorm qk norm", templates.RMSNorm{WG: 128, NoWeight: true}.Groups(40), [3]uint32{40, 1, 1}},
		{"rope freqs", templates.Rope{WG: 32, Freqs: true}.Groups(40, 128), [3]uint32{80, 1, 1}},
		{"embedq", templates.EmbedQ{Bits: 4, Group: 32, WG: 256}.Groups(5120), [3]uint32{20, 1, 1}},
		{"softmax rows", templates.Softmax{WG: 256}.Groups(3), [3]uint32{3, 1, 1}},
		{"topp", templates.TopP{WG: 256, Chunk: 1024}.Groups(), [3]uint32{1, 1, 1}},
		{"router rows", templates.Router{WG: 64}.Groups(5), [3]uint32{5, 1, 1}},
	} {
		if c.got != c.want {
			t.Errorf("%s: Groups = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func FuzzBlockParams(f *testing.F) {
	f.Add(64, 4, 4096, true)
	f.Add(48, 0, 0, false)
	f.Fuzz(func(t *testing.T, wg, rows, maxSeq int, half bool) {
		for _, k := range []templates.Kernel{
			templates.RMSNorm{WG: wg, NoWeight: half}, templates.Rope{WG: wg, Half: half, Freqs: !half}, templates.Attention{WG: wg, MaxSeq: maxSeq},
			templates.Argmax{WG: wg}, templates.MatVec{WG: wg, Rows: rows},
			templates.EmbedQ{Bits: rows, Group: maxSeq, Asym: half, WG: wg}, templates.Softmax{WG: wg},
			templates.TopP{WG: wg, Chunk: maxSeq}, templates.Router{WG: wg},
		} {
			src, err := templates.Render(k)
			if (err == nil) != (k.Check() == nil) {
				t.Fatalf("%s %s: Render error %v but Check error %v", k.Name(), k, err, k.Check())
			}
			if err == nil && !bytes.Contains(src, []byte("fn main(")) {
				t.Fatalf("%s %s: rendered source has no entry point", k.Name(), k)
			}
		}
	})
}
