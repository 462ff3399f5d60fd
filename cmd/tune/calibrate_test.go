package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/internal/testmodels"
	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/quant"
)

// tune quant -calibrate saves a quantized model whose metadata holds the
// input range of every matrix as the CPU forward pass over the text saw
// it; the model loads again.
func TestQuantCalibrate(t *testing.T) {
	model := filepath.Join(testmodels.Dir(), "stories260K.gguf")
	dir := t.TempDir()
	text := filepath.Join(dir, "t.txt")
	const words = "Once upon a time, there was a little girl named Lily."
	if err := os.WriteFile(text, []byte(words), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.gguf")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), &stdout, &stderr, []string{"quant", "-calibrate", "-model", model, "-text", text, "-out", out, "-format", "int4-g32-sym"}); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "calibrated 36 matrices") {
		t.Errorf("output:\n%s", stdout.String())
	}
	m, err := llama.LoadGGUF(model)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Calibrate(m.Tokenizer.Encode(words, true, false))
	if err != nil {
		t.Fatal(err)
	}
	w, err := quant.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := quant.ActAbsmax(w.Meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d ranges, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %g, want %g", k, got[k], v)
		}
	}
	if q := w.Quant["blk.0.attn_q.weight"]; q == nil || q.Format != (quant.Format{Bits: 4, Group: 32}) {
		t.Errorf("attn_q not saved as int4-g32-sym: %+v", q)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", "x.bin", "-text", text, "-out", out}, "needs a GGUF model"},
		{[]string{"-model", model, "-out", out}, "parsing -text/-out"},
		{[]string{"-model", model, "-text", text, "-out", out, "-format", "int2-g64-sym"}, "parsing -format"},
		{[]string{"-model", model, "-text", filepath.Join(dir, "none"), "-out", out}, "parsing -text"},
	} {
		err := run(context.Background(), &stdout, &stderr, append([]string{"quant", "-calibrate"}, c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
