package quant

import (
	"errors"
	"math"
	"testing"
)

func TestFormatNames(t *testing.T) {
	for _, tc := range []struct {
		s string
		f Format
	}{
		{"int4-g32-sym", Format{4, 32, false}},
		{"int2-g64-asym", Format{2, 64, true}},
		{"int8-row-sym", Format{8, 0, false}},
		{"int8-g128-asym", Format{8, 128, true}},
		{"int4-g256-sym", Format{4, 256, false}},
	} {
		t.Run(tc.s, func(t *testing.T) {
			if got := tc.f.String(); got != tc.s {
				t.Errorf("String = %q", got)
			}
			if got, err := ParseFormat(tc.s); err != nil || got != tc.f {
				t.Errorf("ParseFormat = %v, %v", got, err)
			}
		})
	}
	for _, s := range []string{"", "int4", "int3-g32-sym", "int4-g48-sym", "int4-g0-sym", "int4-g32-sum",
		"int04-g32-sym", "int4-g+32-sym", "uint4-g32-sym", "int4-row-sym-x", "int4-G32-sym", "int4-g-32-sym"} {
		t.Run("bad "+s, func(t *testing.T) {
			if _, err := ParseFormat(s); !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseFormat(%q) = %v, want ErrInvalid", s, err)
			}
		})
	}
	if n := len(Formats()); n != 24 {
		t.Errorf("%d formats", n)
	}
	for _, m := range []Method{RTN, Search} {
		if got, err := ParseMethod(m.String()); err != nil || got != m {
			t.Errorf("ParseMethod(%v) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseMethod("gptq"); !errors.Is(err, ErrInvalid) {
		t.Error(err)
	}
}

func TestF16(t *testing.T) {
	// Every f16 value converts to float32 and back unchanged.
	for h := range 1 << 16 {
		f := f16ToF32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if got := f32ToF16(f); got != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, got)
		}
	}
	for _, tc := range []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800}, {65504, 0x7bff},
		{65520, 0x7c00},                    // halfway to the next binade rounds up to inf
		{1 + 1.0/2048, 0x3c00},             // halfway between 1 and 1+2^-10: even (down)
		{1 + 3.0/2048, 0x3c02},             // halfway between 1+2^-10 and 1+2^-9: even (up)
		{1 + 1.0/2048 + 1.0/65536, 0x3c01}, // just above halfway
		{5.960464477539063e-08, 0x0001},    // smallest subnormal, 2^-24
		{2.9802322387695312e-08, 0x0000},   // 2^-25, halfway to it: even (zero)
		{4.4703483581542969e-08, 0x0001},   // 1.5 * 2^-25
		{6.097555160522461e-05, 0x03ff},    // largest subnormal
		{float32(math.Inf(-1)), 0xfc00},
		{float32(math.Copysign(0, -1)), 0x8000},
	} {
		if got := f32ToF16(tc.f); got != tc.want {
			t.Errorf("f32ToF16(%v) = %#04x, want %#04x", tc.f, got, tc.want)
		}
	}
	if h := f32ToF16(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN -> %#04x", h)
	}
}
