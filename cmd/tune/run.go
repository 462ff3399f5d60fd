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
from BOS); stderr has load time, tokens per second and the profile used.

-model synthetic:NAME generates a model of a real shape with random weights
(N(0, 1/sqrt(fan in)), RMSNorm weights 1) directly in the -quant format; see
-model for the names. A synthetic model has no tokenizer: it needs -ids, takes
-prompt as token ids ("1 450 3681", or none for just BOS = 1) and prints ids.

With -context, run is a decode benchmark instead of a generation: for each
context length it fills the KV cache with random keys and values up to it,
times -passes passes of -steps greedy steps there, and prints tokens per
second against the bandwidth roofline (weights and KV cache read per token
over the copy bandwidth, measured on the device before the upload and after
the benchmark, the better kept), with the batched prefill of -prefill
positions; the measurements go to -results in the Go benchmark format, for
tune report. With -breakdown, each context also times every dispatch of one
step on its own (GPU timestamps between passes) and prints and records the
step's time by kernel and shape, with the bytes each moves, the step run in
one pass, and the host's time to encode and submit it.`)
	model := fs.String("model", "", "model: a llama2.c checkpoint (.bin), a GGUF file, or synthetic:NAME, NAME one of "+strings.Join(llama.SyntheticNames(), ", ")+" (required)")
	tokenizer := fs.String("tokenizer", "", "llama2.c tokenizer.bin (required for .bin models; GGUF files carry theirs)")
	prompt := fs.String("prompt", "", "prompt text; for a synthetic model, token ids separated by spaces or commas")
	steps := fs.Int("steps", 256, "positions to run, prompt included; with -context, greedy steps per timed pass")
	temperature := fs.Float64("temperature", 1.0, "sampling temperature; 0 is greedy, computed on the GPU")
	topp := fs.Float64("topp", 0.9, "top-p (nucleus) sampling mass")
	seed := fs.Uint64("seed", 0, "random seed; 0 seeds from the clock, as run.c does (synthetic weights: 0 is a fixed model)")
	quantFlag := fs.String("quant", "f32", "weight format: f32, int8, int4 or int2 (synthetic models are generated in it; f32 only for small ones)")
	group := fs.Int("group", 32, "quantization group along the input: 32, 64, 128, or 0 for one per row")
	kv := fs.String("kv", "f32", kvUsage)
	adapter := fs.String("adapter", "auto", "adapter: auto, an index or a name substring")
	profileFlag := fs.String("profile", "profiles", "profile file, or folder of profiles searched for the adapter's")
	ids := fs.Bool("ids", false, "print token ids instead of text (required for synthetic models)")
	contexts := fs.String("context", "", "decode benchmark: comma-separated context lengths, e.g. 128,512,1024,2048")
	prefill := fs.Int("prefill", 512, "decode benchmark: prompt positions of the timed batched prefill; 0 skips it")
	passes := fs.Int("passes", 10, "decode benchmark: timed passes per context and of the prefill")
	results := fs.String("results", "", "decode benchmark: results file (default out/<adapter>.decode.txt)")
	breakdown := fs.Bool("breakdown", false, "decode benchmark: time each dispatch of a step at each context and print where the step's time goes")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *model == "" {
		return fmt.Errorf("parsing -model: a model file or synthetic:NAME is required")
	}
	synthetic := strings.HasPrefix(*model, llama.SyntheticPrefix)
	if synthetic {
		if _, err := llama.SyntheticAbout(*model); err != nil {
			return fmt.Errorf("parsing -model: %w", err)
		}
	}
	if *steps < 1 || *temperature < 0 || *topp < 0 || *topp > 1 {
		return fmt.Errorf("parsing -steps/-temperature/-topp: want steps >= 1, temperature >= 0, 0 <= topp <= 1")
	}
	format, err := parseQuant(*quantFlag, *group)
	if err != nil {
		return err
	}
	kv8, err := parseKV(*kv)
	if err != nil {
		return err
	}
	src := modelSource{path: *model, tokenizer: *tokenizer, format: format, seed: *seed, kv8: kv8}
	if *breakdown && *contexts == "" {
		return fmt.Errorf("parsing -breakdown: it breaks down the steps of the decode benchmark; give -context too")
	}
	if *contexts != "" {
		b := decodeBench{src: src, adapter: *adapter, profile: *profileFlag, steps: *steps, prefill: *prefill, passes: *passes, results: *results, breakdown: *breakdown}
		if b.contexts, err = parseContexts(*contexts); err != nil {
			return err
		}
		return b.run(ctx, stdout, stderr)
	}
	var promptIDs []int
	if synthetic {
		if !*ids {
			return fmt.Errorf("parsing -ids: %s has no tokenizer; run it with -ids (stdout is then token ids) and give -prompt as token ids", *model)
		}
		if promptIDs, err = parseIDs(*prompt); err != nil {
			return fmt.Errorf("parsing -prompt: %s has no tokenizer, so the prompt must be token ids: %w", *model, err)
		}
	}

	m, g, closeAll, err := openGPU(src, *adapter, *profileFlag, *steps, 0, stderr)
	if err != nil {
		return err
	}
	defer closeAll()

	if !synthetic {
		promptIDs = m.Tokenizer.Encode(*prompt, true, false)
	} else if len(promptIDs) == 0 {
		promptIDs = []int{1} // BOS, as GenerateIDs takes it without a tokenizer
	}
	warned := len(g.Warnings)
	gen, err := g.Generate(promptIDs, *steps, llama.NewSampler(float32(*temperature), float32(*topp), *seed))
	if err != nil {
		return err
	}
	for _, w := range g.Warnings[warned:] { // kernels chosen for the prompt's batches
		fmt.Fprintf(stderr, "warning: %s\n", w)
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

// parseIDs reads token ids separated by spaces or commas.
func parseIDs(s string) ([]int, error) {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		id, err := strconv.Atoi(f)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("%q is not a token id", f)
		}
		out = append(out, id)
	}
	return out, nil
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

