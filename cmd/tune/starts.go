package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/search"
)

// startPlan is where a search of one shape begins.
type startPlan struct {
	points []search.Point // proposed first, in order
	// incumbent is the ID of the winner the profile already holds for the
	// shape, or "": the finals keep it unless a finalist beats it in
	// enough rounds for a sign test (search.FinalOptions.Incumbent).
	incumbent string
}

// neighbours are the plan's points after the incumbent: winners of other
// shapes.
func (p startPlan) neighbours() []search.Point {
	if p.incumbent != "" {
		return p.points[1:]
	}
	return p.points
}

// searchStarts returns the points a search of w starts from: with
// incumbent, the winner prof holds for w's own shape, then the winners of
// the op's n nearest other shapes in prof, nearest first, those w's space
// can hold. A re-tune that measures its incumbent first changes it only on
// evidence; kernels good on a neighbouring shape are often near the best
// of this one, so a search that begins there gets close sooner. With a
// journal the plan is recorded the first time and read back after, so a
// rerun proposes the same points even once the profile holds more shapes
// or a new winner; j may be nil. n = 0 without incumbent gives none and
// records nothing.
func searchStarts(w ops.Workload, task search.Task, prof *profiles.Profile, n int, incumbent bool, j *search.Journal) (startPlan, error) {
	if n <= 0 && !incumbent {
		return startPlan{}, nil
	}
	st := search.Task{Name: w.Task + "#starts", Env: task.Env}
	key := fmt.Sprintf("nearest=%d", max(n, 0))
	if incumbent {
		key += "/incumbent"
	}
	var ids []string
	var inc string
	if r, ok := j.Lookup(st, "starts", key); ok {
		ids, inc = strings.Fields(r.Params["ids"]), r.Params["incumbent"]
	} else {
		if e, exact, err := prof.Lookup(w.Op, w.Dtype, w.Dims); incumbent && exact && err == nil {
			inc = e.ID
		}
		for _, e := range prof.Neighbours(w.Op, w.Dtype, w.Dims, n) {
			if !slices.Contains(ids, e.ID) {
				ids = append(ids, e.ID)
			}
		}
		if j != nil {
			rec := search.Result{Task: st.Name, Env: st.Env, Kernel: "starts", ID: key, Status: search.OK, Params: map[string]string{"ids": strings.Join(ids, " "), "incumbent": inc}}
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
	for _, id := range ids {
		add(id)
	}
	return plan, nil
}

// startsLine tells the user where a search begins.
func startsLine(plan startPlan) string {
	starts := plan.neighbours()
	if len(starts) == 0 {
		return "starts: none from the profile (no other shape of this op and type whose winner this space holds)"
	}
	return fmt.Sprintf("starts: %d winners of the nearest tuned shapes: %s", len(starts), pointIDs(starts))
}

func pointIDs(ps []search.Point) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID()
	}
	return strings.Join(ids, ", ")
}
