package web

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
)

const lavapipeProfile = "../profiles/llvmpipe-llvm-15-0-6-256-bits.yaml"

func loadProfile(t *testing.T) *profiles.Profile {
	t.Helper()
	p, err := profiles.Load(lavapipeProfile)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readWords(t *testing.T, path string) []uint32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

func f32(w uint32) float64 { return float64(math.Float32frombits(w)) }

func binding(t *testing.T, k Kernel, name string) Buffer {
	t.Helper()
	for _, b := range k.Buffers {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("%s: no buffer %s", k.Name, name)
	return Buffer{}
}

func param(t *testing.T, k Kernel, name string) int {
	t.Helper()
	v, err := strconv.Atoi(k.Params[name])
	if err != nil {
		t.Fatalf("%s: param %s: %v", k.Name, name, err)
	}
	return v
}

// The manifest of the lavapipe profile says what the profile says, and its
// expected values are what a plain reading of its .bin files, by the
// layout the manifest documents, computes.
func TestExportManifest(t *testing.T) {
	p := loadProfile(t)
	dir := t.TempDir()
	m, err := ExportFile(lavapipeProfile, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	j1, _ := json.Marshal(m)
	j2, _ := json.Marshal(loaded)
	if !bytes.Equal(j1, j2) {
		t.Error("the manifest read back differs from the one Export returned")
	}
	if m.Schema != SchemaVersion || m.Profile != filepath.Base(lavapipeProfile) || m.Adapter.Name != p.Adapter.Name ||
		m.Adapter.Driver != p.Adapter.Driver || !m.Created.Equal(p.Created) || len(m.Skipped) != 0 {
		t.Errorf("manifest header: %+v", m)
	}
	if len(m.Kernels) != len(p.Entries) {
		t.Fatalf("%d kernels for %d entries", len(m.Kernels), len(p.Entries))
	}
	for i, k := range m.Kernels {
		e := p.Entries[i]
		t.Run(k.Name, func(t *testing.T) {
			if k.Op != e.Op || k.Dtype != e.Dtype || !slices.Equal(k.Shape, e.Shape) || k.ID != e.ID || !maps.Equal(k.Params, e.Params) {
				t.Errorf("kernel %+v for entry %+v", k, e)
			}
			n := k.Native
			if n.Median != e.Stats.Median || n.Rate != e.Stats.Rate || n.Unit != e.Stats.Unit || n.Clock != e.Stats.Clock || n.Samples != e.Stats.Samples {
				t.Errorf("native %+v, profile %+v", n, e.Stats)
			}
			if k.Unit != e.Stats.Unit {
				t.Errorf("unit %q", k.Unit)
			}
			checkFiles(t, dir, k, e)
			if len(k.Checks) != 1 {
				t.Fatalf("%d checks", len(k.Checks))
			}
			var ref func(i int) float64
			switch k.Op {
			case "matmul":
				ref = matmulRef(t, dir, k)
			case "gemv":
				ref = gemvRef(t, dir, k)
			default:
				t.Fatalf("op %s", k.Op)
			}
			checkSampled(t, k, k.Checks[0], ref)
		})
	}
}

// checkFiles checks that each dispatch's WGSL is the entry's kernel with
// its params, declares the workgroup size the manifest says and the
// bindings as the manifest binds them, and that every buffer has one
// source of contents.
func checkFiles(t *testing.T, dir string, k Kernel, e profiles.Entry) {
	t.Helper()
	if len(k.Dispatches) == 0 || k.Dispatches[0].Kernel != e.Kernel || k.Kernel != e.Kernel {
		t.Fatalf("dispatches %+v for kernel %s", k.Dispatches, e.Kernel)
	}
	for di, d := range k.Dispatches {
		if d.EntryPoint != "main" {
			t.Errorf("%s: entry point %q", d.Kernel, d.EntryPoint)
		}
		src, err := os.ReadFile(filepath.Join(dir, d.WGSL))
		if err != nil {
			t.Fatal(err)
		}
		// The template's header records the kernel and its params.
		header, _, _ := strings.Cut(string(src), "\n")
		if !strings.Contains(header, "tune kernel "+d.Kernel+" ") {
			t.Errorf("WGSL header %q", header)
		}
		// Decode's split is a uniform, its stagev a flag: checkAttention
		// reads them.
		if di == 0 && e.Op != "attention-decode" {
			for name, v := range e.Params {
				if !strings.Contains(header, name+"="+v) {
					t.Errorf("WGSL header %q lacks %s=%s", header, name, v)
				}
			}
		}
		if want := "@workgroup_size(" + strconv.Itoa(d.WorkgroupSize[0]) + ", " + strconv.Itoa(d.WorkgroupSize[1]) + ", " + strconv.Itoa(d.WorkgroupSize[2]) + ")"; !strings.Contains(string(src), want) {
			t.Errorf("%s: WGSL lacks %s", d.Kernel, want)
		}
		for j, b := range d.Bindings {
			if b.Index != j || b.Buffer < 0 || b.Buffer >= len(k.Buffers) {
				t.Fatalf("%s: binding %d is %+v", d.Kernel, j, b)
			}
			decl := map[string]string{Uniform: "var<uniform> ", ReadOnly: "var<storage, read> ", ReadWrite: "var<storage, read_write> "}[b.Kind]
			// Block kernels' checked cases name their buffers in their own
			// words; the others name them as the WGSL does.
			if _, err := ops.LookupBlockOp(k.Op); err != nil {
				decl += k.Buffers[b.Buffer].Name + ":"
			}
			if !strings.Contains(string(src), "@binding("+strconv.Itoa(j)+") "+decl) {
				t.Errorf("%s: WGSL declares no binding %d %s as %s", d.Kernel, j, k.Buffers[b.Buffer].Name, decl)
			}
		}
	}
	for _, b := range k.Buffers {
		sources := 0
		for _, set := range []bool{b.Uniform != nil, b.File != "", b.Fill != nil} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			t.Errorf("buffer %s: %d sources of contents", b.Name, sources)
		}
	}
}

// checkSampled checks a sampled check of an output that starts as the
// sentinel against ref, what the files give.
func checkSampled(t *testing.T, k Kernel, c Check, ref func(i int) float64) {
	t.Helper()
	out := k.Buffers[c.Buffer]
	if out.Fill == nil || *out.Fill != ops.Sentinel || c.Fill != ops.Sentinel || out.Words != c.Elements+c.Guard || c.Guard < 1024 || c.Expect != "" {
		t.Errorf("output buffer %+v, check %d elements + %d guard", out, c.Elements, c.Guard)
	}
	if len(c.Index) == 0 || len(c.Want) != len(c.Index) || len(c.Tol) != len(c.Index) {
		t.Fatalf("check of %d indices, %d wants, %d tolerances", len(c.Index), len(c.Want), len(c.Tol))
	}
	for n, i := range c.Index {
		if i < 0 || i >= c.Elements {
			t.Fatalf("checked element %d of %d", i, c.Elements)
		}
		want, tol := c.Want[n], c.Tol[n]
		if !(tol > 0) || math.Abs(ref(i)-want) > tol/100 {
			t.Fatalf("element %d: manifest wants %g within %g, the files give %g", i, want, tol, ref(i))
		}
	}
}

// matmulRef reads A and B from their files and the dims uniform.
func matmulRef(t *testing.T, dir string, k Kernel) func(int) float64 {
	dims := binding(t, k, "dims").Uniform
	m, n, kk := int(dims[0]), int(dims[1]), int(dims[2])
	if !slices.Equal(k.Shape, []int{m, n, kk}) || k.Work != 2*float64(m*n*kk) {
		t.Errorf("dims %v, work %g for shape %v", dims, k.Work, k.Shape)
	}
	tileM, tileN := param(t, k, "wgy")*param(t, k, "rm"), param(t, k, "wgx")*param(t, k, "rn")
	if g := k.Dispatches[0].Groups; g[0]*tileN < n || g[1]*tileM < m {
		t.Errorf("dispatch %v of %dx%d tiles does not cover %dx%d", g, tileM, tileN, m, n)
	}
	a := readWords(t, filepath.Join(dir, binding(t, k, "a").File))
	b := readWords(t, filepath.Join(dir, binding(t, k, "b").File))
	return func(i int) float64 {
		row, col := i/n, i%n
		var sum float64
		for l := 0; l < kk; l++ {
			sum += f32(a[row*kk+l]) * f32(b[l*n+col])
		}
		return sum
	}
}

// gemvRef: y = W x from the files.
func gemvRef(t *testing.T, dir string, k Kernel) func(int) float64 {
	f, err := quant.ParseFormat(k.Dtype)
	if err != nil {
		t.Fatal(err)
	}
	dims := binding(t, k, "dims").Uniform
	rows, cols, glen := int(dims[0]), int(dims[1]), int(dims[2])
	if !slices.Equal(k.Shape, []int{rows, cols}) || glen != f.GroupLen(cols) || dims[3] != 0 {
		t.Errorf("dims %v for shape %v", dims, k.Shape)
	}
	if per, g := param(t, k, "rows"), k.Dispatches[0].Groups; g[0]*g[1]*per < rows {
		t.Errorf("dispatch %v of %d rows does not cover %d", g, per, rows)
	}
	x := readWords(t, filepath.Join(dir, binding(t, k, "x").File))
	row := quantRow(t, dir, k)
	return func(r int) float64 {
		var sum float64
		for c, v := range row(r) {
			sum += float64(v) * f32(x[c])
		}
		return sum
	}
}

// quantProfile has what the lavapipe profile lacks: GEMM, and formats
// with a min. Its shapes are small, and its kernels within WebGPU's
// default limits. Entry 1 is an int4 GEMV, symmetric.
func quantProfile() *profiles.Profile {
	stats := func(unit string) profiles.Stats {
		return profiles.Stats{Median: 1e-3, Lo: 9e-4, Hi: 1.1e-3, Samples: 10, Rate: 1e9, Unit: unit, Clock: "timestamp"}
	}
	entry := func(op, dtype string, shape []int, id string) profiles.Entry {
		params := map[string]string{}
		for _, f := range strings.Split(id, "/") {
			k, v, _ := strings.Cut(f, "=")
			params[k] = v
		}
		unit := "FLOP/s"
		if op == "gemv" {
			unit = "B/s"
		}
		return profiles.Entry{Op: op, Dtype: dtype, Shape: shape, Kernel: op, ID: id, Params: params, Stats: stats(unit)}
	}
	return &profiles.Profile{
		Schema:  profiles.SchemaVersion,
		Adapter: profiles.Adapter{Name: "test adapter", Backend: "vulkan", Type: "cpu"},
		Entries: []profiles.Entry{
			entry("gemm", "int4-g32-asym", []int{37, 72, 256}, "wgx=8/wgy=16/rm=4/rn=4/tk=16/vec=4/prefetch=true/unroll=true"),
			entry("gemv", "int4-g32-sym", []int{100, 512}, "wg=64/rows=4/vec=2/unpack=shift/fold=true"),
			entry("gemv", "int2-row-asym", []int{70, 256}, "wg=32/rows=2/vec=1/unpack=vec"), // from before the fold axis
			entry("gemv", "int4-g32-sym", []int{66, 512}, "wg=32/rows=4/vec=1/unpack=half/fold=false/split=4"),
			entry("gemm", "int8-g64-sym", []int{16, 40, 128}, "wgx=8/wgy=8/rm=2/rn=2/tk=32/vec=2/prefetch=false/unroll=false"),
			entry("gemv", "int4-g32-asym", []int{37, 256}, "wg=32/rows=2/vec=2/unpack=shift/fold=false/layout=beside"),
		},
	}
}

// GEMM, formats with a min, a K-split GEMV (its parts' sums, then their
// reduce) and a GEMV with its scales beside the codes: the expected values
// are what the .bin files give by the documented packing.
func TestExportQuantized(t *testing.T) {
	dir := t.TempDir()
	m, err := Export(quantProfile(), dir, Options{Portable: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Kernels) != 6 {
		t.Fatalf("%d kernels, skipped %v", len(m.Kernels), m.Skipped)
	}
	for _, k := range m.Kernels {
		t.Run(k.Name, func(t *testing.T) {
			f, err := quant.ParseFormat(k.Dtype)
			if err != nil {
				t.Fatal(err)
			}
			hasMins := slices.ContainsFunc(k.Buffers, func(b Buffer) bool { return b.Name == "mins" })
			if hasMins != f.Asym || (f.Asym && k.Buffers[len(k.Buffers)-1].Name != "mins") {
				t.Errorf("mins binding: %v for %s", hasMins, f)
			}
			var ref func(int) float64
			if k.Op == "gemv" {
				ref = gemvRef(t, dir, k)
			} else {
				ref = gemmRef(t, dir, k)
			}
			c := k.Checks[0]
			checkSampled(t, k, c, ref)
			if n := c.Elements; n <= 256 && len(c.Index) != n {
				t.Errorf("%d of %d elements checked; a small output is checked whole", len(c.Index), n)
			}
		})
	}
}

// quantRow decodes row r of W from its files by the documented packing:
// code c is bits (c % per)*bits of word r*wpr + c/per; its value is
// (u - 2^(bits-1)) * scale, or u*scale + min.
func quantRow(t *testing.T, dir string, k Kernel) func(r int) []float32 {
	wb := binding(t, k, "w")
	q := wb.Layout.Quant
	f, err := quant.ParseFormat(k.Dtype)
	if err != nil {
		t.Fatal(err)
	}
	cols := wb.Layout.Cols
	if q != nil && q.Scales == "w" {
		return besideRow(t, dir, k, f, q, cols)
	}
	if q == nil || q.Format != k.Dtype || q.Bits != f.Bits || q.Group != f.Group || q.Symmetric == f.Asym || q.CodesPerWord != 32/f.Bits || q.WordsPerRow != cols*f.Bits/32 {
		t.Fatalf("layout %+v for %s", wb.Layout, f)
	}
	w := readWords(t, filepath.Join(dir, wb.File))
	scales := readWords(t, filepath.Join(dir, binding(t, k, "scales").File))
	var mins []uint32
	if f.Asym {
		mins = readWords(t, filepath.Join(dir, binding(t, k, q.Mins).File))
	}
	glen := f.GroupLen(cols)
	per, wpr, groups := q.CodesPerWord, q.WordsPerRow, cols/glen
	return func(r int) []float32 {
		row := make([]float32, cols)
		for c := range row {
			u := w[r*wpr+c/per] >> (uint(c%per) * uint(f.Bits)) & (1<<f.Bits - 1)
			s := math.Float32frombits(scales[r*groups+c/glen])
			if f.Asym {
				row[c] = float32(float32(u)*s) + math.Float32frombits(mins[r*groups+c/glen])
			} else {
				row[c] = float32(int(u)-1<<(f.Bits-1)) * s
			}
		}
		return row
	}
}

// besideRow decodes row r of W from the beside layout: each row blocks of
// four groups, their code words (packed as in quantRow), then their four
// scales and, asymmetric, four mins.
func besideRow(t *testing.T, dir string, k Kernel, f quant.Format, q *Quant, cols int) func(r int) []float32 {
	codes := 4 * f.Group * f.Bits / 32
	block := codes + 4
	if f.Asym {
		block += 4
	}
	if q.Format != k.Dtype || q.Mins != map[bool]string{true: "w", false: ""}[f.Asym] || q.WordsPerRow != cols/(4*f.Group)*block {
		t.Fatalf("beside layout %+v for %s", q, f)
	}
	w := readWords(t, filepath.Join(dir, binding(t, k, "w").File))
	per := 32 / f.Bits
	return func(r int) []float32 {
		row := make([]float32, cols)
		for c := range row {
			b := r*q.WordsPerRow + c/(4*f.Group)*block
			u := w[b+c%(4*f.Group)/per] >> (uint(c%per) * uint(f.Bits)) & (1<<f.Bits - 1)
			g := c / f.Group % 4
			s := math.Float32frombits(w[b+codes+g])
			if f.Asym {
				row[c] = float32(float32(u)*s) + math.Float32frombits(w[b+codes+4+g])
			} else {
				row[c] = float32(int(u)-1<<(f.Bits-1)) * s
			}
		}
		return row
	}
}

// gemmRef: C = A x W^T from the files.
func gemmRef(t *testing.T, dir string, k Kernel) func(int) float64 {
	dims := binding(t, k, "dims").Uniform
	m, n, kk := int(dims[0]), int(dims[1]), int(dims[2])
	f, _ := quant.ParseFormat(k.Dtype)
	if !slices.Equal(k.Shape, []int{m, n, kk}) || int(dims[3]) != f.GroupLen(kk) || k.Work != 2*float64(m*n*kk) {
		t.Errorf("dims %v, work %g for shape %v", dims, k.Work, k.Shape)
	}
	tileM, tileN := param(t, k, "wgy")*param(t, k, "rm"), param(t, k, "wgx")*param(t, k, "rn")
	if g := k.Dispatches[0].Groups; g[0]*tileN < n || g[1]*tileM < m {
		t.Errorf("dispatch %v of %dx%d tiles does not cover %dx%d", g, tileM, tileN, m, n)
	}
	a := readWords(t, filepath.Join(dir, binding(t, k, "a").File))
	row := quantRow(t, dir, k)
	return func(i int) float64 {
		r, c := i/n, i%n
		w := row(c)
		var sum float64
		for l := 0; l < kk; l++ {
			sum += f32(a[r*kk+l]) * float64(w[l])
		}
		return sum
	}
}

// An export is the same bytes every time: inputs come from fixed seeds.
func TestExportIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if _, err := ExportFile(lavapipeProfile, dir, Options{Shapes: []string{"512x2048"}}); err != nil {
			t.Fatal(err)
		}
	}
	files, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("%d files", len(files))
	}
	for _, f := range files {
		x, _ := os.ReadFile(filepath.Join(a, f.Name()))
		y, err := os.ReadFile(filepath.Join(b, f.Name()))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two exports (%v)", f.Name(), err)
		}
	}
}

