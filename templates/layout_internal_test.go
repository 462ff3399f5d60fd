package templates

import (
	"testing"

	"github.com/tune-gpu/tune/quant"
)

// The GEMV's beside block is the one quant packs: the same groups a block,
// the same words.
func TestBesideBlockIsQuants(t *testing.T) {
	if blockGroups != quant.BlockGroups {
		t.Fatalf("the template's blocks hold %d groups, quant's %d", blockGroups, quant.BlockGroups)
	}
	for _, f := range quant.Formats() {
		if f.Group == 0 {
			continue
		}
		p := Gemv{Bits: f.Bits, Group: f.Group, Asym: f.Asym, Vec: 1, Layout: "beside"}
		_, v := p.view()
		if got := v.(gemvView).BlockVecs; got != f.BlockWords() {
			t.Errorf("%s: a block of %d words, quant's of %d", f, got, f.BlockWords())
		}
	}
}
