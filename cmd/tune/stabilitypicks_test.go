package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A stability run cut short goes on from its -picks file: the kept reruns
// are not run again, and a file of another setup is refused.
func TestStabilityResumesFromPicks(t *testing.T) {
	picks := filepath.Join(t.TempDir(), "picks.jsonl")
	args := []string{"stability", "-shape", "64x64x64", "-where", twoPoints, "-strategy", "exhaustive", "-samples", "10", "-target", "1ms", "-noise-rounds", "0", "-picks", picks}
	if err := run(context.Background(), io.Discard, io.Discard, append(args, "-reruns", "2")); err != nil {
		t.Fatal(err)
	}
	if n := countLines(t, picks); n != 2 {
		t.Fatalf("%d picks kept after two reruns, want 2", n)
	}
	var stderr strings.Builder
	if err := run(context.Background(), io.Discard, &stderr, append(args, "-reruns", "3")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(stderr.String(), "(kept in "+picks+")"); got != 2 {
		t.Errorf("%d reruns taken from the file, want 2:\n%s", got, stderr.String())
	}
	if !strings.Contains(stderr.String(), "rerun 3/3: ") {
		t.Errorf("the third rerun did not run:\n%s", stderr.String())
	}
	if n := countLines(t, picks); n != 3 {
		t.Errorf("%d picks kept after three reruns, want 3", n)
	}
	other := append([]string{}, args...)
	other[4] = "wgx=8,wgy=8,rm=4,rn=4,tk=8,vec=4,staged=true,prefetch=false,unroll=true"
	for _, o := range [][]string{other, append(args, "-vary-seed")} {
		err := run(context.Background(), io.Discard, io.Discard, append(o, "-reruns", "2"))
		if err == nil || !strings.Contains(err.Error(), "give another file") {
			t.Errorf("picks of another setup (%s): error %v, want a refusal", strings.Join(o[len(o)-3:], " "), err)
		}
	}
}

func TestReadPicksDropsACutLastLine(t *testing.T) {
	setup := stabilityPick{Task: "matmul/f32/M=8/N=8/K=8", Env: "e", Strategy: "bayes", MaxEvals: 4, Runs: "seed=1/vary=false"}
	path := filepath.Join(t.TempDir(), "picks.jsonl")
	whole := `{"task":"matmul/f32/M=8/N=8/K=8","env":"e","strategy":"bayes","max_evals":4,"runs":"seed=1/vary=false","seed":1,"winner":"a=1","score":2,"evals":4,"seconds":1}` + "\n"
	for _, c := range []struct {
		text string
		want int
		err  bool
	}{
		{whole, 1, false},
		{whole + `{"task":"matmul/f32/M=8`, 1, false},
		{`{"task":"matmul/f32/M=8` + "\n" + whole, 0, true},
		{strings.Replace(whole, `"env":"e"`, `"env":"other"`, 1), 0, true},
		{strings.Replace(whole, `"score":2`, `"score":0`, 1), 0, true},
	} {
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readPicks(path, setup)
		if (err != nil) != c.err || len(got) != c.want {
			t.Errorf("readPicks(%q) = %d picks, %v; want %d, error %t", c.text, len(got), err, c.want, c.err)
		}
	}
	if got, err := readPicks(filepath.Join(t.TempDir(), "none"), setup); err != nil || len(got) != 0 {
		t.Errorf("a missing file: %d picks, %v; want none, no error", len(got), err)
	}
}

// Whatever a -picks file holds, readPicks returns only reruns of the
// setup with a winner and a score, or an error naming the file.
func FuzzReadPicks(f *testing.F) {
	setup := stabilityPick{Task: "matmul/f32/M=8/N=8/K=8", Env: "e", Strategy: "bayes", MaxEvals: 4, Runs: "seed=1/vary=false"}
	whole := `{"task":"matmul/f32/M=8/N=8/K=8","env":"e","strategy":"bayes","max_evals":4,"runs":"seed=1/vary=false","seed":1,"winner":"a=1","score":2,"evals":4,"seconds":1}` + "\n"
	for _, seed := range []string{whole, whole + whole[:40], "\n\n" + whole, `{"score":-1}`, strings.Repeat("x", 70000)} {
		f.Add([]byte(seed))
	}
	path := filepath.Join(f.TempDir(), "picks.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		picks, err := readPicks(path, setup)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		for _, p := range picks {
			if !p.sameSetup(setup) || p.Winner == "" || !(p.Score > 0) {
				t.Errorf("read %+v from %q", p, data)
			}
		}
	})
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

