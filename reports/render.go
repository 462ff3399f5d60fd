package reports

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// Header is the column list of a comparison table.
var Header = []string{"benchmark", "old sec/op", "new sec/op", "change (95% bounds)", "p", "new rate", "of roof"}

// Cells renders the model as table cells: one row per benchmark, then the
// geomean row.
func (c *Comparison) Cells() [][]string {
	var out [][]string
	for _, r := range c.Rows {
		out = append(out, []string{r.Name, formatSide(r.Old), formatSide(r.New), c.formatChange(r), formatP(r.P), formatRate(r), formatFraction(r.RoofFraction)})
	}
	geo := "-"
	if !math.IsNaN(c.Geomean) {
		geo = fmt.Sprintf("%+.2f%%", 100*c.Geomean)
	}
	return append(out, []string{"geomean", "", "", geo, "", "", ""})
}

// Footnotes are the sentences printed under the table.
func (c *Comparison) Footnotes() []string {
	notes := []string{fmt.Sprintf("old: %s; new: %s", describe(c.Old), describe(c.New)),
		fmt.Sprintf("~: not significant at alpha=%g (Mann-Whitney U); !: a significant slowdown beyond the %.0f%% threshold at the near end of its bounds", c.Alpha, 100*c.Threshold)}
	if c.Roofs.Bandwidth > 0 || c.Roofs.FMA > 0 {
		notes = append(notes, fmt.Sprintf("roofs measured with the new results: copy %s, fma %s", FormatRate(c.Roofs.Bandwidth, "B/s"), FormatRate(c.Roofs.FMA, "FLOP/s")))
	}
	if n := len(c.Regressions()); n > 0 {
		notes = append(notes, fmt.Sprintf("%d regression(s)", n))
	}
	return append(notes, c.Notes...)
}

func describe(s *Set) string {
	parts := []string{s.Label}
	for _, k := range []string{"adapter", "driver"} {
		if v := s.Config[k]; v != "" {
			parts = append(parts, fmt.Sprintf("%s %q", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

func formatSide(s *Side) string {
	if s == nil {
		return "-"
	}
	if s.Center <= 0 {
		return "?"
	}
	spread := math.Max(s.Hi-s.Center, s.Center-s.Lo) / s.Center
	if math.IsInf(spread, 0) || math.IsNaN(spread) {
		// Too few samples for a 95% interval of the median.
		return fmt.Sprintf("%s ±? n=%d", FormatSeconds(s.Center), s.N)
	}
	return fmt.Sprintf("%s ±%.0f%%", FormatSeconds(s.Center), 100*spread)
}

func (c *Comparison) formatChange(r Row) string {
	if math.IsNaN(r.Delta) {
		return "-"
	}
	if !r.Significant {
		return "~"
	}
	s := fmt.Sprintf("%+.1f%%", 100*r.Delta)
	if !math.IsInf(r.DeltaLo, 0) && !math.IsInf(r.DeltaHi, 0) && !math.IsNaN(r.DeltaLo) && !math.IsNaN(r.DeltaHi) {
		s += fmt.Sprintf(" (%+.1f%% .. %+.1f%%)", 100*r.DeltaLo, 100*r.DeltaHi)
	}
	if r.Regression {
		s += " !"
	}
	return s
}

func formatP(p float64) string {
	if math.IsNaN(p) {
		return "-"
	}
	return fmt.Sprintf("%.3f", p)
}

func formatRate(r Row) string {
	if r.New == nil || math.IsNaN(r.New.Rate) {
		return "-"
	}
	return FormatRate(r.New.Rate, r.Unit)
}

func formatFraction(f float64) string {
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*f)
}

// FormatSeconds prints a duration in seconds with a unit prefix.
func FormatSeconds(s float64) string {
	switch {
	case s >= 1:
		return fmt.Sprintf("%.3gs", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.3gms", s*1e3)
	case s >= 1e-6:
		return fmt.Sprintf("%.3gµs", s*1e6)
	}
	return fmt.Sprintf("%.3gns", s*1e9)
}

// WriteText renders the comparison as a text table with footnotes.
func (c *Comparison) WriteText(w io.Writer) error {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	return c.writeTable(w, t, "")
}

// WriteMarkdown renders the comparison as a Markdown table with footnotes.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	t := tablewriter.NewTable(w, tablewriter.WithRenderer(renderer.NewMarkdown()), tablewriter.WithHeaderAutoFormat(tw.Off))
	return c.writeTable(w, t, "- ")
}

func (c *Comparison) writeTable(w io.Writer, t *tablewriter.Table, bullet string) error {
	t.Header(Header)
	if err := t.Bulk(c.Cells()); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, n := range c.Footnotes() {
		if _, err := fmt.Fprintf(w, "%s%s\n", bullet, n); err != nil {
			return err
		}
	}
	return nil
}
