package templates

import "fmt"

// Copy is the bandwidth roof: a vec4 copy, one vector per thread. Threads
// index rows of the dispatch grid so that copies larger than one grid
// dimension fit.
type Copy struct {
	WG int // threads per workgroup
}

func (p Copy) Name() string             { return "copy" }
func (p Copy) String() string           { return fmt.Sprintf("wg=%d", p.WG) }
func (p Copy) WorkgroupSize() [3]uint32 { return [3]uint32{uint32(p.WG), 1, 1} }
func (p Copy) Check() error             { return checkWG(p.WG) }
func (p Copy) view() (string, any) {
	return "copy.wgsl.tmpl", struct {
		Copy
		Header string
	}{p, header(p)}
}

// Read is the read roof: each thread sums Vecs vec4s, WG apart, up to four
// loads in flight a loop trip, and writes nothing in a timed run (see
// read.wgsl.tmpl), so it moves only the bytes it reads, as a GEMV does;
// bindings are a uniform vec4<u32> (x: a float's bits no sum equals, y:
// write every sum), the source and the sums (one vec4 a thread). Long runs
// a thread make few, long-lived workgroups; short ones many.
type Read struct {
	WG   int // threads per workgroup
	Vecs int // vec4s a thread reads: 1, 2, or a multiple of 4 up to 256
}

func (p Read) Name() string             { return "read" }
func (p Read) String() string           { return fmt.Sprintf("wg=%d/vecs=%d", p.WG, p.Vecs) }
func (p Read) WorkgroupSize() [3]uint32 { return [3]uint32{uint32(p.WG), 1, 1} }
func (p Read) Check() error {
	if p.Vecs < 1 || p.Vecs > 256 || p.Vecs > 4 && p.Vecs%4 != 0 || p.Vecs == 3 {
		return fmt.Errorf("%w: read vecs %d", errParams, p.Vecs)
	}
	return checkWG(p.WG)
}
func (p Read) view() (string, any) {
	lanes := min(p.Vecs, 4)
	return "read.wgsl.tmpl", struct {
		Read
		Header       string
		Lanes, Trips int
	}{p, header(p), lanes, p.Vecs / lanes}
}

// Groups is the grid of workgroups reading n vec4s.
func (p Read) Groups(n int) [3]uint32 { return grid(ceilDiv(n, p.WG*p.Vecs)) }

// FMA is the arithmetic roof: Chains independent fma chains of Iters steps
// per thread, 2*Chains*Iters FLOPs.
type FMA struct {
	WG     int // threads per workgroup
	Chains int // independent accumulators
	Iters  int // loop trips; keep under lavapipe's 65535-iteration cap
}

func (p FMA) Name() string             { return "fma" }
func (p FMA) String() string           { return fmt.Sprintf("wg=%d/chains=%d/iters=%d", p.WG, p.Chains, p.Iters) }
func (p FMA) WorkgroupSize() [3]uint32 { return [3]uint32{uint32(p.WG), 1, 1} }
func (p FMA) Check() error {
	if p.Chains < 1 || p.Chains > 32 || p.Iters < 1 || p.Iters > 60000 {
		return fmt.Errorf("%w: fma chains %d, iters %d", errParams, p.Chains, p.Iters)
	}
	return checkWG(p.WG)
}
func (p FMA) view() (string, any) {
	return "fma.wgsl.tmpl", struct {
		FMA
		Header string
	}{p, header(p)}
}

// FLOPsPerThread is the work of one thread.
func (p FMA) FLOPsPerThread() float64 { return 2 * float64(p.Chains) * float64(p.Iters) }

func checkWG(wg int) error {
	if wg < 1 || wg > 1024 {
		return fmt.Errorf("%w: workgroup %d", errParams, wg)
	}
	return nil
}
