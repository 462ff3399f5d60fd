package llama

import (
	"math"
	"testing"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner/runnertest"
)

// On the device, f32, greedy: both files of stories260K reproduce run.c's
// reference token for token and byte for byte.
func TestGPUStoriesGreedy(t *testing.T) {
	d := runnertest.Device(t)
	ref := readReference(t)
	for _, name := range []string{"stories260K.bin", "stories260K.gguf"} {
		t.Run(name, func(t *testing.T) {
			m := loadStories(t, name)
			g, err := NewGPU(d, m, GPUOptions{Context: 256})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			gen, err := g.Generate([]int{m.Tokenizer.BOS}, 256)
			if err != nil {
				t.Fatal(err)
			}
			for i := range min(len(gen.IDs), len(ref.ids)) {
				if gen.IDs[i] != ref.ids[i] {
					t.Fatalf("token %d: got %d, want %d", i, gen.IDs[i], ref.ids[i])
				}
			}
			if len(gen.IDs) != len(ref.ids) {
				t.Fatalf("got %d tokens, want %d", len(gen.IDs), len(ref.ids))
			}
			if got := gen.Text(); got != ref.text {
				t.Errorf("text:\n got %q\nwant %q", got, ref.text)
			}
		})
	}
}

// Quantized weights on the device: the greedy run agrees with the f32
// reference for a prefix; how long is reported, and a floor guards against
// a broken path (a wrong kernel diverges at once).
func TestGPUStoriesQuantized(t *testing.T) {
	d := runnertest.Device(t)
	ref := readReference(t)
	m := loadStories(t, "stories260K.bin")
	for _, c := range []struct {
		f     quant.Format
		floor int
	}{{quant.Format{Bits: 8, Group: 32}, 16}, {quant.Format{Bits: 4, Group: 32}, 4}, {quant.Format{Bits: 2, Group: 32}, 1}} {
		t.Run(c.f.String(), func(t *testing.T) {
			f := c.f
			g, err := NewGPU(d, m, GPUOptions{Context: 256, Quant: &f})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Release()
			if g.Quantized == 0 {
				t.Fatal("no matrix was quantized")
			}
			gen, err := g.Generate([]int{m.Tokenizer.BOS}, 256)
			if err != nil {
				t.Fatal(err)
			}
			agree := 0
			for agree < min(len(gen.IDs), len(ref.ids)) && gen.IDs[agree] == ref.ids[agree] {
				agree++
			}
			t.Logf("%s: %d matrices quantized; the first %d of %d tokens agree with f32", f, g.Quantized, agree, len(ref.ids))
			if agree < c.floor {
				t.Errorf("only %d tokens agree; want at least %d", agree, c.floor)
			}
		})
	}
}

// The GPU's perplexity of the reference story agrees with the CPU
// reference forward pass.
func TestGPUNLLMatchesCPU(t *testing.T) {
	d := runnertest.Device(t)
	ref := readReference(t)
	m := loadStories(t, "stories260K.bin")
	ids := ref.ids[:64]
	g, err := NewGPU(d, m, GPUOptions{Context: len(ids)})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	gpu, n, err := g.NLL(ids)
	if err != nil {
		t.Fatal(err)
	}
	cache := m.NewKVCache(len(ids))
	var cpu float64
	for pos := 0; pos+1 < len(ids); pos++ {
		cpu -= logSoftmax(m.Forward(ids[pos], pos, cache), ids[pos+1])
	}
	if n != len(ids)-1 || math.Abs(gpu-cpu) > 1e-4*math.Abs(cpu) {
		t.Errorf("GPU NLL %.6f over %d tokens, CPU %.6f over %d", gpu, n, cpu, len(ids)-1)
	}
}
