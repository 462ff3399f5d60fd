package main

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/reports"
)

// A synthetic model runs from token ids and prints the ids the CPU
// reference generates greedily from the same model.
func TestRunSynthetic(t *testing.T) {
	var stdout strings.Builder
	args := []string{"run", "-model", "synthetic:tiny", "-quant", "int4", "-ids", "-temperature", "0", "-steps", "12", "-prompt", "1, 5 9", "-profile", "../../profiles"}
	if err := run(context.Background(), &stdout, io.Discard, args); err != nil {
		t.Fatal(err)
	}
	m, err := llama.Synthetic("tiny", llama.SyntheticOptions{Format: &quant.Format{Bits: 4, Group: 32}})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := m.GenerateIDs([]int{1, 5, 9}, 12, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, id := range gen.IDs {
		want = append(want, strconv.Itoa(id))
	}
	if got := strings.TrimSpace(stdout.String()); got != strings.Join(want, " ") {
		t.Errorf("tune %s printed %q, want the CPU's %q", strings.Join(args, " "), got, strings.Join(want, " "))
	}
}

// The decode benchmark prints a row per context and writes results tune
// report reads: decode tok/s and B/s per context, prefill, the copy roof;
// the step's dispatches as a chain of reads of its bytes; with
// -breakdown, a table per context (each kernel's dispatches as reads too) of the step's kernels and their
// times in the results.
func TestRunDecodeBenchmark(t *testing.T) {
	var stdout strings.Builder
	path := filepath.Join(t.TempDir(), "decode.txt")
	args := []string{"run", "-model", "synthetic:tiny", "-quant", "int8", "-context", "16,8", "-steps", "4", "-prefill", "16",
		"-passes", "2", "-results", path, "-profile", "../../profiles", "-breakdown"}
	if err := run(context.Background(), &stdout, io.Discard, args); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"│ 8 ", "│ 16 ", "prefill 16 positions (batched)", "copy bandwidth", "(best of ",
		"step breakdown at context 8: 14 dispatches", "step breakdown at context 16", "argmax-parts", "256x128", "q, k, v",
		"host encode and submit", "read chain", "µs as reads"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("output has no %q:\n%s", s, stdout.String())
		}
	}
	set, err := reports.ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"Decode/dtype=int8-g32-sym/model=tiny/ctx=8/kernel=llama/steps=4",
		"Decodebytes/dtype=int8-g32-sym/model=tiny/ctx=16/kernel=llama/steps=4",
		"Prefill/dtype=int8-g32-sym/model=tiny/M=16/kernel=llama/prefill=batched",
		"Decodekernel/dtype=int8-g32-sym/model=tiny/ctx=16/kernel=llama/op=gemv/shape=256x128",
		"Decodekernel/dtype=int8-g32-sym/model=tiny/ctx=8/kernel=llama/op=argmax-merge/shape=512",
		"Decodestep/dtype=int8-g32-sym/model=tiny/ctx=8/kernel=llama/part=pass",
		"Decodestep/dtype=int8-g32-sym/model=tiny/ctx=16/kernel=llama/part=host",
	} {
		s := set.Series[name]
		if s == nil || len(s.Seconds) != 2 || len(s.Rate) != 2 {
			t.Errorf("results: %s: %+v", name, s)
		}
	}
	// count is the series named with prefix that hold samples rates.
	count := func(prefix string, samples int) int {
		n := 0
		for name, s := range set.Series {
			if strings.HasPrefix(name, prefix) && len(s.Rate) == samples {
				n++
			}
		}
		return n
	}
	if n := count("Readchain/dtype=int8-g32-sym/model=tiny/ctx=8/kernel=read-chain/dispatches=14/", 10); n != 1 {
		t.Errorf("results: %d read chains of the 14 dispatches at context 8, want 1", n)
	}
	if n := count("Readchain/dtype=int8-g32-sym/model=tiny/ctx=16/op=gemv/shape=256x128/kernel=read-chain/dispatches=2/", 10); n != 1 {
		t.Errorf("results: %d read chains of the q, k, v GEMVs at context 16, want 1", n)
	}
	if n := count("Roof/dtype=f32/kind=copy/", 10); n != 1 {
		t.Errorf("results: %d copy roofs of 10 samples, want the better of the two measured", n)
	}
	if set.Config["model"] != "synthetic:tiny" {
		t.Errorf("results config %v", set.Config)
	}
}

func TestRunSyntheticRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", "synthetic:tiny"}, "-ids"},
		{[]string{"-model", "synthetic:tiny", "-ids", "-prompt", "Once upon"}, "token ids"},
		{[]string{"-model", "synthetic:tiny", "-ids", "-prompt", "1 512"}, "outside"},
		{[]string{"-model", "synthetic:llama-5", "-ids"}, "unknown synthetic model"},
		{[]string{"-model", "synthetic:llama-3.2-1b", "-ids"}, "choose int8"},
		{[]string{"-model", "synthetic:tiny", "-context", "8,x"}, "-context"},
		{[]string{"-model", "synthetic:tiny", "-context", "4000", "-steps", "200"}, "at most 4096"},
		{[]string{"-model", "synthetic:tiny", "-context", "8", "-passes", "0"}, "-passes"},
		{[]string{"-model", "synthetic:tiny", "-ids", "-breakdown"}, "-context"},
	} {
		args := append([]string{"run", "-profile", "../../profiles"}, c.args...)
		err := run(context.Background(), io.Discard, io.Discard, args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tune %s: error %v, want one saying %q", strings.Join(args, " "), err, c.want)
		}
	}
}

// The read chain's columns: its rate, its share of the roofline and the
// decode rate's share of it; dashes where it was not measured.
func TestChainCells(t *testing.T) {
	if got := chainCells(500, 1000, 250); !slices.Equal(got, []string{"500.0", "50%", "50%"}) {
		t.Errorf("chainCells(500, 1000, 250) = %q", got)
	}
	if got := chainCells(0, 1000, 250); !slices.Equal(got, []string{"-", "-", "-"}) {
		t.Errorf("chainCells of no chain = %q", got)
	}
}
