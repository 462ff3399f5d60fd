package ops_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// A sweep over broken kernels records each with its reason, never times
// it, and goes on to the kernels that work; the process survives.
func TestSweepRecordsBrokenKernelsAndGoesOn(t *testing.T) {
	d := runnertest.Device(t)
	space := ops.Space(ops.DeviceLimits(d))
	fixed := map[string]string{"rm": "2", "rn": "2", "tk": "8", "vec": "1", "staged": "true", "prefetch": "false", "unroll": "false"}
	space.Constraints = append(space.Constraints, search.Constraint{Name: "test subset", OK: func(p search.Point) bool {
		for k, v := range fixed {
			if p.Get(k) != v {
				return false
			}
		}
		return p.Get("wgy") == "8" || p.Get("wgy") == "16"
	}})
	// Kernels with wgy=8 are broken, each its own way; wgy=16 ones work.
	const store = "c[row * dims.n + col] = v;"
	breakages := map[int]struct {
		mutate func(string) (string, error)
		reason string
	}{
		4: {func(string) (string, error) { return "", errors.New("template: boom") }, "render: template: boom"},
		8: {func(s string) (string, error) { return strings.Replace(s, "fn main(", "fn main( {", 1), nil }, "shader module"},
		16: {func(s string) (string, error) {
			return strings.Replace(s, store, "c[row * dims.n + col + dims.m * dims.n] = v;", 1), nil
		}, "out of bounds"},
		32: {func(s string) (string, error) {
			return strings.Replace(s, store, "c[row * dims.n + col] = v * 1.001;", 1), nil
		}, "want"},
	}
	for wgx := range breakages {
		if !strings.Contains(mustRender(t, wgx), store) {
			t.Fatalf("wgx=%d: the template no longer has the store this test mutates", wgx)
		}
	}
	e := &ops.Evaluator{Dev: d, Shape: ops.Shape{M: 40, N: 24, K: 20}, Timing: quick,
		Source: func(k templates.Kernel) ([]byte, error) {
			src, err := templates.Render(k)
			if err != nil {
				return nil, err
			}
			m, ok := k.(templates.Matmul)
			if b, broken := breakages[m.WGX]; ok && broken && m.WGY == 8 {
				s, err := b.mutate(string(src))
				return []byte(s), err
			}
			return src, nil
		}}
	defer e.Close()
	j, err := search.OpenJournal(filepath.Join(t.TempDir(), "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sum, err := search.Run(context.Background(), search.Task{Name: e.Shape.Task(), Env: "test"}, space, &search.Exhaustive{}, e, search.Settings{}, j, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != search.Exhausted || sum.Evals != 8 || sum.Rejected != 4 {
		t.Fatalf("stopped %s after %d evaluations, %d rejected; want exhausted after 8, 4 rejected", sum.Status, sum.Evals, sum.Rejected)
	}
	if sum.Best == nil || sum.Best.Params["wgy"] != "16" {
		t.Errorf("best = %+v; want a working wgy=16 kernel", sum.Best)
	}
	for _, r := range sum.Results {
		b, broken := breakages[atoi(t, r.Params["wgx"])]
		broken = broken && r.Params["wgy"] == "8"
		switch {
		case broken && (r.Status != search.Rejected || !strings.Contains(r.Reason, b.reason)):
			t.Errorf("%s: %s %q; want rejected mentioning %q", r.ID, r.Status, r.Reason, b.reason)
		case broken && r.Measure != nil:
			t.Errorf("%s: rejected but timed", r.ID)
		case !broken && r.Status != search.OK:
			t.Errorf("%s: rejected (%s); want ok", r.ID, r.Reason)
		}
		if _, ok := j.Lookup(search.Task{Name: e.Shape.Task(), Env: "test"}, "matmul", r.ID); !ok {
			t.Errorf("%s: not in the journal", r.ID)
		}
	}
}

func mustRender(t *testing.T, wgx int) string {
	t.Helper()
	src, err := templates.Render(templates.Matmul{WGX: wgx, WGY: 8, RM: 2, RN: 2, TK: 8, Vec: 1, Staged: true})
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}
