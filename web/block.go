package web

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/runner"
	"github.com/tune-gpu/tune/templates"
)

// planBlock: a block kernel (ops.BlockOps) at the entry's shape, on the
// case its workload times (op.TimedCase: the inputs, and every written
// buffer's expected words with their tolerances), each written buffer
// checked whole as ops.CheckBlock checks it.
func planBlock(op *ops.BlockOp, e profiles.Entry) (*job, error) {
	if err := op.CheckDtype(e.Dtype); err != nil {
		return nil, err
	}
	if len(e.Shape) == 0 {
		return nil, fmt.Errorf("no shape: %s takes %s", op.Name, op.Dims)
	}
	shapes, err := op.ParseShapes(shapeString(e.Shape))
	if err != nil {
		return nil, err
	}
	pt, err := point(op.Space(anyLimits), e)
	if err != nil {
		return nil, err
	}
	kern, err := op.Kernel(pt, e.Dtype)
	if err != nil {
		return nil, err
	}
	if err := kern.Check(); err != nil {
		return nil, err
	}
	c, work, err := op.TimedCase(kern, e.Dtype, shapes[0])
	if err != nil {
		return nil, err
	}
	kinds := ops.BlockBindings(kern)
	if len(kinds) != len(c.Bufs) {
		return nil, fmt.Errorf("%s's case has %d buffers for %d bindings", kern, len(c.Bufs), len(kinds))
	}
	var bufs []Buffer
	var names []string
	for i, b := range c.Bufs {
		if slices.Contains(names, b.Name) {
			return nil, fmt.Errorf("%s's case has two buffers named %s", kern, b.Name)
		}
		names = append(names, b.Name)
		buf := Buffer{Name: b.Name, Type: "words", Words: len(b.Data)}
		switch {
		case kinds[i] == runner.Uniform:
			buf.Type, buf.Uniform = "u32", slices.Clone(b.Data)
		case b.Want != nil:
			buf.Words += ops.GuardWords
			if b.Tol != nil {
				buf.Type = "f32"
			}
			if !slices.ContainsFunc(b.Data, func(w uint32) bool { return w != ops.Sentinel }) {
				buf.Fill = sentinel()
			}
		}
		bufs = append(bufs, buf)
	}
	d := Dispatch{Groups: [3]int{int(c.Groups[0]), int(c.Groups[1]), int(c.Groups[2])}}
	for i, kind := range kinds {
		b := Binding{Index: i, Buffer: i, Kind: ReadOnly}
		switch kind {
		case runner.Uniform:
			b.Kind = Uniform
		case runner.ReadWrite:
			b.Kind = ReadWrite
		}
		d.Bindings = append(d.Bindings, b)
	}
	j := &job{kerns: []templates.Kernel{kern}}
	j.k = Kernel{
		Dims:       strings.Split(op.Dims, " x "),
		Buffers:    bufs,
		Dispatches: []Dispatch{d},
		Work:       work, Unit: "B/s",
	}
	j.outputs = func() (map[string][]uint32, []Check, error) {
		files := map[string][]uint32{}
		var checks []Check
		for i, b := range c.Bufs {
			if b.Want == nil {
				files[b.Name] = b.Data
				continue
			}
			files[b.Name] = append(slices.Clone(b.Data), ops.SentinelWords(ops.GuardWords)...)
			tol := make([]uint32, len(b.Want))
			for i := range tol {
				if b.Tol != nil {
					tol[i] = math.Float32bits(roundUp(b.Tol[i]))
				}
			}
			stem := j.k.Name + "." + b.Name
			checks = append(checks, Check{Buffer: i, Elements: len(b.Want), Guard: ops.GuardWords, Fill: ops.Sentinel,
				Expect: stem + ".want.bin", Tolerance: stem + ".tol.bin", expect: b.Want, tol: tol})
		}
		return files, checks, nil
	}
	return j, nil
}

// roundUp is t as an f32 no smaller than t, so that a tolerance never
// shrinks.
func roundUp(t float64) float32 {
	f := float32(t)
	if float64(f) < t {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}
