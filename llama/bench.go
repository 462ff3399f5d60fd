package llama

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner"
)

// The methods below serve decode benchmarks: they time the same submission
// loop Generate runs, at positions a benchmark chooses.

// FillCache writes random keys and values, N(0, 1) from seed, to positions
// 0..n-1 of every layer's cache, as if n positions had been run: a
// benchmark then decodes at position n without running them one by one.
// Attention's cost does not depend on the values.
func (g *GPU) FillCache(n int, seed uint64) error {
	if n < 0 || n > g.ctx {
		return fmt.Errorf("fill of %d positions: the context holds %d", n, g.ctx)
	}
	if n == 0 {
		return nil
	}
	kv := make([]float32, n*g.m.KVDim())
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	for i := range kv {
		kv[i] = float32(r.NormFloat64())
	}
	data := [][]byte{f32Bytes(kv), f32Bytes(kv)}
	if g.opts.KV8 {
		c := ops.QuantizeKV8(kv, g.m.NumKVHeads, g.m.HeadDim)
		data = [][]byte{u32Bytes(c.Words), u32Bytes(c.Words), f32Bytes(c.Scales), f32Bytes(c.Scales)}
	}
	for _, l := range g.layers {
		for i, b := range l.caches() {
			if err := g.write(b, 0, data[i]); err != nil {
				return err
			}
		}
	}
	return g.flush()
}

// DecodeSteps runs n greedy steps at positions pos..pos+n-1, the first on
// token, submitted back to back as Generate does, and returns the tokens
// they produced and the time from the first submission until the last
// token was read back.
func (g *GPU) DecodeSteps(token, pos, n int) ([]int, time.Duration, error) {
	if n < 1 || pos < 0 || pos+n > g.ctx {
		return nil, 0, fmt.Errorf("%d steps from position %d: the context holds %d", n, pos, g.ctx)
	}
	if err := g.setToken(token); err != nil {
		return nil, 0, err
	}
	g.dev.Wait()
	start := time.Now()
	for p := pos; p < pos+n; p += greedyChunk {
		if err := g.submitGreedy(p, min(pos+n, p+greedyChunk)); err != nil {
			return nil, 0, err
		}
	}
	ids, err := g.readHistory(pos+1, pos+n+1)
	return ids, time.Since(start), err
}

// PrefillTokens runs tokens at positions 0..len-1 as Generate runs a
// prompt (batched when Batchable) and returns the greedy token after the
// last and the time from the first submission until it was read back.
func (g *GPU) PrefillTokens(tokens []int) (int, time.Duration, error) {
	if len(tokens) == 0 || len(tokens) > g.ctx {
		return 0, 0, fmt.Errorf("prefill of %d positions: the context holds %d", len(tokens), g.ctx)
	}
	if err := g.prepareBatches(len(tokens)); err != nil {
		return 0, 0, err
	}
	g.dev.Wait()
	start := time.Now()
	if err := g.runPrompt(tokens); err != nil {
		return 0, 0, err
	}
	ids, err := g.readHistory(len(tokens), len(tokens)+1)
	if err != nil {
		return 0, 0, err
	}
	return ids[0], time.Since(start), nil
}

// Device is the device the model is on.
func (g *GPU) Device() *runner.Device { return g.dev }
