package ops_test

import (
	"testing"

	"github.com/tune-gpu/tune/ops"
)

func TestParseAttnShapes(t *testing.T) {
	got, err := ops.ParseAttnShapes("4096x32x8x128, 128x32x32x64", true)
	if err != nil {
		t.Fatal(err)
	}
	want := []ops.AttnShape{{Seq: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, KV8: true}, {Seq: 128, Heads: 32, KVHeads: 32, HeadDim: 64, KV8: true}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{
		"", "4096x32x8", "4096x32x8x128x1", "0x32x8x128", "4096x-1x8x128", "4096x32x7x128",
		"4096x32x8x130", "4096x32x8x512", "axbxcxd", "1048576x4096x4096x128",
	} {
		if _, err := ops.ParseAttnShapes(bad, false); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// Any input gets shapes within the bounds or an error, never a panic.
func FuzzParseAttnShapes(f *testing.F) {
	for _, s := range []string{"4096x32x8x128", "1x1x1x4", ",,", "9999999999x1x1x4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		shapes, err := ops.ParseAttnShapes(s, false)
		if err != nil {
			return
		}
		for _, a := range shapes {
			if a.Seq < 1 || a.KVHeads < 1 || a.Heads%a.KVHeads != 0 || a.HeadDim%4 != 0 || a.HeadDim > 256 ||
				int64(a.Seq)*int64(a.Heads+2*a.KVHeads)*int64(a.HeadDim)*4 > ops.MaxAttnBytes {
				t.Fatalf("%q gave %+v", s, a)
			}
		}
	})
}
