// Package ops owns the kernel families as tunable workloads. For each op it
// knows:
//
//  1. the shapes worth tuning on a given adapter, and the search space of
//     template params, constrained by the device's limits;
//  2. how to bind and dispatch a rendered kernel;
//  3. the CPU reference every candidate is validated against, on several
//     shapes including ones that are not multiples of the tile, with a
//     tolerance scaled by K and the dtype, a NaN/Inf check and a guard band
//     after the output that catches out-of-bounds writes;
//  4. the work one run does (FLOPs, or bytes for bandwidth-bound ops), so
//     timings become rates.
//
// The kernels of a transformer block besides the matrix products (norms,
// RoPE, activations, embedding lookups, softmax, sampling, the MoE router)
// are BlockOps: their references are in block.go, their checked runs
// (BlockCases) in blockcases.go, their workloads in blockwork.go.
//
// Attention (flash prefill, split decode with its reduce, the int8 KV
// store) is in attention.go (the Attn call, CPU references and tolerances)
// and flash.go (spaces and FlashEvaluator); the quantized GEMV and its
// fused variants in gemv.go, the integer GEMV with int8 activations in
// gemva8.go, the decode loop's fused kernels in fused.go (with the checked
// runs of the GEMV whose epilogue applies RoPE and stores K and V,
// GemvRopeCases). The roofs every rate is read against (copy, fma, the cost
// of a dispatch) are in roofs.go; the read roof at a size, and a chain of
// dependent reads standing in for a decode step, in readroof.go.
//
// An Evaluator rejects a candidate with its reason at the first failure
// and only times candidates that validated.
package ops
