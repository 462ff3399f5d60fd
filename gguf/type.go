package gguf

import (
	"fmt"
	"math"
	"math/bits"
)

// Type is a ggml tensor element type, as stored in a tensor info.
// The constant names mirror ggml's so they can be grepped for in llama.cpp.
type Type uint32

// The ggml types with a known block geometry (ggml.h enum ggml_type).
// Ids 4, 5, 31-33 and 36-38 were removed from ggml and are unknown here.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
	NVFP4   Type = 40
	Q1_0    Type = 41
	Q2_0    Type = 42
)

type traits struct {
	name  string
	block int // elements per block
	size  int // bytes per block
}

var typeTraits = [...]traits{
	F32: {"F32", 1, 4}, F16: {"F16", 1, 2},
	Q4_0: {"Q4_0", 32, 18}, Q4_1: {"Q4_1", 32, 20},
	Q5_0: {"Q5_0", 32, 22}, Q5_1: {"Q5_1", 32, 24},
	Q8_0: {"Q8_0", 32, 34}, Q8_1: {"Q8_1", 32, 36},
	Q2_K: {"Q2_K", 256, 84}, Q3_K: {"Q3_K", 256, 110}, Q4_K: {"Q4_K", 256, 144},
	Q5_K: {"Q5_K", 256, 176}, Q6_K: {"Q6_K", 256, 210}, Q8_K: {"Q8_K", 256, 292},
	IQ2_XXS: {"IQ2_XXS", 256, 66}, IQ2_XS: {"IQ2_XS", 256, 74}, IQ3_XXS: {"IQ3_XXS", 256, 98},
	IQ1_S: {"IQ1_S", 256, 50}, IQ4_NL: {"IQ4_NL", 32, 18}, IQ3_S: {"IQ3_S", 256, 110},
	IQ2_S: {"IQ2_S", 256, 82}, IQ4_XS: {"IQ4_XS", 256, 136},
	I8: {"I8", 1, 1}, I16: {"I16", 1, 2}, I32: {"I32", 1, 4}, I64: {"I64", 1, 8},
	F64: {"F64", 1, 8}, IQ1_M: {"IQ1_M", 256, 56}, BF16: {"BF16", 1, 2},
	TQ1_0: {"TQ1_0", 256, 54}, TQ2_0: {"TQ2_0", 256, 66},
	MXFP4: {"MXFP4", 32, 17}, NVFP4: {"NVFP4", 64, 36}, Q1_0: {"Q1_0", 128, 18}, Q2_0: {"Q2_0", 64, 18},
}

func (t Type) traits() traits {
	if int64(t) < int64(len(typeTraits)) {
		return typeTraits[t]
	}
	return traits{}
}

// String returns ggml's name for t, or "Type(n)" for an unknown id.
func (t Type) String() string {
	if n := t.traits().name; n != "" {
		return n
	}
	return fmt.Sprintf("Type(%d)", uint32(t))
}

// Known reports whether t has a known block geometry.
func (t Type) Known() bool { return t.traits().block != 0 }

// BlockSize is the number of elements per block (1 for plain types), 0 if unknown.
func (t Type) BlockSize() int { return t.traits().block }

// TypeSize is the number of bytes per block, 0 if unknown.
func (t Type) TypeSize() int { return t.traits().size }

// Size returns the byte size of a tensor of type t with the given dims
// (ggml order). Dims[0] must be a multiple of the block size, because ggml
// blocks never straddle rows. Errors wrap ErrFormat.
func (t Type) Size(dims []uint64) (int64, error) {
	tr := t.traits()
	if tr.block == 0 {
		return 0, fmt.Errorf("%w: unknown ggml type %s", ErrFormat, t)
	}
	if len(dims) == 0 { // a scalar: one element
		if tr.block != 1 {
			return 0, fmt.Errorf("%w: %s tensor with no dims", ErrFormat, t)
		}
		return int64(tr.size), nil
	}
	if dims[0]%uint64(tr.block) != 0 {
		return 0, fmt.Errorf("%w: %s row length %d is not a multiple of the block size %d", ErrFormat, t, dims[0], tr.block)
	}
	n := uint64(tr.size)
	for i, d := range dims {
		if i == 0 {
			d /= uint64(tr.block)
		}
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("%w: %s tensor with dims %v overflows", ErrFormat, t, dims)
		}
		n = lo
	}
	return int64(n), nil
}
