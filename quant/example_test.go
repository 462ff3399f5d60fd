package quant_test

import (
	"fmt"

	"github.com/tune-gpu/tune/gguf"
	"github.com/tune-gpu/tune/quant"
)

func ExampleQuantize() {
	// One row of 32 weights on the int4 grid of scale 0.25, except element 3.
	w := make([]float32, 32)
	for i := range w {
		w[i] = 0.25 * float32(i%16-8)
	}
	w[3] = -0.3
	f, _ := quant.ParseFormat("int4-g32-sym")
	t, err := quant.Quantize(w, 1, 32, f, quant.RTN)
	if err != nil {
		panic(err)
	}
	fmt.Println(t.Format, t.Rows, t.Cols)
	fmt.Printf("scale %v words %08x\n", t.Scales[0], t.Words)
	y := t.Dequantize()
	fmt.Println(y[:8])
	rmse, maxAbs := quant.ErrorStats(w, y)
	fmt.Printf("rmse %.4f max %.2f\n", rmse, maxAbs)
	// Output:
	// int4-g32-sym 1 32
	// scale 0.25 words [76547210 fedcba98 76543210 fedcba98]
	// [-2 -1.75 -1.5 -0.25 -1 -0.75 -0.5 -0.25]
	// rmse 0.0088 max 0.05
}

func ExampleFromGGML() {
	// A Q4_0 block: f16 d = 1.0, then 16 bytes whose low nibbles are
	// elements 0..15 and high nibbles elements 16..31.
	block := []byte{0x00, 0x3c}
	for j := range 16 {
		block = append(block, byte(j)|byte(15-j)<<4)
	}
	t, err := quant.FromGGML(gguf.Q4_0, block, 1, 32)
	if err != nil {
		panic(err)
	}
	fmt.Println(t.Format)
	fmt.Printf("%08x\n", t.Words)
	fmt.Println(t.Dequantize()[14:18])
	// Output:
	// int4-g32-sym
	// [76543210 fedcba98 89abcdef 01234567]
	// [6 7 7 6]
}

func ExampleCompare() {
	w := make([]float32, 2*64)
	for i := range w {
		w[i] = float32(i%7-3) / 8
	}
	rows, err := quant.Compare(map[string]quant.Float{"w": {Dims: []uint64{64, 2}, Data: w}},
		[]quant.Format{{Bits: 8, Group: 32}, {Bits: 2, Group: 64, Asym: true}}, []quant.Method{quant.RTN, quant.Search})
	if err != nil {
		panic(err)
	}
	for _, r := range rows {
		fmt.Printf("%s %-14v %-6v rmse %.3e\n", r.Tensor, r.Format, r.Method, r.RMSE)
	}
	// Output:
	// w int8-g32-sym   rtn    rmse 7.404e-04
	// w int8-g32-sym   search rmse 7.291e-04
	// w int2-g64-asym  rtn    rmse 8.194e-02
	// w int2-g64-asym  search rmse 6.044e-02
}
