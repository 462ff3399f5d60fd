package runner

import (
	"errors"
	"fmt"
	"sync"

	"github.com/rajveermalviya/go-webgpu/wgpu"
)

// ErrNoAdapter is returned when the system exposes no WebGPU adapter at all.
var ErrNoAdapter = errors.New("no WebGPU adapter found (is a Vulkan driver such as mesa-vulkan-drivers installed?)")

// List returns every adapter the system exposes, on every backend.
func List() ([]AdapterInfo, error) {
	inst := wgpu.CreateInstance(nil)
	defer inst.Release()
	adapters := inst.EnumerateAdapters(nil)
	infos := make([]AdapterInfo, len(adapters))
	for i, a := range adapters {
		infos[i] = describe(i, a)
		a.Release()
	}
	if len(infos) == 0 {
		return nil, ErrNoAdapter
	}
	return infos, nil
}

// Device is an open WebGPU device. Its methods are safe for use by one
// goroutine at a time; a mutex serialises the rest.
type Device struct {
	Info   AdapterInfo // the adapter the device was opened on
	Limits wgpu.Limits // the limits granted to the device

	mu         sync.Mutex
	instance   *wgpu.Instance
	adapter    *wgpu.Adapter
	dev        *wgpu.Device
	queue      *wgpu.Queue
	timestamps bool
}

// Open selects an adapter ("auto", an index into List, or a case-insensitive
// name substring) and opens a device on it with the adapter's own limits and,
// where the adapter has them, timestamp queries.
func Open(selector string) (*Device, error) {
	inst := wgpu.CreateInstance(nil)
	adapters := inst.EnumerateAdapters(nil)
	infos := make([]AdapterInfo, len(adapters))
	for i, a := range adapters {
		infos[i] = describe(i, a)
	}
	idx, err := selectAdapter(infos, selector)
	if err != nil {
		for _, a := range adapters {
			a.Release()
		}
		inst.Release()
		return nil, fmt.Errorf("selecting adapter %q: %w", selector, err)
	}
	for i, a := range adapters {
		if i != idx {
			a.Release()
		}
	}
	d := &Device{Info: infos[idx], instance: inst, adapter: adapters[idx]}
	var features []wgpu.FeatureName
	if d.Info.Timestamps() {
		features = append(features, wgpu.FeatureName_TimestampQuery)
	}
	limits := d.Info.Limits
	dev, err := d.adapter.RequestDevice(&wgpu.DeviceDescriptor{
		Label:            "tune",
		RequiredFeatures: features,
		RequiredLimits:   &wgpu.RequiredLimits{Limits: limits},
	})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("requesting device on %s: %w", d.Info.Name, err)
	}
	d.dev = dev
	d.queue = dev.GetQueue()
	d.Limits = dev.GetLimits().Limits
	// A feature the device did not grant is dropped silently by wgpu, so ask
	// the device rather than trusting the request.
	d.timestamps = dev.HasFeature(wgpu.FeatureName_TimestampQuery)
	return d, nil
}

// Timestamps reports whether timings come from GPU timestamp queries; when
// false they come from the wall clock.
func (d *Device) Timestamps() bool { return d.timestamps }

// Close releases the device. Kernels and buffers must be released first.
func (d *Device) Close() {
	if d.queue != nil {
		d.queue.Release()
		d.queue = nil
	}
	if d.dev != nil {
		d.dev.Release()
		d.dev = nil
	}
	if d.adapter != nil {
		d.adapter.Release()
		d.adapter = nil
	}
	if d.instance != nil {
		d.instance.Release()
		d.instance = nil
	}
}

// wait blocks until all submitted work has completed.
func (d *Device) wait() {
	d.dev.Poll(true, nil)
}

// Select resolves a selector ("auto", an index, or a name substring) to an
// adapter without opening a device.
func Select(selector string) (AdapterInfo, error) {
	infos, err := List()
	if err != nil {
		return AdapterInfo{}, err
	}
	i, err := selectAdapter(infos, selector)
	if err != nil {
		return AdapterInfo{}, fmt.Errorf("selecting adapter %q: %w", selector, err)
	}
	return infos[i], nil
}
