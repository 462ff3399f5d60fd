package ops_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner/runnertest"
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
	t.Logf("copy %.3g B/s, fma %.3g FLOP/s", r.Copy.Score, r.FMA.Score)
}

// The sized copy moves (read plus written) the bytes asked for, rounded to
// whole vec4s of its halves, in runs of dispatches on rotating buffers,
// after checking one copy's output; a size over the binding limit is an
// error.
func TestCopySizedIsMeasuredAndValidated(t *testing.T) {
	d := runnertest.Device(t)
	r, err := ops.MeasureCopySized(context.Background(), d, 100_040, quick)
	if err != nil {
		t.Fatal(err)
	}
	if r.Task != "roof/f32/kind=copy-sized/bytes=100032" || r.Measure.Unit != "B/s" || !(r.Score > 0) {
		t.Errorf("task %s, %g %s; want 100032 bytes a dispatch at a positive B/s", r.Task, r.Score, r.Measure.Unit)
	}
	if r.Measure.Work != 16*100032 {
		t.Errorf("work %g bytes a run, want 16 dispatches of 100032", r.Measure.Work)
	}
	if _, err := ops.MeasureCopySized(context.Background(), d, 1<<40, quick); err == nil {
		t.Error("a copy of 1 TiB a dispatch was measured")
	}
}

// The sized read reads the bytes asked for, rounded to whole vec4s, after
// checking every variant's sums; the fastest variant is returned. A size
// over the binding limit is an error.
func TestReadSizedIsMeasuredAndValidated(t *testing.T) {
	d := runnertest.Device(t)
	r, err := ops.MeasureReadSized(context.Background(), d, 100_040, quick)
	if err != nil {
		t.Fatal(err)
	}
	if r.Task != "roof/f32/kind=read-sized/bytes=100032" || r.Measure.Unit != "B/s" || !(r.Score > 0) || r.Kernel != "read" {
		t.Errorf("task %s, kernel %s, %g %s; want a read of 100032 bytes a dispatch at a positive B/s", r.Task, r.Kernel, r.Score, r.Measure.Unit)
	}
	if r.Measure.Work != 16*100032 {
		t.Errorf("work %g bytes a run, want 16 dispatches of 100032", r.Measure.Work)
	}
	if _, err := ops.MeasureReadSized(context.Background(), d, 1<<40, quick); err == nil {
		t.Error("a read of 1 TiB a dispatch was measured")
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
