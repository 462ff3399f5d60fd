package ops_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/search"
)

func TestRoofsAreMeasuredAndValidated(t *testing.T) {
	d := runnertest.Device(t)
	r, err := ops.MeasureRoofs(context.Background(), d, quick)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []struct {
		name string
		rate float64
		unit string
	}{{"copy", r.Copy.Score, r.Copy.Measure.Unit}, {"fma", r.FMA.Score, r.FMA.Measure.Unit}} {
		if !(res.rate > 0) {
			t.Errorf("%s roof = %g %s; want a positive rate", res.name, res.rate, res.unit)
		}
	}
	if r.Copy.Measure.Unit != "B/s" || r.FMA.Measure.Unit != "FLOP/s" {
		t.Errorf("units %q and %q; want B/s and FLOP/s", r.Copy.Measure.Unit, r.FMA.Measure.Unit)
	}
	for _, c := range []struct {
		res  search.Result
		task string
		work float64
	}{{r.Dispatch, "roof/f32/kind=dispatch/bytes=4096", 1}, {r.Unordered, "roof/f32/kind=dispatch-unordered/bytes=4096", 64}} {
		if c.res.Task != c.task || c.res.Measure.Unit != "dispatch/s" || c.res.Measure.Work != c.work || !(c.res.Score > 0) {
			t.Errorf("%s: %g %s of %g dispatches a run; want %s, %g a run at a positive rate", c.res.Task, c.res.Score, c.res.Measure.Unit, c.res.Measure.Work, c.task, c.work)
		}
	}
	t.Logf("copy %.3g B/s, fma %.3g FLOP/s, a dispatch %.3g s, unordered %.3g s", r.Copy.Score, r.FMA.Score, r.DispatchSeconds(), r.UnorderedSeconds())
}

// The sized copy moves (read plus written) the bytes asked for, rounded to
// whole vec4s of its halves, and the sized read reads them, rounded to
// whole vec4s, in runs of dispatches on rotating buffers, after checking
// the output (the copy's, every read variant's sums; the fastest read
// variant is returned); a size over the binding limit is an error.
func TestSizedRoofsAreMeasuredAndValidated(t *testing.T) {
	d := runnertest.Device(t)
	for _, c := range []struct {
		kind, kernel string
		measure      func(context.Context, *runner.Device, int64, runner.TimeOptions) (search.Result, error)
	}{{"copy-sized", "copy", ops.MeasureCopySized}, {"read-sized", "read", ops.MeasureReadSized}} {
		r, err := c.measure(context.Background(), d, 100_040, quick)
		if err != nil {
			t.Fatal(err)
		}
		if r.Task != "roof/f32/kind="+c.kind+"/bytes=100032" || r.Kernel != c.kernel || r.Measure.Unit != "B/s" || !(r.Score > 0) {
			t.Errorf("task %s, kernel %s, %g %s; want %s of 100032 bytes a dispatch at a positive B/s", r.Task, r.Kernel, r.Score, r.Measure.Unit, c.kind)
		}
		if r.Measure.Work != 16*100032 {
			t.Errorf("%s: work %g bytes a run, want 16 dispatches of 100032", c.kind, r.Measure.Work)
		}
		if _, err := c.measure(context.Background(), d, 1<<40, quick); err == nil {
			t.Errorf("%s of 1 TiB a dispatch was measured", c.kind)
		}
	}
}

// A chain of reads is timed as one: its rate is chains a second, its ID
// the dispatch count; sizes below 4 KiB read 4 KiB.
func TestReadChainIsMeasured(t *testing.T) {
	d := runnertest.Device(t)
	r, err := ops.MeasureReadChain(context.Background(), d, "chain/test", []int64{0, 70_000, 4096, 70_000, 200_000}, quick)
	if err != nil {
		t.Fatal(err)
	}
	if r.Task != "chain/test" || r.Measure.Unit != "chain/s" || !(r.Score > 0) || !strings.HasPrefix(r.ID, "dispatches=5/") {
		t.Errorf("%s %s: %g %s; want 5 dispatches at a positive rate", r.Task, r.ID, r.Score, r.Measure.Unit)
	}
	if _, err := ops.MeasureReadChain(context.Background(), d, "chain/none", nil, quick); err == nil {
		t.Error("an empty chain was measured")
	}
}

// Copies rotate so that beyondCache bytes of other reads pass between two
// uses of one: fewer where other sizes come between, never under 1 or
// over 16.
func TestCopiesFor(t *testing.T) {
	for _, c := range []struct {
		size  uint64
		share float64
		want  int
	}{
		{10 << 20, 1, 16},               // 19.2 wanted, 16 at most
		{64 << 20, 1, 3},                // 192 MiB in three
		{300 << 20, 1, 1},               // larger than the cache alone
		{30 << 20, 30 * 32.0 / 4200, 2}, // a 7B layer's q, k, v: 32 of them in 4.2 GB
		{4096, 1e-6, 1},
	} {
		if got := ops.CopiesFor(c.size, c.share); got != c.want {
			t.Errorf("copies of %d bytes at share %g = %d, want %d", c.size, c.share, got, c.want)
		}
	}
}
