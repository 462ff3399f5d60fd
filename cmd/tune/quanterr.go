package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/quant"
)

func runQuantErrors(_ context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("quant", stderr, `Quantize every projection matrix of a model in each format, by round-to-nearest
and by the per-group scale search, and report the error: RMSE and max abs error.
With -calibrate: run the model's CPU forward pass over -text, record the largest |x| at
every matrix's input (static int8 activation scales), and save the model quantized in
-format with those ranges as metadata (tune.act_absmax.<tensor> = f32) to -out.`)
	model := fs.String("model", "", "model: a llama2.c checkpoint (.bin) or a GGUF file (required)")
	formats := fs.String("formats", "int8-g32-sym,int4-g32-sym,int4-g32-asym,int2-g32-sym,int2-g64-asym,int4-row-sym", "formats to compare")
	calib := fs.Bool("calibrate", false, "calibrate activation ranges over -text and save the quantized model to -out (GGUF models)")
	text := fs.String("text", "", "-calibrate: the text file to run")
	out := fs.String("out", "", "-calibrate: the GGUF file to write (atomically)")
	format := fs.String("format", "int8-g32-sym", "-calibrate: the weight format to save: int8-g32-sym or int4-g32-sym")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" {
		return fmt.Errorf("parsing -model: a model file is required")
	}
	if *calib {
		return calibrate(stdout, *model, *text, *out, *format)
	}
	var fmts []quant.Format
	for _, name := range strings.Split(*formats, ",") {
		f, err := quant.ParseFormat(strings.TrimSpace(name))
		if err != nil {
			return fmt.Errorf("parsing -formats: %w", err)
		}
		fmts = append(fmts, f)
	}
	var m *llama.Model
	var err error
	if strings.HasSuffix(*model, ".gguf") {
		m, err = llama.LoadGGUF(*model)
	} else {
		m, err = llama.LoadLlama2C(*model)
	}
	if err != nil {
		return err
	}
	tensors := map[string]quant.Float{}
	for _, w := range m.Weights() {
		if w.Rows > 1 {
			tensors[w.Name] = quant.Float{Dims: []uint64{uint64(w.Cols), uint64(w.Rows)}, Data: w.Data}
		}
	}
	rows, err := quant.Compare(tensors, fmts, []quant.Method{quant.RTN, quant.Search})
	if err != nil {
		return err
	}
	t := tablewriter.NewTable(stdout, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header("tensor", "format", "method", "RMSE", "max abs")
	for _, r := range rows {
		t.Append(r.Tensor, r.Format.String(), r.Method.String(), fmt.Sprintf("%.3g", r.RMSE), fmt.Sprintf("%.3g", r.MaxAbs))
	}
	return t.Render()
}
