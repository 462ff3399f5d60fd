package main

import (
	"context"
	"fmt"
	"io"

	"strings"

	"github.com/tune-gpu/tune/reports"
	"github.com/tune-gpu/tune/search"
)

func runReport(_ context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("report", stderr, `Compare two results files (Go benchmark format) or profiles (.yaml): tune report [flags] OLD NEW.
Per benchmark: old and new medians, the change with bounds from both 95% confidence
intervals, the Mann-Whitney U p-value ("~" where not significant), the rate and its
fraction of the measured roof; a geomean row.`)
	format := fs.String("format", "text", "text, markdown or html")
	out := fs.String("o", "", "write the report to this file instead of stdout (written atomically)")
	journals := fs.String("journal", "", "comma-separated journals whose searches the HTML page plots as best-so-far curves")
	threshold := fs.Float64("threshold", 0.10, "practical threshold: a regression is a significant slowdown larger than this fraction")
	alpha := fs.Float64("alpha", 0.05, "significance level of the U test")
	gate := fs.Bool("gate", false, "exit non-zero when any benchmark regressed")
	relative := fs.Bool("relative", false, "compare NEW at OLD's machine speed: scale each roof-bound benchmark's new times by the ratio of the two runs' roofs (copy or fma, as bounds it), and leave the roofs out of the comparison; for a machine whose speed changes between runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("report: want OLD and NEW, got %d arguments", fs.NArg())
	}
	if *threshold < 0 || *alpha <= 0 || *alpha >= 1 {
		return fmt.Errorf("parsing -threshold/-alpha: want threshold >= 0 and 0 < alpha < 1")
	}
	old, err := reports.ReadSet(fs.Arg(0))
	if err != nil {
		return err
	}
	nw, err := reports.ReadSet(fs.Arg(1))
	if err != nil {
		return err
	}
	var results []search.Result
	for _, j := range strings.Split(*journals, ",") {
		if j = strings.TrimSpace(j); j == "" {
			continue
		}
		rs, err := search.ReadJournal(j)
		if err != nil {
			return fmt.Errorf("parsing -journal: %w", err)
		}
		results = append(results, rs...)
	}
	var notes []string
	if *relative {
		nw, old, notes = reports.Relative(old, nw)
	}
	c := reports.Compare(old, nw, *threshold, *alpha)
	c.Notes = append(c.Notes, notes...)
	render := func(w io.Writer) error {
		switch *format {
		case "text":
			return c.WriteText(w)
		case "markdown", "md":
			return c.WriteMarkdown(w)
		case "html":
			return c.WriteHTML(w, results)
		}
		return fmt.Errorf("parsing -format: %q is not text, markdown or html", *format)
	}
	if *out != "" {
		err = reports.WriteFileAtomic(*out, render)
	} else {
		err = render(stdout)
	}
	if err != nil {
		return err
	}
	if regs := c.Regressions(); *gate && len(regs) > 0 {
		names := make([]string, len(regs))
		for i, r := range regs {
			names[i] = fmt.Sprintf("%s (%+.1f%%, p=%.3f)", r.Name, 100*r.Delta, r.P)
		}
		return fmt.Errorf("%w beyond %.0f%%: %s", reports.ErrRegression, 100**threshold, strings.Join(names, "; "))
	}
	return nil
}