// kvUsage documents -kv.
const kvUsage = "KV cache: f32, or int8 (a scale per position and key/value head, a quarter of the bytes; for heads the flash attention kernels take)"

// parseKV reads -kv: whether the cache is int8.
func parseKV(name string) (bool, error) {
	switch name {
	case "f32":
		return false, nil
	case "int8":
		return true, nil
	}
	return false, fmt.Errorf("parsing -kv: %q is not f32 or int8", name)
}

// modelSource is where a model comes from: a file (with a llama2.c
// tokenizer) or a synthetic model generated in format from seed, and the
// format of its KV cache on the device.
type modelSource struct {
	path, tokenizer string
	format          *quant.Format
	seed            uint64
	kv8             bool
}

// progressBar draws a bar on stderr, redrawn at most every 100ms and when
// done.
func progressBar(stderr io.Writer, label string) func(done, total int64) {
	var last time.Time
	return func(done, total int64) {
		if done < total && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		const width = 30
		fmt.Fprintf(stderr, "\r%s [%-*s] %3d%%", label, width, strings.Repeat("=", int(done*width/total)), done*100/total)
		if done == total {
			fmt.Fprintln(stderr)
		}
	}
}

// load reads or generates the model.
func (s modelSource) load(stderr io.Writer) (*llama.Model, error) {
	if strings.HasPrefix(s.path, llama.SyntheticPrefix) {
		about, err := llama.SyntheticAbout(s.path)
		if err != nil {
			return nil, fmt.Errorf("parsing -model: %w", err)
		}
		name := "f32"
		if s.format != nil {
			name = s.format.String()
		}
		fmt.Fprintf(stderr, "generating %s in %s: %s\n", s.path, name, about)
		return llama.Synthetic(s.path, llama.SyntheticOptions{Format: s.format, Seed: s.seed, Progress: progressBar(stderr, "generating")})
	}
	fmt.Fprintf(stderr, "loading %s\n", s.path)
	if strings.HasSuffix(s.path, ".gguf") {
		return llama.LoadGGUF(s.path)
	}
	m, err := llama.LoadLlama2C(s.path)
	if err != nil {
		return nil, err
	}
	if s.tokenizer == "" {
		return nil, fmt.Errorf("parsing -tokenizer: a llama2.c model needs its tokenizer.bin")
	}
	m.Tokenizer, err = llama.LoadTokenizerBin(s.tokenizer, m.VocabSize)
	return m, err
}

