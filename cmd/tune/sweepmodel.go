package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tune-gpu/tune/llama"
	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
)

// modelSweep is one sweep of the plan for a model: what tune sweep's -op,
// -fuse, -formats and -shapes would say.
type modelSweep struct{ op, fuse, formats, shapes string }

// modelPrefillRows is the prefill batch the GPU forward pass runs, and the
// GEMM and flash-prefill shapes tuned for it.
const modelPrefillRows = 512

// modelPlan lists the sweeps that tune every kernel the GPU forward pass
// of a model of shape o looks up with weights in format f: the fused GEMVs
// of the decode step (norm into Q/K/V, gate/up and the classifier; the
// attention output adding into the residual stream; SwiGLU into down), the
// prefill GEMMs, split decode attention at each context and flash prefill
// (with an MoE model's router and expert GEMMs), an MoE model's router
// and expert GEMVs, and the block kernels
// (norm, RoPE, SwiGLU, the quantized embedding); the attention kernels
// read int8 caches where kv8 is set.
func modelPlan(o llama.Options, f quant.Format, contexts []int, kv8 bool) []modelSweep {
	d, q, kv, h := o.Dim, o.QDim(), o.KVDim(), o.HiddenDim
	gemv := func(rows ...int) string {
		var s []string
		for i := 0; i+1 < len(rows); i += 2 {
			s = append(s, fmt.Sprintf("%dx%d", rows[i], rows[i+1]))
		}
		return strings.Join(s, ",")
	}
	heads := fmt.Sprintf("%dx%dx%d", o.NumHeads, o.NumKVHeads, o.HeadDim)
	var decode []string
	for _, c := range contexts {
		decode = append(decode, fmt.Sprintf("%dx%s", c, heads))
	}
	m := modelPrefillRows
	fm, cache := f.String(), "f32"
	if kv8 {
		cache = ops.AttnShape{KV8: true}.Dtype()
	}
	norm, glu := gemv(q+2*kv, d, 2*h, d, o.VocabSize, d), gemv(d, h)
	gemm := fmt.Sprintf("%dx%dx%d,%dx%dx%d,%dx%dx%d,%dx%dx%d", m, q+2*kv, d, m, d, q, m, 2*h, d, m, d, h)
	if o.Experts > 0 {
		// An MoE layer's router and its experts' gate/up (shared and
		// routed alike) normalise their input; their down GEMVs SwiGLU it.
		// A batched prompt runs them as GEMMs of the same shapes.
		e := o.ExpertHidden
		norm += "," + gemv(o.Experts, d, 2*e, d)
		glu += "," + gemv(d, e)
		for _, sh := range []string{fmt.Sprintf("%dx%dx%d", m, o.Experts, d), fmt.Sprintf("%dx%dx%d", m, 2*e, d), fmt.Sprintf("%dx%dx%d", m, d, e)} {
			if !strings.Contains(","+gemm+",", ","+sh+",") {
				gemm += "," + sh
			}
		}
	}
	plan := []modelSweep{
		{"gemv", "norm", fm, norm},
		{"gemv", "acc", fm, gemv(d, q)},
		{"gemv", "glu+acc", fm, glu},
		{"gemm", "", fm, gemm},
		{"attention-decode", "", cache, strings.Join(decode, ",")},
		{"attention-prefill", "", cache, fmt.Sprintf("%dx%s", m, heads)},
		{"rmsnorm", "", "f32", fmt.Sprintf("1x%d", d)},
		{"rope", "", "f32", fmt.Sprintf("%dx%d", o.NumHeads, o.HeadDim)},
		{"swiglu", "", "f32", strconv.Itoa(h)},
		{"embedq", "", fm, strconv.Itoa(d)},
	}
	return plan
}

// runModelSweep runs modelPlan for f.model, each sweep with f's search,
// timing and file flags; the roofs are measured once, and each sweep
// writes its own results file beside f.results.
func runModelSweep(ctx context.Context, stdout, stderr io.Writer, f sweepFlags, set map[string]bool) error {
	for _, name := range []string{"op", "shapes", "fuse", "where"} {
		if set[name] {
			return fmt.Errorf("parsing -model: -%s is set by the model's plan and cannot be given with it", name)
		}
	}
	o, err := llama.LoadShape(f.model)
	if err != nil {
		return fmt.Errorf("parsing -model: %w", err)
	}
	format := quant.Format{Bits: 4, Group: 32}
	if f.formats != "" {
		if format, err = quant.ParseFormat(f.formats); err != nil {
			return fmt.Errorf("parsing -formats: with -model, one weight format: %w", err)
		}
	}
	var contexts []int
	for _, s := range strings.Split(f.contexts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("parsing -contexts: %q is not a positive context length", s)
		}
		contexts = append(contexts, n)
	}
	prefix := strings.TrimSuffix(strings.TrimSuffix(f.results, ".txt"), ".bench")
	if prefix == "" {
		prefix = filepath.Join("out", "model")
	}
	kv8, err := parseKV(f.kv)
	if err != nil {
		return err
	}
	plan := modelPlan(o, format, contexts, kv8)
	// Every step's shapes are checked before the first sweep runs, so that
	// a context too long for the attention kernels fails now, not after
	// the GEMVs have been tuned.
	for _, s := range plan {
		var err error
		switch s.op {
		case "gemv":
			_, err = ops.ParseGemvShapes(s.shapes)
		case "gemm":
			_, err = ops.ParseGemmShapes(s.shapes)
		case "attention-decode", "attention-prefill":
			_, err = parseAttnShapes(s.shapes, s.formats)
		default:
			var op *ops.BlockOp
			if op, err = ops.LookupBlockOp(s.op); err == nil {
				_, err = op.ParseShapes(s.shapes)
			}
		}
		if err != nil {
			return fmt.Errorf("parsing -model/-contexts: the %s shapes of %s: %w", s.op, f.model, err)
		}
	}
	for i, s := range plan {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := s.op
		if s.fuse != "" {
			name += "-" + s.fuse
		}
		fmt.Fprintf(stderr, "model %s, sweep %d of %d: %s %s %s\n", f.model, i+1, len(plan), name, s.formats, s.shapes)
		args := []string{"-op", s.op, "-formats", s.formats, "-shapes", s.shapes,
			"-adapter", f.adapter, "-strategy", f.strategy, "-max-evals", strconv.Itoa(f.maxEvals),
			"-budget", f.budget.String(), "-seed", strconv.FormatUint(f.seed, 10),
			"-samples", strconv.Itoa(f.samples), "-target", f.target.String(),
			"-sentinel", strconv.Itoa(f.sentinel), "-lanes", strconv.Itoa(f.lanes),
			"-starts", strconv.Itoa(f.starts), "-others=" + strconv.FormatBool(f.others), "-incumbent=" + strconv.FormatBool(f.incumbent),
			"-roofs=" + strconv.FormatBool(f.roofs && i == 0),
			"-results", prefix + "." + name + ".bench.txt"}
		if s.fuse != "" {
			args = append(args, "-fuse", s.fuse)
		}
		if f.profile != "" {
			args = append(args, "-profile", f.profile)
		}
		if f.journal != "" {
			args = append(args, "-journal", f.journal)
		}
		if err := runSweep(ctx, stdout, stderr, args); err != nil {
			return fmt.Errorf("model %s, sweep %s: %w", f.model, name, err)
		}
	}
	return nil
}

// setFlags names the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	return set
}
