package ops_test

import (
	"context"
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
