package quant

import (
	"encoding/binary"
	"errors"
	"github.com/tune-gpu/tune/internal/testmodels"
	"math"
	"os"
	"testing"

	"github.com/tune-gpu/tune/gguf"
)

var models = testmodels.Dir()

// readGGUF returns every tensor of a GGUF file as raw bytes, with its info.
func readGGUF(t *testing.T, path string) ([]gguf.TensorInfo, map[string][]byte) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := map[string][]byte{}
	for _, ti := range f.Tensors {
		if data[ti.Name], err = f.TensorData(ti.Name); err != nil {
			t.Fatal(err)
		}
	}
	return f.Tensors, data
}

// TestStoriesGGML decodes every tensor of the quantized stories260K files
// (made by ggml's reference quantizer from stories260K.gguf) and compares
// it with the F32 original.
func TestStoriesGGML(t *testing.T) {
	_, ref := readGGUF(t, models+"stories260K.gguf")
	for _, typ := range []gguf.Type{gguf.Q8_0, gguf.Q4_0, gguf.Q4_1, gguf.Q5_0} {
		t.Run(typ.String(), func(t *testing.T) {
			infos, data := readGGUF(t, models+"quantized/stories260K-"+typ.String()+".gguf")
			quantized := 0
			for _, ti := range infos {
				n := int(ti.Elements())
				y, err := DequantizeGGML(ti.Type, data[ti.Name], n)
				if err != nil {
					t.Fatalf("%s: %v", ti.Name, err)
				}
				want, err := DequantizeGGML(gguf.F32, ref[ti.Name], n)
				if err != nil {
					t.Fatalf("%s: reference: %v", ti.Name, err)
				}
				if ti.Type == gguf.F32 {
					assertBitEqual(t, y, want)
					continue
				}
				quantized++
				checkBlockError(t, ti.Name, typ, data[ti.Name], y, want)

				rows, cols := n/int(ti.Dims[0]), int(ti.Dims[0])
				q, err := FromGGML(ti.Type, data[ti.Name], rows, cols)
				if typ == gguf.Q5_0 {
					if !errors.Is(err, ErrNoDirectLayout) {
						t.Fatalf("FromGGML(Q5_0) = %v, want ErrNoDirectLayout", err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				assertBitEqual(t, q.Dequantize(), y)
				if back := toGGML(q, ti.Type); string(back) != string(data[ti.Name]) {
					t.Fatalf("%s: blocks do not survive FromGGML and back", ti.Name)
				}
			}
			if quantized != 32 { // 5 layers x 6 matrices (q, k, v, o, gate, up), token_embd, output
				t.Errorf("%d quantized tensors, want 32", quantized)
			}
		})
	}
}

// checkBlockError bounds |y - want| block by block by the format's step.
// The reference quantizer computes codes with the f32 scale d and stores
// f16(d), so the bound is step(d) plus the f16 rounding of d (relative
// 2^-11, taken as 2^-10) times the largest code magnitude, plus the same
// for the min. Round-to-nearest formats (Q8_0, Q4_1) err by at most d/2;
// Q4_0 and Q5_0 map the largest magnitude to code 0 and clamp the top
// code, so values at the opposite extreme err by up to d.
func checkBlockError(t *testing.T, name string, typ gguf.Type, data []byte, y, want []float32) {
	t.Helper()
	step, qmax := map[gguf.Type]float64{gguf.Q8_0: 0.5, gguf.Q4_1: 0.5, gguf.Q4_0: 1, gguf.Q5_0: 1}[typ],
		map[gguf.Type]float64{gguf.Q8_0: 127, gguf.Q4_1: 15, gguf.Q4_0: 8, gguf.Q5_0: 16}[typ]
	ts := typ.TypeSize()
	var worst float64 // largest error in units of d
	for b := range len(y) / 32 {
		d := math.Abs(float64(f16At(data, b*ts)))
		var m float64
		if typ == gguf.Q4_1 {
			m = math.Abs(float64(f16At(data, b*ts+2)))
		}
		bound := step*d*(1+1e-6) + (qmax*d+m)/1024 + 1e-9
		for i := 32 * b; i < 32*b+32; i++ {
			e := math.Abs(float64(y[i] - want[i]))
			if e > bound {
				t.Fatalf("%s element %d: |%v - %v| = %g > %g (d = %g)", name, i, y[i], want[i], e, bound, d)
			}
			if d > 0 {
				worst = max(worst, e/d)
			}
		}
	}
	if worst < step/2 {
		t.Errorf("%s: worst error %.3g d; suspiciously far below the bound %.3g d", name, worst, step)
	}
}

// stories is the stories260K.bin llama2.c checkpoint: its header and its
// f32 weights in llama2.c order.
type stories struct {
	dim, hidden, layers, heads, kvHeads, vocab, seqLen int
	w                                                  []float32
}

func readStories(t *testing.T) *stories {
	t.Helper()
	b, err := os.ReadFile(models + "stories260K.bin")
	if err != nil {
		t.Fatal(err)
	}
	var h [7]int32
	for i := range h {
		h[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	s := &stories{int(h[0]), int(h[1]), int(h[2]), int(h[3]), int(h[4]), int(h[5]), int(h[6]), nil}
	if s.dim != 64 || s.hidden != 172 || s.layers != 5 || s.vocab != 512 {
		t.Fatalf("unexpected header %v", h)
	}
	for i := 28; i+4 <= len(b); i += 4 {
		s.w = append(s.w, math.Float32frombits(binary.LittleEndian.Uint32(b[i:])))
	}
	return s
}

// wq returns layer l's query matrix [dim out][dim in], w1 its gate [hidden][dim].
func (s *stories) wq(l int) []float32 {
	off := s.vocab*s.dim + s.layers*s.dim
	return s.w[off+l*s.dim*s.dim : off+(l+1)*s.dim*s.dim]
}

func (s *stories) w1(l int) []float32 {
	kv := s.dim * s.kvHeads / s.heads
	off := s.vocab*s.dim + s.layers*s.dim + // embedding, rms_att
		2*s.layers*s.dim*s.dim + 2*s.layers*s.dim*kv + // wq, wo, wk, wv
		s.layers*s.dim // rms_ffn
	return s.w[off+l*s.hidden*s.dim : off+(l+1)*s.hidden*s.dim]
}

// TestStoriesErrorTable quantizes the real wq and w1 weights in every format
// that fits their 64 columns and checks the orderings that must hold.
func TestStoriesErrorTable(t *testing.T) {
	s := readStories(t)
	// The gate matrix is not permuted by the GGUF converter, so it must
	// match the GGUF copy exactly: a check on the offsets above.
	_, ref := readGGUF(t, models+"stories260K.gguf")
	g, _ := DequantizeGGML(gguf.F32, ref["blk.3.ffn_gate.weight"], s.hidden*s.dim)
	assertBitEqual(t, s.w1(3), g)

	mats := map[string]Float{}
	for l := range s.layers {
		mats["wq."+string(rune('0'+l))] = Float{Dims: []uint64{64, 64}, Data: s.wq(l)}
		mats["w1."+string(rune('0'+l))] = Float{Dims: []uint64{64, 172}, Data: s.w1(l)}
	}
	rows, err := Compare(mats, Formats(), []Method{RTN, Search})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		tensor string
		f      Format
		m      Method
	}
	rmse := map[key]float64{}
	for _, r := range rows {
		rmse[key{r.Tensor, r.Format, r.Method}] = r.RMSE
		if testing.Verbose() && r.Tensor[3] == '0' {
			t.Logf("%-5s %-14v %-6v rmse %.3e max %.3e", r.Tensor, r.Format, r.Method, r.RMSE, r.MaxAbs)
		}
	}
	// 10 tensors x (24 formats - 6 with group 128) x 2 methods.
	if len(rows) != 10*18*2 {
		t.Fatalf("%d rows", len(rows))
	}
	for name := range mats {
		for _, group := range []int{32, 64, 0} {
			for _, asym := range []bool{false, true} {
				for _, m := range []Method{RTN, Search} {
					r8 := rmse[key{name, Format{8, group, asym}, m}]
					r4 := rmse[key{name, Format{4, group, asym}, m}]
					r2 := rmse[key{name, Format{2, group, asym}, m}]
					if !(r8 < r4 && r4 < r2) {
						t.Errorf("%s g%d asym=%v %v: rmse int8 %.3g, int4 %.3g, int2 %.3g not increasing", name, group, asym, m, r8, r4, r2)
					}
				}
				for _, bits := range []int{8, 4, 2} {
					f := Format{bits, group, asym}
					if rs, rr := rmse[key{name, f, Search}], rmse[key{name, f, RTN}]; rs > rr*(1+1e-12) {
						t.Errorf("%s %v: search %.4g > rtn %.4g", name, f, rs, rr)
					}
					// Per-channel scales cover a whole row: never better than g32.
					if group == 0 {
						g32 := rmse[key{name, Format{bits, 32, asym}, RTN}]
						if row := rmse[key{name, f, RTN}]; row < g32 {
							t.Errorf("%s %v: per-row %.4g < g32 %.4g", name, f, row, g32)
						}
					}
				}
			}
		}
	}
}
