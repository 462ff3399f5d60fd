package web

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
)

// kernelProfile has attention and block entries at small shapes, within
// WebGPU's default limits: prefill and split decode with f32 and int8
// caches, and every block op.
func kernelProfile(t *testing.T) *profiles.Profile {
	t.Helper()
	entry := func(op, dtype string, shape []int, kernel, id, unit string) profiles.Entry {
		params := map[string]string{}
		for _, f := range strings.Split(id, "/") {
			k, v, _ := strings.Cut(f, "=")
			params[k] = v
		}
		return profiles.Entry{Op: op, Dtype: dtype, Shape: shape, Kernel: kernel, ID: id, Params: params,
			Stats: profiles.Stats{Median: 1e-4, Lo: 9e-5, Hi: 1.1e-4, Samples: 10, Rate: 1e9, Unit: unit, Clock: "timestamp"}}
	}
	block := func(op, dtype string, shape []int, id string) profiles.Entry {
		bop, err := ops.LookupBlockOp(op)
		if err != nil {
			t.Fatal(err)
		}
		k, err := bop.KernelByID(id, dtype)
		if err != nil {
			t.Fatal(err)
		}
		return entry(op, dtype, shape, k.Name(), id, "B/s")
	}
	return &profiles.Profile{
		Schema:  profiles.SchemaVersion,
		Adapter: profiles.Adapter{Name: "test adapter", Backend: "vulkan", Type: "cpu"},
		Entries: []profiles.Entry{
			entry("attention-decode", "f32", []int{300, 8, 2, 32}, "flash-decode", "wg=64/bt=16/split=64/stagev=false", "B/s"),
			entry("attention-prefill", "f32", []int{37, 4, 2, 32}, "flash-prefill", "bq=16/bk=16/tr=16/tc=8", "FLOP/s"),
			entry("attention-decode", "kv-int8", []int{200, 4, 4, 32}, "flash-decode", "wg=32/bt=8/split=32/stagev=true", "B/s"),
			entry("attention-prefill", "kv-int8", []int{20, 2, 1, 32}, "flash-prefill", "bq=16/bk=16/tr=16/tc=8", "FLOP/s"),
			block("argmax", "f32", []int{5000}, "wg=256"),
			block("rmsnorm", "f32", []int{3, 600}, "wg=64"),
			block("rmsnorm", "f32-noweight", []int{8, 128}, "wg=32"),
			block("rope", "f32-half-freqs", []int{8, 64}, "wg=64"),
			block("swiglu", "f32", []int{1000}, "wg=128"),
			block("add", "f32", []int{1000}, "wg=64"),
			block("embed", "f32", []int{512}, "wg=64"),
			block("embedq", "int4-g32-asym", []int{512}, "wg=64"),
			block("softmax", "f32", []int{2, 1000}, "wg=256"),
			block("topp", "f32", []int{3000}, "wg=256/chunk=512"),
			block("router", "f32", []int{128, 8}, "wg=64"),
			block("matvec", "f32", []int{16, 256}, "wg=64/rows=2"),
		},
	}
}

func f32s(w []uint32) []float32 {
	out := make([]float32, len(w))
	for i, v := range w {
		out[i] = math.Float32frombits(v)
	}
	return out
}

// attnRef reads the queries and caches from their files by the layout
// the manifest documents (with int8 caches: four codes a word, lowest
// first, times the scale of their position and key/value head) and
// computes attention in float64 the plain way: scores over the positions
// up to the query's, softmax, and the weighted sum of values.
func attnRef(t *testing.T, dir string, k Kernel) func(i int) float64 {
	u := binding(t, k, "dims").Uniform
	heads, kvHeads, qLen, qPos := int(u[0]), int(u[1]), int(u[2]), int(u[3])
	hd := k.Shape[3]
	if !slices.Equal(k.Shape[1:], []int{heads, kvHeads, hd}) {
		t.Fatalf("uniform %v for shape %v", u, k.Shape)
	}
	q := f32s(readWords(t, filepath.Join(dir, binding(t, k, "q").File)))
	cache := func(name, scale string) []float32 {
		w := readWords(t, filepath.Join(dir, binding(t, k, name).File))
		if k.Dtype == "f32" {
			return f32s(w)
		}
		s := f32s(readWords(t, filepath.Join(dir, binding(t, k, scale).File)))
		out := make([]float32, 4*len(w))
		for i := range out {
			out[i] = float32(int8(w[i/4]>>(8*(i%4)))) * s[i/hd]
		}
		return out
	}
	kc, vc := cache("kcache", "kscale"), cache("vcache", "vscale")
	if len(kc) != (qPos+qLen)*kvHeads*hd {
		t.Fatalf("%d cache values for %d positions", len(kc), qPos+qLen)
	}
	dim := heads * hd
	return func(i int) float64 {
		query, h, d := i/dim, i%dim/hd, i%hd
		kv, p := h/(heads/kvHeads), qPos+i/dim
		scores := make([]float64, p+1)
		mx := math.Inf(-1)
		for s := range scores {
			for c := range hd {
				scores[s] += float64(q[query*dim+h*hd+c]) * float64(kc[(s*kvHeads+kv)*hd+c])
			}
			scores[s] /= math.Sqrt(float64(hd))
			mx = max(mx, scores[s])
		}
		var sum, out float64
		for s, v := range scores {
			e := math.Exp(v - mx)
			sum += e
			out += e * float64(vc[(s*kvHeads+kv)*hd+d])
		}
		return out / sum
	}
}

