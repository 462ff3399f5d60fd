package runner_test

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
)

// A program submitted several times without waiting runs every submission
// in order, with the buffer writes made between them, and its copies land
// after its dispatches.
func TestProgramSubmitsInOrder(t *testing.T) {
	d := runnertest.Device(t)
	k := compileKernel(t, d, "double", doubleWGSL, runner.ReadOnly, runner.ReadWrite)
	const n = 100
	src, dst := newBuffer(t, d, "src", 4*n), newBuffer(t, d, "dst", 4*n)
	hist, err := d.NewBuffer("hist", 4*8)
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Release()
	p, err := d.NewProgram(runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{src, dst}, Groups: [3]uint32{2, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	for i := range 8 {
		in := make([]float32, n)
		for j := range in {
			in[j] = float32(i*1000 + j)
		}
		if err := src.Write(0, f32bytes(in)); err != nil {
			t.Fatal(err)
		}
		// dst[7] of submission i goes to hist[i].
		if err := p.Submit(runner.Copy{Src: dst, SrcOffset: 4 * 7, Dst: hist, DstOffset: uint64(4 * i), Size: 4}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := hist.Read()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		if got, want := math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:])), float32(2*(i*1000+7)); got != want {
			t.Errorf("submission %d: dst[7] = %v, want %v", i, got, want)
		}
	}
	for _, c := range []runner.Copy{
		{Src: dst, Dst: hist, Size: 6},
		{Src: dst, Dst: hist, SrcOffset: 4 * n, Size: 4},
		{Src: dst, Dst: hist, DstOffset: 4 * 8, Size: 4},
		{Src: dst, Dst: dst, Size: 4},
		{Src: nil, Dst: hist, Size: 4},
	} {
		if err := p.Submit(c); err == nil {
			t.Errorf("copy %+v: no error", c)
		}
	}
}

// spinWGSL makes each thread run iters dependent fmas (from the uniform)
// and then doubles src into dst, so a dispatch's cost is set by iters.
const spinWGSL = `
struct Dims { iters: u32, pad0: u32, pad1: u32, pad2: u32, }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  var acc = f32(i);
  for (var k = 0u; k < dims.iters; k = k + 1u) {
    acc = fma(acc, 0.999, 0.001);
  }
  if (i < 256u) {
    dst[i] = 2.0 * src[i] + select(0.0, 1.0, acc < -1.0e30);
  }
}
`

