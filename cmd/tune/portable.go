package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/search"
)

func runPortable(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("portable", stderr, `Pick, for each op, dtype and shape that every adapter has tuned, the one kernel
with the best worst-case and then mean fraction of each adapter's own best
(search.Portable), from the adapters' profiles and journals, and write it as
the portable default that lookups fall back to when no profile matches the
adapter. A candidate counts only if every adapter has measured it: the
command lists what is missing, and -measure times the missing candidates on
this machine's adapter and appends them to its journal.`)
	dir := fs.String("dir", "profiles", "folder of profiles, read when -profiles is not given")
	profileList := fs.String("profiles", "", "comma-separated adapter profiles (default every non-portable profile in -dir)")
	journalList := fs.String("journals", "", "comma-separated journals, one per profile in the same order, several for one adapter joined by '+' (default out/<adapter>.journal.jsonl)")
	tasks := fs.String("tasks", "", "comma-separated tasks to consider, e.g. matmul/f32/M=512/N=512/K=512 (default all)")
	top := fs.Int("top", 5, "candidates taken from each adapter: its best this many at the shape")
	threshold := fs.Float64("threshold", 0.01, "worst cases within this fraction of the best worst case tie, and the mean decides")
	out := fs.String("out", "", "portable profile to write (default <dir>/portable.yaml)")
	measure := fs.Bool("measure", false, "time the candidates this adapter is missing and append them to its journal")
	adapter := fs.String("adapter", "auto", "with -measure: adapter, as in sweep")
	samples := fs.Int("samples", 10, "with -measure: timed passes per candidate (at least 10)")
	target := fs.Duration("target", 10*time.Millisecond, "with -measure: length of one timed pass")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *top < 1 || !(*threshold >= 0 && *threshold < 1) || *samples < 10 || *target <= 0 {
		return fmt.Errorf("parsing -top/-threshold/-samples/-target: want -top >= 1, 0 <= -threshold < 1, at least 10 samples and a positive target")
	}
	if *out == "" {
		*out = filepath.Join(*dir, profiles.PortableName+".yaml")
	}
	var only map[string]bool
	if *tasks != "" {
		only = map[string]bool{}
		for _, t := range strings.Split(*tasks, ",") {
			if _, err := parseTask(strings.TrimSpace(t)); err != nil {
				return fmt.Errorf("parsing -tasks: %w", err)
			}
			only[strings.TrimSpace(t)] = true
		}
	}
	ads, err := loadAdapters(*dir, *profileList, *journalList, only, stderr)
	if err != nil {
		return err
	}
	if len(ads) < 2 {
		return fmt.Errorf("portable: %d adapter profile(s) given; a portable default needs at least 2", len(ads))
	}
	plan := planPortable(ads, *top)
	if *measure {
		if err := measureMissing(ctx, ads, plan, *adapter, runner.TimeOptions{Samples: *samples, Target: *target}, stderr); err != nil {
			return err
		}
		plan = planPortable(ads, *top)
	}
	return writePortable(stdout, ads, plan, *threshold, *out, args)
}

// adapterData is one adapter's profile and what its journals measured.
type adapterData struct {
	name     string // the adapter's name, as shares record it
	profile  *profiles.Profile
	path     string
	journals []string
	// results by task, then candidate ID: the last valid measurement, or
	// the rejection if it never validated.
	results map[string]map[string]search.Result
	envs    map[string]map[string]bool // task -> envs seen
}