// Attention and block entries export: the WGSL and bindings agree with
// the manifest, attention's expected values are what the files give,
// decode's two dispatches share the partials, and the block kernels'
// whole checks hold the case's words with tolerances never smaller than
// ops's.
func TestExportAttentionAndBlocks(t *testing.T) {
	p := kernelProfile(t)
	dir := t.TempDir()
	m, err := Export(p, dir, Options{Portable: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Kernels) != len(p.Entries) {
		t.Fatalf("%d kernels, skipped %v", len(m.Kernels), m.Skipped)
	}
	if _, err := LoadManifest(dir); err != nil {
		t.Fatal(err)
	}
	// Exported twice, every file is the same.
	again := t.TempDir()
	if _, err := Export(p, again, Options{Portable: true}); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		x, _ := os.ReadFile(filepath.Join(dir, f.Name()))
		y, err := os.ReadFile(filepath.Join(again, f.Name()))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two exports (%v)", f.Name(), err)
		}
	}
	// A whole check's files must have the size the manifest says.
	tol := filepath.Join(again, m.Kernels[len(m.Kernels)-1].Checks[0].Tolerance)
	if err := os.WriteFile(tol, []byte{1, 2, 3, 4}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadManifest(again); err == nil || !strings.Contains(err.Error(), "has 4 bytes") {
		t.Errorf("a truncated tolerance file: error %v", err)
	}
	for i, k := range m.Kernels {
		e := p.Entries[i]
		t.Run(k.Name, func(t *testing.T) {
			checkFiles(t, dir, k, e)
			if k.Unit != e.Stats.Unit || len(k.Checks) == 0 {
				t.Fatalf("unit %s, %d checks", k.Unit, len(k.Checks))
			}
			switch k.Op {
			case "attention-prefill", "attention-decode":
				checkAttention(t, dir, k)
			default:
				checkBlock(t, dir, k, e)
			}
		})
	}
}

func checkAttention(t *testing.T, dir string, k Kernel) {
	c := k.Checks[0]
	checkSampled(t, k, c, attnRef(t, dir, k))
	seq, heads, hd := k.Shape[0], k.Shape[1], k.Shape[3]
	if k.Op == "attention-prefill" {
		if len(k.Dispatches) != 1 || c.Elements != seq*heads*hd || len(c.Index) != min(seq, 8)*heads*hd {
			t.Errorf("%d dispatches, %d of %d elements checked", len(k.Dispatches), len(c.Index), c.Elements)
		}
		return
	}
	// Decode: flash-decode writes the partials flash-reduce reads, and
	// the one query's output is checked whole.
	if len(k.Dispatches) != 2 || k.Dispatches[0].Kernel != "flash-decode" || k.Dispatches[1].Kernel != "flash-reduce" {
		t.Fatalf("dispatches %+v", k.Dispatches)
	}
	dec, red := k.Dispatches[0].Bindings, k.Dispatches[1].Bindings
	n := len(dec)
	if dec[n-2].Buffer != red[1].Buffer || dec[n-1].Buffer != red[2].Buffer || dec[n-2].Kind != ReadWrite || red[1].Kind != ReadOnly ||
		red[3].Buffer != c.Buffer || red[0].Buffer != dec[0].Buffer {
		t.Errorf("decode binds %+v, reduce %+v, check of buffer %d", dec, red, c.Buffer)
	}
	if c.Elements != heads*hd || len(c.Index) != c.Elements {
		t.Errorf("%d of %d elements checked", len(c.Index), c.Elements)
	}
	split := param(t, k, "split")
	if got := k.Dispatches[0].Groups[0]; got != (seq+split-1)/split || binding(t, k, "dims").Uniform[5] != uint32(split) {
		t.Errorf("decode of %d positions in splits of %d: %d groups, uniform %v", seq, split, got, binding(t, k, "dims").Uniform)
	}
	src, err := os.ReadFile(filepath.Join(dir, k.Dispatches[0].WGSL))
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(src), "\n")
	want := "/wg=" + k.Params["wg"] + "/bt=" + k.Params["bt"] + "/"
	if !strings.Contains(header, want) || strings.HasSuffix(header, "/stagev") != (k.Params["stagev"] == "true") {
		t.Errorf("WGSL header %q for params %v", header, k.Params)
	}
}