// openModel loads a model file and its tokenizer, opens the adapter, finds
// the profile and uploads the model with room for context positions. The
// returned function releases it all.
func openModel(src modelSource, adapter, profile string, context int, stderr io.Writer) (*llama.Model, *llama.GPU, func(), error) {
	if strings.HasPrefix(src.path, llama.SyntheticPrefix) {
		return nil, nil, nil, fmt.Errorf("parsing -model: %s has no tokenizer; give a .bin or .gguf file", src.path)
	}
	return openGPU(src, adapter, profile, context, 0, stderr)
}

// openGPU loads the model, opens the adapter, finds the profile and uploads
// the model with room for context positions and prefill batches of batch
// (0: the default). It reports on stderr the load time, the profile and
// every kernel that is not the profile's.
func openGPU(src modelSource, adapter, profile string, context, batch int, stderr io.Writer) (*llama.Model, *llama.GPU, func(), error) {
	return openGPUWith(src, adapter, profile, context, batch, stderr, nil)
}

// openGPUWith is openGPU that calls opened, if set, with the device before
// the model is uploaded.
func openGPUWith(src modelSource, adapter, profile string, context, batch int, stderr io.Writer, opened func(*runner.Device) error) (*llama.Model, *llama.GPU, func(), error) {
	start := time.Now()
	m, err := src.load(stderr)
	if err != nil {
		return nil, nil, nil, err
	}
	loaded := time.Since(start)
	dev, err := runner.Open(adapter)
	if err != nil {
		return nil, nil, nil, err
	}
	prof, profPath, err := findProfile(profile, profileAdapter(dev.Info), stderr)
	if err == nil && opened != nil {
		err = opened(dev)
	}
	if err != nil {
		dev.Close()
		return nil, nil, nil, err
	}
	upload := time.Now()
	bar := progressBar(stderr, "uploading")
	g, err := llama.NewGPU(dev, m, llama.GPUOptions{Quant: src.format, Profile: prof, Context: context, Batch: batch, KV8: src.kv8,
		Progress: func(done, total int) { bar(int64(done), int64(total)) }})
	if err != nil {
		dev.Close()
		return nil, nil, nil, err
	}
	fmt.Fprintf(stderr, "%d layers, dim %d, vocab %d on %s: loaded in %s, uploaded in %s\n", m.NumLayers, m.Dim, m.VocabSize, dev.Info.Name,
		loaded.Round(time.Millisecond), time.Since(upload).Round(time.Millisecond))
	if profPath != "" {
		fmt.Fprintf(stderr, "profile: %s\n", profPath)
	} else {
		fmt.Fprintf(stderr, "profile: none for %s; built-in kernels\n", dev.Info.Name)
	}
	for _, w := range g.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if src.format != nil {
		fmt.Fprintf(stderr, "weights: %s (%d matrices; the rest f32)\n", src.format, g.Quantized)
	}
	if src.kv8 {
		fmt.Fprintf(stderr, "kv cache: int8, %d bytes per position over all layers\n", g.KVBytes(0))
	}
	fmt.Fprintf(stderr, "decode step: %d dispatches in one submission\n", g.DispatchesPerStep())
	return m, g, func() { g.Release(); dev.Close() }, nil
}
