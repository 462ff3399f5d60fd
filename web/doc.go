// Package web owns the browser path of a profile: it exports the winning
// kernels of a profile so that a web page can run them on the WebGPU of a
// browser, and it serves that page.
//
// Export goes through these steps for each entry of the profile (ops
// matmul, gemv, gemm, attention-prefill, attention-decode and the block
// ops of ops.BlockOps; entries of other ops are left out with a note in
// the manifest's skipped list, as are those over -max-bytes or not in
// -shapes):
//
//  1. The entry's params become template params (package ops's search
//     spaces read the id), and package templates renders the WGSL of each
//     dispatch, written to DIR/<name>.wgsl, or DIR/<name>.<kernel>.wgsl
//     where there are several (split decode: flash-decode, then
//     flash-reduce combining its partials).
//  2. Package ops draws the inputs its evaluators validate that shape with
//     (the same seeds) and computes the checks. Sampled checks (matmul,
//     gemv, gemm, attention) hold the CPU reference of a sample of the
//     output elements, each with its tolerance. Whole checks (block ops,
//     on the case ops times at the entry's shape) hold every word of each
//     written buffer and its tolerance, 0 for words that must match
//     exactly (indices), in DIR/<name>.<buffer>.want.bin and .tol.bin. The
//     inputs go to DIR/<name>.<buffer>.bin as little-endian 32-bit words;
//     uniforms and sampled checks go into the manifest.
//  3. DIR/manifest.json (schema 2), written last and atomically, lists
//     every kernel: op, dtype, shape, params, buffers (element type,
//     length in words, contents, layout, the weights' packing), the
//     dispatches in order (kernel, WGSL file, entry point, workgroup size,
//     workgroups, each binding's buffer and kind), the checks, the work of
//     one run of the dispatches, the limits they need, and the native
//     measurement from the profile. An interrupted export leaves no
//     manifest: the old one is removed before any file is written.
//
// Schema 1 had one dispatch per kernel and one sampled check; schema 2
// made both lists, so that a kernel of several dispatches sharing buffers
// and a block kernel with several outputs can be exported.
//
// Handler serves an embedded page (static/) and an export folder. The page
// loads the manifest, requests a WebGPU adapter (with timestamp-query when
// offered), and for each kernel creates the buffers, compiles the
// dispatches, runs them once in order in one pass, checks the buffers
// (the guard band after each untouched; sampled: every element written
// and finite, the sampled elements within tolerance of the CPU reference;
// whole: every word as expected or within its tolerance) and times it:
// warm-up, then several samples of repeated runs of the dispatches, each
// timed by pass timestamps or, without them, by wall time; the median
// gives the rate. It shows native and browser rates side by side,
// publishes its results as JSON in window.tuneResults and sets
// document.title when done.
package web
