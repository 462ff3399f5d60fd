package runner

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// AdapterInfo describes one adapter as the driver reports it.
type AdapterInfo struct {
	Index    int    // position in List's order, usable as a selector
	Name     string // e.g. "NVIDIA H100 80GB HBM3"
	Vendor   uint32 // PCI vendor id
	Device   uint32 // PCI device id
	Driver   string
	Backend  string // "vulkan", "opengl", ...
	Type     string // "discrete", "integrated", "cpu", "unknown"
	Features []string
	Limits   wgpu.Limits
}

// Timestamps reports whether the adapter supports timestamp queries.
func (a AdapterInfo) Timestamps() bool {
	for _, f := range a.Features {
		if f == wgpu.FeatureName_TimestampQuery.String() {
			return true
		}
	}
	return false
}

func (a AdapterInfo) String() string {
	return fmt.Sprintf("%s (%s, %s, %s)", a.Name, a.Type, a.Backend, a.Driver)
}

func adapterType(t wgpu.AdapterType) string {
	switch t {
	case wgpu.AdapterType_DiscreteGPU:
		return "discrete"
	case wgpu.AdapterType_IntegratedGPU:
		return "integrated"
	case wgpu.AdapterType_CPU:
		return "cpu"
	}
	return "unknown"
}

func backendName(b wgpu.BackendType) string {
	switch b {
	case wgpu.BackendType_Vulkan:
		return "vulkan"
	case wgpu.BackendType_OpenGL:
		return "opengl"
	case wgpu.BackendType_OpenGLES:
		return "opengles"
	case wgpu.BackendType_Metal:
		return "metal"
	case wgpu.BackendType_D3D12:
		return "d3d12"
	case wgpu.BackendType_D3D11:
		return "d3d11"
	}
	return strings.ToLower(b.String())
}

func describe(i int, a *wgpu.Adapter) AdapterInfo {
	p := a.GetProperties()
	info := AdapterInfo{
		Index:   i,
		Name:    p.Name,
		Vendor:  p.VendorId,
		Device:  p.DeviceId,
		Driver:  p.DriverDescription,
		Backend: backendName(p.BackendType),
		Type:    adapterType(p.AdapterType),
		Limits:  a.GetLimits().Limits,
	}
	for _, f := range a.EnumerateFeatures() {
		info.Features = append(info.Features, f.String())
	}
	sort.Strings(info.Features)
	return info
}

// rank orders adapters for "auto": discrete, integrated, CPU, then the rest;
// Vulkan before other backends within a type.
func rank(a AdapterInfo) int {
	r := map[string]int{"discrete": 0, "integrated": 1, "cpu": 2}[a.Type]
	if a.Type == "unknown" {
		r = 3
	}
	r *= 2
	if a.Backend != "vulkan" {
		r++
	}
	return r
}

// selectAdapter resolves a selector against the listed adapters: "auto", an
// index, or a case-insensitive substring of the name.
func selectAdapter(infos []AdapterInfo, selector string) (int, error) {
	if len(infos) == 0 {
		return 0, ErrNoAdapter
	}
	sel := strings.TrimSpace(selector)
	switch {
	case sel == "" || strings.EqualFold(sel, "auto"):
		best := 0
		for i := range infos {
			if rank(infos[i]) < rank(infos[best]) {
				best = i
			}
		}
		return best, nil
	}
	if n, err := strconv.Atoi(sel); err == nil {
		if n < 0 || n >= len(infos) {
			return 0, fmt.Errorf("adapter index %d out of range: %d adapters (see tune adapters)", n, len(infos))
		}
		return n, nil
	}
	var matches []int
	for i, a := range infos {
		if strings.Contains(strings.ToLower(a.Name), strings.ToLower(sel)) {
			matches = append(matches, i)
		}
	}
	if len(matches) == 0 {
		return 0, fmt.Errorf("no adapter name contains %q (see tune adapters)", sel)
	}
	// Several backends expose the same GPU; prefer the better-ranked one.
	best := matches[0]
	for _, i := range matches[1:] {
		if rank(infos[i]) < rank(infos[best]) {
			best = i
		}
	}
	return best, nil
}
