package ops

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// GemvExpertCases check k, a GEMV with templates.Gemv.Expert: three
// experts of rows x cols stacked in one tensor, the router having chosen
// experts 2 and 0 with scores 0.75 and 0.25; each slot computed with its
// rows scaled by its score and without. The output rows are those of the
// chosen expert alone (GemvFusedReference of its rows, k's fusions
// applied, the score after the norm's scale and before Acc's add), and the
// other experts' weights must not leak in.
func GemvExpertCases(k templates.Gemv, rows, cols int) ([]BlockCase, error) {
	if !k.Expert {
		return nil, fmt.Errorf("ops: %s reads no expert", k)
	}
	const experts = 3
	chosen, scores := []uint32{2, 0}, []float32{0.75, 0.25}
	f := quant.Format{Bits: k.Bits, Group: k.Group, Asym: k.Asym}
	stacked := GemvShape{Rows: experts * rows, Cols: cols}
	t, x, err := GemvInputs(stacked, f)
	if err != nil {
		return nil, err
	}
	fu := GemvFusionInputs(GemvShape{Rows: rows, Cols: cols})
	in := x
	if k.GLU {
		in = fu.GU
	}
	plain := k
	plain.Acc = false
	scratch := make([]float32, cols)
	var cs []BlockCase
	for slot := range chosen {
		for _, scaled := range []bool{true, false} {
			want, tol := make([]float32, rows), make([]float64, rows)
			y0 := make([]float32, rows)
			if k.Acc {
				copy(y0, fu.Y0)
			}
			for r := range rows {
				v, e := GemvFusedReference(t, x, fu, plain, int(chosen[slot])*rows+r, scratch)
				if scaled {
					v, e = v*float64(scores[slot]), e*float64(scores[slot])
				}
				v += float64(y0[r])
				want[r], tol[r] = float32(v), e+2*unitRoundoff*math.Abs(v)
			}
			dims := GemvExpertUniform(k, rows, cols, t.GroupLen(cols), 0, fu.Eps, 0, cols, slot, scaled)
			y := BlockBuffer{Name: "y", Data: F32Words(y0), Want: F32Words(want), Tol: tol}
			bufs := append(gemvCaseBuffers(k, dims, t, in, y, fu),
				BlockBuffer{Name: "chosen", Data: chosen},
				BlockBuffer{Name: "scores", Data: F32Words(scores)})
			cs = append(cs, BlockCase{Name: fmt.Sprintf("slot=%d/scaled=%t", slot, scaled), Groups: k.Groups(rows), Bufs: bufs})
		}
	}
	return cs, nil
}

// gemvCaseBuffers are the buffers of a case of k up to its fusions'
// extras, in GemvBindingsFor's order: the uniform dims, the codes and
// scales of t, the input x, the output y, t's mins for a format with a min,
// and fu's norm weight for a kernel with Norm.
func gemvCaseBuffers(k templates.Gemv, dims []uint32, t *quant.Tensor, x []float32, y BlockBuffer, fu GemvFusion) []BlockBuffer {
	bufs := []BlockBuffer{
		{Name: "dims", Data: dims},
		{Name: "w", Data: t.Words},
		{Name: "scales", Data: F32Words(t.Scales)},
		{Name: "x", Data: F32Words(x)},
		y,
	}
	if k.Asym {
		bufs = append(bufs, BlockBuffer{Name: "mins", Data: F32Words(t.Mins)})
	}
	if k.Norm {
		bufs = append(bufs, BlockBuffer{Name: "norm", Data: F32Words(fu.Norm)})
	}
	return bufs
}

// ExpertInputRef is templates.ExpertInput: rows of x (dim each) times the
// score each row gave expert among its k choices, 0 where it chose
// another.
func ExpertInputRef(x []float32, chosen []uint32, scores []float32, rows, dim, k, expert int) []float32 {
	out := make([]float32, rows*dim)
	for r := range rows {
		var w float32
		for j := range k {
			if int(chosen[r*k+j]) == expert {
				w = scores[r*k+j]
			}
		}
		for i := range dim {
			out[r*dim+i] = x[r*dim+i] * w
		}
	}
	return out
}

// ExpertInputBindings are templates.ExpertInput's bindings.
func ExpertInputBindings(templates.ExpertInput) []runner.Binding {
	return []runner.Binding{runner.Uniform, runner.ReadOnly, runner.ReadOnly, runner.ReadOnly, runner.ReadWrite}
}

// ExpertInputCases check k for a batch of rows choosing one and two of
// several experts, for an expert some rows chose in either slot and one no
// row chose: exact products, zeros elsewhere.
func ExpertInputCases(k templates.ExpertInput) ([]BlockCase, error) {
	var cs []BlockCase
	r := rand.New(rand.NewPCG(61, 67))
	for _, c := range []struct{ rows, dim, k, experts, expert int }{{7, 96, 1, 4, 2}, {5, 64, 2, 6, 3}, {3, 32, 2, 8, 7}} {
		x := uniform(r, c.rows*c.dim)
		chosen := make([]uint32, c.rows*c.k)
		scores := uniform(r, c.rows*c.k)
		for i := range chosen {
			chosen[i] = uint32(r.IntN(c.experts))
		}
		if c.expert < c.experts-1 {
			chosen[0], chosen[len(chosen)-1] = uint32(c.expert), uint32(c.expert) // chosen in the first and last slots
		} else {
			for i := range chosen {
				chosen[i] = uint32(r.IntN(c.experts - 1)) // chosen by no row
			}
		}
		want := ExpertInputRef(x, chosen, scores, c.rows, c.dim, c.k, c.expert)
		cs = append(cs, BlockCase{Name: fmt.Sprintf("rows=%d/dim=%d/k=%d/expert=%d", c.rows, c.dim, c.k, c.expert),
			Groups: k.Groups(c.rows, c.dim), Bufs: []BlockBuffer{
				{Name: "dims", Data: UniformWords(uint32(c.rows), uint32(c.dim), uint32(c.k), uint32(c.expert))},
				{Name: "x", Data: F32Words(x)},
				{Name: "chosen", Data: chosen},
				{Name: "scores", Data: F32Words(scores)},
				{Name: "out", Data: SentinelWords(c.rows * c.dim), Want: F32Words(want)},
			}})
	}
	return cs, nil
}
