package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
)

func runEval(_ context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("eval", stderr, `Perplexity of a model on a text, on the GPU, to compare weight formats:
exp of the mean negative log likelihood of each token given those before it.`)
	model := fs.String("model", "", "model: a llama2.c checkpoint (.bin) or a GGUF file (required)")
	tokenizer := fs.String("tokenizer", "", "llama2.c tokenizer.bin (for .bin models)")
	text := fs.String("text", "", "text file to score (required)")
	quantFlag := fs.String("quant", "f32", "weight format: f32, int8, int4 or int2")
	group := fs.Int("group", 32, "quantization group: 32, 64, 128, or 0 for one per row")
	kv := fs.String("kv", "f32", kvUsage)
	adapter := fs.String("adapter", "auto", "adapter: auto, an index or a name substring")
	profileFlag := fs.String("profile", "profiles", "profile file, or folder of profiles")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" || *text == "" {
		return fmt.Errorf("parsing -model/-text: both are required")
	}
	format, err := parseQuant(*quantFlag, *group)
	if err != nil {
		return err
	}
	kv8, err := parseKV(*kv)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(*text)
	if err != nil {
		return fmt.Errorf("parsing -text: %w", err)
	}
	m, g, closeAll, err := openModel(modelSource{path: *model, tokenizer: *tokenizer, format: format, kv8: kv8}, *adapter, *profileFlag, 0, stderr)
	if err != nil {
		return err
	}
	defer closeAll()
	ids := m.Tokenizer.Encode(string(body), true, false)
	if len(ids) > m.SeqLen {
		fmt.Fprintf(stderr, "warning: %d tokens; scoring the first %d (the model's context)\n", len(ids), m.SeqLen)
	}
	nll, n, err := g.NLL(ids)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("eval: the text has no token to predict")
	}
	fmt.Fprintf(stdout, "%s %s: %d tokens, mean NLL %.4f, perplexity %.4f\n", *model, *quantFlag, n, nll/float64(n), math.Exp(nll/float64(n)))
	return nil
}
