package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
)

func runRun(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("run", stderr, `Generate text with a Llama model on the GPU, with the adapter profile's kernels.
Stdout is the text as llama2.c's run.c prints it (or, with -ids, the token ids
from BOS); stderr has load time, tokens per second and the profile used.`)
	model := fs.String("model", "", "model: a llama2.c checkpoint (.bin) or a GGUF file (required)")
	tokenizer := fs.String("tokenizer", "", "llama2.c tokenizer.bin (required for .bin models; GGUF files carry theirs)")
	prompt := fs.String("prompt", "", "prompt text")
	steps := fs.Int("steps", 256, "positions to run, prompt included")
	temperature := fs.Float64("temperature", 1.0, "sampling temperature; 0 is greedy, computed on the GPU")
	topp := fs.Float64("topp", 0.9, "top-p (nucleus) sampling mass")
	seed := fs.Uint64("seed", 0, "random seed; 0 seeds from the clock, as run.c does")
	quantFlag := fs.String("quant", "f32", "weight format: f32, int8, int4 or int2")
	group := fs.Int("group", 32, "quantization group along the input: 32, 64, 128, or 0 for one per row")
	adapter := fs.String("adapter", "auto", "adapter: auto, an index or a name substring")
	profileFlag := fs.String("profile", "profiles", "profile file, or folder of profiles searched for the adapter's")
	ids := fs.Bool("ids", false, "print token ids instead of text")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" {
		return fmt.Errorf("parsing -model: a model file is required")
	}
	if strings.HasPrefix(*model, "synthetic:") {
		return fmt.Errorf("parsing -model: synthetic models are not built yet; give a .bin or .gguf file")
	}
	if *steps < 1 || *temperature < 0 || *topp < 0 || *topp > 1 {
		return fmt.Errorf("parsing -steps/-temperature/-topp: want steps >= 1, temperature >= 0, 0 <= topp <= 1")
	}
	format, err := parseQuant(*quantFlag, *group)
	if err != nil {
		return err
	}

	m, g, closeAll, err := openModel(*model, *tokenizer, *adapter, *profileFlag, format, *steps, stderr)
	if err != nil {
		return err
	}
	defer closeAll()

	tokens := m.Tokenizer.Encode(*prompt, true, false)
	gen, err := g.Generate(tokens, *steps, llama.NewSampler(float32(*temperature), float32(*topp), *seed))
	if err != nil {
		return err
	}
	if *ids {
		parts := make([]string, len(gen.IDs))
		for i, id := range gen.IDs {
			parts[i] = strconv.Itoa(id)
		}
		fmt.Fprintln(stdout, strings.Join(parts, " "))
	} else {
		fmt.Fprintln(stdout, gen.Text())
	}
	fmt.Fprintf(stderr, "prefill: %d positions, %.1f tok/s; decode: %d positions, %.1f tok/s\n",
		g.Prefill.Positions, g.Prefill.Rate(), g.Decode.Positions, g.Decode.Rate())
	return nil
}

// findProfile loads a profile file, or finds the adapter's in a folder;
// none found is a warning, not an error: built-in defaults are used.
func findProfile(path string, a profiles.Adapter, stderr io.Writer) (*profiles.Profile, string, error) {
	if strings.HasSuffix(path, ".yaml") {
		p, err := profiles.Load(path)
		return p, path, err
	}
	p, found, warnings, err := profiles.Find(filepath.Clean(path), a)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	return p, found, err
}

// parseQuant reads -quant and -group: nil for f32.
func parseQuant(name string, group int) (*quant.Format, error) {
	if name == "f32" {
		return nil, nil
	}
	bits, err := strconv.Atoi(strings.TrimPrefix(name, "int"))
	if err != nil || !strings.HasPrefix(name, "int") {
		return nil, fmt.Errorf("parsing -quant: %q is not f32, int8, int4 or int2", name)
	}
	f := quant.Format{Bits: bits, Group: group}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("parsing -quant/-group: %w", err)
	}
	return &f, nil
}

// openModel loads a model and its tokenizer, opens the adapter, finds the
// profile and uploads the model with room for context positions. The
// returned function releases it all.
func openModel(path, tokenizer, adapter, profile string, format *quant.Format, context int, stderr io.Writer) (*llama.Model, *llama.GPU, func(), error) {
	start := time.Now()
	fmt.Fprintf(stderr, "loading %s\n", path)
	var m *llama.Model
	var err error
	if strings.HasSuffix(path, ".gguf") {
		m, err = llama.LoadGGUF(path)
	} else if m, err = llama.LoadLlama2C(path); err == nil {
		if tokenizer == "" {
			err = fmt.Errorf("parsing -tokenizer: a llama2.c model needs its tokenizer.bin")
		} else {
			m.Tokenizer, err = llama.LoadTokenizerBin(tokenizer, m.VocabSize)
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	dev, err := runner.Open(adapter)
	if err != nil {
		return nil, nil, nil, err
	}
	prof, profPath, err := findProfile(profile, profileAdapter(dev.Info), stderr)
	if err != nil {
		dev.Close()
		return nil, nil, nil, err
	}
	progress := func(done, total int) {
		const width = 30
		fmt.Fprintf(stderr, "\ruploading [%-*s] %d/%d layers", width, strings.Repeat("=", done*width/total), done, total)
		if done == total {
			fmt.Fprintln(stderr)
		}
	}
	g, err := llama.NewGPU(dev, m, llama.GPUOptions{Quant: format, Profile: prof, Context: context, Progress: progress})
	if err != nil {
		dev.Close()
		return nil, nil, nil, err
	}
	fmt.Fprintf(stderr, "%d layers, dim %d, vocab %d on %s in %s\n", m.NumLayers, m.Dim, m.VocabSize, dev.Info.Name, time.Since(start).Round(time.Millisecond))
	if profPath != "" {
		fmt.Fprintf(stderr, "profile: %s\n", profPath)
	}
	if format != nil {
		fmt.Fprintf(stderr, "weights: %s (%d matrices; the rest f32)\n", format, g.Quantized)
	}
	return m, g, func() { g.Release(); dev.Close() }, nil
}
