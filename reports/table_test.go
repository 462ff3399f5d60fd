package reports_test

import (
	"math"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/reports"
)

// The sweep table gives a winner as a fraction of its read roof only where
// one was measured: matmul tables keep their columns.
func TestSweepTableReadColumn(t *testing.T) {
	gemv := reports.ShapeRow{Shape: "4096x4096 int4-g32-sym", Winner: "wg=128/rows=4", Rate: 1.32e12, Lo: 1.31e12, Hi: 1.33e12,
		Baseline: 0.5e12, Unit: "B/s", Evals: 80, Measured: 80, RunnerUp: math.NaN(), Read: 1.85e12}
	none := reports.ShapeRow{Shape: "64x64 int2-g64-sym", Unit: "B/s", RunnerUp: math.NaN(), Read: 1e9}
	matmul := reports.ShapeRow{Shape: "512x512x512", Winner: "wgx=16", Rate: 1e10, Lo: 1e10, Hi: 1e10, Baseline: 1e9, Unit: "FLOP/s", RunnerUp: 0.05, Separated: true}
	var b strings.Builder
	if err := reports.WriteSweepTable(&b, []reports.ShapeRow{gemv, none}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(strings.ToUpper(out), "OF READ") || !strings.Contains(out, "71%") || !strings.Contains(out, "none validated") {
		t.Errorf("GEMV table without the winner at 71%% of its read, or without the shape none validated:\n%s", out)
	}
	b.Reset()
	if err := reports.WriteSweepTable(&b, []reports.ShapeRow{matmul}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(strings.ToUpper(out), "OF READ") || !strings.Contains(out, "+5.0%") {
		t.Errorf("matmul table with a read column, or without its margin:\n%s", out)
	}
}