func TestExportOptions(t *testing.T) {
	p := loadProfile(t)
	for _, tc := range []struct {
		name    string
		opts    Options
		kernels int
		skip    string // in every skip reason
		err     string
	}{
		{"portable", Options{Portable: true}, len(p.Entries) - 1, "512 invocations per workgroup (limit 256)", ""},
		{"shapes", Options{Shapes: []string{"512x2048", "128x768x256"}}, 4, "not in -shapes", ""},
		{"max bytes", Options{MaxBytes: 1 << 20}, 3, "over the limit of 1048576", ""},
		{"unknown shape", Options{Shapes: []string{"512x2048", "7x7"}}, 0, "", `no entry has shape "7x7"`},
		{"everything skipped", Options{MaxBytes: 1000}, 0, "", "every entry was skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			m, err := Export(p, dir, tc.opts)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a failed export created %s", dir)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Kernels) != tc.kernels || len(m.Kernels)+len(m.Skipped) != len(p.Entries) {
				t.Fatalf("%d kernels, %d skipped; want %d kernels", len(m.Kernels), len(m.Skipped), tc.kernels)
			}
			for _, s := range m.Skipped {
				if !strings.Contains(s.Reason, tc.skip) {
					t.Errorf("skipped %s %v: %q, want %q", s.Op, s.Shape, s.Reason, tc.skip)
				}
			}
			for _, k := range m.Kernels {
				if tc.opts.MaxBytes > 0 && k.Requires.TotalBytes > tc.opts.MaxBytes {
					t.Errorf("%s: %d bytes exported", k.Name, k.Requires.TotalBytes)
				}
				if tc.opts.Portable && k.Requires.over(DefaultLimits) != "" {
					t.Errorf("%s is over the default limits", k.Name)
				}
			}
		})
	}
}

