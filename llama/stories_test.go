package llama

import (
	"github.com/tune-gpu/tune/internal/testmodels"
	"os"
	"strconv"
	"strings"
	"testing"
)

var models = testmodels.Dir()

// reference is stories260K.greedy256.txt: llama2.c run.c on stories260K.bin
// with tok512.bin, temperature 0, 256 steps, no prompt.
type reference struct {
	ids  []int  // seq_ids: BOS, then the 256 generated tokens
	text string // stdout without the newline run.c prints at the end
}

func readReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile(models + "stories260K.greedy256.txt")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	s := string(b)
	for line := range strings.Lines(s) {
		if rest, ok := strings.CutPrefix(line, "seq_ids "); ok {
			_, list, _ := strings.Cut(rest, ": ")
			for f := range strings.FieldsSeq(list) {
				id, err := strconv.Atoi(f)
				if err != nil {
					t.Fatal(err)
				}
				ref.ids = append(ref.ids, id)
			}
		}
	}
	_, out, ok1 := strings.Cut(s, "-----BEGIN STDOUT-----\n")
	out, _, ok2 := strings.Cut(out, "-----END STDOUT-----")
	if !ok1 || !ok2 || len(ref.ids) != 257 {
		t.Fatalf("cannot parse reference: %d ids", len(ref.ids))
	}
	ref.text = strings.TrimSuffix(out, "\n")
	return ref
}

func loadStories(t *testing.T, name string) *Model {
	t.Helper()
	if strings.HasSuffix(name, ".gguf") {
		m, err := LoadGGUF(models + name)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m, err := LoadLlama2C(models + name)
	if err != nil {
		t.Fatal(err)
	}
	if m.Tokenizer, err = LoadTokenizerBin(models+"tok512.bin", m.VocabSize); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStoriesGreedy(t *testing.T) {
	ref := readReference(t)
	for _, name := range []string{"stories260K.bin", "stories260K.gguf"} {
		t.Run(name, func(t *testing.T) {
			m := loadStories(t, name)
			g, err := m.Generate("", 256, 0, 0.9, 1)
			if err != nil {
				t.Fatal(err)
			}
			for i := range min(len(g.IDs), len(ref.ids)) {
				if g.IDs[i] != ref.ids[i] {
					t.Fatalf("token %d: got %d, want %d", i, g.IDs[i], ref.ids[i])
				}
			}
			if len(g.IDs) != len(ref.ids) {
				t.Fatalf("got %d tokens, want %d", len(g.IDs), len(ref.ids))
			}
			if got := g.Text(); got != ref.text {
				t.Errorf("text:\n got %q\nwant %q", got, ref.text)
			}
		})
	}
}
