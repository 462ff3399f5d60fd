// Package web owns the browser path of a profile: it exports the winning
// kernels of a profile so that a web page can run them on the WebGPU of a
// browser, and it serves that page.
//
// Export goes through these steps for each entry of the profile (ops
// matmul, gemv and gemm; entries of other ops are left out with a note in
// the manifest's skipped list):
//
//  1. The entry's params become template params (package ops's search
//     spaces read the id), and package templates renders the WGSL, written
//     to DIR/<name>.wgsl.
//  2. Package ops draws the inputs its evaluators validate that shape with
//     (the same seeds) and computes the CPU reference of a sample of the
//     output elements, each with its tolerance. The inputs go to
//     DIR/<name>.<binding>.bin as little-endian 32-bit words; uniforms,
//     the expected values and tolerances go into the manifest.
//  3. DIR/manifest.json, written last and atomically, lists every kernel:
//     op, dtype, shape, params, entry point, workgroup size, dispatch,
//     bindings (kind, element type, length in words, contents), the
//     weights' packing, the checked elements, the work of one run, the
//     limits the kernel needs, and the native measurement from the
//     profile. An interrupted export leaves no manifest: the old one is
//     removed before any file is written.
//
// Handler serves an embedded page (static/) and an export folder. The page
// loads the manifest, requests a WebGPU adapter (with timestamp-query when
// offered), and for each kernel creates the buffers, compiles, dispatches,
// checks the output (every element written and finite, the guard band
// after it untouched, the sampled elements within tolerance of the CPU
// reference) and times it: warm-up, then several samples of repeated
// dispatches, each timed by pass timestamps or, without them, by wall
// time; the median gives the rate. It shows native and browser rates side
// by side, publishes its results as JSON in window.tuneResults and sets
// document.title when done.
package web
