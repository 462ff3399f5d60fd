package ops_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/templates"
)

// Flash prefill on lavapipe against the CPU reference: head dims 32 to 128,
// grouped and plain heads, partial tiles, a prompt after earlier positions,
// Llama 4's chunked mask and temperature, f32 and int8 caches.
func TestFlashPrefillMatchesReference(t *testing.T) {
	d := runnertest.Device(t)
	for _, k := range []templates.FlashPrefill{
		{HD: 32, BQ: 16, BK: 16, TR: 4, TC: 8},
		{HD: 64, BQ: 16, BK: 32, TR: 8, TC: 16},
		{HD: 128, BQ: 32, BK: 16, TR: 8, TC: 8, KV8: true},
		{HD: 96, BQ: 8, BK: 8, TR: 8, TC: 8},
	} {
		calls := append(ops.PrefillValidation(k),
			ops.Attn{Heads: 4, KVHeads: 1, HeadDim: k.HD, QLen: 37, QPos: 3, Chunk: 16})
		for _, a := range calls {
			if err := ops.CheckAttention(d, k, a, k.KV8); err != nil {
				t.Errorf("%s on %+v: %v", k, a, err)
			}
		}
	}
}

// Split decode attention likewise, with one and several splits.
func TestFlashDecodeMatchesReference(t *testing.T) {
	d := runnertest.Device(t)
	for _, k := range []ops.DecodeKernels{
		{Decode: templates.FlashDecode{HD: 64, G: 4, WG: 64, BT: 16}, Reduce: templates.FlashReduce{HD: 64, WG: 32}, Split: 32},
		{Decode: templates.FlashDecode{HD: 128, G: 1, WG: 32, BT: 8, KV8: true}, Reduce: templates.FlashReduce{HD: 128, WG: 64}, Split: 16},
		{Decode: templates.FlashDecode{HD: 32, G: 5, WG: 128, BT: 32}, Reduce: templates.FlashReduce{HD: 32, WG: 32}, Split: 64},
		{Decode: templates.FlashDecode{HD: 64, G: 2, WG: 64, BT: 16, StageV: true}, Reduce: templates.FlashReduce{HD: 64, WG: 64}, Split: 48},
		{Decode: templates.FlashDecode{HD: 128, G: 4, WG: 128, BT: 8, StageV: true, KV8: true}, Reduce: templates.FlashReduce{HD: 128, WG: 64}, Split: 32},
	} {
		calls := append(ops.DecodeValidation(k),
			ops.Attn{Heads: 2 * k.Decode.G, KVHeads: 2, HeadDim: k.Decode.HD, QLen: 1, QPos: 200, Split: k.Split, Chunk: 50})
		for _, a := range calls {
			if err := ops.CheckAttention(d, k, a, k.Decode.KV8); err != nil {
				t.Errorf("%s on %+v: %v", k, a, err)
			}
		}
	}
}

// The final decode (one split, normalised in the kernel, no reduce)
// matches the reference on its validation calls and a split of 200, and a
// call of two splits is an error, not a wrong answer.
func TestFlashDecodeFinal(t *testing.T) {
	d := runnertest.Device(t)
	for _, k := range []ops.DecodeKernels{
		{Decode: templates.FlashDecode{HD: 64, G: 4, WG: 64, BT: 16, Final: true}, Split: 32},
		{Decode: templates.FlashDecode{HD: 128, G: 1, WG: 32, BT: 8, KV8: true, Final: true}, Split: 16},
		{Decode: templates.FlashDecode{HD: 32, G: 5, WG: 128, BT: 32, Final: true}, Split: 64},
		{Decode: templates.FlashDecode{HD: 64, G: 2, WG: 64, BT: 16, StageV: true, Final: true}, Split: 48},
		{Decode: templates.FlashDecode{HD: 128, G: 4, WG: 128, BT: 8, StageV: true, KV8: true, Final: true}, Split: 32},
	} {
		calls := append(ops.DecodeValidation(k),
			ops.Attn{Heads: 2 * k.Decode.G, KVHeads: 2, HeadDim: k.Decode.HD, QLen: 1, QPos: 199, Split: 200})
		for _, a := range calls {
			if err := ops.CheckAttention(d, k, a, k.Decode.KV8); err != nil {
				t.Errorf("%s on %+v: %v", k, a, err)
			}
		}
		two := ops.Attn{Heads: k.Decode.G, KVHeads: 1, HeadDim: k.Decode.HD, QLen: 1, QPos: k.Split, Split: k.Split}
		if err := ops.CheckAttention(d, k, two, k.Decode.KV8); err == nil || !strings.Contains(err.Error(), "one split") {
			t.Errorf("%s on two splits: %v", k, err)
		}
	}
}

