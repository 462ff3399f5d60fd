package templates_test

import (
	"strings"
	"testing"

	"github.com/tune-gpu/tune/templates"
)

// Golden attention kernels: f32 and int8 caches, several thread layouts.
var goldenFlash = []templates.Kernel{
	templates.FlashPrefill{HD: 64, BQ: 16, BK: 16, TR: 4, TC: 8},
	templates.FlashPrefill{HD: 128, BQ: 32, BK: 32, TR: 8, TC: 16, KV8: true},
	templates.FlashDecode{HD: 64, G: 4, WG: 64, BT: 32},
	templates.FlashDecode{HD: 128, G: 1, WG: 128, BT: 16, KV8: true},
	templates.FlashDecode{HD: 64, G: 2, WG: 64, BT: 16, StageV: true},
	templates.FlashDecode{HD: 64, G: 4, WG: 64, BT: 32, Final: true},
	templates.FlashDecode{HD: 128, G: 2, WG: 128, BT: 16, KV8: true, StageV: true, Final: true},
	templates.FlashReduce{HD: 64, WG: 64},
	templates.KVStore8{HD: 64, WG: 32},
}

func TestFlashGolden(t *testing.T) { checkGolden(t, goldenFlash) }

func TestFlashParamsRejected(t *testing.T) {
	for _, k := range []templates.Kernel{
		templates.FlashPrefill{HD: 30, BQ: 16, BK: 16, TR: 4, TC: 8},
		templates.FlashPrefill{HD: 64, BQ: 16, BK: 16, TR: 4, TC: 32},
		templates.FlashPrefill{HD: 64, BQ: 12, BK: 16, TR: 8, TC: 8},
		templates.FlashDecode{HD: 64, G: 0, WG: 64, BT: 32},
		templates.FlashDecode{HD: 128, G: 16, WG: 32, BT: 32},
		templates.FlashReduce{HD: 64, WG: 48},
		templates.KVStore8{HD: 66, WG: 32},
	} {
		if _, err := templates.Render(k); err == nil {
			t.Errorf("%s %s rendered; want an error", k.Name(), k)
		}
	}
}

// The attention kernels avoid what naga 0.13 or Tint reject.
func TestFlashSourceAvoidsUnportableWGSL(t *testing.T) {
	for _, k := range goldenFlash {
		src, err := templates.Render(k)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"override", "enable ", "break if", "const_assert", "diagnostic(", "f16", "dot4", "arrayLength", "+=", "++"} {
			if strings.Contains(string(src), f) {
				t.Errorf("%s %s: source contains %q", k.Name(), k, f)
			}
		}
	}
}
