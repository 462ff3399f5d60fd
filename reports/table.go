package reports

import (
	"fmt"
	"io"
	"math"

	"github.com/olekukonko/tablewriter"
)

// ShapeRow is one line of the table that ends a sweep: the winner of one
// shape against the naive baseline of the same run.
type ShapeRow struct {
	Shape     string
	Winner    string  // candidate ID, "" when none validated
	Rate      float64 // winner's rate at the median
	Lo, Hi    float64 // winner's rate at the ends of its confidence interval
	Baseline  float64 // baseline's rate at the median
	Unit      string
	Evals     int
	Measured  int
	Rejected  int
	RunnerUp  float64 // winner rate over runner-up rate - 1; NaN when none
	Separated bool    // winner and runner-up intervals do not overlap
	// Read is the read roof's rate moving the shape's bytes per dispatch,
	// for bandwidth-bound kernels; 0 where it was not measured.
	Read float64
}

// WriteSweepTable renders rows as a text table; where a row has a read
// roof, a column gives each winner as a fraction of it.
func WriteSweepTable(w io.Writer, rows []ShapeRow) error {
	reads := false
	for _, r := range rows {
		reads = reads || r.Read > 0
	}
	t := tablewriter.NewWriter(w)
	header := []any{"shape", "best kernel", "rate (95% CI)", "naive", "speedup", "vs #2", "evals new rej"}
	if reads {
		header = append(header, "of read")
	}
	t.Header(header...)
	for _, r := range rows {
		ofRead := "-"
		if r.Read > 0 && r.Winner != "" {
			ofRead = fmt.Sprintf("%.0f%%", 100*r.Rate/r.Read)
		}
		var cells []string
		if r.Winner == "" {
			cells = []string{r.Shape, "none validated", "-", FormatRate(r.Baseline, r.Unit), "-", "-",
				fmt.Sprintf("%d %d %d", r.Evals, r.Measured, r.Rejected)}
		} else {
			speedup := "-"
			if r.Baseline > 0 {
				speedup = fmt.Sprintf("%.2fx", r.Rate/r.Baseline)
			}
			margin := "-"
			if !math.IsNaN(r.RunnerUp) {
				margin = fmt.Sprintf("%+.1f%%", 100*r.RunnerUp)
				if !r.Separated {
					margin += " ~" // the confidence intervals overlap
				}
			}
			cells = []string{r.Shape, r.Winner,
				fmt.Sprintf("%s (%.3g-%.3g)", FormatRate(r.Rate, r.Unit), r.Lo/scale(r.Rate), r.Hi/scale(r.Rate)),
				FormatRate(r.Baseline, r.Unit), speedup, margin,
				fmt.Sprintf("%d %d %d", r.Evals, r.Measured, r.Rejected)}
		}
		if reads {
			cells = append(cells, ofRead)
		}
		if err := t.Append(cells); err != nil {
			return err
		}
	}
	return t.Render()
}

// scale is the power of 1000 FormatRate divides v by.
func scale(v float64) float64 {
	s := 1.0
	for i := 0; v >= 1000 && i < 5; i++ {
		v /= 1000
		s *= 1000
	}
	return s
}

// FormatRate prints a rate with an SI prefix, e.g. "17.7 TFLOP/s".
func FormatRate(v float64, unit string) string {
	if v <= 0 || math.IsNaN(v) {
		return "-"
	}
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	s := scale(v)
	return fmt.Sprintf("%.3g %s%s", v/s, prefixes[int(math.Round(math.Log10(s)/3))], unit)
}
