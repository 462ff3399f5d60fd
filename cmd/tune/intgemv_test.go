package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// intgemv times both GEMV paths on the same shape and formats, one row per
// format, and writes both to the results file under their own names.
func TestIntGemv(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "r.txt")
	var stdout, stderr bytes.Buffer
	args := []string{"intgemv", "-dir", dir, "-shapes", "64x256", "-formats", "int8-g32-sym,int4-g32-sym", "-samples", "10", "-target", "1ms", "-o", res}
	if err := run(context.Background(), &stdout, &stderr, args); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"SPEEDUP", "64x256  int8-g32-sym", "64x256  int4-g32-sym", "wg=64/rows=1/vec=1/unpack=shift"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BenchmarkGemv/dtype=int4-g32-sym/N=64/K=256/kernel=gemv/", "BenchmarkGemv-a8/dtype=int4-g32-sym/N=64/K=256/kernel=gemva8/", "BenchmarkQuantact/dtype=f32/K=256/kernel=quantact/wg=256/static=false"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("results lack %q", want)
		}
	}
	// The static scheme runs the same GEMV with the static quantizer.
	stdout.Reset()
	if err := run(context.Background(), &stdout, &stderr, append(args[:len(args)-2], "-static", "0.0078125", "-formats", "int8-g32-sym", "-o", res)); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if b, err := os.ReadFile(res); err != nil || !strings.Contains(string(b), "kernel=quantact/wg=256/static=true") {
		t.Errorf("static run: %v\n%s", err, b)
	}
}

func TestIntGemvFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-formats", "int4-g32-asym"}, "parsing -formats: quant: invalid: int4-g32-asym: the integer GEMV takes symmetric formats"},
		{[]string{"-formats", "int5-g32-sym"}, "parsing -formats"},
		{[]string{"-shapes", "64x"}, "parsing -shapes"},
		{[]string{"-samples", "3"}, "parsing -samples"},
		{[]string{"-static", "-1"}, "parsing -static"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), &stdout, &stderr, append([]string{"intgemv"}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
