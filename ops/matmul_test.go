package ops_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

var quick = runner.TimeOptions{Warmup: 1, Samples: 10, Target: 1}

// Representative kernels: every combination of staging, unrolling and
// vector width, with square and oblong tiles.
var representative = []templates.Matmul{
	{WGX: 8, WGY: 8, RM: 1, RN: 1, TK: 8, Vec: 1, Staged: true, Unroll: false},
	{WGX: 8, WGY: 8, RM: 2, RN: 4, TK: 8, Vec: 2, Staged: true, Unroll: true},
	{WGX: 16, WGY: 8, RM: 4, RN: 4, TK: 16, Vec: 4, Staged: true, Unroll: true},
	{WGX: 16, WGY: 16, RM: 8, RN: 8, TK: 8, Vec: 4, Staged: true, Prefetch: true, Unroll: true},
	{WGX: 8, WGY: 8, RM: 2, RN: 2, TK: 4, Vec: 1, Staged: true, Prefetch: true, Unroll: false},
	{WGX: 32, WGY: 4, RM: 2, RN: 2, TK: 8, Vec: 2, Staged: true, Prefetch: true, Unroll: true},
	{WGX: 8, WGY: 16, RM: 4, RN: 8, TK: 8, Vec: 4, Staged: true, Unroll: false},
	{WGX: 8, WGY: 4, RM: 4, RN: 4, TK: 4, Vec: 4, Staged: false, Unroll: true},
	{WGX: 16, WGY: 4, RM: 2, RN: 2, TK: 4, Vec: 2, Staged: false, Unroll: false},
	{WGX: 8, WGY: 8, RM: 2, RN: 1, TK: 4, Vec: 1, Staged: false, Unroll: true},
}

func TestRepresentativeKernelsValidate(t *testing.T) {
	d := runnertest.Device(t)
	e := &ops.Evaluator{Dev: d, Shape: ops.Shape{M: 70, N: 36, K: 44}, Timing: quick}
	defer e.Close()
	for _, k := range append([]ops.Kernel{ops.Baseline}, kernels(representative)...) {
		t.Run(k.String(), func(t *testing.T) {
			res := e.EvaluateKernel(context.Background(), k)
			if res.Status != search.OK {
				t.Fatalf("rejected: %s", res.Reason)
			}
			if res.Measure == nil || res.Score <= 0 || len(res.Measure.Samples) < 10 {
				t.Errorf("measurement %+v: want a positive rate from >= 10 samples", res.Measure)
			}
		})
	}
}

func kernels(ms []templates.Matmul) []ops.Kernel {
	out := make([]ops.Kernel, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
