package templates_test

import (
	"bytes"
	"testing"

	"github.com/tune-gpu/tune/templates"
)

// Golden fused decode kernels: every template, the quantized embedding in
// each width and with mins.
var goldenDecode = []templates.Kernel{
	templates.QKVRope{WG: 64},
	templates.QKVRope{WG: 32, Freqs: true},
	templates.QKVHead{WG: 64, Freqs: true},
	templates.QKVHead{WG: 32, KV8: true},
	templates.ExpertInput{WG: 64},
	templates.AddRMSNorm{WG: 128},
	templates.PackedSwiGLU{WG: 64},
	templates.EmbedQuant{Bits: 8, WG: 64},
	templates.EmbedQuant{Bits: 4, WG: 64},
	templates.EmbedQuant{Bits: 2, Asym: true, WG: 64},
	templates.CopyRange{WG: 64},
}

func TestDecodeGolden(t *testing.T) { checkGolden(t, goldenDecode) }

// Every fused kernel renders with its header and literal workgroup size and
// none of the constructs naga 0.13 or Tint reject; they are compiled and
// checked against CPU references on the device in package llama.
func TestDecodeRenderedSourceAvoidsUnportableWGSL(t *testing.T) {
	forbidden := []string{"override", "enable ", "break if", "const_assert", "diagnostic(", "f16", "dot4", "arrayLength"}
	for _, k := range goldenDecode {
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

func TestDecodeCheckRejectsInexpressibleParams(t *testing.T) {
	for _, k := range []templates.Kernel{
		templates.QKVRope{WG: 48},
		templates.AddRMSNorm{WG: 512},
		templates.PackedSwiGLU{WG: 0},
		templates.EmbedQuant{Bits: 3, WG: 64},
		templates.EmbedQuant{Bits: 4, WG: 16},
		templates.CopyRange{WG: 100},
	} {
		if _, err := templates.Render(k); err == nil {
			t.Errorf("Render(%s %s) succeeded; want an error", k.Name(), k)
		}
	}
}
