package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/quant"
)

// calibrate quantizes a GGUF model's matrices to format and saves it at out
// with the input range of every matrix, measured by the CPU forward pass
// over the text (quant.ActAbsmaxPrefix keys), for static int8 activation
// scales; the file is read back and checked before it is reported.
func calibrate(stdout io.Writer, model, textPath, out, format string) error {
	if !strings.HasSuffix(model, ".gguf") {
		return fmt.Errorf("parsing -model: calibration needs a GGUF model (its metadata and tokenizer are copied), got %q", model)
	}
	if textPath == "" || out == "" {
		return fmt.Errorf("parsing -text/-out: -calibrate needs a text to run and a file to write")
	}
	f, err := quant.ParseFormat(format)
	if err != nil {
		return fmt.Errorf("parsing -format: %w", err)
	}
	if f != (quant.Format{Bits: 8, Group: 32}) && f != (quant.Format{Bits: 4, Group: 32}) {
		return fmt.Errorf("parsing -format: %s: calibrated models are saved as int8-g32-sym (Q8_0) or int4-g32-sym (Q4_0), the ggml types model loaders read", f)
	}
	m, err := llama.LoadGGUF(model)
	if err != nil {
		return err
	}
	if m.Tokenizer == nil {
		return fmt.Errorf("%s: no tokenizer to encode the text with", model)
	}
	text, err := os.ReadFile(textPath)
	if err != nil {
		return fmt.Errorf("parsing -text: %w", err)
	}
	tokens := m.Tokenizer.Encode(string(text), true, false)
	if len(tokens) > m.SeqLen {
		fmt.Fprintf(stdout, "text: %d tokens, calibrating on the first %d (the context)\n", len(tokens), m.SeqLen)
		tokens = tokens[:m.SeqLen]
	}
	absmax, err := m.Calibrate(tokens)
	if err != nil {
		return err
	}
	w, err := quant.Load(model)
	if err != nil {
		return err
	}
	var kept []string // rows the format cannot hold stay f32
	for name := range absmax {
		fl, ok := w.Float[name]
		if !ok || len(fl.Dims) != 2 {
			continue // already quantized in the file
		}
		rows, cols := int(fl.Dims[1]), int(fl.Dims[0])
		if cols%f.GroupLen(cols) != 0 || cols%32 != 0 {
			kept = append(kept, name)
			continue
		}
		t, err := quant.Quantize(fl.Data, rows, cols, f, quant.RTN)
		if err != nil {
			return fmt.Errorf("quantizing %s: %w", name, err)
		}
		delete(w.Float, name)
		w.Quant[name] = t
	}
	if w.Meta, err = quant.SetActAbsmax(w.Meta, absmax); err != nil {
		return err
	}
	if err := quant.Save(out, w); err != nil {
		return err
	}
	back, err := quant.Load(out)
	if err != nil {
		return err
	}
	got, err := quant.ActAbsmax(back.Meta)
	if err != nil {
		return err
	}
	if len(got) != len(absmax) {
		return fmt.Errorf("%s: %d calibrated ranges read back, %d written", out, len(got), len(absmax))
	}
	if _, err := llama.LoadGGUF(out); err != nil {
		return fmt.Errorf("%s does not load as a model: %w", out, err)
	}
	fmt.Fprintf(stdout, "calibrated %d matrices on %d tokens; wrote %s (%s, metadata %s<tensor>)\n", len(absmax), len(tokens), out, f, quant.ActAbsmaxPrefix)
	if len(kept) > 0 {
		slices.Sort(kept)
		fmt.Fprintf(stdout, "kept in f32 (inputs not a multiple of %d): %s\n", f.GroupLen(0), strings.Join(kept, ", "))
	}
	for _, wt := range m.Weights() {
		if a, ok := absmax[wt.Name]; ok {
			fmt.Fprintf(stdout, "%-28s absmax %-10.4g static scale %.4g\n", wt.Name, a, quant.StaticScale(a))
		}
	}
	return nil
}
