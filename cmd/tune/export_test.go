package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// tune export writes an export tune serve accepts; bad flags are errors
// that name the flag.
func TestExportAndServe(t *testing.T) {
	t.Chdir("../..")
	out := filepath.Join(t.TempDir(), "web")
	var stdout strings.Builder
	args := []string{"export", "-profile", "profiles/llvmpipe-llvm-15-0-6-256-bits.yaml", "-out", out, "-portable", "-max-bytes", "64MiB"}
	if err := run(context.Background(), &stdout, io.Discard, args); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"gemv-int4-g32-sym-512x2048: gemv wg=32/rows=16/vec=2/unpack=shift, native 713 MB/s, 256 elements checked\n",
		"skipped matmul f32 [512 512 512]: over WebGPU's default limits: 512 invocations per workgroup (limit 256)\n",
		"wrote 7 kernels to " + out,
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("tune export printed:\n%s\nwant a line %q", stdout.String(), want)
		}
	}

	// Serve until the context ends: here at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stdout.Reset()
	if err := run(ctx, &stdout, io.Discard, []string{"serve", "-export", out, "-addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if want := "serving 7 kernels of llvmpipe-llvm-15-0-6-256-bits.yaml (llvmpipe (LLVM 15.0.6, 256 bits)) at http://127.0.0.1:"; !strings.HasPrefix(stdout.String(), want) {
		t.Errorf("tune serve printed %q, want %q...", stdout.String(), want)
	}

	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"export", "-out", out}, "-profile is required"},
		{[]string{"export", "-profile", "profiles/llvmpipe-llvm-15-0-6-256-bits.yaml"}, "-out is required"},
		{[]string{"export", "-profile", "profiles/none.yaml", "-out", out}, "no such file"},
		{[]string{"export", "-profile", "profiles/llvmpipe-llvm-15-0-6-256-bits.yaml", "-out", out, "-max-bytes", "12XB"}, "parsing -max-bytes"},
		{[]string{"export", "-profile", "profiles/llvmpipe-llvm-15-0-6-256-bits.yaml", "-out", out, "-shapes", "3x3"}, `no entry has shape "3x3"`},
		{[]string{"serve"}, "-export is required"},
		{[]string{"serve", "-export", t.TempDir()}, "parsing -export"},
		{[]string{"serve", "-export", out, "-addr", "nowhere:-1"}, "parsing -addr"},
	} {
		err := run(context.Background(), io.Discard, io.Discard, tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("tune %s: error %v, want %q", strings.Join(tc.args, " "), err, tc.err)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "64MiB": 64 << 20, "3KiB": 3 << 10, "2GiB": 2 << 30} {
		if got, err := parseBytes(s); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-1", "1.5MiB", "MiB", "64MB", "99999999999GiB"} {
		if _, err := parseBytes(s); err == nil {
			t.Errorf("parseBytes(%q): no error", s)
		}
	}
}
