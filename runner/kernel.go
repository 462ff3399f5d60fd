package runner

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// Binding is the kind of one buffer binding of a kernel, in @binding order
// of @group(0).
type Binding int

const (
	Uniform   Binding = iota // var<uniform>
	ReadOnly                 // var<storage, read>
	ReadWrite                // var<storage, read_write>
)

func (b Binding) String() string {
	switch b {
	case Uniform:
		return "uniform"
	case ReadOnly:
		return "storage-read"
	case ReadWrite:
		return "storage-read-write"
	}
	return fmt.Sprintf("Binding(%d)", int(b))
}

// Kernel is a compiled compute pipeline with its explicit bind-group layout.
type Kernel struct {
	Label    string
	Bindings []Binding
	// Workgroup is the @workgroup_size the source declares, as the caller
	// stated it; Compile checks it against the device limits.
	Workgroup [3]uint32

	dev      *Device
	module   *wgpu.ShaderModule
	layout   *wgpu.BindGroupLayout
	pipeline *wgpu.PipelineLayout
	compute  *wgpu.ComputePipeline
}

// ErrCompile wraps every shader-module and pipeline creation failure; the
// message carries the compiler's own diagnostic.
var ErrCompile = errors.New("compile")

// Compile turns WGSL with entry point "main" into a pipeline whose
// @group(0) bindings are exactly bindings. A source that does not parse,
// validate, or match the bindings returns an error wrapping ErrCompile with
// the compiler's diagnostic.
func (d *Device) Compile(label, wgsl string, bindings []Binding, workgroup [3]uint32) (*Kernel, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if strings.TrimSpace(wgsl) == "" {
		return nil, fmt.Errorf("%w %s: empty source", ErrCompile, label)
	}
	if err := d.checkWorkgroup(workgroup); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrCompile, label, err)
	}
	if err := d.checkBindingCounts(bindings); err != nil {
		return nil, fmt.Errorf("%w %s: %v", ErrCompile, label, err)
	}
	k := &Kernel{Label: label, Bindings: append([]Binding(nil), bindings...), Workgroup: workgroup, dev: d}
	var err error
	k.module, err = d.dev.CreateShaderModule(&wgpu.ShaderModuleDescriptor{
		Label:          label,
		WGSLDescriptor: &wgpu.ShaderModuleWGSLDescriptor{Code: wgsl},
	})
	if err != nil {
		return nil, fmt.Errorf("%w %s: shader module: %v", ErrCompile, label, err)
	}
	entries := make([]wgpu.BindGroupLayoutEntry, len(bindings))
	for i, b := range bindings {
		t := wgpu.BufferBindingType_Storage
		switch b {
		case Uniform:
			t = wgpu.BufferBindingType_Uniform
		case ReadOnly:
			t = wgpu.BufferBindingType_ReadOnlyStorage
		}
		entries[i] = wgpu.BindGroupLayoutEntry{
			Binding:    uint32(i),
			Visibility: wgpu.ShaderStage_Compute,
			Buffer:     wgpu.BufferBindingLayout{Type: t},
		}
	}
	k.layout, err = d.dev.CreateBindGroupLayout(&wgpu.BindGroupLayoutDescriptor{Label: label, Entries: entries})
	if err != nil {
		k.release()
		return nil, fmt.Errorf("%w %s: bind group layout: %v", ErrCompile, label, err)
	}
	k.pipeline, err = d.dev.CreatePipelineLayout(&wgpu.PipelineLayoutDescriptor{
		Label:            label,
		BindGroupLayouts: []*wgpu.BindGroupLayout{k.layout},
	})
	if err != nil {
		k.release()
		return nil, fmt.Errorf("%w %s: pipeline layout: %v", ErrCompile, label, err)
	}
	k.compute, err = d.dev.CreateComputePipeline(&wgpu.ComputePipelineDescriptor{
		Label:   label,
		Layout:  k.pipeline,
		Compute: wgpu.ProgrammableStageDescriptor{Module: k.module, EntryPoint: "main"},
	})
	if err != nil {
		k.release()
		return nil, fmt.Errorf("%w %s: pipeline: %v", ErrCompile, label, err)
	}
	return k, nil
}

func (d *Device) checkWorkgroup(wg [3]uint32) error {
	l := d.Limits
	if wg[0] == 0 || wg[1] == 0 || wg[2] == 0 {
		return fmt.Errorf("workgroup size %v has a zero dimension", wg)
	}
	if wg[0] > l.MaxComputeWorkgroupSizeX || wg[1] > l.MaxComputeWorkgroupSizeY || wg[2] > l.MaxComputeWorkgroupSizeZ {
		return fmt.Errorf("workgroup size %v exceeds the device's %d x %d x %d", wg,
			l.MaxComputeWorkgroupSizeX, l.MaxComputeWorkgroupSizeY, l.MaxComputeWorkgroupSizeZ)
	}
	if n := uint64(wg[0]) * uint64(wg[1]) * uint64(wg[2]); n > uint64(l.MaxComputeInvocationsPerWorkgroup) {
		return fmt.Errorf("workgroup of %d invocations exceeds the device's %d", n, l.MaxComputeInvocationsPerWorkgroup)
	}
	return nil
}

func (d *Device) checkBindingCounts(bindings []Binding) error {
	var uniform, storage uint32
	for _, b := range bindings {
		switch b {
		case Uniform:
			uniform++
		case ReadOnly, ReadWrite:
			storage++
		default:
			return fmt.Errorf("unknown binding kind %d", int(b))
		}
	}
	if uniform > d.Limits.MaxUniformBuffersPerShaderStage || storage > d.Limits.MaxStorageBuffersPerShaderStage {
		return fmt.Errorf("%d uniform and %d storage bindings exceed the device's %d and %d",
			uniform, storage, d.Limits.MaxUniformBuffersPerShaderStage, d.Limits.MaxStorageBuffersPerShaderStage)
	}
	return nil
}

// Release frees the kernel's pipeline. Work using it must have completed,
// which every Device method that submits guarantees before returning.
func (k *Kernel) Release() {
	k.dev.mu.Lock()
	defer k.dev.mu.Unlock()
	k.release()
}

func (k *Kernel) release() {
	if k.compute != nil {
		k.compute.Release()
		k.compute = nil
	}
	if k.pipeline != nil {
		k.pipeline.Release()
		k.pipeline = nil
	}
	if k.layout != nil {
		k.layout.Release()
		k.layout = nil
	}
	if k.module != nil {
		k.module.Release()
		k.module = nil
	}
}
