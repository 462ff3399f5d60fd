package llama

import (
	"fmt"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// blockKernels are the params of the decode and prefill steps' kernels
// other than the matrix products and attention: the workgroup size of each
// from the profile's entry for the block op it shares its loop with
// (tune sweep -op), else a built-in default.
type blockKernels struct {
	rms      templates.RMSNorm
	addNorm  templates.AddRMSNorm
	qkvRope  templates.QKVRope
	glu      templates.PackedSwiGLU
	embedWG  int // Embed or EmbedQuant
	argParts templates.ArgmaxParts
	argMerge templates.ArgmaxMerge
}

// normWG is the built-in workgroup of the norms. One workgroup reduces a
// whole row, so its threads' serial loads are what the norm costs: the
// more threads, the fewer each (ops' default for the sweep is smaller).
const normWG = 256

// Built-in two-stage argmax: chunks of 1024 logits, about a hundred
// workgroups for a 128256-token vocabulary, each thread reading four
// values; one workgroup merges the chunks' pairs.
var (
	defaultArgParts = templates.ArgmaxParts{WG: 256, Per: 4}
	defaultArgMerge = templates.ArgmaxMerge{WG: 256}
)

// chooseBlocks picks the block kernels for the model's shapes.
func (g *GPU) chooseBlocks() {
	o := g.m.Options
	norm := g.blockWG("rmsnorm", "f32", []int{1, o.Dim}, normWG)
	g.blk = blockKernels{
		rms:      templates.RMSNorm{WG: norm},
		addNorm:  templates.AddRMSNorm{WG: norm},
		qkvRope:  templates.QKVRope{WG: g.blockWG("rope", "f32", []int{o.NumHeads, o.HeadDim}, defaultWG), Freqs: o.RopeFreqs != nil},
		glu:      templates.PackedSwiGLU{WG: g.blockWG("swiglu", "f32", []int{o.HiddenDim}, defaultWG)},
		argParts: defaultArgParts,
		argMerge: defaultArgMerge,
	}
	if e := g.m.TokenEmbedding; e.Q != nil {
		g.blk.embedWG = g.blockWG("embedq", e.Q.Format.String(), []int{o.Dim}, defaultWG)
	} else {
		g.blk.embedWG = g.blockWG("embed", "f32", []int{o.Dim}, defaultWG)
	}
}

// blockWG is the workgroup size of the profile's kernel for block op name
// at the nearest tuned shape of dtype, or def; the choice is recorded but
// not warned about (the default is sound, only perhaps not the fastest).
func (g *GPU) blockWG(name, dtype string, shape []int, def int) int {
	op, err := ops.LookupBlockOp(name)
	if err != nil {
		panic(fmt.Sprintf("llama: %v", err)) // the names above are ops'
	}
	wg := def
	c, why := g.lookupEntry(name, dtype, shape, op.Space(ops.DeviceLimits(g.dev)), fmt.Sprintf("wg=%d", def), func(p search.Point) (string, error) {
		k, err := op.Kernel(p, dtype)
		if err != nil {
			return "", err
		}
		wg = int(k.WorkgroupSize()[0])
		return k.String(), nil
	})
	if why != "" {
		wg = def
	}
	g.choose(c)
	return wg
}