func checkBlock(t *testing.T, dir string, k Kernel, e profiles.Entry) {
	op, err := ops.LookupBlockOp(k.Op)
	if err != nil {
		t.Fatal(err)
	}
	kern, err := op.KernelByID(e.ID, e.Dtype)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := op.TimedCase(kern, e.Dtype, e.Shape)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, b := range c.Bufs {
		buf := k.Buffers[i]
		var got []uint32
		switch {
		case buf.Uniform != nil:
			got = buf.Uniform
		case buf.Fill != nil:
			got = slices.Repeat([]uint32{*buf.Fill}, buf.Words)
		default:
			got = readWords(t, filepath.Join(dir, buf.File))
		}
		if b.Want == nil {
			if !slices.Equal(got, b.Data) {
				t.Errorf("%s: contents differ from the case's", b.Name)
			}
			continue
		}
		if !slices.Equal(got, append(slices.Clone(b.Data), ops.SentinelWords(ops.GuardWords)...)) {
			t.Errorf("%s: contents differ from the case's with its guard band", b.Name)
		}
		ch := k.Checks[n]
		n++
		if ch.Buffer != i || ch.Elements != len(b.Want) || ch.Guard != ops.GuardWords || ch.Fill != ops.Sentinel || ch.Index != nil {
			t.Fatalf("%s: check %+v", b.Name, ch)
		}
		if !slices.Equal(readWords(t, filepath.Join(dir, ch.Expect)), b.Want) {
			t.Errorf("%s: expected words differ from the case's", b.Name)
		}
		for j, w := range f32s(readWords(t, filepath.Join(dir, ch.Tolerance))) {
			var tol float64
			if b.Tol != nil {
				tol = b.Tol[j]
			}
			if float64(w) < tol || (tol == 0) != (w == 0) || float64(w) > tol*(1+1e-6) {
				t.Fatalf("%s[%d]: tolerance %g for %g", b.Name, j, w, tol)
			}
		}
	}
	if n != len(k.Checks) {
		t.Errorf("%d checks for %d written buffers", len(k.Checks), n)
	}
	// Two whose answers are plain to see from the files: argmax's index is
	// the first largest input, checked exactly.
	if k.Op == "argmax" {
		x := f32s(readWords(t, filepath.Join(dir, binding(t, k, "x").File)))
		want := readWords(t, filepath.Join(dir, k.Checks[0].Expect))
		best := 0
		for i, v := range x {
			if v > x[best] {
				best = i
			}
		}
		if len(want) != 1 || want[0] != uint32(best) || len(x) != k.Shape[0] {
			t.Errorf("argmax expects %v of %d inputs, the largest is at %d", want, len(x), best)
		}
		if tol := readWords(t, filepath.Join(dir, k.Checks[0].Tolerance)); tol[0] != 0 {
			t.Errorf("argmax's check is not exact")
		}
	}
}

// An entry the profile's op cannot take is an error naming it.
func TestExportRejectsBadKernelEntries(t *testing.T) {
	for _, tc := range []struct {
		entry  int
		change func(e *profiles.Entry)
		err    string
	}{
		{0, func(e *profiles.Entry) { e.Shape = []int{300, 8, 2} }, "want [SEQ, HEADS, KV_HEADS, HEAD_DIM]"},
		{0, func(e *profiles.Entry) { e.Dtype = "f16" }, `dtype "f16"`},
		{0, func(e *profiles.Entry) { e.Shape = []int{300, 8, 3, 32} }, "multiple of key/value heads"},
		{0, func(e *profiles.Entry) { e.Shape = []int{100000, 8, 2, 32} }, "splits, more than"},
		{0, func(e *profiles.Entry) { e.Kernel = "flash-prefill" }, `kernel "flash-prefill"`},
		{1, func(e *profiles.Entry) { e.Shape = []int{37, 4, 2, 20} }, "head dim"},
		{1, func(e *profiles.Entry) { e.Stats.Unit = "B/s" }, `measured in "B/s"`},
		{4, func(e *profiles.Entry) { e.Dtype = "f32-half" }, `no variant "f32-half"`},
		{5, func(e *profiles.Entry) { e.Shape = []int{600} }, "takes rows x n"},
		{14, func(e *profiles.Entry) { e.Shape = []int{16, 17} }, "k 17 is more than"},
	} {
		p := kernelProfile(t)
		tc.change(&p.Entries[tc.entry])
		_, err := Export(p, filepath.Join(t.TempDir(), "out"), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("entry %d: error %v, want %q", tc.entry, err, tc.err)
		}
	}
}