// An entry of an op export does not handle is left out with a note, and
// the rest of the profile exports.
func TestExportSkipsOtherOps(t *testing.T) {
	p := loadProfile(t)
	e := p.Entries[2]
	e.Op, e.Kernel = "conv", "conv"
	p.Entries = append(p.Entries, e)
	m, err := Export(p, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Kernels) != len(p.Entries)-1 || len(m.Skipped) != 1 {
		t.Fatalf("%d kernels, skipped %v; want %d kernels and conv skipped", len(m.Kernels), m.Skipped, len(p.Entries)-1)
	}
	if s := m.Skipped[0]; s.Op != "conv" || !slices.Equal(s.Shape, e.Shape) || !strings.Contains(s.Reason, `op "conv" cannot be exported`) {
		t.Errorf("skipped %+v", s)
	}
	// A profile of such entries only is an error, as when every entry is
	// skipped for another reason.
	p.Entries = p.Entries[len(p.Entries)-1:]
	if _, err := Export(p, t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "every entry was skipped") {
		t.Errorf("error %v, want every entry skipped", err)
	}
}

// A bad entry is an error naming it, and nothing is written.
func TestExportRejectsBadProfiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(e *profiles.Entry)
		err    string
	}{
		{"bad format", func(e *profiles.Entry) { e.Dtype = "int5-g32-sym" }, "int5"},
		{"matmul dtype", func(e *profiles.Entry) { e.Op, e.Dtype = "matmul", "f16" }, `dtype "f16"`},
		{"id and params disagree", func(e *profiles.Entry) { e.Params = maps.Clone(e.Params); e.Params["wg"] = "64" }, "disagree"},
		{"unknown param", func(e *profiles.Entry) {
			e.ID += "/tile=3"
			e.Params = maps.Clone(e.Params)
			e.Params["tile"] = "3"
		}, "[tile] are not params"},
		{"missing param", func(e *profiles.Entry) {
			e.ID = "rows=8/vec=1/unpack=shift"
			e.Params = map[string]string{"rows": "8", "vec": "1", "unpack": "shift"}
		}, "has no wg"},
		{"value off the axis", func(e *profiles.Entry) {
			e.ID = strings.Replace(e.ID, "wg=32", "wg=48", 1)
			e.Params = maps.Clone(e.Params)
			e.Params["wg"] = "48"
		}, "wg=48 is not a value"},
		{"shape dims", func(e *profiles.Entry) { e.Shape = []int{512, 2048, 1} }, "want [N, K]"},
		{"shape the kernel does not take", func(e *profiles.Entry) { e.Shape = []int{512, 2040} }, "does not take shape 512x2040"},
		{"kernel name", func(e *profiles.Entry) { e.Kernel = "matmul" }, `kernel "matmul"`},
		{"unit", func(e *profiles.Entry) { e.Stats.Unit = "FLOP/s" }, `measured in "FLOP/s"`},
		{"too large", func(e *profiles.Entry) { e.Shape = []int{1 << 20, 1 << 16} }, "too large to export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := loadProfile(t)
			tc.change(&p.Entries[2])
			dir := filepath.Join(t.TempDir(), "out")
			_, err := Export(p, dir, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "entry 2 (") {
				t.Fatalf("error %v, want entry 2 and %q", err, tc.err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed export created %s", dir)
			}
		})
	}
	if _, err := Export(&profiles.Profile{Schema: profiles.SchemaVersion}, t.TempDir(), Options{}); err == nil {
		t.Error("a profile without entries exported")
	}
}

