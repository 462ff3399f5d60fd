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
