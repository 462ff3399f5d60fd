// Package gguf owns the GGUF container: reading and writing the files that
// carry model metadata and weight tensors, without interpreting the weights.
//
//  1. Open (or Read, for any io.ReaderAt) parses the header, the metadata
//     key/values and the tensor infos of a GGUF v2 or v3 little-endian file,
//     checks every count, length and offset against the file size before
//     allocating, and keeps the reader for tensor data.
//  2. Metadata is the ordered key/value list; its String, Uint, Int, Float,
//     Bool, Strings, Ints and Floats methods look a key up and convert it.
//  3. Tensors lists each tensor's name, dims (ggml order: Dims[0] is the
//     contiguous row length), ggml Type, offset and byte size; TensorData
//     reads one tensor's bytes.
//  4. Type names the ggml element types and knows their block geometry, so
//     a tensor's byte size follows from its dims; decoding the blocks is the
//     job of package quant.
//  5. Write produces a v3 file from metadata and tensors, with alignment
//     padding, that Read (and llama.cpp) reads back.
//
// Errors caused by a malformed file wrap ErrFormat; lookups of a missing key
// or tensor wrap ErrNotFound.
package gguf
