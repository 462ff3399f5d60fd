package dawn_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tune-gpu/tune/dawn"
	"github.com/tune-gpu/tune/runner"
)

// requireDawn skips the test when Dawn is not installed, unless
// TUNE_REQUIRE_DAWN is set, which makes a missing Dawn a failure (CI sets
// it after `npm ci`).
func requireDawn(t *testing.T) {
	t.Helper()
	if err := dawn.Available(); err != nil {
		if os.Getenv("TUNE_REQUIRE_DAWN") != "" {
			t.Fatalf("%v (TUNE_REQUIRE_DAWN is set)", err)
		}
		t.Skip(err)
	}
}

var probe struct {
	once sync.Once
	info dawn.Info
	err  error
}

// dawnInfo is Dawn's adapter and device limits, probed once per test
// binary.
func dawnInfo(t *testing.T) dawn.Info {
	t.Helper()
	requireDawn(t)
	probe.once.Do(func() { probe.info, probe.err = dawn.Probe() })
	if probe.err != nil {
		t.Fatal(probe.err)
	}
	return probe.info
}

// kinds turns a binding contract of package runner into Dawn's kinds.
func kinds(bs []runner.Binding) []dawn.Kind {
	out := make([]dawn.Kind, len(bs))
	for i, b := range bs {
		switch b {
		case runner.Uniform:
			out[i] = dawn.Uniform
		case runner.ReadOnly:
			out[i] = dawn.Read
		case runner.ReadWrite:
			out[i] = dawn.ReadWrite
		default:
			panic(b.String())
		}
	}
	return out
}

func TestProbe(t *testing.T) {
	info := dawnInfo(t)
	t.Logf("adapter %+v", info.Adapter)
	t.Logf("limits %+v", info.Limits)
	// The limits were raised from compatibility mode's defaults (128
	// invocations, 16 KiB of workgroup memory).
	if l := info.Limits; l.MaxComputeInvocationsPerWorkgroup < 256 || l.MaxComputeWorkgroupStorageSize < 16384 {
		t.Errorf("limits not raised: %+v", l)
	}
}

// A kernel that computes, one Tint rejects, and one whose layout does not
// match its bindings each come back with their own result.
func TestRunReportsEachKernel(t *testing.T) {
	requireDawn(t)
	const double = `@group(0) @binding(0) var<storage, read_write> o: array<u32>;
@compute @workgroup_size(4) fn main(@builtin(global_invocation_id) g: vec3<u32>) { o[g.x] = o[g.x] * 2u + 1u; }`
	ks := []dawn.Kernel{
		{Name: "double", WGSL: double, Workgroup: [3]uint32{4, 1, 1}, Dispatch: [3]uint32{1, 1, 1}, Outputs: []int{0},
			Bindings: []dawn.Binding{{Kind: dawn.ReadWrite, Data: []byte{1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0}}}},
		{Name: "barrier", Dispatch: [3]uint32{1, 1, 1}, Bindings: []dawn.Binding{{Kind: dawn.ReadWrite, Size: 16}},
			WGSL: `@group(0) @binding(0) var<storage, read_write> o: array<u32>;
@compute @workgroup_size(4) fn main(@builtin(local_invocation_index) l: u32) { if (o[l] == 0u) { workgroupBarrier(); } }`},
		{Name: "layout", WGSL: double, Dispatch: [3]uint32{1, 1, 1}, Bindings: []dawn.Binding{{Kind: dawn.Read, Size: 16}}},
	}
	res, err := dawn.Run(ks)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d results for 3 kernels", len(res))
	}
	if r := res[0]; !r.OK || len(r.Outputs) != 1 || string(r.Outputs[0]) != string([]byte{3, 0, 0, 0, 5, 0, 0, 0, 7, 0, 0, 0, 9, 0, 0, 0}) {
		t.Errorf("double: %+v", r)
	}
	if r := res[1]; r.OK || r.Stage != dawn.StageShader || !strings.Contains(r.Error, "uniform control flow") {
		t.Errorf("barrier in non-uniform control flow: %+v", r)
	}
	if r := res[2]; r.OK || r.Stage != dawn.StagePipeline || !strings.Contains(r.Error, "ReadOnlyStorage") {
		t.Errorf("read-only binding for a read_write buffer: %+v", r)
	}
}

// The process handling, with a fake script in Dawn's place: a process that
// dies or stalls is blamed on the kernel it was on, and the kernels after
// it run in a fresh process.
func TestRunSurvivesCrashes(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("TUNE_REQUIRE_DAWN") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	r := &dawn.Runner{Script: "testdata/fake.mjs", Stall: 2 * time.Second}
	names := []string{"a", "abort", "b", "lost", "c", "hang", "exit", "d"}
	var ks []dawn.Kernel
	for _, n := range names {
		ks = append(ks, dawn.Kernel{Name: n, Bindings: []dawn.Binding{{Kind: dawn.Read, Data: []byte(n)}}, Outputs: []int{0}})
	}
	res, err := r.Run(ks)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(names) {
		t.Fatalf("%d results for %d kernels", len(res), len(names))
	}
	for i, n := range names {
		got := res[i]
		switch n {
		case "abort", "hang", "exit":
			if got.OK || got.Stage != dawn.StageCrash || got.Name != n {
				t.Errorf("%s: %+v, want a crash", n, got)
			}
			t.Logf("%s: %s", n, got.Error)
		default:
			if !got.OK || got.Name != n || len(got.Outputs) != 1 || string(got.Outputs[0]) != n {
				t.Errorf("%s: %+v, want ok with its data", n, got)
			}
		}
	}
	if !strings.Contains(res[1].Error, "fake: aborting") || !strings.Contains(res[5].Error, "stalled") {
		t.Errorf("crash messages lack the cause: %q, %q", res[1].Error, res[5].Error)
	}
	info, err := r.Probe()
	if err != nil || info.Adapter.Device != "fake" || info.Limits.MaxComputeInvocationsPerWorkgroup != 7 {
		t.Errorf("probe: %+v, %v", info, err)
	}
}

// Without node_modules, Available says how to install it.
func TestAvailableSaysHowToInstall(t *testing.T) {
	dir := t.TempDir()
	script, err := os.ReadFile("check.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "check.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	err = (&dawn.Runner{Dir: dir}).Available()
	if !errors.Is(err, dawn.ErrUnavailable) || !strings.Contains(err.Error(), "npm ci") {
		t.Errorf("Available without node_modules: %v; want ErrUnavailable saying to run npm ci", err)
	}
}
