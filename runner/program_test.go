package runner_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/runner/runnertest"
)

// A program submitted several times without waiting runs every submission
// in order, with the buffer writes made between them, and its copies land
// after its dispatches.
func TestProgramSubmitsInOrder(t *testing.T) {
	d := runnertest.Device(t)
	k, err := d.Compile("double", doubleWGSL, []runner.Binding{runner.ReadOnly, runner.ReadWrite}, [3]uint32{64, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Release()
	const n = 100
	src, err := d.NewBuffer("src", 4*n)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Release()
	dst, err := d.NewBuffer("dst", 4*n)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Release()
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
