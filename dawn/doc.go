// Package dawn owns the second opinion on generated WGSL: it compiles and
// runs kernels on Dawn, the WebGPU implementation of Chromium, whose WGSL
// compiler Tint is stricter than naga in places (uniformity of barriers,
// workgroup-memory limits, binding layouts) and is the compiler a browser
// user's kernels meet.
//
// Dawn comes from the npm package webgpu (dawn.node, prebuilt), driven by
// check.mjs in this folder through Node. Install it once with
//
//	cd dawn && npm ci
//
// Dawn's OpenGL ES backend needs Mesa's EGL and its llvmpipe driver on a
// machine without a GPU: apt-get install libegl-dev libegl-mesa0
// libgl1-mesa-dri (the -dev package for the unversioned libEGL.so that
// dawn.node opens).
//
// A call to Run or Compile goes through these steps:
//
//  1. The kernels (WGSL source, bindings with their initial contents, the
//     dispatch, the bindings to read back) are written as JSON to one Node
//     process running check.mjs, with EGL_PLATFORM=surfaceless.
//  2. check.mjs opens one device on Dawn's OpenGL ES backend in
//     compatibility mode (Dawn's Vulkan backend refuses Mesa 22.3's
//     lavapipe) with every compute limit raised to the adapter's maximum.
//  3. For each kernel it creates the shader module and collects Tint's
//     diagnostics, creates the compute pipeline with an explicit bind-group
//     layout built from the bindings, and, unless only compiling, runs one
//     dispatch and reads the outputs back; it reports each kernel as soon as
//     it is done.
//  4. If the process dies or stalls, the kernel it was on is reported as
//     crashed (with Node's last words) and the kernels after it go to a
//     fresh process.
//
// Package templates makes the kernels and package ops states what they
// must compute; this package only carries them to Dawn and back. Its tests
// prove every kernel family and a sample of every search space on Tint and
// check a set of kernels' outputs against the CPU references of ops.
package dawn
