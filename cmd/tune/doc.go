// Command tune generates WebGPU compute kernels, autotunes them on the
// adapter it finds, and keeps the winners in a per-adapter profile.
//
// With no command, or flags first, it sweeps: every candidate of the f32
// matmul space is rendered, compiled, validated against a CPU reference and
// timed; the best per shape goes into profiles/<adapter>.yaml and every timed
// pass into a results file in the Go benchmark format.
//
// Transcripts (TestTranscripts runs these from the repository root and
// compares the output):
//
//	$ tune help
//	usage: tune [command] [flags]
//
//	commands:
//	  sweep      tune kernels on an adapter and write its profile (the default command)
//	  adapters   list the WebGPU adapters of this machine
//	  run        generate text with a Llama model on the GPU
//	  eval       perplexity of a model on a text, to compare weight formats
//	  quant      quantization error of a model's matrices in each format
//	  lookup     show the kernel a profile chooses for a shape
//	  bench      re-measure a profile's kernels and the device's roofs
//	  report     compare two results files or profiles; -gate fails on regressions
//	  efficiency replay search strategies on an exhaustive sweep's journal
//	  export     write a profile's kernels, inputs and checks for a browser
//	  serve      serve an export and the page that runs it on the browser's WebGPU
//	  buckets    merge swept shapes whose winners are within noise; check on held-out shapes
//	  portable   pick one kernel per shape for every adapter from their profiles and journals
//	  stability  rerun one tune and count the reruns that pick the same winner
//	  intgemv    time the integer GEMV (int8 activations) against the f32-dequantizing one
//
//	Run 'tune <command> -h' for a command's flags.
//
//	$ tune lookup -adapter llvmpipe -shape 1000x1000x1000
//	profile: profiles/llvmpipe-llvm-15-0-6-256-bits.yaml
//	matmul f32 1000x1000x1000: nearest tuned shape 512x512x512
//	kernel: matmul wgx=32/wgy=16/rm=8/rn=8/tk=8/vec=4/staged=true/prefetch=true/unroll=true
//	measured: 11.7 GFLOP/s (naive 1.28 GFLOP/s)
//
//	$ tune lookup -adapter llvmpipe -dir /nonexistent -shape 100x100x100
//	matmul f32 100x100x100: built-in default wgx=16/wgy=16/rm=4/rn=4/tk=8/vec=4/staged=true/prefetch=false/unroll=true
//
// A sweep on the CPU adapter of a machine without a GPU (output shortened;
// timings are this machine's):
//
//	$ tune --shapes 512x512x512 --max-evals 24
//	adapter: llvmpipe (LLVM 15.0.6, 256 bits) (cpu, vulkan, Mesa 22.3.6 (LLVM 15.0.6))
//	timing: GPU timestamps
//	512x512x512: naive baseline 1.28 GFLOP/s
//	512x512x512: 5402 legal candidates, evaluating up to 24
//	[  1/24 0s] 512x512x512 wgx=8/wgy=32/...: 3.12 GFLOP/s ±1.9% | best 3.12 GFLOP/s
//	...
//	512x512x512: stopped (max-evals) after 24 candidates, 24 measured now, 0 rejected, in 30.2s
//	┌─────────────┬────────────────────────┬──────────────────────────┬──────────────┬─────────┬─────────┬───────────────┐
//	│    SHAPE    │      BEST KERNEL       │    RATE  ( 95 %  CI )    │    NAIVE     │ SPEEDUP │ VS  # 2 │ EVALS NEW REJ │
//	├─────────────┼────────────────────────┼──────────────────────────┼──────────────┼─────────┼─────────┼───────────────┤
//	│ 512x512x512 │ wgx=32/wgy=16/rm=8/... │ 11.7 GFLOP/s (8.62-12.5) │ 1.28 GFLOP/s │ 9.18x   │ +4.7% ~ │ 24 24 0       │
//	└─────────────┴────────────────────────┴──────────────────────────┴──────────────┴─────────┴─────────┴───────────────┘
//
// "~" marks a winner whose confidence interval overlaps the runner-up's.
package main
