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
