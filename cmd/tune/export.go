package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tune-gpu/tune/reports"
	"github.com/tune-gpu/tune/web"
)

func runExport(_ context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("export", stderr, `Write a profile's kernels for a browser: each entry's WGSL (matmul, gemv,
gemm, attention-prefill, attention-decode's two dispatches, block ops), its
inputs as little-endian .bin files, and manifest.json with buffers,
dispatches, the weights' packing, the checks from the CPU reference and the
native measurement. Entries of other ops are left out with a note. Serve the
folder with tune serve.`)
	profile := fs.String("profile", "", "profile file to export (required)")
	out := fs.String("out", "", "folder to write (required; created if missing)")
	shapes := fs.String("shapes", "", "export only these comma-separated shapes, dims joined by x (e.g. 512x2048,512x512x512)")
	maxBytes := fs.String("max-bytes", "0", "skip kernels whose buffers exceed this size, e.g. 64MiB (0: no limit)")
	portable := fs.Bool("portable", false, "skip kernels over WebGPU's default limits (256 invocations per workgroup, 16 KiB workgroup memory, 128 MiB bindings), which every adapter grants")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *profile == "" {
		return fmt.Errorf("export: -profile is required")
	}
	if *out == "" {
		return fmt.Errorf("export: -out is required")
	}
	limit, err := parseBytes(*maxBytes)
	if err != nil {
		return fmt.Errorf("parsing -max-bytes: %w", err)
	}
	opts := web.Options{MaxBytes: limit, Portable: *portable}
	for _, s := range strings.Split(*shapes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			opts.Shapes = append(opts.Shapes, s)
		}
	}
	m, err := web.ExportFile(*profile, *out, opts)
	if err != nil {
		return err
	}
	for _, k := range m.Kernels {
		fmt.Fprintf(stdout, "%s: %s %s, native %s, %d elements checked\n", k.Name, k.Kernel, k.ID,
			reports.FormatRate(k.Native.Rate, k.Native.Unit), checked(k))
	}
	for _, s := range m.Skipped {
		fmt.Fprintf(stdout, "skipped %s %s %v: %s\n", s.Op, s.Dtype, s.Shape, s.Reason)
	}
	fmt.Fprintf(stdout, "wrote %d kernels to %s; serve them with: tune serve -export %s\n", len(m.Kernels), *out, *out)
	return nil
}

// parseBytes reads a size: a number of bytes, or a number followed by
// KiB, MiB or GiB.
func parseBytes(s string) (int64, error) {
	n, unit := strings.TrimSpace(s), int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if v, ok := strings.CutSuffix(n, u.suffix); ok {
			n, unit = v, u.mult
			break
		}
	}
	v, err := strconv.ParseInt(n, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/unit {
		return 0, fmt.Errorf("%q is not a size such as 1048576 or 64MiB", s)
	}
	return v * unit, nil
}

// checked counts the elements of k's checks.
func checked(k web.Kernel) int {
	n := 0
	for _, c := range k.Checks {
		n += c.Checked()
	}
	return n
}
