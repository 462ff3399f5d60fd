package main

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/search"
)

// twoPoints restricts the matmul space to tinyIDs[1] and tinyIDs[2].
const twoPoints = "wgx=8,wgy=8,rm=2|4,rn=2,tk=8,vec=1,staged=true,prefetch=false,unroll=false"

// After a sweep of two shapes, buckets merges them when one kernel serves
// both, taking the cross timing from the journal or measuring it, checks
// the bucket on the midpoint shape, and lookups inside the range use it.
func TestBucketsOnDevice(t *testing.T) {
	dir := t.TempDir()
	prof, journal := filepath.Join(dir, "p.yaml"), filepath.Join(dir, "j.jsonl")
	sweep := []string{"sweep", "-shapes", "32x32x32,64x64x64", "-where", twoPoints, "-strategy", "exhaustive",
		"-samples", "10", "-target", "1ms", "-roofs=false", "-sentinel", "0",
		"-profile", prof, "-journal", journal, "-results", filepath.Join(dir, "r.txt")}
	if err := run(context.Background(), io.Discard, io.Discard, sweep); err != nil {
		t.Fatalf("tune %s: %v", strings.Join(sweep, " "), err)
	}
	// Make 32x32x32's winner the point that lost at 64x64x64, with its
	// journaled timing, so that the two shapes' winners differ.
	p, err := profiles.Load(prof)
	if err != nil {
		t.Fatal(err)
	}
	big, _, _ := p.Lookup("matmul", "f32", []int{64, 64, 64})
	small, _, _ := p.Lookup("matmul", "f32", []int{32, 32, 32})
	other := tinyIDs[1]
	if big.ID == other {
		other = tinyIDs[2]
	}
	results, err := search.ReadJournal(journal)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Task == "matmul/f32/M=32/N=32/K=32" && r.ID == other {
			small.ID, small.Params, small.Stats, small.RunnerUp = other, r.Params, stats(r.Measure), nil
		}
	}
	if small.ID != other {
		t.Fatalf("journal has no result of %s at 32x32x32", other)
	}
	p.Put(small)
	if err := p.Save(prof); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		journal string
		source  string // where the cross timing comes from
	}{
		{journal, "journal"},
		{filepath.Join(dir, "fresh.jsonl"), "measured"},
	} {
		t.Run(c.source, func(t *testing.T) {
			var stdout, stderr strings.Builder
			args := []string{"buckets", "-shapes", "32x32x32,64x64x64", "-where", twoPoints, "-holdout-evals", "2",
				"-samples", "10", "-target", "1ms", "-profile", prof, "-journal", c.journal}
			if err := run(context.Background(), &stdout, &stderr, args); err != nil {
				t.Fatalf("tune %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			p, err := profiles.Load(prof)
			if err != nil {
				t.Fatal(err)
			}
			// Either one bucket (one kernel within noise on both shapes) or
			// two; the cross timing's source shows in either.
			var sources []string
			for _, b := range p.Buckets {
				for _, m := range b.Members {
					sources = append(sources, m.Source)
				}
			}
			t.Logf("%d bucket(s), member sources %v", len(p.Buckets), sources)
			if len(p.Buckets) == 0 || len(sources) != 2 || !slices.Contains(sources, "winner") {
				t.Fatalf("buckets %+v", p.Buckets)
			}
			if len(p.Buckets) == 1 {
				b := p.Buckets[0]
				if !slices.Equal(b.Lo, []int{32, 32, 32}) || !slices.Equal(b.Hi, []int{64, 64, 64}) || !slices.Contains(sources, c.source) {
					t.Errorf("bucket %v..%v, sources %v; want 32..64 with a %s member", b.Lo, b.Hi, sources, c.source)
				}
				if len(b.Holdout) != 1 || !slices.Equal(b.Holdout[0].Shape, []int{48, 48, 48}) || b.Holdout[0].Evals != 2 || !(b.Holdout[0].Fraction > 0 && b.Holdout[0].Fraction <= 1) {
					t.Errorf("holdout %+v, want 48x48x48 with 2 evaluations and a fraction in (0, 1]", b.Holdout)
				}
				e, exact, err := p.Lookup("matmul", "f32", []int{40, 40, 40})
				if err != nil || exact || e.ID != b.ID {
					t.Errorf("Lookup inside the bucket = %s, %v, %v; want the bucket's %s", e.ID, exact, err, b.ID)
				}
				if !strings.Contains(stdout.String(), "32x32x32..64x64x64") || !strings.Contains(stdout.String(), "held out") {
					t.Errorf("table:\n%s", stdout.String())
				}
				var look strings.Builder
				if err := run(context.Background(), &look, io.Discard, []string{"lookup", "-dir", dir, "-shape", "40x40x40"}); err != nil {
					t.Fatal(err)
				}
				if want := "matmul f32 40x40x40: bucket 32x32x32..64x64x64; on held-out 48x48x48 "; !strings.Contains(look.String(), want) || !strings.Contains(look.String(), b.ID) {
					t.Errorf("tune lookup printed:\n%s\nwant %q and %s", look.String(), want, b.ID)
				}
			} else {
				// Two buckets of one shape each: the automatic held-out
				// shapes lie between members of a bucket, so there are none.
				for i, b := range p.Buckets {
					want := []int{32 << i, 32 << i, 32 << i}
					if len(b.Members) != 1 || !slices.Equal(b.Lo, want) || !slices.Equal(b.Hi, want) || len(b.Holdout) != 0 {
						t.Errorf("bucket %d: %v..%v, %d members, held out %+v; want %v alone, none held out", i, b.Lo, b.Hi, len(b.Members), b.Holdout, want)
					}
				}
			}
		})
	}
}

func TestBucketsFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-shapes", "32x32x32"}, "at least 2"},
		{[]string{"-shapes", "32x32"}, "parsing -shapes"},
		{[]string{"-op", "gemv", "-formats", "int5", "-shapes", "32x32,64x64"}, "parsing -op/-formats"},
		{[]string{"-shapes", "32x32x32,64x64x64", "-holdout", "1x2"}, "parsing -holdout"},
		{[]string{"-shapes", "32x32x32,64x64x64", "-strategy", "magic"}, "parsing -strategy"},
		{[]string{"-shapes", "32x32x32,64x64x64", "-profile", filepath.Join(dir, "none.yaml"), "-journal", filepath.Join(dir, "j")}, "run tune sweep over the shapes first"},
	} {
		err := run(context.Background(), io.Discard, io.Discard, append([]string{"buckets"}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tune buckets %s: error %v, want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

// Two reruns of a two-point tune: a row each, the device's resolution, and
// a verdict that matches the count of agreeing reruns (or says the device
// is too noisy to judge).
func TestStabilityOnDevice(t *testing.T) {
	var stdout strings.Builder
	args := []string{"stability", "-shape", "64x64x64", "-where", twoPoints, "-strategy", "exhaustive", "-reruns", "2", "-samples", "10", "-target", "1ms"}
	if err := run(context.Background(), &stdout, io.Discard, args); err != nil {
		t.Fatalf("tune %s: %v", strings.Join(args, " "), err)
	}
	out := stdout.String()
	if strings.Count(out, "wgx=8/wgy=8/rm=") < 3 {
		t.Errorf("want a row per rerun and the overall winner:\n%s", out)
	}
	if !strings.Contains(out, "reproducibility: the winner re-timed back to back differs from itself by ") {
		t.Errorf("no resolution measured:\n%s", out)
	}
	switch {
	case strings.Contains(out, "2/2 reruns agree (100%; criterion 95%): stable\n"):
	case strings.Contains(out, "1/2 reruns agree (50%; criterion 95%): not stable\n"):
	case strings.Contains(out, "2/2 reruns agree (100%; criterion 95%): stable: 2 of them picked the overall winner itself, which the device's noise (resolution "):
	case strings.Contains(out, " reruns agree (") && strings.Contains(out, "): undetermined: ") && strings.Contains(out, "5%; longer timings (now -samples 10 -target 1ms) average more of its noise\n"):
	default:
		t.Errorf("no consistent verdict:\n%s", out)
	}
	for _, bad := range [][]string{
		{"-shape", "64x64x64", "-reruns", "1"},
		{"-shape", "64x64x64", "-starts", "-1"},
		{"-op", "gemv", "-shape", "64x64"},
		{"-shape", "64x64x64,32x32x32"},
	} {
		if err := run(context.Background(), io.Discard, io.Discard, append([]string{"stability"}, bad...)); err == nil {
			t.Errorf("tune stability %s: no error", strings.Join(bad, " "))
		}
	}
}
