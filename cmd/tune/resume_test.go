package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/search"
)

// The test binary doubles as the tune command, so tests can kill it.
func TestMain(m *testing.M) {
	if os.Getenv("TUNE_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func tuneCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TUNE_TEST_MAIN=1")
	return cmd
}

// journalKeys reads the complete lines of a journal as task/kernel/id keys.
func journalKeys(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		var r struct{ Task, Kernel, ID string }
		if json.Unmarshal(s.Bytes(), &r) == nil {
			keys = append(keys, r.Task+" "+r.Kernel+" "+r.ID)
		}
	}
	return keys
}

// Killing a sweep with SIGKILL loses nothing recorded, and the rerun
// measures only what is missing.
func TestSweepResumesAfterSIGKILL(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "j.jsonl")
	args := []string{"sweep", "-shapes", "96x64x64", "-max-evals", "10", "-samples", "10", "-target", "1ms",
		"-journal", journal, "-profile", filepath.Join(dir, "p.yaml"), "-results", filepath.Join(dir, "r.txt")}

	first := tuneCommand(t, args...)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for len(journalKeys(t, journal)) < 4 {
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatal("the sweep recorded fewer than 4 results in 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	state, _ := first.Process.Wait()
	if state.Success() {
		t.Fatal("the sweep finished before it was killed; the test needs a longer sweep")
	}
	before := journalKeys(t, journal)

	var stderr strings.Builder
	second := tuneCommand(t, args...)
	second.Stderr = &stderr
	if err := second.Run(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, stderr.String())
	}
	after := journalKeys(t, journal)
	seen := map[string]bool{}
	for _, k := range after {
		if seen[k] {
			t.Errorf("measured twice: %s", k)
		}
		seen[k] = true
	}
	for _, k := range before {
		if !seen[k] {
			t.Errorf("lost after the kill: %s", k)
		}
	}
	// The baseline, the search's start plan (no incumbent: the profile
	// was new), 10 candidates and the finals' winner and runner-up, each
	// recorded exactly once.
	if len(after) != 14 {
		t.Errorf("journal holds %d results after the rerun; want 14\n%s", len(after), stderr.String())
	}
	if !strings.Contains(stderr.String(), "results recorded earlier are reused") {
		t.Errorf("rerun did not report resuming:\n%s", stderr.String())
	}
}

// A warm rerun reads the finals' verdict from the journal: the profile it
// writes holds the same runner-up margin and separation as the cold run's,
// and it says how the finals decided.
func TestWarmRerunKeepsTheFinalsVerdict(t *testing.T) {
	dir := t.TempDir()
	journal := filepath.Join(dir, "j.jsonl")
	sweep := func(prof string) (string, *profiles.RunnerUp) {
		t.Helper()
		var stderr strings.Builder
		args := []string{"sweep", "-shapes", "64x64x64", "-where", twoPoints, "-strategy", "exhaustive", "-samples", "10", "-target", "1ms", "-roofs=false",
			"-profile", filepath.Join(dir, prof), "-journal", journal, "-results", filepath.Join(dir, "r.txt")}
		if err := run(context.Background(), io.Discard, &stderr, args); err != nil {
			t.Fatalf("tune %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		p, err := profiles.Load(filepath.Join(dir, prof))
		if err != nil {
			t.Fatal(err)
		}
		e, _, err := p.Lookup("matmul", "f32", []int{64, 64, 64})
		if err != nil || e.RunnerUp == nil {
			t.Fatalf("%s: entry %+v, %v; want one with a runner-up", prof, e, err)
		}
		return stderr.String(), e.RunnerUp
	}
	_, cold := sweep("cold.yaml")
	out, warm := sweep("warm.yaml")
	if !strings.Contains(out, "0 measured now") {
		t.Fatalf("the warm rerun measured:\n%s", out)
	}
	if warm.ID != cold.ID || warm.Margin != cold.Margin || warm.Separated != cold.Separated {
		t.Errorf("warm rerun's runner-up %s margin %g separated %t, want the cold run's %s %g %t", warm.ID, warm.Margin, warm.Separated, cold.ID, cold.Margin, cold.Separated)
	}
	if !strings.Contains(out, "finals after ") || !strings.Contains(out, " rounds (journaled): ") {
		t.Errorf("the warm rerun does not report the journaled verdict:\n%s", out)
	}
}

// A journal is untrusted: a verdict that does not parse whole is ignored,
// and the margin then stays the one computed from the records.
func TestReadVerdictRefusesBrokenRecords(t *testing.T) {
	good := map[string]string{"id": "a", "margin": "0.02", "separated": "true", "rounds": "3", "tie": "false", "kept": "true"}
	with := func(k, v string) map[string]string {
		m := maps.Clone(good)
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for _, params := range []map[string]string{
		with("margin", ""), with("margin", "NaN"), with("margin", "+Inf"), with("margin", "0.02x"),
		with("separated", "maybe"), with("rounds", "-1"), with("rounds", "2.5"), with("tie", ""), with("kept", "yes"),
		{"id": "a"}, nil,
	} {
		f := search.Final{Margin: 0.5, Rounds: 7}
		if readVerdict(&f, params) || f.Margin != 0.5 || f.Rounds != 7 || f.Separated || f.Tie || f.Kept {
			t.Errorf("readVerdict(%v) took %+v", params, f)
		}
	}
	var f search.Final
	if !readVerdict(&f, good) || f.Margin != 0.02 || !f.Separated || f.Rounds != 3 || f.Tie || !f.Kept {
		t.Errorf("readVerdict(%v) = %+v", good, f)
	}
}
