package reports

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/perf/benchfmt"

	"github.com/tune-gpu/tune/search"
)

// BenchmarkName turns a result into a benchmark name without the
// "Benchmark" prefix: task "matmul/f32/M=512/...", kernel "matmul" and ID
// "wgx=16/..." become "Matmul/dtype=f32/M=512/.../kernel=matmul/wgx=16/...".
func BenchmarkName(r search.Result) string {
	parts := strings.Split(r.Task, "/")
	op := parts[0]
	name := strings.ToUpper(op[:1]) + op[1:]
	if len(parts) > 1 {
		name += "/dtype=" + parts[1]
		if len(parts) > 2 {
			name += "/" + strings.Join(parts[2:], "/")
		}
	}
	return name + "/kernel=" + r.Kernel + "/" + r.ID
}

// WriteResults writes the measured runs in the Go benchmark format, with
// config lines first (e.g. adapter, driver, clock). Rejected results are
// skipped: they have no timings.
func WriteResults(w io.Writer, config [][2]string, results []search.Result) error {
	bw := benchfmt.NewWriter(w)
	units := map[string]bool{}
	for _, r := range results {
		m := r.Measure
		if r.Status != search.OK || m == nil {
			continue
		}
		if !units[m.Unit] {
			units[m.Unit] = true
			if err := bw.Write(&benchfmt.UnitMetadata{
				UnitMetadataKey: benchfmt.UnitMetadataKey{Unit: m.Unit, Key: "better"}, OrigUnit: m.Unit, Value: "higher",
			}); err != nil {
				return err
			}
		}
		res := &benchfmt.Result{Name: benchfmt.Name(BenchmarkName(r)), Iters: m.Repeats}
		for _, kv := range append(config, [2]string{"clock", m.Clock}) {
			res.Config = append(res.Config, benchfmt.Config{Key: kv[0], Value: []byte(kv[1]), File: true})
		}
		for _, s := range m.Samples {
			res.Values = []benchfmt.Value{{Value: s, Unit: "sec/op"}, {Value: m.Work / s, Unit: m.Unit}}
			if err := bw.Write(res); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteFileAtomic writes data produced by write to path through a temporary
// file in the same directory and a rename, so readers never see half a file.
func WriteFileAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after a successful rename
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