// Long contexts stay within the dispatch limits: 9001 positions in 563
// splits, and a chunked query late in a 20000-position cache.
func TestFlashDecodeLongContext(t *testing.T) {
	d := runnertest.Device(t)
	k := ops.DecodeKernels{
		Decode: templates.FlashDecode{HD: 32, G: 2, WG: 32, BT: 16, StageV: true},
		Reduce: templates.FlashReduce{HD: 32, WG: 128, Cols: 4},
		Split:  16,
	}
	for _, a := range []ops.Attn{
		{Heads: 2, KVHeads: 1, HeadDim: 32, QLen: 1, QPos: 9000, Split: 16},
		{Heads: 4, KVHeads: 2, HeadDim: 32, QLen: 1, QPos: 19999, Split: 16, Chunk: 8192, FloorScale: 8192, AttnScale: 0.1},
	} {
		if err := ops.CheckAttention(d, k, a, false); err != nil {
			t.Errorf("%+v: %v", a, err)
		}
	}
	// Beyond the splits one reduce holds: a clear error, not a wrong answer.
	if err := ops.CheckAttention(d, k, ops.Attn{Heads: 2, KVHeads: 1, HeadDim: 32, QLen: 1, QPos: 16 * 1024, Split: 16}, false); err == nil {
		t.Error("1025 splits accepted")
	}
}

// The evaluators validate, time and report rates for small shapes.
func TestFlashEvaluators(t *testing.T) {
	d := runnertest.Device(t)
	opts := runner.TimeOptions{Warmup: 1, Target: time.Millisecond, MaxRepeats: 2}
	for _, e := range []*ops.FlashEvaluator{
		{Dev: d, Shape: ops.AttnShape{Seq: 40, Heads: 4, KVHeads: 2, HeadDim: 32}, Timing: opts},
		{Dev: d, Shape: ops.AttnShape{Seq: 300, Heads: 4, KVHeads: 2, HeadDim: 32, KV8: true}, Decode: true, Timing: opts},
	} {
		res := e.EvaluateKernel(context.Background(), e.Baseline())
		if res.Measure == nil || res.Score <= 0 {
			t.Errorf("%s %s: %+v", e.Kernel(), e.Shape, res)
		}
		// A second candidate with another decode split reuses the caches.
		pts := e.Space().Legal()
		if res := e.Evaluate(context.Background(), pts[0]); res.Measure == nil {
			t.Errorf("%s %s %s: %+v", e.Kernel(), e.Shape, pts[0].ID(), res)
		}
		if len(pts) == 0 {
			t.Errorf("%s: empty space", e.Kernel())
		}
		e.Close()
	}
}

// KVStore8 quantizes rows into the int8 caches at an offset, leaving the
// other positions alone.
func TestKVStore8MatchesReference(t *testing.T) {
	d := runnertest.Device(t)
	for _, k := range []templates.KVStore8{{HD: 32, WG: 32}, {HD: 128, WG: 64}, {HD: 64, WG: 256}} {
		if err := ops.CheckKVStore8(d, k, 3, 5, 2, 9); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
}
