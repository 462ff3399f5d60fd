// Package llama owns the Llama model: loading or generating its weights,
// its tokenizer, a plain-Go CPU forward pass that is the reference, and the
// forward pass on the GPU that is checked against it.
//
//  1. LoadLlama2C (ReadLlama2C for any io.ReaderAt) reads a llama2.c legacy
//     checkpoint and LoadGGUF (ReadGGUF) a GGUF v2/v3 file of architecture
//     "llama", with tensors of any type package quant decodes, into a Model:
//     Options (the hyperparameters) and float32 Weights, each named as its
//     GGUF tensor ("blk.0.attn_q.weight"), so a GPU path can upload them by
//     name (Model.Weights) or by role (Model.Layers[i].Attention.Query).
//     Every size in a header is checked against the file before anything is
//     allocated. GGUF Q and K rows are used as stored: like llama2.c files,
//     they are laid out for RoPE on adjacent pairs.
//  2. A Tokenizer is a SentencePiece-style BPE vocabulary with scores and
//     byte-fallback tokens, read from a llama2.c tokenizer.bin
//     (LoadTokenizerBin) or from GGUF metadata (GGUFTokenizer). Encode merges
//     the best-scoring adjacent pair until none is left, following run.c for
//     the former and llama.cpp's SPM tokenizer for the latter; Decode turns a
//     token into its text.
//  3. Model.Forward runs one token at one position through the network as
//     the paper describes it: RMSNorm, grouped-query attention with RoPE over
//     a KVCache, a SwiGLU MLP, residual adds, and the classifier. The float32
//     arithmetic follows run.c operation for operation (summation order, no
//     fused multiply-adds); expf, sinf, cosf and powf are the float64
//     functions rounded to float32, where glibc's float functions sometimes
//     round the other way, so logits can differ from a glibc build of run.c
//     in the last bits while greedy decoding reproduces it token for token.
//  4. A Sampler picks the next token as run.c does (argmax, or temperature
//     and top-p with run.c's xorshift generator and seeding). GenerateIDs and
//     Generate run run.c's loop on the CPU, GenerateFunc over any forward
//     pass: BOS at position 0, prompt tokens forced, stop when BOS comes up,
//     one decoded text piece per token.
//  5. Synthetic generates a model of a real shape (Llama 2 7B, Llama 3.1 8B,
//     Llama 3.2 1B and 3B, a scaled-down Llama 4 mixture of experts, a tiny
//     one) with deterministic random weights, quantized a block of rows at a
//     time as they are drawn: its Weights hold a quant.Tensor (Q) in place of
//     float32 Data, and the CPU forward pass dequantizes them a row at a time.
//     Llama 4 layers (MoE, NoPE, q/k norm, chunked attention) run on the GPU
//     quantized, a prompt batched with every expert over the batch
//     (llama4gpu.go, prefill.go).
//  6. NewGPU uploads a model (quantizing float32 projections if asked) and
//     records a decode step as one program of fused dispatches; Generate runs
//     greedy steps back to back with the sampled token kept on the device,
//     and a quantized model's prompt in batches whose projections are GEMMs
//     and whose attention is flash prefill.
//     FillCache, DecodeSteps and PrefillTokens time the same loop for
//     benchmarks, and ProfileStep breaks a step's GPU time down by kernel
//     and shape. The non-matmul kernels take their workgroup sizes from the
//     profile's block-op entries (tune sweep -op), the matmuls and
//     attention their params from its tuned shapes.
//
// Errors caused by a malformed file wrap ErrFormat; files that are well
// formed but describe a variant this package does not implement (another
// architecture, mixture of experts, RoPE scaling, a non-SentencePiece
// tokenizer, an undecodable tensor type) wrap ErrUnsupported.
package llama
