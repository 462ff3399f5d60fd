// Package runnertest gives tests in every package one shared real device.
package runnertest

import (
	"os"
	"sync"
	"testing"

	"github.com/tune-gpu/tune/runner"
)

var (
	once   sync.Once
	shared *runner.Device
	err    error
)

// Device returns the process's shared device, opened on the adapter named by
// $TUNE_ADAPTER (default "auto"). It fails the test when there is no adapter:
// the GPU path is never faked.
func Device(tb testing.TB) *runner.Device {
	tb.Helper()
	once.Do(func() {
		sel := os.Getenv("TUNE_ADAPTER")
		if sel == "" {
			sel = "auto"
		}
		shared, err = runner.Open(sel)
	})
	if err != nil {
		tb.Fatalf("opening the test device: %v (tests run real kernels: install a Vulkan driver, e.g. mesa-vulkan-drivers)", err)
	}
	return shared
}
