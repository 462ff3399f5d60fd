package web

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/reports"
	"github.com/tune-gpu/tune/search"
	"github.com/tune-gpu/tune/templates"
)

// Options bound what Export writes. The zero value exports every entry.
type Options struct {
	// Source is the profile's file name, recorded in the manifest.
	Source string
	// MaxBytes skips entries whose buffers hold more than this many bytes
	// in all; 0 means no limit.
	MaxBytes int64
	// Shapes keeps only the entries whose shape, written as dims joined by
	// "x" (e.g. "512x2048"), is listed; empty means all. A listed shape no
	// entry has is an error.
	Shapes []string
	// Portable skips entries over DefaultLimits, the limits WebGPU grants
	// every adapter, so that the export runs anywhere.
	Portable bool
}

// Limits are device limits a kernel may exceed.
type Limits struct {
	Invocations, SizeX, SizeY, SizeZ int   // workgroup
	WorkgroupBytes                   int   // workgroup memory
	StorageBuffers                   int   // per shader stage
	StorageBindingBytes              int64 // one storage binding
	BufferBytes                      int64 // one buffer
	GroupsPerDimension               int   // dispatch
}

// DefaultLimits are the WebGPU specification's default limits, which
// every adapter supports and a device gets without asking for more.
var DefaultLimits = Limits{
	Invocations: 256, SizeX: 256, SizeY: 256, SizeZ: 64,
	WorkgroupBytes:      16384,
	StorageBuffers:      8,
	StorageBindingBytes: 128 << 20,
	BufferBytes:         256 << 20,
	GroupsPerDimension:  65535,
}

// over says which of lim a kernel's needs exceed, or "".
func (r Requires) over(lim Limits) string {
	wg := r.WorkgroupSize
	var why []string
	if r.Invocations > lim.Invocations {
		why = append(why, fmt.Sprintf("%d invocations per workgroup (limit %d)", r.Invocations, lim.Invocations))
	}
	if wg[0] > lim.SizeX || wg[1] > lim.SizeY || wg[2] > lim.SizeZ {
		why = append(why, fmt.Sprintf("workgroup %dx%dx%d (limit %dx%dx%d)", wg[0], wg[1], wg[2], lim.SizeX, lim.SizeY, lim.SizeZ))
	}
	if r.WorkgroupBytes > lim.WorkgroupBytes {
		why = append(why, fmt.Sprintf("%d B of workgroup memory (limit %d)", r.WorkgroupBytes, lim.WorkgroupBytes))
	}
	if r.StorageBuffers > lim.StorageBuffers {
		why = append(why, fmt.Sprintf("%d storage buffers (limit %d)", r.StorageBuffers, lim.StorageBuffers))
	}
	if r.MaxBindingBytes > lim.StorageBindingBytes || r.MaxBindingBytes > lim.BufferBytes {
		why = append(why, fmt.Sprintf("a %d B binding (limit %d)", r.MaxBindingBytes, min(lim.StorageBindingBytes, lim.BufferBytes)))
	}
	if r.MaxGroups > lim.GroupsPerDimension {
		why = append(why, fmt.Sprintf("%d workgroups in one dimension (limit %d)", r.MaxGroups, lim.GroupsPerDimension))
	}
	return strings.Join(why, ", ")
}

// maxBindingWords bounds one binding: its indices must fit a u32 and its
// bytes a WebGPU buffer any implementation might allocate.
const maxBindingWords = 1 << 30

// ExportFile loads the profile at path strictly and exports it into dir;
// the manifest names the profile by its base name.
func ExportFile(path, dir string, opts Options) (*Manifest, error) {
	p, err := profiles.Load(path)
	if err != nil {
		return nil, err
	}
	if opts.Source == "" {
		opts.Source = filepath.Base(path)
	}
	return Export(p, dir, opts)
}

// exportableOps are the ops plan handles.
var exportableOps = append([]string{"matmul", "gemv", "gemm", "attention-prefill", "attention-decode"}, ops.BlockOpNames()...)