// Each rerun says whether its search timed the overall winner, also when
// it was kept in a -picks file; a file written before the picks kept their
// measured points says it cannot tell. With one evaluation a rerun times
// its pick alone, so it timed the winner exactly when it picked it.
func TestStabilitySaysWhetherTheSearchTimedTheWinner(t *testing.T) {
	picks := filepath.Join(t.TempDir(), "picks.jsonl")
	args := []string{"stability", "-shape", "64x64x64", "-where", twoPoints, "-strategy", "random", "-max-evals", "1", "-vary-seed", "-samples", "10", "-target", "1ms", "-noise-rounds", "0", "-picks", picks}
	check := func(reruns string, want string) {
		t.Helper()
		var stdout strings.Builder
		if err := run(context.Background(), &stdout, io.Discard, append(args, "-reruns", reruns)); err != nil {
			t.Fatal(err)
		}
		out := stdout.String()
		_, rest, ok := strings.Cut(out, "64x64x64: overall winner ")
		if !ok {
			t.Fatalf("no overall winner:\n%s", out)
		}
		winner, _, _ := strings.Cut(rest, ",")
		var rows, timed, other, disagree, missed int
		for _, line := range strings.Split(out, "\n") {
			cells := strings.Split(line, "│")
			if len(cells) != 9 || strings.TrimSpace(cells[1]) == "rerun" {
				continue
			}
			rows++
			pick, said := strings.TrimSpace(cells[3]), strings.TrimSpace(cells[7])
			if strings.TrimSpace(cells[6]) == "no" {
				disagree++
				if said == "no" {
					missed++
				}
			}
			switch {
			case want == "not kept" && said != want:
				t.Errorf("rerun %s from a file without measured points: %q, want %q", strings.TrimSpace(cells[1]), said, want)
			case want == "":
				if (pick == winner) != (said == "yes") || said != "yes" && said != "no" {
					t.Errorf("rerun %s picked %s (overall winner %s): timed it %q", strings.TrimSpace(cells[1]), pick, winner, said)
				}
				if pick == winner {
					timed++
				} else {
					other++
				}
			}
		}
		if n, _ := strconv.Atoi(reruns); rows != n {
			t.Fatalf("%d rerun rows, want %s:\n%s", rows, reruns, out)
		}
		if want == "" && (timed == 0 || other == 0) {
			t.Fatalf("reruns picked the overall winner %d times and the other point %d: the seeds no longer split them:\n%s", timed, other, out)
		}
		line := fmt.Sprintf("of the %d reruns that disagree, %d never timed the overall winner", disagree, missed)
		if shown := strings.Contains(out, "never timed the overall winner"); shown != (want == "" && disagree > 0) || shown && !strings.Contains(out, line) {
			t.Errorf("want the line %q only where reruns disagree and their measured points are known:\n%s", line, out)
		}
	}
	check("3", "")
	check("4", "") // three kept in the file, one run now

	data, err := os.ReadFile(picks)
	if err != nil {
		t.Fatal(err)
	}
	var old []byte
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var p map[string]any
		if err := json.Unmarshal(line, &p); err != nil {
			t.Fatal(err)
		}
		if p["measured"] == nil {
			t.Fatalf("a pick without its measured points: %s", line)
		}
		delete(p, "measured")
		b, _ := json.Marshal(p)
		old = append(append(old, b...), '\n')
	}
	if err := os.WriteFile(picks, old, 0o644); err != nil {
		t.Fatal(err)
	}
	check("4", "not kept")
}
