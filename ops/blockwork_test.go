package ops_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

var wideLimits = ops.Limits{Invocations: 1024, SizeX: 1024, SizeY: 1024, WorkgroupBytes: 16384}

// Every block op's space renders to kernels of its family for every
// variant, its default parses, and its default shapes are shapes it
// accepts.
func TestBlockOpsSpaces(t *testing.T) {
	for _, op := range ops.BlockOps {
		t.Run(op.Name, func(t *testing.T) {
			legal := op.Space(wideLimits).Legal()
			if len(legal) < 4 {
				t.Fatalf("%d legal points", len(legal))
			}
			for _, dtype := range op.Dtypes {
				for _, p := range legal {
					k, err := op.Kernel(p, dtype)
					if err != nil {
						t.Fatal(err)
					}
					if k.Name() != op.Name {
						t.Fatalf("point %s renders %s, want %s", p.ID(), k.Name(), op.Name)
					}
					if _, err := templates.Render(k); err != nil {
						t.Fatal(err)
					}
				}
				def, err := op.KernelByID("", dtype)
				if err != nil {
					t.Fatalf("default %q: %v", op.Default, err)
				}
				if def.Check() != nil {
					t.Errorf("default %s: %v", def, def.Check())
				}
				for _, cpu := range []bool{false, true} {
					a := runner.AdapterInfo{Type: "discrete-gpu"}
					if cpu {
						a.Type = "cpu"
					}
					for _, s := range op.DefaultShapes(a, dtype) {
						var parts []string
						for _, d := range s {
							parts = append(parts, strconv.Itoa(d))
						}
						if _, err := op.ParseShapes(strings.Join(parts, "x")); err != nil {
							t.Errorf("default shape %v: %v", s, err)
						}
						if c, bytes, err := op.TimedCase(def, dtype, s); err != nil || len(c.Bufs) != len(ops.BlockBindings(def)) || !(bytes > 0) {
							t.Errorf("timed case %v: %d buffers, %g bytes, %v", s, len(c.Bufs), bytes, err)
						}
					}
				}
			}
		})
	}
}

func TestBlockOpsReject(t *testing.T) {
	if _, err := ops.LookupBlockOp("rmsnorms"); err == nil {
		t.Error("LookupBlockOp accepted an unknown op")
	}
	rms, _ := ops.LookupBlockOp("rmsnorm")
	if _, err := rms.KernelByID("wg=64", "f16"); err == nil {
		t.Error("rmsnorm accepted dtype f16")
	}
	if _, err := rms.KernelByID("wg=48", "f32"); err == nil {
		t.Error("rmsnorm accepted wg=48, not a value of its axis")
	}
	q, _ := ops.LookupBlockOp("embedq")
	if k, err := q.KernelByID("wg=128", "int4-g64-asym"); err != nil || k != (templates.EmbedQ{Bits: 4, Group: 64, Asym: true, WG: 128}) {
		t.Errorf("embedq int4-g64-asym wg=128 = %v, %v", k, err)
	}
	for _, c := range []struct{ op, shapes string }{
		{"rmsnorm", "4096"}, {"rmsnorm", "70000x128"}, {"rmsnorm", "1x0"}, {"rmsnorm", "1xabc"},
		{"rope", "8x127"}, {"router", "16x9"}, {"router", "4x5"}, {"topp", "100000000"},
		{"matvec", "65536x65536"}, {"add", ""}, {"softmax", "1x-5"},
	} {
		op, err := ops.LookupBlockOp(c.op)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := op.ParseShapes(c.shapes); err == nil {
			t.Errorf("%s accepted shapes %q", c.op, c.shapes)
		}
	}
	if s, err := rms.ParseShapes("1x4096, 40x128"); err != nil || len(s) != 2 || s[1][0] != 40 {
		t.Errorf("ParseShapes(1x4096, 40x128) = %v, %v", s, err)
	}
}

// Every op's default kernel validates and is timed at a small shape on the
// device, and can be timed again; a kernel that computes the wrong thing is
// rejected, never timed.
func TestBlockEvaluators(t *testing.T) {
	d := runnertest.Device(t)
	timing := runner.TimeOptions{Samples: 10, Target: time.Millisecond, MaxRepeats: 20}
	small := map[string]string{
		"rmsnorm": "3x300", "rope": "4x64", "swiglu": "1000", "add": "1000", "embed": "96", "embedq": "128",
		"argmax": "5000", "softmax": "2x3000", "topp": "8000", "router": "128x8", "matvec": "20x300",
	}
	ctx := context.Background()
	for _, op := range ops.BlockOps {
		t.Run(op.Name, func(t *testing.T) {
			shapes, err := op.ParseShapes(small[op.Name])
			if err != nil {
				t.Fatal(err)
			}
			ws, err := ops.BlockWorkloads(d, op, op.Dtypes[len(op.Dtypes)-1:], shapes, timing)
			if err != nil || len(ws) != 1 {
				t.Fatalf("%d workloads, %v", len(ws), err)
			}
			w := ws[0]
			defer w.Eval.Close()
			base := w.EvaluateBaseline(ctx)
			if base.Status != search.OK || base.Measure.Unit != "B/s" || !(base.Score > 0) {
				t.Fatalf("baseline %s: %s %s, score %g", w.Baseline, base.Status, base.Reason, base.Score)
			}
			legal := w.Space.Legal()
			p := legal[len(legal)-1]
			if r := w.Eval.Evaluate(ctx, p); r.Status != search.OK {
				t.Fatalf("%s: %s", p.ID(), r.Reason)
			}
			if m, err := w.Eval.(search.Retimer).Retime(ctx, p); err != nil || !(m.Rate() > 0) {
				t.Errorf("retime %s: %v", p.ID(), err)
			}
			be := w.Eval.(*ops.BlockEvaluator)
			broken := *be
			broken.Source = func(k templates.Kernel) ([]byte, error) {
				src, err := templates.Render(k)
				// Every template stores a result through "] = ": store half.
				return []byte(strings.Replace(string(src), "] = ", "] = 0.5 * ", -1)), err
			}
			if r := broken.EvaluateKernel(ctx, w.Baseline.(templates.Kernel)); r.Status != search.Rejected || r.Measure != nil {
				t.Errorf("a kernel storing wrong values was %s (%s)", r.Status, r.Reason)
			}
		})
	}
}