// Profile times every dispatch on its own and attributes each interval to
// the right dispatch (one costs ten times the others), the parts add up to
// about the one-pass time, and the dispatches still run in order.
func TestProgramProfile(t *testing.T) {
	d := runnertest.Device(t)
	if !d.Timestamps() {
		t.Skip("no timestamp queries")
	}
	u, ro, rw := runner.Uniform, runner.ReadOnly, runner.ReadWrite
	k := compileKernel(t, d, "spin", spinWGSL, u, ro, rw)
	buf := func(label string, data []byte) *runner.Buffer {
		t.Helper()
		b, err := d.NewBuffer(label, uint64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Release)
		if err := b.Write(0, data); err != nil {
			t.Fatal(err)
		}
		return b
	}
	in := make([]float32, 256)
	for i := range in {
		in[i] = float32(i) - 100
	}
	light := buf("light", u32bytes(1000, 0, 0, 0))
	heavy := buf("heavy", u32bytes(10000, 0, 0, 0))
	a := buf("a", f32bytes(in))
	b := buf("b", make([]byte, 4*256))
	c := buf("c", make([]byte, 4*256))
	e := buf("e", make([]byte, 4*256))
	groups := [3]uint32{64, 1, 1}
	// a -> b -> c -> e, the second dispatch ten times the others' work.
	p, err := d.NewProgram(
		runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{light, a, b}, Groups: groups},
		runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{heavy, b, c}, Groups: groups},
		runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{light, c, e}, Groups: groups},
	)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	// Medians over the runs, as a CPU device shared with other work is
	// noisy.
	med := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	const runs = 5
	for _, queries := range []int{4096, 2} { // 2: one dispatch per submission
		restore := runner.SetProfileQueries(queries)
		prof, err := p.Profile(runs)
		restore()
		if err != nil {
			t.Fatal(err)
		}
		if len(prof.Dispatches) != runs || len(prof.Pass) != runs || len(prof.Host) != runs {
			t.Fatalf("queries %d: %d, %d, %d runs, want %d of each", queries, len(prof.Dispatches), len(prof.Pass), len(prof.Host), runs)
		}
		each := make([][]float64, 3)
		var sums []float64
		for r, row := range prof.Dispatches {
			if len(row) != 3 {
				t.Fatalf("queries %d run %d: %d dispatch times, want 3", queries, r, len(row))
			}
			for i, v := range row {
				each[i] = append(each[i], v)
			}
			sums = append(sums, row[0]+row[1]+row[2])
			if prof.Host[r] <= 0 {
				t.Errorf("queries %d run %d: host time %g", queries, r, prof.Host[r])
			}
		}
		m := []float64{med(each[0]), med(each[1]), med(each[2])}
		if m[1] < 3*m[0] || m[1] < 3*m[2] {
			t.Errorf("queries %d: median dispatch times %v; the second does ten times the work", queries, m)
		}
		if sum, pass := med(sums), med(prof.Pass); sum < pass/2 || sum > 3*pass {
			t.Errorf("queries %d: dispatches add up to %.3gs, the one-pass program takes %.3gs (medians)", queries, sum, pass)
		}
		t.Logf("queries %d: %v, one pass %v, host %v, warnings %q", queries, prof.Dispatches, prof.Pass, prof.Host, prof.Warnings)
	}
	out, err := e.Read()
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if got, want := math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:])), 8*in[i]; got != want {
			t.Fatalf("e[%d] = %v, want %v", i, got, want)
		}
	}
	if _, err := p.Profile(0); err == nil {
		t.Error("Profile(0): no error")
	}

	// Marginal: running the heavy dispatch twice adds far more to the pass
	// than running a light one twice; out-of-range sets are refused.
	mg, err := p.Marginal(runs, [][]int{{1}, {0, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(mg.Base) != runs || len(mg.With) != 2 || len(mg.With[0]) != runs || len(mg.With[1]) != runs {
		t.Fatalf("marginal: %d base runs, %d sets", len(mg.Base), len(mg.With))
	}
	delta := func(i int) float64 {
		var d []float64
		for r, w := range mg.With[i] {
			d = append(d, w-mg.Base[r])
		}
		return med(d)
	}
	if heavy, light := delta(0), delta(1); heavy < 2*light || heavy <= 0 {
		t.Errorf("marginal: the heavy dispatch adds %.3gs, the two light ones %.3gs (medians)", heavy, light)
	}
	if _, err := p.Marginal(1, [][]int{{3}}); err == nil {
		t.Error("Marginal of dispatch 3 of 3: no error")
	}
}

func u32bytes(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

// addWGSL adds the uniform's value to every element of acc.
const addWGSL = `
struct Step { v: f32, pad0: u32, pad1: u32, pad2: u32, }
@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read_write> acc: array<f32>;
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x < 64u) {
    acc[gid.x] = acc[gid.x] + step.v;
  }
}
`

// Submissions in one command buffer run in order, each program seeing
// the uniform its copies before set and its copies after seeing its
// results, as a decode step's chunk of positions needs.
func TestSubmitAllOrdersCopiesAndPasses(t *testing.T) {
	d := runnertest.Device(t)
	k := compileKernel(t, d, "add", addWGSL, runner.Uniform, runner.ReadWrite)
	const steps = 5
	table := newBuffer(t, d, "table", 16*steps)
	var rows []float32
	for i := range steps {
		rows = append(rows, float32(i+1), 0, 0, 0)
	}
	if err := table.Write(0, f32bytes(rows)); err != nil {
		t.Fatal(err)
	}
	u, acc, hist := newBuffer(t, d, "u", 16), newBuffer(t, d, "acc", 4*64), newBuffer(t, d, "hist", 4*steps)
	p, err := d.NewProgram(runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{u, acc}, Groups: [3]uint32{1, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	var subs []runner.Submission
	for i := range steps {
		subs = append(subs, runner.Submission{
			Before:  []runner.Copy{{Src: table, SrcOffset: uint64(16 * i), Dst: u, Size: 16}},
			Program: p,
			After:   []runner.Copy{{Src: acc, SrcOffset: 4 * 63, Dst: hist, DstOffset: uint64(4 * i), Size: 4}},
		})
	}
	if err := d.SubmitAll(subs...); err != nil {
		t.Fatal(err)
	}
	out, err := hist.Read()
	if err != nil {
		t.Fatal(err)
	}
	sum := float32(0)
	for i := range steps {
		sum += float32(i + 1)
		if got := math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:])); got != sum {
			t.Errorf("after submission %d: acc[63] = %v, want %v", i, got, sum)
		}
	}
	bad := []runner.Submission{
		{Program: nil},
		{Program: p, Before: []runner.Copy{{Src: table, Dst: u, SrcOffset: 16 * steps, Size: 16}}},
		{Program: p, After: []runner.Copy{{Src: acc, Dst: acc, Size: 4}}},
	}
	for _, s := range bad {
		if err := d.SubmitAll(s); err == nil {
			t.Errorf("submission %+v: no error", s)
		}
	}
}
