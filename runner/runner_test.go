package runner_test

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
)

const doubleWGSL = `
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < arrayLength(&src)) {
    dst[i] = 2.0 * src[i];
  }
}
`

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// newBuffer is a buffer of size bytes on d, released when t ends.
// compileKernel compiles src with 64 invocations a workgroup, released
// when the test ends.
func compileKernel(t *testing.T, d *runner.Device, label, src string, bindings ...runner.Binding) *runner.Kernel {
	t.Helper()
	k, err := d.Compile(label, src, bindings, [3]uint32{64, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Release)
	return k
}

func newBuffer(t *testing.T, d *runner.Device, label string, size uint64) *runner.Buffer {
	t.Helper()
	b, err := d.NewBuffer(label, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Release)
	return b
}

func TestListFindsAnAdapter(t *testing.T) {
	infos, err := runner.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range infos {
		if a.Name == "" || a.Backend == "" {
			t.Errorf("adapter %d has no name or backend: %+v", a.Index, a)
		}
	}
}

func TestRunDoublesOnDevice(t *testing.T) {
	d := runnertest.Device(t)
	k := compileKernel(t, d, "double", doubleWGSL, runner.ReadOnly, runner.ReadWrite)
	const n = 1000
	in := make([]float32, n)
	for i := range in {
		in[i] = float32(i) - 17.5
	}
	src, dst := newBuffer(t, d, "src", 4*n), newBuffer(t, d, "dst", 4*n)
	if err := src.Write(0, f32bytes(in)); err != nil {
		t.Fatal(err)
	}
	if err := d.Run(runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{src, dst}, Groups: [3]uint32{(n + 63) / 64, 1, 1}}); err != nil {
		t.Fatal(err)
	}
	out, err := dst.Read()
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		got := math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
		if got != 2*in[i] {
			t.Fatalf("dst[%d] = %v, want %v", i, got, 2*in[i])
		}
	}

	timing, err := d.Time(runner.TimeOptions{Target: 1e6}, runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{src, dst}, Groups: [3]uint32{(n + 63) / 64, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(timing.Samples) < 10 || !(timing.Lo <= timing.Median && timing.Median <= timing.Hi) || timing.Median <= 0 {
		t.Errorf("timing = %+v: want >= 10 samples and Lo <= Median <= Hi, Median > 0", timing)
	}
	if d.Timestamps() != (timing.Clock == "timestamp") && len(timing.Warnings) == 0 {
		t.Errorf("clock %q on a device with timestamps=%v", timing.Clock, d.Timestamps())
	}
}

func TestCompileErrorsAreReturned(t *testing.T) {
	d := runnertest.Device(t)
	rw := []runner.Binding{runner.ReadOnly, runner.ReadWrite}
	cases := []struct {
		name, src string
		bindings  []runner.Binding
		wg        [3]uint32
		want      string
	}{
		{"syntax", "fn main( {", rw, [3]uint32{64, 1, 1}, "shader module"},
		{"type", strings.Replace(doubleWGSL, "2.0 * src[i]", "2 * src[i]", 1), rw, [3]uint32{64, 1, 1}, "shader module"},
		{"empty", "  ", rw, [3]uint32{64, 1, 1}, "empty source"},
		{"no main", strings.Replace(doubleWGSL, "fn main", "fn other", 1), rw, [3]uint32{64, 1, 1}, "pipeline"},
		{"binding mismatch", doubleWGSL, []runner.Binding{runner.ReadOnly, runner.ReadOnly}, [3]uint32{64, 1, 1}, "pipeline"},
		{"workgroup too big", doubleWGSL, rw, [3]uint32{4096, 1, 1}, "workgroup"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := d.Compile(c.name, c.src, c.bindings, c.wg)
			if err == nil {
				k.Release()
				t.Fatal("compiled; want an error")
			}
			if !errors.Is(err, runner.ErrCompile) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want ErrCompile mentioning %q", err, c.want)
			}
		})
	}
}

// Dispatches that would make wgpu abort the process at Submit must come back
// as errors instead.
func TestBadDispatchesAreErrors(t *testing.T) {
	d := runnertest.Device(t)
	k := compileKernel(t, d, "double", doubleWGSL, runner.ReadOnly, runner.ReadWrite)
	a, _ := d.NewBuffer("a", 256)
	defer a.Release()
	released, _ := d.NewBuffer("released", 256)
	released.Release()
	cases := map[string]runner.Dispatch{
		"too few buffers":   {Kernel: k, Buffers: []*runner.Buffer{a}, Groups: [3]uint32{1, 1, 1}},
		"released buffer":   {Kernel: k, Buffers: []*runner.Buffer{a, released}, Groups: [3]uint32{1, 1, 1}},
		"nil buffer":        {Kernel: k, Buffers: []*runner.Buffer{a, nil}, Groups: [3]uint32{1, 1, 1}},
		"too many groups":   {Kernel: k, Buffers: []*runner.Buffer{a, a}, Groups: [3]uint32{1 << 20, 1, 1}},
		"nil kernel":        {Buffers: []*runner.Buffer{a, a}, Groups: [3]uint32{1, 1, 1}},
		"same buffer rw+ro": {Kernel: k, Buffers: []*runner.Buffer{a, a}, Groups: [3]uint32{1, 1, 1}},
	}
	for name, ds := range cases {
		t.Run(name, func(t *testing.T) {
			if err := d.Run(ds); err == nil {
				t.Error("ran; want an error")
			}
		})
	}
	if _, err := d.NewBuffer("odd", 6); err == nil {
		t.Error("NewBuffer(6) succeeded; want an error for a size not a multiple of 4")
	}
}

// A view binds its bytes of a buffer alone: the kernel reads and writes
// from the view's start, arrayLength is the view's, and the rest of the
// buffer is untouched; views off the alignment or past the end, and reads
// of a view, are errors.
func TestViewsBindPartOfABuffer(t *testing.T) {
	d := runnertest.Device(t)
	k := compileKernel(t, d, "double", doubleWGSL, runner.ReadOnly, runner.ReadWrite)
	align := uint64(d.Limits.MinStorageBufferOffsetAlignment)
	n := 3 * align / 4 // floats in three alignments
	in := make([]float32, n)
	for i := range in {
		in[i] = float32(i)
	}
	src, dst := newBuffer(t, d, "src", 4*n), newBuffer(t, d, "dst", 4*n)
	if err := src.Write(0, f32bytes(in)); err != nil {
		t.Fatal(err)
	}
	sv, err := src.View(align, align) // floats align/4 .. align/2-1
	if err != nil {
		t.Fatal(err)
	}
	dv, err := dst.View(2*align, align)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(runner.Dispatch{Kernel: k, Buffers: []*runner.Buffer{sv, dv}, Groups: [3]uint32{uint32(n/64 + 1), 1, 1}}); err != nil {
		t.Fatal(err)
	}
	out, err := dst.Read()
	if err != nil {
		t.Fatal(err)
	}
	q := int(align / 4)
	for i := 0; i < int(n); i++ {
		want := float32(0)
		if i >= 2*q {
			want = 2 * in[i-q]
		}
		if got := math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:])); got != want {
			t.Fatalf("dst[%d] = %v, want %v", i, got, want)
		}
	}
	for _, c := range []struct{ off, size uint64 }{{4, align}, {align, 0}, {2 * align, 2 * align}} {
		if _, err := src.View(c.off, c.size); err == nil {
			t.Errorf("View(%d, %d) of %d bytes succeeded", c.off, c.size, 4*n)
		}
	}
	if _, err := sv.Read(); err == nil {
		t.Error("a view was read")
	}
}
