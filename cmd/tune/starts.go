package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/search"
)

// startPlan is where a search of one shape begins.
type startPlan struct {
	points []search.Point // proposed first, in order: the incumbent, others, then nearest
	// incumbent is the ID of the winner the profile already holds for the
	// shape, or "": the finals keep it unless a finalist beats it in
	// enough rounds for a sign test (search.FinalOptions.Incumbent).
	incumbent string
	others    int // points after the incumbent that other adapters' profiles chose
}

// neighbours are the plan's points after the incumbent: other adapters'
// winners, then winners of other shapes.
func (p startPlan) neighbours() []search.Point {
	if p.incumbent != "" {
		return p.points[1:]
	}
	return p.points
}

// startSources says what a search of one shape starts from.
type startSources struct {
	profile   *profiles.Profile // the adapter's own; may be nil
	incumbent bool              // the profile's winner for the shape itself, first
	// fromOthers takes, after it, the winner each of others holds for the
	// shape (exact, from a bucket, else of the nearest shape; see
	// profiles.Profile.Lookup).
	fromOthers bool
	others     []*profiles.Profile
	nearest    int // then the winners of this many of the op's nearest other shapes in profile
}

// searchStarts returns the points a search of w starts from (see
// startSources). A re-tune that measures its incumbent first changes it
// only on evidence. Kernels good on a neighbouring shape, or on another
// GPU at this shape, are often near the best of this one, so a search
// that begins there gets close sooner; on a GPU without a profile of its
// own, the other GPUs' winners are what is known. With a journal the plan
// is recorded the first time and read back after, so a rerun proposes the
// same points even once the profiles hold more shapes or new winners; j
// may be nil. Without any source it gives none and records nothing.
func searchStarts(w ops.Workload, task search.Task, src startSources, j *search.Journal) (startPlan, error) {
	if src.nearest <= 0 && !src.incumbent && !src.fromOthers {
		return startPlan{}, nil
	}
	st := search.Task{Name: w.Task + "#starts", Env: task.Env}
	key := fmt.Sprintf("nearest=%d", max(src.nearest, 0))
	if src.incumbent {
		key += "/incumbent"
	}
	if src.fromOthers {
		key += "/others"
	}
	var ids, fromOthers []string
	var inc string
	if r, ok := j.Lookup(st, "starts", key); ok {
		ids, fromOthers, inc = strings.Fields(r.Params["ids"]), strings.Fields(r.Params["others"]), r.Params["incumbent"]
	} else {
		if e, exact, err := src.profile.Lookup(w.Op, w.Dtype, w.Dims); src.incumbent && exact && err == nil {
			inc = e.ID
		}
		if src.fromOthers {
			for _, p := range src.others {
				if e, _, err := p.Lookup(w.Op, w.Dtype, w.Dims); err == nil && !slices.Contains(fromOthers, e.ID) {
					fromOthers = append(fromOthers, e.ID)
				}
			}
		}
		for _, e := range src.profile.Neighbours(w.Op, w.Dtype, w.Dims, src.nearest) {
			if !slices.Contains(ids, e.ID) {
				ids = append(ids, e.ID)
			}
		}
		if j != nil {
			params := map[string]string{"ids": strings.Join(ids, " "), "incumbent": inc}
			if src.fromOthers {
				params["others"] = strings.Join(fromOthers, " ")
			}
			rec := search.Result{Task: st.Name, Env: st.Env, Kernel: "starts", ID: key, Status: search.OK, Params: params}
			if err := j.Append(rec); err != nil {
				return startPlan{}, err
			}
		}
	}
	var plan startPlan
	add := func(id string) bool {
		// A winner or a journal of an older space may name points this
		// one lacks or no longer allows.
		p, err := w.Parse(id)
		if err != nil || w.Space.Check(p) != nil || slices.ContainsFunc(plan.points, func(q search.Point) bool { return q.ID() == p.ID() }) {
			return false
		}
		plan.points = append(plan.points, p)
		return true
	}
	if inc != "" && add(inc) {
		plan.incumbent = plan.points[0].ID()
	}
	for _, id := range fromOthers {
		if add(id) {
			plan.others++
		}
	}
	for _, id := range ids {
		add(id)
	}
	return plan, nil
}

// startsLine tells the user where a search begins.
func startsLine(plan startPlan) string {
	starts := plan.neighbours()
	if len(starts) == 0 {
		return "starts: none from the profiles (no winner of this op and type that this space holds)"
	}
	others, nearest := starts[:plan.others], starts[plan.others:]
	var parts []string
	if len(others) > 0 {
		parts = append(parts, fmt.Sprintf("%s of other adapters: %s", winners(len(others)), pointIDs(others)))
	}
	if len(nearest) > 0 {
		parts = append(parts, fmt.Sprintf("%s of the nearest tuned shapes: %s", winners(len(nearest)), pointIDs(nearest)))
	}
	return "starts: " + strings.Join(parts, "; ")
}

func winners(n int) string {
	if n == 1 {
		return "1 winner"
	}
	return fmt.Sprintf("%d winners", n)
}

func pointIDs(ps []search.Point) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID()
	}
	return strings.Join(ids, ", ")
}

// otherProfiles loads the profiles beside profile of adapters other than a
// (profiles.Others), saying which it found and which it skipped.
func otherProfiles(profile string, a profiles.Adapter, stderr io.Writer) ([]*profiles.Profile, error) {
	dir := filepath.Dir(profile)
	others, warnings, err := profiles.Others(dir, a)
	if err != nil {
		return nil, fmt.Errorf("reading the other adapters' profiles: %w", err)
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if len(others) > 0 {
		names := make([]string, len(others))
		for i, p := range others {
			names[i] = p.Adapter.Name
			if p.Portable {
				names[i] = "portable"
			}
		}
		fmt.Fprintf(stderr, "others: searches start from the winners of %s (profiles in %s)\n", strings.Join(names, ", "), dir)
	}
	return others, nil
}
