package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// stabilityPick is one finished rerun of tune stability, as its -picks file
// keeps it, so that a run cut short (a machine's time limit) resumes at the
// next rerun instead of starting over.
type stabilityPick struct {
	// The setup the rerun belongs to; a file of another setup is refused.
	Task     string `json:"task"`
	Env      string `json:"env"`
	Strategy string `json:"strategy"`
	MaxEvals int    `json:"max_evals"`
	Where    string `json:"where,omitempty"`
	// Runs is the run's seed settings: -seed, and whether -vary-seed.
	Runs string `json:"runs"`

	Seed    uint64  `json:"seed"`
	Winner  string  `json:"winner"`
	Score   float64 `json:"score"`
	Evals   int     `json:"evals"`
	Seconds float64 `json:"seconds"`
	// Measured is every point the rerun's search validated and timed, so
	// that a resumed run can still tell whether it measured the overall
	// winner; files written before it lack it.
	Measured []string `json:"measured,omitempty"`
}

func (p stabilityPick) sameSetup(q stabilityPick) bool {
	return p.Task == q.Task && p.Env == q.Env && p.Strategy == q.Strategy && p.MaxEvals == q.MaxEvals && p.Where == q.Where && p.Runs == q.Runs
}

// readPicks reads the reruns a -picks file holds, all of setup's. A missing
// file holds none; a last line cut off mid-write is dropped.
func readPicks(path string, setup stabilityPick) ([]stabilityPick, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var picks []stabilityPick
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1) // a line lists a rerun's measured points: more than the default 64 KiB for a large budget
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var p stabilityPick
		if err := json.Unmarshal(line, &p); err != nil {
			if !bytes.HasSuffix(data, []byte("\n")) && n == bytes.Count(data, []byte("\n"))+1 {
				break // the interrupted last write
			}
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if !p.sameSetup(setup) {
			return nil, fmt.Errorf("%s:%d: a rerun of %s (%s, %d evaluations, where %q, seeds %s) on adapter %s, not of this run's %s (%s, %d, %q, %s) on %s; give another file",
				path, n, p.Task, p.Strategy, p.MaxEvals, p.Where, p.Runs, p.Env, setup.Task, setup.Strategy, setup.MaxEvals, setup.Where, setup.Runs, setup.Env)
		}
		if p.Winner == "" || !(p.Score > 0) {
			return nil, fmt.Errorf("%s:%d: a rerun without a winner or score", path, n)
		}
		picks = append(picks, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return picks, nil
}

// appendPick adds one finished rerun to the -picks file, synced before the
// next rerun starts.
func appendPick(path string, p stabilityPick) error {
	line, err := json.Marshal(p)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
