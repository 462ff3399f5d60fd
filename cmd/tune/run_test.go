package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/internal/testmodels"
)

// tune run prints exactly what llama2.c's run.c printed for the reference
// run: greedy, 256 steps, no prompt, on the device.
func TestRunMatchesReferenceOutput(t *testing.T) {
	dir := testmodels.Dir()
	ref, err := os.ReadFile(dir + "stories260K.greedy256.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := strings.Cut(string(ref), "-----BEGIN STDOUT-----\n")
	want, _, _ = strings.Cut(want, "-----END STDOUT-----")
	var ids string
	for line := range strings.Lines(string(ref)) {
		if rest, ok := strings.CutPrefix(line, "seq_ids "); ok {
			_, ids, _ = strings.Cut(strings.TrimSpace(rest), ": ")
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", dir + "stories260K.bin", "-tokenizer", dir + "tok512.bin"}, want},
		{[]string{"-model", dir + "stories260K.gguf", "-ids"}, ids + "\n"},
	} {
		var stdout strings.Builder
		args := append([]string{"run", "-temperature", "0", "-steps", "256", "-profile", "../../profiles"}, c.args...)
		if err := run(context.Background(), &stdout, io.Discard, args); err != nil {
			t.Fatalf("tune %s: %v", strings.Join(args, " "), err)
		}
		if stdout.String() != c.want {
			t.Errorf("tune %s printed\n%q\nwant\n%q", strings.Join(args, " "), stdout.String(), c.want)
		}
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	dir := testmodels.Dir()
	for _, args := range [][]string{
		{"run"},
		{"run", "-model", "synthetic:llama-3.2-1b"},
		{"run", "-model", dir + "stories260K.bin"},
		{"run", "-model", dir + "stories260K.gguf", "-quant", "int3"},
		{"run", "-model", dir + "stories260K.gguf", "-steps", "0"},
		{"run", "-model", "/nonexistent.gguf"},
		{"run", "-model", dir + "tok512.bin", "-tokenizer", dir + "tok512.bin"},
	} {
		if err := run(context.Background(), io.Discard, io.Discard, args); err == nil {
			t.Errorf("tune %s: no error", strings.Join(args, " "))
		}
	}
}

// The error report covers every matrix in every format and method, and
// int8 is more accurate than int2 on each.
func TestQuantErrors(t *testing.T) {
	var out strings.Builder
	dir := testmodels.Dir()
	if err := run(context.Background(), &out, io.Discard, []string{"quant", "-model", dir + "stories260K.bin", "-formats", "int8-g32-sym,int2-g32-sym"}); err != nil {
		t.Fatal(err)
	}
	// 5 layers x 6 matrices of 64-wide rows, plus the embedding: 31 tensors,
	// 2 formats, 2 methods (w2's 172-wide rows do not fit a group of 32).
	if n := strings.Count(out.String(), "│ blk.") + strings.Count(out.String(), "│ token_embd"); n != 31*4 {
		t.Errorf("%d rows; want %d\n%s", n, 31*4, out.String())
	}
	if err := run(context.Background(), io.Discard, io.Discard, []string{"quant", "-model", dir + "stories260K.bin", "-formats", "int3-g32-sym"}); err == nil {
		t.Error("-formats int3: no error")
	}
}
