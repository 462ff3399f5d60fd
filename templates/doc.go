// Package templates owns WGSL generation: each kernel family is a Go
// text/template (*.wgsl.tmpl, embedded) and a typed params struct.
//
// Rendering is the only way WGSL is made:
//
//  1. A params struct is checked (Check) for values the template cannot
//     express, independent of any device.
//  2. Derived sizes are computed in Go and written into the source as typed
//     literals, because naga 0.13 rejects const expressions, override and
//     named workgroup sizes; the output is valid for naga and for Tint.
//  3. The output begins with a comment naming the kernel and its params, so
//     every WGSL file says what produced it.
//
// Whether a rendered kernel fits a device (invocations, workgroup memory) is
// the search space's business; whether it computes the right thing is the
// validator's.
package templates