// A profile file that does not decode strictly is an error.
func TestExportFileRejectsBadFiles(t *testing.T) {
	src, err := os.ReadFile(lavapipeProfile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"unknown-key.yaml": strings.Replace(string(src), "  - op: gemv\n", "  - op: gemv\n    colour: red\n", 1),
		"schema.yaml":      strings.Replace(string(src), "schema: 1", "schema: 9", 1),
		"truncated.yaml":   string(src[:len(src)/3]),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ExportFile(path, filepath.Join(dir, "out-"+name), Options{}); err == nil {
			t.Errorf("%s exported", name)
		}
	}
	if _, err := ExportFile(filepath.Join(dir, "missing.yaml"), filepath.Join(dir, "out"), Options{}); err == nil {
		t.Error("a missing profile exported")
	}
}

func TestExportUnwritable(t *testing.T) {
	p := loadProfile(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Export(p, filepath.Join(file, "out"), Options{}); err == nil {
		t.Error("exported under a regular file")
	}

	// An export that fails halfway leaves no manifest: the old one goes
	// first, and the new one is written last.
	out := filepath.Join(dir, "out")
	if _, err := Export(p, out, Options{}); err != nil {
		t.Fatal(err)
	}
	last := filepath.Join(out, "matmul-f32-512x512x512.b.bin")
	if err := os.Remove(last); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(last, 0o755); err != nil { // a rename cannot replace it
		t.Fatal(err)
	}
	if _, err := Export(p, out, Options{}); err == nil || !strings.Contains(err.Error(), "matmul-f32-512x512x512") {
		t.Fatalf("error %v, want one naming the kernel it failed on", err)
	}
	if _, err := os.Stat(filepath.Join(out, ManifestFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed export left a manifest (%v)", err)
	}
	if _, err := LoadManifest(out); err == nil {
		t.Error("LoadManifest read a folder without a manifest")
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func kernel(m map[string]any) map[string]any { return m["kernels"].([]any)[0].(map[string]any) }

func dispatch(m map[string]any) map[string]any {
	return kernel(m)["dispatches"].([]any)[0].(map[string]any)
}

func TestLoadManifestRejects(t *testing.T) {
	dir := t.TempDir()
	if _, err := ExportFile(lavapipeProfile, dir, Options{Shapes: []string{"512x2048"}}); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(m map[string]any)
		err    string
	}{
		{"schema", func(m map[string]any) { m["schema"] = 1 }, "schema 1"},
		{"unknown key", func(m map[string]any) { m["colour"] = "red" }, "colour"},
		{"missing file", func(m map[string]any) { dispatch(m)["wgsl"] = "gone.wgsl" }, "gone.wgsl"},
		{"path outside", func(m map[string]any) { dispatch(m)["wgsl"] = "../manifest.json" }, "not a name in the folder"},
		{"size", func(m map[string]any) {
			b := kernel(m)["buffers"].([]any)[1].(map[string]any)
			b["words"] = b["words"].(float64) + 1
		}, "bytes, want"},
		{"no dispatches", func(m map[string]any) { kernel(m)["dispatches"] = []any{} }, "no dispatches"},
		{"buffer out of range", func(m map[string]any) {
			dispatch(m)["bindings"].([]any)[1].(map[string]any)["buffer"] = 99.0
		}, "buffer 99"},
		{"check out of range", func(m map[string]any) {
			c := kernel(m)["checks"].([]any)[0].(map[string]any)
			c["elements"] = c["elements"].(float64) + 1
		}, "a check of"},
		{"index out of range", func(m map[string]any) {
			c := kernel(m)["checks"].([]any)[0].(map[string]any)
			c["index"].([]any)[0] = -1.0
		}, "element -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			tc.change(m)
			b, _ := json.Marshal(m)
			if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadManifest(dir); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	if _, err := ExportFile(lavapipeProfile, dir, Options{Shapes: []string{"512x2048"}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".manifest.json.tmp1"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(dir))
	defer srv.Close()
	for path, want := range map[string]string{
		"/":                           `src="app.js"`,
		"/app.js":                     "window.tuneResults",
		"/style.css":                  "table",
		"/export/manifest.json":       `"schema": 2`,
		"/export/.manifest.json.tmp1": "404",
		"/export/nothing.bin":         "404",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want == "404" {
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("%s: status %d, body lacks %q", path, resp.StatusCode, want)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, resp.Header.Get("Cache-Control"))
		}
	}
}