func exportable(op string) bool { return slices.Contains(exportableOps, op) }

// Export writes the WGSL, inputs and manifest of p's kernels into dir,
// creating it if needed, and returns the manifest. Entries of ops this
// package cannot export are skipped with a note, as are those the options
// leave out. Every other entry must name a dtype, shape and params of its
// op; the first that does not is an error, before anything is written.
// Any manifest already in dir is removed first and the new one written
// last, so that dir never holds a manifest naming files that are missing
// or from another export.
func Export(p *profiles.Profile, dir string, opts Options) (*Manifest, error) {
	if p == nil || len(p.Entries) == 0 {
		return nil, errors.New("web: export: the profile has no entries")
	}
	m := &Manifest{
		Schema:    SchemaVersion,
		Profile:   opts.Source,
		Adapter:   Adapter(p.Adapter),
		Created:   p.Created,
		Templates: templates.Fingerprint(),
		Kernels:   []Kernel{},
		Skipped:   []Skip{},
	}
	wanted := map[string]bool{}
	for _, s := range opts.Shapes {
		wanted[s] = false
	}
	var todo []*job
	for i, e := range p.Entries {
		skip := func(reason string) {
			m.Skipped = append(m.Skipped, Skip{Op: e.Op, Dtype: e.Dtype, Shape: slices.Clone(e.Shape), Reason: reason})
		}
		if !exportable(e.Op) {
			skip(fmt.Sprintf("op %q cannot be exported (%s can)", e.Op, strings.Join(exportableOps, ", ")))
			continue
		}
		j, err := plan(e)
		if err != nil {
			return nil, fmt.Errorf("web: export: entry %d (%s %s %s): %w", i, e.Op, e.Dtype, shapeString(e.Shape), err)
		}
		if len(wanted) > 0 {
			if _, ok := wanted[shapeString(e.Shape)]; !ok {
				skip("shape not in -shapes")
				continue
			}
			wanted[shapeString(e.Shape)] = true
		}
		if opts.MaxBytes > 0 && j.k.Requires.TotalBytes > opts.MaxBytes {
			skip(fmt.Sprintf("buffers of %d B, over the limit of %d", j.k.Requires.TotalBytes, opts.MaxBytes))
			continue
		}
		if why := j.k.Requires.over(DefaultLimits); opts.Portable && why != "" {
			skip("over WebGPU's default limits: " + why)
			continue
		}
		todo = append(todo, j)
	}
	for _, s := range opts.Shapes {
		if !wanted[s] {
			return nil, fmt.Errorf("web: export: no entry has shape %q", s)
		}
	}
	if len(todo) == 0 {
		return nil, fmt.Errorf("web: export: every entry was skipped (%s)", m.Skipped[0].Reason)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("web: export: %w", err)
	}
	manifest := filepath.Join(dir, ManifestFile)
	if err := os.Remove(manifest); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("web: export: removing the old manifest: %w", err)
	}
	for _, j := range todo {
		if err := j.write(dir); err != nil {
			return nil, fmt.Errorf("web: export: %s: %w", j.k.Name, err)
		}
		m.Kernels = append(m.Kernels, j.k)
	}
	err := reports.WriteFileAtomic(manifest, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	})
	if err != nil {
		return nil, fmt.Errorf("web: export: %w", err)
	}
	return m, nil
}

// job is one entry to export: its manifest record, less the checks, and
// how to make its inputs.
type job struct {
	k     Kernel
	kerns []templates.Kernel // one per dispatch
	// outputs makes the inputs, by buffer name, and the checks.
	outputs func() (files map[string][]uint32, checks []Check, err error)
}

