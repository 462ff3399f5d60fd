package main

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/quant"
	"github.com/tune-gpu/tune/runner"
)

// opShape is one workload as journals name it: op, dtype and dims in the
// order profiles store them.
type opShape struct {
	op, dtype string
	dims      []int
}

// parseTask reads a journal task name, e.g. "matmul/f32/M=512/N=512/K=512"
// or "gemv/int4-g32-sym/N=4096/K=4096". Finals verdicts and other
// non-workload tasks are errors.
func parseTask(task string) (opShape, error) {
	parts := strings.Split(task, "/")
	if len(parts) < 3 {
		return opShape{}, fmt.Errorf("task %q: want op/dtype/NAME=n/...", task)
	}
	s := opShape{op: parts[0], dtype: parts[1]}
	for _, p := range parts[2:] {
		_, v, ok := strings.Cut(p, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 1 {
			return opShape{}, fmt.Errorf("task %q: %q is not NAME=positive integer", task, p)
		}
		s.dims = append(s.dims, n)
	}
	if got := s.task(); got != task {
		return opShape{}, fmt.Errorf("task %q: not a matmul, gemv or gemm task", task)
	}
	return s, nil
}

// task is the journal name of the workload; "" for an op this tool does not
// tune or dims of the wrong count.
func (s opShape) task() string {
	switch {
	case s.op == "matmul" && s.dtype == "f32" && len(s.dims) == 3:
		return ops.Shape{M: s.dims[0], N: s.dims[1], K: s.dims[2]}.Task()
	case s.op == "gemv" && len(s.dims) == 2:
		if f, err := quant.ParseFormat(s.dtype); err == nil {
			return ops.GemvTask(ops.GemvShape{Rows: s.dims[0], Cols: s.dims[1]}, f)
		}
	case s.op == "gemm" && len(s.dims) == 3:
		if f, err := quant.ParseFormat(s.dtype); err == nil {
			return ops.GemmTask(ops.GemmShape{M: s.dims[0], N: s.dims[1], K: s.dims[2]}, f)
		}
	}
	return ""
}

// shapeString writes dims as tune's flags take them, e.g. "512x512x512".
func shapeString(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "x")
}

// parseOpShapes reads -shapes for op: MxNxK for matmul and gemm, NxK for gemv.
func parseOpShapes(op, s string) ([][]int, error) {
	var out [][]int
	switch op {
	case "matmul":
		shapes, err := ops.ParseShapes(s)
		for _, sh := range shapes {
			out = append(out, sh.Dims())
		}
		return out, err
	case "gemv":
		shapes, err := ops.ParseGemvShapes(s)
		for _, sh := range shapes {
			out = append(out, sh.Dims())
		}
		return out, err
	case "gemm":
		shapes, err := ops.ParseGemmShapes(s)
		for _, sh := range shapes {
			out = append(out, sh.Dims())
		}
		return out, err
	}
	return nil, fmt.Errorf("op %q is not matmul, gemv or gemm", op)
}

// parseDtypes reads -formats for op: matmul has only f32.
func parseDtypes(op, formats string) ([]string, error) {
	if op == "matmul" {
		if formats != "" && formats != "f32" {
			return nil, fmt.Errorf("matmul has no formats but f32")
		}
		return []string{"f32"}, nil
	}
	if formats == "" {
		var out []string
		for _, f := range ops.DefaultFormats {
			out = append(out, f.String())
		}
		return out, nil
	}
	var out []string
	for _, name := range strings.Split(formats, ",") {
		f, err := quant.ParseFormat(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		out = append(out, f.String())
	}
	return out, nil
}

// workload builds the tunable workload of one op, dtype and shape on dev.
func workload(dev *runner.Device, s opShape, timing runner.TimeOptions) (ops.Workload, error) {
	if s.task() == "" {
		return ops.Workload{}, fmt.Errorf("%s %s %v: not a matmul, gemv or gemm workload", s.op, s.dtype, s.dims)
	}
	var ws []ops.Workload
	switch s.op {
	case "matmul":
		ws = ops.MatmulWorkloads(dev, []ops.Shape{{M: s.dims[0], N: s.dims[1], K: s.dims[2]}}, timing)
	case "gemv":
		f, _ := quant.ParseFormat(s.dtype)
		ws = ops.GemvWorkloads(dev, []quant.Format{f}, []ops.GemvShape{{Rows: s.dims[0], Cols: s.dims[1]}}, timing)
	case "gemm":
		f, _ := quant.ParseFormat(s.dtype)
		ws = ops.GemmWorkloads(dev, []quant.Format{f}, []ops.GemmShape{{M: s.dims[0], N: s.dims[1], K: s.dims[2]}}, timing)
	}
	return ws[0], nil
}

// midShape is the shape halfway between a and b on a log scale, each dim
// rounded to a multiple every kernel of op accepts (the quantized ops'
// reduction dim, the last, to 256: a multiple of every group and word).
func midShape(op string, a, b []int) []int {
	out := make([]int, len(a))
	for i := range a {
		align := 16
		if op != "matmul" && i == len(a)-1 {
			align = 256
		}
		m := math.Sqrt(float64(a[i]) * float64(b[i]))
		out[i] = max(align, int(math.Round(m/float64(align)))*align)
	}
	return out
}

// sameShape reports whether two dims lists are equal.
func sameShape(a, b []int) bool { return slices.Equal(a, b) }
