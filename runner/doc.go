// Package runner owns the WebGPU device: it finds adapters, opens a device
// with the adapter's own limits, compiles WGSL into pipelines, moves data in
// and out of buffers, runs dispatches, and times them.
//
// The binding (go-webgpu 0.17, wgpu-native 0.17) aborts the whole process on
// a few errors it cannot report: a Submit that fails validation, a bad
// bind-group index, an empty entry point, a query set the device cannot make.
// The runner is built so that no kernel, however broken, reaches them:
//
//  1. Pipelines get an explicit bind-group layout made from the kernel's
//     declared bindings; the pipeline's own layout is never reflected.
//  2. A dispatch is checked against the kernel (binding count, kinds and
//     sizes, workgroup counts against the device limits) before encoding.
//  3. The errors of End and Finish are checked before anything is submitted.
//  4. Each kernel and its buffers are separate objects owned by the caller,
//     released only after the work that uses them has completed.
//
// Timing brackets one compute pass with encoder timestamps (timestamps inside
// a pass are never written in this wgpu version). The pass repeats the
// dispatch enough times that the interval is long against the timer's
// resolution and the per-dispatch overhead; warm-up passes are discarded and
// the median with its confidence interval is kept. Adapters without timestamp
// queries are timed by the wall clock, and the result says so.
//
// A Program (dispatches bound once, submitted many times) can also be
// profiled: each dispatch in a pass of its own with a timestamp after each,
// the whole in one pass as Submit encodes it, and the host's time to encode
// and submit it; Marginal times the pass with chosen dispatches run twice,
// which gives what they add inside the pass without a pass's overhead.
package runner
