package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/tune-gpu/tune/ops"
	"github.com/tune-gpu/tune/profiles"
	"github.com/tune-gpu/tune/reports"
	"github.com/tune-gpu/tune/runner"
)

func runLookup(_ context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("lookup", stderr, "Show the kernel an adapter's profile chooses for a matmul shape, falling back to the nearest tuned shape.")
	adapter := fs.String("adapter", "auto", "adapter: auto, an index or a name substring")
	dir := fs.String("dir", "profiles", "folder of profiles")
	shapeFlag := fs.String("shape", "", "MxNxK shape to look up (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	shape, err := ops.ParseShape(*shapeFlag)
	if err != nil {
		return fmt.Errorf("parsing -shape: %w", err)
	}
	info, err := runner.Select(*adapter)
	if err != nil {
		return err
	}
	prof, path, warnings, err := profiles.Find(*dir, profileAdapter(info))
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	e, exact, err := prof.Lookup("matmul", "f32", shape.Dims())
	if err != nil {
		fmt.Fprintf(stdout, "matmul f32 %s: built-in default %s\n", shape, ops.DefaultKernel)
		return nil
	}
	how := "tuned for this shape"
	if b, ok := prof.Bucket("matmul", "f32", shape.Dims()); ok && !exact {
		how = fmt.Sprintf("bucket %s..%s", shapeString(b.Lo), shapeString(b.Hi))
		for _, h := range b.Holdout {
			how += fmt.Sprintf("; on held-out %s %.1f%% of a quick tune's best", shapeString(h.Shape), 100*h.Fraction)
		}
	} else if !exact {
		how = fmt.Sprintf("nearest tuned shape %dx%dx%d", e.Shape[0], e.Shape[1], e.Shape[2])
	}
	fmt.Fprintf(stdout, "profile: %s\nmatmul f32 %s: %s\nkernel: %s %s\n", path, shape, how, e.Kernel, e.ID)
	if prof.Portable {
		var shares []string
		for _, s := range e.Portable {
			shares = append(shares, fmt.Sprintf("%s %.1f%%", s.Adapter, 100*s.Fraction))
		}
		fmt.Fprintf(stdout, "portable default, of each adapter's own best: %s\n", strings.Join(shares, ", "))
		return nil
	}
	fmt.Fprintf(stdout, "measured: %s", reports.FormatRate(e.Stats.Rate, e.Stats.Unit))
	if e.Baseline != nil {
		fmt.Fprintf(stdout, " (naive %s)", reports.FormatRate(e.Baseline.Stats.Rate, e.Baseline.Stats.Unit))
	}
	fmt.Fprintln(stdout)
	return nil
}
