package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/search"
)

// searchStarts returns the points a search of w starts from: the winners of
// the op's n nearest other shapes in prof, nearest first, those w's space
// can hold. Kernels good on a neighbouring shape are often near the best of
// this one, so a search that begins there gets close sooner. With a
// journal the list is recorded the first time and read back after, so a
// rerun proposes the same points even once the profile holds more shapes;
// j may be nil. n = 0 gives none and records nothing.
func searchStarts(w ops.Workload, task search.Task, prof *profiles.Profile, n int, j *search.Journal) ([]search.Point, error) {
	if n <= 0 {
		return nil, nil
	}
	st := search.Task{Name: w.Task + "#starts", Env: task.Env}
	key := fmt.Sprintf("nearest=%d", n)
	var ids []string
	if r, ok := j.Lookup(st, "starts", key); ok {
		ids = strings.Fields(r.Params["ids"])
	} else {
		for _, e := range prof.Neighbours(w.Op, w.Dtype, w.Dims, n) {
			if !slices.Contains(ids, e.ID) {
				ids = append(ids, e.ID)
			}
		}
		if j != nil {
			rec := search.Result{Task: st.Name, Env: st.Env, Kernel: "starts", ID: key, Status: search.OK, Params: map[string]string{"ids": strings.Join(ids, " ")}}
			if err := j.Append(rec); err != nil {
				return nil, err
			}
		}
	}
	var out []search.Point
	for _, id := range ids {
		// A winner or a journal of an older space may name points this
		// one lacks.
		if p, err := w.Parse(id); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// startsLine tells the user where a search begins.
func startsLine(starts []search.Point) string {
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