// loadAdapters reads the profiles and journals named by the flags.
func loadAdapters(dir, profileList, journalList string, only map[string]bool, stderr io.Writer) ([]*adapterData, error) {
	var paths []string
	if profileList != "" {
		for _, p := range strings.Split(profileList, ",") {
			paths = append(paths, strings.TrimSpace(p))
		}
	} else {
		all, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, err
		}
		paths = all
	}
	var journals [][]string
	if journalList != "" {
		for _, js := range strings.Split(journalList, ",") {
			journals = append(journals, strings.Split(strings.TrimSpace(js), "+"))
		}
		if len(journals) != len(paths) {
			return nil, fmt.Errorf("parsing -journals: %d journal groups for %d profiles; give one per profile, in order", len(journals), len(paths))
		}
	}
	var out []*adapterData
	for i, path := range paths {
		p, err := profiles.Load(path)
		if err != nil {
			return nil, err
		}
		if p.Portable {
			if profileList != "" {
				return nil, fmt.Errorf("parsing -profiles: %s is a portable profile, not an adapter's", path)
			}
			continue
		}
		a := &adapterData{name: p.Adapter.Name, profile: p, path: path, results: map[string]map[string]search.Result{}, envs: map[string]map[string]bool{}}
		for _, o := range out {
			if o.name == a.name {
				return nil, fmt.Errorf("profiles %s and %s are both of adapter %q", o.path, path, a.name)
			}
		}
		if journals != nil {
			a.journals = journals[i]
		} else {
			a.journals = []string{filepath.Join("out", p.Adapter.Slug()+".journal.jsonl")}
		}
		for _, j := range a.journals {
			rs, err := search.ReadJournal(j)
			if errors.Is(err, fs.ErrNotExist) && journals == nil {
				fmt.Fprintf(stderr, "warning: %s: no journal %s; only its profile's winners count\n", a.name, j)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a.name, err)
			}
			for _, r := range rs {
				s, err := parseTask(r.Task)
				if err != nil || r.Kernel != s.op || only != nil && !only[r.Task] {
					continue // finals verdicts, baselines, other ops
				}
				a.add(r)
			}
		}
		// The profile's winners are measurements too, under the task name.
		for _, e := range p.Entries {
			t := opShape{e.Op, e.Dtype, e.Shape}.task()
			if t == "" || only != nil && !only[t] || e.Kernel != e.Op {
				continue
			}
			if _, ok := a.results[t][e.ID]; !ok {
				a.add(search.Result{Task: t, Kernel: e.Kernel, ID: e.ID, Params: e.Params, Status: search.OK, Score: e.Stats.Rate,
					Measure: &search.Measurement{Median: e.Stats.Median, Lo: e.Stats.Lo, Hi: e.Stats.Hi, Unit: e.Stats.Unit}})
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// add records r, a later valid measurement replacing an earlier one.
func (a *adapterData) add(r search.Result) {
	if a.results[r.Task] == nil {
		a.results[r.Task] = map[string]search.Result{}
		a.envs[r.Task] = map[string]bool{}
	}
	if old, ok := a.results[r.Task][r.ID]; ok && old.Status == search.OK && r.Status != search.OK {
		return
	}
	a.results[r.Task][r.ID] = r
	if r.Env != "" {
		a.envs[r.Task][r.Env] = true
	}
}

// tuned reports whether the adapter's profile has a winner for the task:
// its own best there is known.
func (a *adapterData) tuned(task string) bool {
	s, err := parseTask(task)
	if err != nil {
		return false
	}
	_, exact, err := a.profile.Lookup(s.op, s.dtype, s.dims)
	return err == nil && exact
}

// best is the adapter's best score on the task.
func (a *adapterData) best(task string) float64 {
	b := 0.0
	for _, r := range a.results[task] {
		if r.Status == search.OK {
			b = max(b, r.Score)
		}
	}
	return b
}

// taskPlan is what one task needs before a portable pick can be made.
type taskPlan struct {
	task       string
	untuned    []*adapterData // adapters with no winner of their own here
	candidates []string
}

// planPortable lists every task some adapter measured, with its candidates:
// each adapter's best top, by score.
func planPortable(ads []*adapterData, top int) []taskPlan {
	seen := map[string]bool{}
	for _, a := range ads {
		for t := range a.results {
			seen[t] = true
		}
	}
	var out []taskPlan
	for _, t := range slices.Sorted(maps.Keys(seen)) {
		p := taskPlan{task: t}
		cand := map[string]bool{}
		for _, a := range ads {
			if !a.tuned(t) {
				p.untuned = append(p.untuned, a)
			}
			var ok []search.Result
			for _, r := range a.results[t] {
				if r.Status == search.OK {
					ok = append(ok, r)
				}
			}
			sort.Slice(ok, func(i, j int) bool {
				if ok[i].Score != ok[j].Score {
					return ok[i].Score > ok[j].Score
				}
				return ok[i].ID < ok[j].ID
			})
			for _, r := range ok[:min(top, len(ok))] {
				cand[r.ID] = true
			}
		}
		p.candidates = slices.Sorted(maps.Keys(cand))
		out = append(out, p)
	}
	return out
}

// scores turns the adapters' results on a task into search.Portable's input.
func scores(ads []*adapterData, task string) []search.AdapterScores {
	var out []search.AdapterScores
	for _, a := range ads {
		s := search.AdapterScores{Adapter: a.name, Best: a.best(task), Scores: map[string]float64{}}
		for id, r := range a.results[task] {
			s.Scores[id] = 0
			if r.Status == search.OK {
				s.Scores[id] = r.Score
			}
		}
		out = append(out, s)
	}
	return out
}

// measureMissing times, on this machine's adapter, the candidates it lacks
// of every task all adapters have tuned, and journals them.
func measureMissing(ctx context.Context, ads []*adapterData, plan []taskPlan, adapter string, timing runner.TimeOptions, stderr io.Writer) error {
	dev, err := runner.Open(adapter)
	if err != nil {
		return err
	}
	defer dev.Close()
	ident := profileAdapter(dev.Info)
	var me *adapterData
	for _, a := range ads {
		if a.profile.Adapter.Slug() == ident.Slug() {
			me = a
		}
	}
	if me == nil {
		return fmt.Errorf("portable -measure: adapter %q has no profile among those given; sweep it first", dev.Info.Name)
	}
	jpath := me.journals[0]
	if err := os.MkdirAll(filepath.Dir(jpath), 0o755); err != nil {
		return err
	}
	j, err := search.OpenJournal(jpath)
	if err != nil {
		return err
	}
	defer j.Close()
	env := fingerprint(dev.Info)
	fmt.Fprintf(stderr, "adapter: %s\njournal: %s\n", dev.Info, jpath)
	measured := 0
	for _, p := range plan {
		if len(p.untuned) > 0 {
			continue
		}
		var todo []string
		for _, id := range p.candidates {
			if _, ok := me.results[p.task][id]; !ok {
				todo = append(todo, id)
			}
		}
		if len(todo) == 0 {
			continue
		}
		s, _ := parseTask(p.task)
		w, err := workload(dev, s, timing)
		if err != nil {
			return err
		}
		for _, id := range todo {
			if ctx.Err() != nil {
				w.Eval.Close()
				return ctx.Err()
			}
			pt, err := w.Parse(id)
			if err != nil {
				fmt.Fprintf(stderr, "%s: cannot measure %s: %v (swept with another version of the space)\n", p.task, id, err)
				continue
			}
			r := w.Eval.Evaluate(ctx, pt)
			if ctx.Err() != nil {
				w.Eval.Close()
				return ctx.Err()
			}
			r.Task, r.Env, r.Kernel, r.ID, r.Params = w.Task, env, w.Eval.Kernel(), id, pt.Params()
			if err := j.Append(r); err != nil {
				w.Eval.Close()
				return err
			}
			me.add(r)
			measured++
			what := "rejected: " + firstLine(r.Reason)
			if r.Status == search.OK {
				what = fmt.Sprintf("%.4g %s", r.Score, r.Measure.Unit)
			}
			fmt.Fprintf(stderr, "%s: %s: %s\n", p.task, id, what)
		}
		w.Eval.Close()
	}
	fmt.Fprintf(stderr, "measured %d candidates\n", measured)
	return nil
}

// writePortable prints each task's ranking or what it is missing, and
// writes the portable profile of the complete tasks.
func writePortable(stdout io.Writer, ads []*adapterData, plan []taskPlan, threshold float64, out string, args []string) error {
	prof := profiles.New(profiles.Adapter{Name: profiles.PortableName})
	prof.Portable = true
	prof.Tool = "tune portable " + strings.Join(args, " ")
	var missingLines []string
	for _, p := range plan {
		if len(p.untuned) > 0 {
			s, _ := parseTask(p.task)
			for _, a := range p.untuned {
				missingLines = append(missingLines, fmt.Sprintf("%s: %s has no tuned winner: run on it  tune sweep -op %s%s -shapes %s",
					p.task, a.name, s.op, formatFlag(s), shapeString(s.dims)))
			}
			continue
		}
		ranked, missing, err := search.Portable(scores(ads, p.task), p.candidates, threshold)
		if err != nil {
			return err
		}
		for _, a := range ads {
			if ids := missing[a.name]; len(ids) > 0 {
				missingLines = append(missingLines, fmt.Sprintf("%s: %s has not measured %d candidates: run on it  tune portable -measure -tasks %s%s\n    %s",
					p.task, a.name, len(ids), p.task, sameFlags(ads), strings.Join(ids, "\n    ")))
			}
		}
		if len(missing) > 0 || len(ranked) == 0 {
			continue
		}
		fmt.Fprintf(stdout, "%s: %d candidates measured on all %d adapters\n", p.task, len(ranked), len(ads))
		hdr := []string{"config"}
		for _, a := range ads {
			hdr = append(hdr, a.name)
		}
		hdr = append(hdr, "mean", "worst")
		t := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
		t.Header(hdr)
		for i, r := range ranked[:min(5, len(ranked))] {
			row := []string{r.ID}
			if i == 0 {
				row[0] = "* " + r.ID
			}
			for _, f := range r.Fractions {
				row = append(row, fmt.Sprintf("%.1f%%", 100*f))
			}
			t.Append(append(row, fmt.Sprintf("%.1f%%", 100*r.Mean), fmt.Sprintf("%.1f%%", 100*r.Worst)))
		}
		if err := t.Render(); err != nil {
			return err
		}
		for _, a := range ads {
			if len(a.envs[p.task]) > 1 {
				fmt.Fprintf(stdout, "note: %s's measurements of %s span %d versions of the kernel sources\n", a.name, p.task, len(a.envs[p.task]))
			}
		}
		pick := ranked[0]
		s, _ := parseTask(p.task)
		e := profiles.Entry{Op: s.op, Dtype: s.dtype, Shape: s.dims, Kernel: s.op, ID: pick.ID}
		for i, a := range ads {
			r := a.results[p.task][pick.ID]
			if e.Params == nil {
				e.Params = r.Params
			}
			e.Portable = append(e.Portable, profiles.Share{Adapter: a.name, Fraction: pick.Fractions[i], Rate: r.Score, Unit: r.Measure.Unit})
		}
		prof.Put(e)
	}
	if len(missingLines) > 0 {
		fmt.Fprintf(stdout, "missing measurements:\n")
		for _, l := range missingLines {
			fmt.Fprintf(stdout, "  %s\n", l)
		}
	}
	if len(prof.Entries) == 0 {
		return fmt.Errorf("portable: no op and shape has its candidates measured on all %d adapters; nothing written", len(ads))
	}
	if err := prof.Save(out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "portable default: %s (%d entries)\n", out, len(prof.Entries))
	return nil
}

// formatFlag is the sweep flag that selects s's format, if it has one.
func formatFlag(s opShape) string {
	if s.op == "matmul" {
		return ""
	}
	return " -formats " + s.dtype
}

// sameFlags are the -profiles and -journals flags naming ads, so the
// printed command reads the same data.
func sameFlags(ads []*adapterData) string {
	var ps, js []string
	for _, a := range ads {
		ps = append(ps, a.path)
		js = append(js, strings.Join(a.journals, "+"))
	}
	return " -profiles " + strings.Join(ps, ",") + " -journals " + strings.Join(js, ",")
}
