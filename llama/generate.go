package llama

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Sampler picks the next token from logits the way run.c's sample does.
type Sampler struct {
	Temperature float32 // 0 picks the argmax
	TopP        float32 // nucleus mass; <= 0 or >= 1 samples the whole distribution
	state       uint64  // xorshift64* state, never 0
	cands       []candidate
}

type candidate struct {
	prob  float32
	index int
}

// NewSampler returns a sampler with run.c's defaults and clamps: a negative
// temperature means greedy, a top-p outside [0, 1] means 0.9, and seed 0
// means "seed from the clock" (run.c's (unsigned int)time(NULL)), since
// xorshift never leaves state 0. Any other seed is the initial state, as
// run.c's -s sets it.
func NewSampler(temperature, topp float32, seed uint64) *Sampler {
	if temperature < 0 {
		temperature = 0
	}
	if topp < 0 || topp > 1 {
		topp = 0.9
	}
	if seed == 0 {
		seed = uint64(uint32(time.Now().Unix()))
	}
	return &Sampler{Temperature: temperature, TopP: topp, state: seed}
}

// randomU32 is run.c's random_u32, xorshift64*.
func (s *Sampler) randomU32() uint32 {
	s.state ^= s.state >> 12
	s.state ^= s.state << 25
	s.state ^= s.state >> 27
	return uint32((s.state * 0x2545F4914F6CDD1D) >> 32)
}

// randomF32 is run.c's random_f32, uniform in [0, 1).
func (s *Sampler) randomF32() float32 { return float32(s.randomU32()>>8) / 16777216 }

// Sample returns the next token. Unless greedy it divides logits by the
// temperature and softmaxes them in place, then draws one random number
// and samples the whole distribution or, with top-p, the smallest set of
// most likely tokens whose mass exceeds TopP.
func (s *Sampler) Sample(logits []float32) int {
	if s.Temperature == 0 {
		return argmax(logits)
	}
	for i := range logits {
		logits[i] /= s.Temperature
	}
	softmax(logits)
	coin := s.randomF32()
	if s.TopP <= 0 || s.TopP >= 1 {
		return sampleMult(logits, coin)
	}
	return s.sampleTopP(logits, coin)
}

// argmax returns the index of the largest value, the first among equals.
func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// sampleMult returns the index where the running sum of probs passes coin.
func sampleMult(probs []float32, coin float32) int {
	var cdf float32
	for i, p := range probs {
		cdf += p
		if coin < cdf {
			return i
		}
	}
	return len(probs) - 1 // rounding
}

// sampleTopP is run.c's sample_topp: tokens below (1-topp)/(n-1) cannot be
// in the nucleus and are dropped before sorting. The sort is stable, as
// glibc's merge-sort qsort is, so equal probabilities keep index order.
func (s *Sampler) sampleTopP(probs []float32, coin float32) int {
	cutoff := (1 - s.TopP) / float32(len(probs)-1)
	s.cands = s.cands[:0]
	for i, p := range probs {
		if p >= cutoff {
			s.cands = append(s.cands, candidate{p, i})
		}
	}
	if len(s.cands) == 0 { // only for NaN or a single token
		return sampleMult(probs, coin)
	}
	slices.SortStableFunc(s.cands, func(a, b candidate) int {
		switch {
		case a.prob > b.prob:
			return -1
		case a.prob < b.prob:
			return 1
		}
		return 0
	})
	var cum float32
	last := len(s.cands) - 1
	for i, c := range s.cands {
		cum += c.prob
		if cum > s.TopP {
			last = i
			break
		}
	}
	r := coin * cum
	var cdf float32
	for _, c := range s.cands[:last+1] {
		cdf += c.prob
		if r < cdf {
			return c.index
		}
	}
	return s.cands[last].index // rounding
}

// Generation is the result of Generate.
type Generation struct {
	IDs        []int    // the token at each position: the prompt (BOS first), then sampled tokens
	Pieces     []string // Pieces[i] is the text of IDs[i+1], decoded after IDs[i]; nil without a tokenizer
	Prompt     int      // how many of IDs came from the prompt
	EndedByBOS bool     // stopped because BOS came next (it is not in IDs)
}

// Text returns the generated text, the pieces joined.
func (g *Generation) Text() string { return strings.Join(g.Pieces, "") }

// Generate encodes prompt with a leading BOS (no EOS) and runs
// GenerateIDs.
func (m *Model) Generate(prompt string, steps int, temperature, topp float32, seed uint64) (*Generation, error) {
	if m.Tokenizer == nil {
		return nil, errors.New("llama: Generate: model has no tokenizer")
	}
	return m.GenerateIDs(m.Tokenizer.Encode(prompt, true, false), steps, temperature, topp, seed)
}

// GenerateIDs runs run.c's generation loop on the CPU for at most steps
// positions (steps <= 0 or above SeqLen means SeqLen): the prompt tokens
// (just BOS when empty) are forced, then tokens are sampled with
// NewSampler(temperature, topp, seed) until steps are done or BOS comes up.
// Temperature 0 is greedy.
func (m *Model) GenerateIDs(prompt []int, steps int, temperature, topp float32, seed uint64) (*Generation, error) {
	if len(prompt) == 0 {
		prompt = []int{1}
		if m.Tokenizer != nil {
			prompt[0] = m.Tokenizer.BOS
		}
	}
	for _, id := range prompt {
		if id < 0 || id >= m.VocabSize {
			return nil, fmt.Errorf("llama: prompt token %d outside a vocabulary of %d", id, m.VocabSize)
		}
	}
	if steps <= 0 || steps > m.SeqLen {
		steps = m.SeqLen
	}
	cache := m.NewKVCache(steps)
	forward := func(token, pos int) []float32 { return m.Forward(token, pos, cache) }
	return GenerateFunc(forward, m.Tokenizer, prompt, steps, NewSampler(temperature, topp, seed)), nil
}

// GenerateFunc is run.c's generation loop over any forward pass, such as a
// GPU one: forward(token, pos) returns the logits after token at pos. At
// each position below steps it feeds the current token, forces the next
// prompt token or samples one, and stops early when that is BOS (1 without
// a tokenizer). prompt must not be empty; tok may be nil (no Pieces).
func GenerateFunc(forward func(token, pos int) []float32, tok *Tokenizer, prompt []int, steps int, s *Sampler) *Generation {
	return GenerateTokens(func(token, pos int, forced bool) int {
		logits := forward(token, pos)
		if forced {
			return -1
		}
		return s.Sample(logits)
	}, tok, prompt, steps)
}

// GenerateTokens is the same loop over a step that picks the next token
// itself, such as a GPU forward pass ending in argmax: next(token, pos,
// forced) runs the model on token at pos; its answer is ignored when forced
// (the next token is the prompt's).
func GenerateTokens(next func(token, pos int, forced bool) int, tok *Tokenizer, prompt []int, steps int) *Generation {
	bos := 1
	if tok != nil {
		bos = tok.BOS
	}
	g := &Generation{IDs: []int{prompt[0]}}
	for pos := 0; pos < steps; pos++ {
		token := g.IDs[pos]
		forced := pos+1 < len(prompt)
		n := next(token, pos, forced)
		if forced {
			n = prompt[pos+1]
		}
		if n == bos {
			g.EndedByBOS = true
			break
		}
		g.IDs = append(g.IDs, n)
		if tok != nil {
			g.Pieces = append(g.Pieces, tok.Decode(token, n))
		}
	}
	g.Prompt = min(len(prompt), len(g.IDs))
	return g
}
