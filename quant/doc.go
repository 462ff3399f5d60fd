// Package quant owns weight formats: the packed group-quantized tensors the
// WGSL kernels consume, and the ggml block types they are converted from.
//
//  1. A Format (bits, group size, symmetric or with a min) names one of our
//     layouts; Tensor documents the exact bit packing kernels rely on.
//  2. Quantize turns float32 weights into a Tensor by round-to-nearest
//     (RTN) or by a per-group scale Search; Dequantize undoes it, and
//     ErrorStats and Compare measure what was lost.
//  3. DequantizeGGML decodes ggml blocks (F32, F16, BF16, Q8_0, Q4_0, Q4_1,
//     Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) bit-exactly as ggml does;
//     FromGGML converts Q8_0, Q4_0 and Q4_1 straight into our layout without
//     a detour through float32.
//  4. Save writes a set of tensors to a GGUF file, storing formats that
//     match a ggml type as that type and the others in a documented custom
//     encoding; Load reads them back bit for bit.
//  5. SetActAbsmax and ActAbsmax write and read the calibrated input range
//     of each matrix (static int8 activation scales) as GGUF metadata.
//  6. A Layout says where a kernel finds the scales and mins on the GPU:
//     Apart, in buffers of their own, or Beside, after each block of
//     BlockGroups groups' codes in one buffer (PackBeside, UnpackBeside).
//
// Scales and mins produced here are always float16-representable (see
// Quantize), so every Tensor from Quantize or FromGGML survives Save and
// Load, and kernels may keep scales in f16.
package quant