// write renders the kernels and writes their files, each atomically, and
// fills in the checks.
func (j *job) write(dir string) error {
	for i, kern := range j.kerns {
		src, err := templates.Render(kern)
		if err != nil {
			return err
		}
		if err := writeFile(dir, j.k.Dispatches[i].WGSL, func(w io.Writer) error {
			_, err := w.Write(src)
			return err
		}); err != nil {
			return err
		}
	}
	files, checks, err := j.outputs()
	if err != nil {
		return err
	}
	for _, b := range j.k.Buffers {
		if b.File == "" {
			continue
		}
		words := files[b.Name]
		if len(words) != b.Words {
			panic(fmt.Sprintf("web: %s buffer %s: %d words made for %d declared", j.k.Name, b.Name, len(words), b.Words))
		}
		if err := writeFile(dir, b.File, func(w io.Writer) error { return writeWords(w, words) }); err != nil {
			return err
		}
	}
	for i := range checks {
		c := &checks[i]
		if c.Expect == "" {
			continue
		}
		if len(c.expect) != c.Elements || len(c.tol) != c.Elements {
			panic(fmt.Sprintf("web: %s check of %s: %d expected words and %d tolerances for %d elements", j.k.Name, j.k.Buffers[c.Buffer].Name, len(c.expect), len(c.tol), c.Elements))
		}
		if err := writeFile(dir, c.Expect, func(w io.Writer) error { return writeWords(w, c.expect) }); err != nil {
			return err
		}
		if err := writeFile(dir, c.Tolerance, func(w io.Writer) error { return writeWords(w, c.tol) }); err != nil {
			return err
		}
		c.expect, c.tol = nil, nil
	}
	j.k.Checks = checks
	return nil
}

func writeFile(dir, name string, write func(io.Writer) error) error {
	return reports.WriteFileAtomic(filepath.Join(dir, name), write)
}

