package main

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/tune-gpu/tune/reports"
)

// The gate fails on the testdata pair, whose 512^3 kernel is 30% slower,
// and passes a file compared with itself.
func TestReportGate(t *testing.T) {
	t.Chdir("../..")
	old, regressed := "reports/testdata/old.bench.txt", "reports/testdata/new.bench.txt"
	err := run(context.Background(), io.Discard, io.Discard, []string{"report", "-gate", "-threshold", "0.2", old, regressed})
	if !errors.Is(err, reports.ErrRegression) {
		t.Errorf("gate on a 30%% regression: %v; want ErrRegression", err)
	}
	if err := run(context.Background(), io.Discard, io.Discard, []string{"report", "-gate", old, old}); err != nil {
		t.Errorf("gate on identical files: %v", err)
	}
	for _, format := range []string{"text", "markdown", "html"} {
		if err := run(context.Background(), io.Discard, io.Discard, []string{"report", "-format", format, old, regressed}); err != nil {
			t.Errorf("-format %s: %v", format, err)
		}
	}
	if err := run(context.Background(), io.Discard, io.Discard, []string{"report", "-format", "pdf", old, regressed}); err == nil {
		t.Error("-format pdf: no error")
	}
	if err := run(context.Background(), io.Discard, io.Discard, []string{"report", old}); err == nil {
		t.Error("one argument: no error")
	}
}
