package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/search"
)

// A search starts from the winners of the nearest other shapes, and a
// journal keeps the list it started from, so a rerun starts the same way
// after the profile has gained a nearer shape.
func TestSearchStartsFromNeighboursAndJournalsThem(t *testing.T) {
	w := ops.Workload{
		Task: "matmul/f32/M=1024/N=1024/K=1024", Op: "matmul", Dtype: "f32", Dims: []int{1024, 1024, 1024},
		Space: ops.Space(ops.Limits{Invocations: 256, SizeX: 256, SizeY: 256, WorkgroupBytes: 16384}),
	}
	const (
		small = "wgx=8/wgy=8/rm=4/rn=4/tk=8/vec=4/staged=true/prefetch=true/unroll=false"
		big   = "wgx=16/wgy=16/rm=8/rn=8/tk=16/vec=4/staged=true/prefetch=true/unroll=true"
		same  = "wgx=4/wgy=8/rm=2/rn=2/tk=4/vec=1/staged=false/prefetch=false/unroll=false"
		near  = "wgx=32/wgy=4/rm=8/rn=4/tk=16/vec=4/staged=true/prefetch=true/unroll=false"
	)
	prof := &profiles.Profile{}
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{512, 512, 512}, ID: small})
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{4096, 4096, 4096}, ID: big})
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 1024}, ID: same})
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{2048, 2048, 2048}, ID: "wgx=3/not-a-point"})
	j, err := search.OpenJournal(filepath.Join(t.TempDir(), "j.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	task := search.Task{Name: w.Task, Env: "env"}
	starts := func(j *search.Journal) []string {
		t.Helper()
		ps, err := searchStarts(w, task, prof, 4, j)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.ID())
		}
		return ids
	}
	// The shape's own winner and an ID the space cannot parse are skipped.
	if got, want := starts(j), []string{small, big}; !slices.Equal(got, want) {
		t.Fatalf("starts %v, want %v", got, want)
	}
	prof.Put(profiles.Entry{Op: "matmul", Dtype: "f32", Shape: []int{1024, 1024, 512}, ID: near})
	if got, want := starts(j), []string{small, big}; !slices.Equal(got, want) {
		t.Errorf("with the journal, after the profile gained a nearer shape: starts %v, want the journaled %v", got, want)
	}
	if got, want := starts(nil), []string{near, small, big}; !slices.Equal(got, want) {
		t.Errorf("without a journal: starts %v, want %v", got, want)
	}
	if ps, err := searchStarts(w, task, prof, 0, j); err != nil || ps != nil || j.Len() != 1 {
		t.Errorf("no starts asked for: %v, %v, and the journal holds %d records, want none, nil and 1", ps, err, j.Len())
	}
}

// A GEMV winner profiled before the space had its fold axis still starts
// a search, as the unfolded kernel it was.
func TestSearchStartsReadOlderGemvIDs(t *testing.T) {
	f := quant.Format{Bits: 4, Group: 32}
	w := ops.Workload{
		Task: "gemv/int4-g32-sym/N=512/K=2048", Op: "gemv", Dtype: f.String(), Dims: []int{512, 2048},
		Space: ops.GemvSpace(f, ops.Limits{Invocations: 256, SizeX: 256, SizeY: 256, WorkgroupBytes: 16384}),
	}
	prof := &profiles.Profile{}
	prof.Put(profiles.Entry{Op: "gemv", Dtype: f.String(), Shape: []int{2048, 1024}, ID: "wg=32/rows=16/vec=4/unpack=unorm"})
	ps, err := searchStarts(w, search.Task{Name: w.Task}, prof, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].ID() != "wg=32/rows=16/vec=4/unpack=unorm/fold=false" {
		t.Errorf("starts %v, want the unfolded kernel", pointIDs(ps))
	}
}