func writeWords(w io.Writer, words []uint32) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var b [4]byte
	for _, v := range words {
		binary.LittleEndian.PutUint32(b[:], v)
		if _, err := bw.Write(b[:]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func shapeString(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "x")
}

// plan checks an entry and describes its kernels, buffers and work
// without making any data but small block cases.
func plan(e profiles.Entry) (*job, error) {
	var j *job
	var err error
	switch e.Op {
	case "matmul":
		j, err = planMatmul(e)
	case "gemv":
		j, err = planGemv(e)
	case "gemm":
		j, err = planGemm(e)
	case "attention-prefill":
		j, err = planPrefill(e)
	case "attention-decode":
		j, err = planDecode(e)
	default:
		op, lerr := ops.LookupBlockOp(e.Op)
		if lerr != nil {
			return nil, fmt.Errorf("op %q cannot be exported (%s can)", e.Op, strings.Join(exportableOps, ", "))
		}
		j, err = planBlock(op, e)
	}
	if err != nil {
		return nil, err
	}
	if e.Kernel != j.kerns[0].Name() {
		return nil, fmt.Errorf("kernel %q, but the %s space's kernels are %q", e.Kernel, e.Op, j.kerns[0].Name())
	}
	// An entry without stats (a portable profile's) exports with no
	// native rate.
	if e.Stats.Unit != "" && e.Stats.Unit != j.k.Unit {
		return nil, fmt.Errorf("measured in %q, want %q", e.Stats.Unit, j.k.Unit)
	}
	k := &j.k
	k.Name = e.Op + "-" + e.Dtype + "-" + shapeString(e.Shape)
	k.Op, k.Dtype, k.Shape = e.Op, e.Dtype, slices.Clone(e.Shape)
	k.Kernel, k.ID, k.Params = e.Kernel, e.ID, maps.Clone(e.Params)
	k.Native = Native{Median: e.Stats.Median, Lo: e.Stats.Lo, Hi: e.Stats.Hi, Samples: e.Stats.Samples,
		Rate: e.Stats.Rate, Unit: e.Stats.Unit, Clock: e.Stats.Clock}
	r := &k.Requires
	for i := range k.Dispatches {
		d := &k.Dispatches[i]
		kern := j.kerns[i]
		d.Kernel = kern.Name()
		d.WGSL = k.Name + ".wgsl"
		if len(j.kerns) > 1 {
			d.WGSL = k.Name + "." + d.Kernel + ".wgsl"
		}
		d.EntryPoint = "main"
		wg := kern.WorkgroupSize()
		d.WorkgroupSize = [3]int{int(wg[0]), int(wg[1]), int(wg[2])}
		for a := range 3 {
			r.WorkgroupSize[a] = max(r.WorkgroupSize[a], d.WorkgroupSize[a])
		}
		r.Invocations = max(r.Invocations, d.WorkgroupSize[0]*d.WorkgroupSize[1]*d.WorkgroupSize[2])
		// Block kernels that do not report their workgroup memory use a
		// few words per invocation at most.
		if wb, ok := kern.(interface{ WorkgroupBytes() int }); ok {
			r.WorkgroupBytes = max(r.WorkgroupBytes, wb.WorkgroupBytes())
		}
		r.MaxGroups = max(r.MaxGroups, d.Groups[0], d.Groups[1], d.Groups[2])
		storage := 0
		for bi, b := range d.Bindings {
			if b.Index != bi {
				panic(fmt.Sprintf("web: %s: binding %d at %d", k.Name, b.Index, bi))
			}
			if b.Kind != Uniform {
				storage++
				r.MaxBindingBytes = max(r.MaxBindingBytes, 4*int64(k.Buffers[b.Buffer].Words))
			}
		}
		r.StorageBuffers = max(r.StorageBuffers, storage)
	}
	for i := range k.Buffers {
		b := &k.Buffers[i]
		if b.Words > maxBindingWords {
			return nil, fmt.Errorf("buffer %s of %d words: too large to export", b.Name, b.Words)
		}
		if b.Uniform == nil && b.Fill == nil {
			b.File = k.Name + "." + b.Name + ".bin" // an input
		}
		bytes := 4 * int64(b.Words)
		if b.Uniform != nil {
			bytes = max(16, (bytes+15)/16*16)
		}
		r.TotalBytes += bytes
	}
	return j, nil
}

// single is the one dispatch of kern binding buffer i at @binding(i) as
// kinds[i].
func single(groups [3]uint32, kinds ...string) []Dispatch {
	d := Dispatch{Groups: [3]int{int(groups[0]), int(groups[1]), int(groups[2])}}
	for i, kind := range kinds {
		d.Bindings = append(d.Bindings, Binding{Index: i, Buffer: i, Kind: kind})
	}
	return []Dispatch{d}
}

// point reads an entry's params as a point of sp. The id and the params
// must agree. A boolean axis the entry lacks is false, and an axis with an
// omitted value takes it: profiles written before the axis existed hold
// kernels that did without it.
func point(sp *search.Space, e profiles.Entry) (search.Point, error) {
	fields := map[string]string{}
	for _, part := range strings.Split(e.ID, "/") {
		name, val, ok := strings.Cut(part, "=")
		if _, dup := fields[name]; !ok || dup {
			return search.Point{}, fmt.Errorf("id %q: field %q is not a new name=value", e.ID, part)
		}
		fields[name] = val
	}
	if !maps.Equal(fields, e.Params) {
		return search.Point{}, fmt.Errorf("id %q and params %v disagree", e.ID, e.Params)
	}
	parts := make([]string, 0, len(sp.Axes))
	for _, a := range sp.Axes {
		v, ok := fields[a.Name]
		switch {
		case ok:
		case a.Omit != "":
			v = a.Omit
		case slices.Equal(a.Values, []string{"false", "true"}):
			v = "false"
		default:
			return search.Point{}, fmt.Errorf("id %q has no %s", e.ID, a.Name)
		}
		delete(fields, a.Name)
		parts = append(parts, a.Name+"="+v)
	}
	if len(fields) > 0 {
		return search.Point{}, fmt.Errorf("id %q: %v are not params of the space", e.ID, slices.Sorted(maps.Keys(fields)))
	}
	return sp.Parse(strings.Join(parts, "/"))
}

// anyLimits constrains nothing: Parse ignores constraints, and the limits
// an exported kernel needs are recorded instead.
var anyLimits = ops.Limits{Invocations: 1 << 30, SizeX: 1 << 30, SizeY: 1 << 30, WorkgroupBytes: 1 << 30}

func dims3(e profiles.Entry) (m, n, k int, err error) {
	if len(e.Shape) != 3 {
		return 0, 0, 0, fmt.Errorf("shape %v: want [M, N, K]", e.Shape)
	}
	return e.Shape[0], e.Shape[1], e.Shape[2], nil
}

// words counts a binding of rows x cols words, failing past what a binding
// can hold rather than overflowing.
func words(rows, cols int) (int, error) {
	if rows > 0 && cols > maxBindingWords/rows {
		return 0, fmt.Errorf("a %d x %d matrix is too large to export", rows, cols)
	}
	return rows * cols, nil
}

func checkAll(total, sample int, pick func() []int) []int {
	if total <= sample {
		idx := make([]int, total)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return pick()
}

func sentinel() *uint32 { s := ops.Sentinel; return &s }

func rowMajor(rows, cols int) *Layout { return &Layout{Rows: rows, Cols: cols, Order: "row-major"} }

// quantLayout describes t's packing, as quant.Tensor documents it.
func quantLayout(f quant.Format, rows, cols int) *Layout {
	q := &Quant{
		Format: f.String(), Bits: f.Bits, Group: f.Group, Symmetric: !f.Asym,
		CodesPerWord: 32 / f.Bits, WordsPerRow: cols * f.Bits / 32,
		Packing: fmt.Sprintf("row r is words [r*%d, (r+1)*%d); code c of a row is bits [(c%%%d)*%d, +%d) of the row's word c/%d, the lowest bits holding the lowest c",
			cols*f.Bits/32, cols*f.Bits/32, 32/f.Bits, f.Bits, f.Bits, 32/f.Bits),
		Scales: "scales",
	}
	g := "group g = c/" + strconv.Itoa(f.GroupLen(cols)) + " of row r: scales[r*" + strconv.Itoa(cols/f.GroupLen(cols)) + " + g]"
	if f.Asym {
		q.Value = "u * scale + min, " + g + ", mins likewise"
		q.Mins = "mins"
	} else {
		q.Value = fmt.Sprintf("(u - %d) * scale, %s", 1<<(f.Bits-1), g)
	}
	return &Layout{Rows: rows, Cols: cols, Order: "row-major", Quant: q}
}

// besideLayout describes the beside layout of a rows x cols tensor of
// format f (quant.Beside): the codes as quantLayout packs them, in blocks
// of four groups, each followed by its scales and mins.
func besideLayout(f quant.Format, rows, cols int) *Layout {
	l := quantLayout(f, rows, cols)
	q := l.Quant
	codes := quant.BlockGroups * f.Group * f.Bits / 32
	q.WordsPerRow = cols / (quant.BlockGroups * f.Group) * f.BlockWords()
	q.Packing = fmt.Sprintf("row r is words [r*%d, (r+1)*%d), blocks of %d words: %d words of codes of %d groups, packed as in the apart layout, then their %d scales (f32 bits)",
		q.WordsPerRow, q.WordsPerRow, f.BlockWords(), codes, quant.BlockGroups, quant.BlockGroups)
	at := fmt.Sprintf("group g = c/%d of row r: word r*%d + (g/%d)*%d + %d + g%%%d of w", f.Group, q.WordsPerRow, quant.BlockGroups, f.BlockWords(), codes, quant.BlockGroups)
	q.Value = fmt.Sprintf("(u - %d) * scale, the scale of %s", 1<<(f.Bits-1), at)
	if f.Asym {
		q.Packing += fmt.Sprintf(", then their %d mins", quant.BlockGroups)
		q.Value = fmt.Sprintf("u * scale + min, the scale of %s, the min %d words on", at, quant.BlockGroups)
		q.Mins = "w"
	}
	q.Scales = "w"
	return l
}

// planMatmul: C (M x N) = A (M x K) x B (K x N), checked as ops.Evaluator
// checks its timed shape.
func planMatmul(e profiles.Entry) (*job, error) {
	if e.Dtype != "f32" {
		return nil, fmt.Errorf("dtype %q: matmul is f32", e.Dtype)
	}
	m, n, kk, err := dims3(e)
	if err != nil {
		return nil, err
	}
	pt, err := point(ops.Space(anyLimits), e)
	if err != nil {
		return nil, err
	}
	kern := ops.Params(pt)
	if err := kern.Check(); err != nil {
		return nil, err
	}
	if !kern.Fits(m, n, kk) {
		return nil, fmt.Errorf("kernel %s does not take shape %dx%dx%d", kern, m, n, kk)
	}
	s := ops.Shape{M: m, N: n, K: kk}
	wa, err := words(m, kk)
	if err != nil {
		return nil, err
	}
	wb, err := words(kk, n)
	if err != nil {
		return nil, err
	}
	wc, err := words(m, n)
	if err != nil {
		return nil, err
	}
	guard := max(1024, 64*n+128)
	g := kern.Groups(m, n)
	j := &job{kerns: []templates.Kernel{kern}}
	j.k = Kernel{
		Dims: []string{"M", "N", "K"},
		Buffers: []Buffer{
			{Name: "dims", Type: "u32", Words: 4, Uniform: ops.UniformWords(uint32(m), uint32(n), uint32(kk))},
			{Name: "a", Type: "f32", Words: wa, Layout: rowMajor(m, kk)},
			{Name: "b", Type: "f32", Words: wb, Layout: rowMajor(kk, n)},
			{Name: "c", Type: "f32", Words: wc + guard, Fill: sentinel(), Layout: rowMajor(m, n)},
		},
		Dispatches: single(g, Uniform, ReadOnly, ReadOnly, ReadWrite),
		Work:       s.FLOPs(), Unit: "FLOP/s",
	}
	j.outputs = func() (map[string][]uint32, []Check, error) {
		a, b := ops.MatmulInputs(s)
		c := Check{Buffer: 3, Elements: wc, Guard: guard, Fill: ops.Sentinel}
		c.Index = checkAll(wc, 512, func() []int { return ops.SampleIndices(s, 512) })
		for _, i := range c.Index {
			want, tol := ops.MatmulReference(s, a, b, i/n, i%n)
			c.Want, c.Tol = append(c.Want, want), append(c.Tol, tol)
		}
		return map[string][]uint32{"a": ops.F32Words(a), "b": ops.F32Words(b)}, []Check{c}, nil
	}
	return j, nil
}

// quantBindings are W's codes and scales (and mins) for a rows x cols
// tensor of format f.
func quantBindings(f quant.Format, rows, cols int) (w, scales, mins Buffer, err error) {
	if err := f.Validate(); err != nil {
		return w, scales, mins, err
	}
	if cols%32 != 0 || cols%f.GroupLen(cols) != 0 {
		return w, scales, mins, fmt.Errorf("%d columns: %s needs a multiple of 32 and of the group", cols, f)
	}
	ww, err := words(rows, cols*f.Bits/32)
	if err != nil {
		return w, scales, mins, err
	}
	ws, err := words(rows, cols/f.GroupLen(cols))
	if err != nil {
		return w, scales, mins, err
	}
	w = Buffer{Name: "w", Type: "u32", Words: ww, Layout: quantLayout(f, rows, cols)}
	scales = Buffer{Name: "scales", Type: "f32", Words: ws, Layout: rowMajor(rows, cols/f.GroupLen(cols))}
	mins = Buffer{Name: "mins", Type: "f32", Words: ws, Layout: rowMajor(rows, cols/f.GroupLen(cols))}
	return w, scales, mins, nil
}

func tensorFiles(t *quant.Tensor) map[string][]uint32 {
	files := map[string][]uint32{"w": t.Words, "scales": ops.F32Words(t.Scales)}
	if t.Asym {
		files["mins"] = ops.F32Words(t.Mins)
	}
	return files
}

// planGemv: y (Rows) = W (Rows x Cols, quantized) x, checked as
// ops.GemvEvaluator checks its timed shape.
func planGemv(e profiles.Entry) (*job, error) {
	f, err := quant.ParseFormat(e.Dtype)
	if err != nil {
		return nil, err
	}
	if len(e.Shape) != 2 {
		return nil, fmt.Errorf("shape %v: want [N, K]", e.Shape)
	}
	rows, cols := e.Shape[0], e.Shape[1]
	pt, err := point(ops.GemvSpace(f, anyLimits), e)
	if err != nil {
		return nil, err
	}
	kern := ops.GemvParams(pt, f)
	if err := kern.Check(); err != nil {
		return nil, err
	}
	if !kern.Fits(rows, cols) {
		return nil, fmt.Errorf("kernel %s does not take shape %dx%d", kern, rows, cols)
	}
	w, scales, mins, err := quantBindings(f, rows, cols)
	if err != nil {
		return nil, err
	}
	if kern.Beside() {
		// The kernel reads its scales and mins from w; their bindings
		// stay, unread, so that the bind group is that of the apart layout.
		l := besideLayout(f, rows, cols)
		if w.Words, err = words(rows, l.Quant.WordsPerRow); err != nil {
			return nil, err
		}
		w.Layout = l
	}
	s := ops.GemvShape{Rows: rows, Cols: cols}
	const guard = 1024
	g := kern.Groups(rows)
	j := &job{kerns: []templates.Kernel{kern}}
	j.k = Kernel{
		Dims: []string{"N", "K"},
		Buffers: []Buffer{
			{Name: "dims", Type: "u32", Words: 4, Uniform: ops.UniformWords(uint32(rows), uint32(cols), uint32(f.GroupLen(cols)), 0)},
			w, scales,
			{Name: "x", Type: "f32", Words: cols},
			{Name: "y", Type: "f32", Words: rows + guard, Fill: sentinel()},
		},
		Dispatches: single(g, Uniform, ReadOnly, ReadOnly, ReadOnly, ReadWrite),
		Work:       ops.GemvBytes(s, f), Unit: "B/s",
	}
	if f.Asym {
		j.k.Buffers = append(j.k.Buffers, mins)
		d := &j.k.Dispatches[0]
		d.Bindings = append(d.Bindings, Binding{Index: len(d.Bindings), Buffer: len(d.Bindings), Kind: ReadOnly})
	}
	if kern.Splits() > 1 {
		// The parts' sums go to a buffer of their own, which the reduce
		// adds up into y.
		red := kern.Reduce()
		j.kerns = append(j.kerns, red)
		parts, rdims := len(j.k.Buffers), len(j.k.Buffers)+1
		j.k.Buffers = append(j.k.Buffers,
			Buffer{Name: "parts", Type: "f32", Words: kern.Splits() * rows, Fill: sentinel()},
			Buffer{Name: "reduce_dims", Type: "u32", Words: 4, Uniform: ops.UniformWords(uint32(rows), 0, 0, 0)})
		j.k.Dispatches[0].Bindings[4].Buffer = parts // the GEMV's y binding
		g := red.Groups(rows)
		j.k.Dispatches = append(j.k.Dispatches, Dispatch{Groups: [3]int{int(g[0]), int(g[1]), int(g[2])},
			Bindings: []Binding{{Index: 0, Buffer: rdims, Kind: Uniform}, {Index: 1, Buffer: parts, Kind: ReadOnly}, {Index: 2, Buffer: 4, Kind: ReadWrite}}})
	}
	j.outputs = func() (map[string][]uint32, []Check, error) {
		t, x, err := ops.GemvInputs(s, f)
		if err != nil {
			return nil, nil, err
		}
		c := Check{Buffer: 4, Elements: rows, Guard: guard, Fill: ops.Sentinel}
		c.Index = checkAll(rows, 256, func() []int { return ops.SampleRows(rows, 256) })
		scratch := make([]float32, cols)
		for _, r := range c.Index {
			want, tol := ops.GemvReference(t, x, r, scratch)
			c.Want, c.Tol = append(c.Want, want), append(c.Tol, tol)
		}
		files := tensorFiles(t)
		if kern.Beside() {
			if files["w"], err = t.PackBeside(); err != nil {
				return nil, nil, err
			}
		}
		files["x"] = ops.F32Words(x)
		return files, []Check{c}, nil
	}
	return j, nil
}

// planGemm: C (M x N) = A (M x K) x W^T (W: N x K, quantized), checked as
// ops.GemmEvaluator checks its timed shape.
func planGemm(e profiles.Entry) (*job, error) {
	f, err := quant.ParseFormat(e.Dtype)
	if err != nil {
		return nil, err
	}
	m, n, kk, err := dims3(e)
	if err != nil {
		return nil, err
	}
	pt, err := point(ops.GemmSpace(f, anyLimits), e)
	if err != nil {
		return nil, err
	}
	kern := ops.GemmParams(pt, f)
	if err := kern.Check(); err != nil {
		return nil, err
	}
	if !kern.Fits(m, n, kk) {
		return nil, fmt.Errorf("kernel %s does not take shape %dx%dx%d", kern, m, n, kk)
	}
	w, scales, mins, err := quantBindings(f, n, kk)
	if err != nil {
		return nil, err
	}
	wa, err := words(m, kk)
	if err != nil {
		return nil, err
	}
	wc, err := words(m, n)
	if err != nil {
		return nil, err
	}
	s := ops.GemmShape{M: m, N: n, K: kk}
	guard := max(1024, 64*n+128)
	g := kern.Groups(m, n)
	j := &job{kerns: []templates.Kernel{kern}}
	j.k = Kernel{
		Dims: []string{"M", "N", "K"},
		Buffers: []Buffer{
			{Name: "dims", Type: "u32", Words: 4, Uniform: ops.UniformWords(uint32(m), uint32(n), uint32(kk), uint32(f.GroupLen(kk)))},
			{Name: "a", Type: "f32", Words: wa, Layout: rowMajor(m, kk)},
			w, scales,
			{Name: "c", Type: "f32", Words: wc + guard, Fill: sentinel(), Layout: rowMajor(m, n)},
		},
		Dispatches: single(g, Uniform, ReadOnly, ReadOnly, ReadOnly, ReadWrite),
		Work:       s.FLOPs(), Unit: "FLOP/s",
	}
	if f.Asym {
		j.k.Buffers = append(j.k.Buffers, mins)
		d := &j.k.Dispatches[0]
		d.Bindings = append(d.Bindings, Binding{Index: len(d.Bindings), Buffer: len(d.Bindings), Kind: ReadOnly})
	}
	j.outputs = func() (map[string][]uint32, []Check, error) {
		t, a, err := ops.GemmInputs(s, f)
		if err != nil {
			return nil, nil, err
		}
		c := Check{Buffer: 4, Elements: wc, Guard: guard, Fill: ops.Sentinel}
		c.Index = checkAll(wc, 256, func() []int { return ops.SampleIndices(ops.Shape(s), 256) })
		rows := map[int][]float32{}
		for _, i := range c.Index {
			row, col := i/n, i%n
			wr, ok := rows[col]
			if !ok {
				wr = make([]float32, kk)
				t.DequantizeRow(col, wr)
				rows[col] = wr
			}
			want, tol := ops.GemmReference(t, a, wr, row, col)
			c.Want, c.Tol = append(c.Want, want), append(c.Tol, tol)
		}
		files := tensorFiles(t)
		files["a"] = ops.F32Words(a)
		return files, []Check{c}, nil
	}
	return j, nil
}
