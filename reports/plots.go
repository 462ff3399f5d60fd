package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tune-gpu/tune/search"
)

var (
	colorOK   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colorBad  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colorGood = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colorRoof = color.RGBA{R: 0x44, G: 0x44, B: 0x44, A: 0xff}
)

func svg(p *plot.Plot, w, h vg.Length) (string, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// errorPoints are points with asymmetric vertical error bars.
type errorPoints struct {
	plotter.XYs
	plotter.YErrors
}

// ChangePlot draws each benchmark's change in sec/op with the bounds from
// the two confidence intervals; regressions are red, improvements green.
func (c *Comparison) ChangePlot() (string, error) {
	p := plot.New()
	p.Title.Text = "Change per benchmark (new vs old sec/op)"
	p.X.Label.Text = "benchmark (row number in the table)"
	p.Y.Label.Text = "change %"
	groups := map[color.Color]*errorPoints{colorOK: {}, colorBad: {}, colorGood: {}}
	n := 0
	lo, hi := -100*c.Threshold, 100*c.Threshold
	for i, r := range c.Rows {
		if math.IsNaN(r.Delta) {
			continue
		}
		n++
		dlo, dhi := r.DeltaLo, r.DeltaHi
		if math.IsInf(dlo, 0) || math.IsInf(dhi, 0) || math.IsNaN(dlo) || math.IsNaN(dhi) {
			dlo, dhi = r.Delta, r.Delta // no interval: a bare point
		}
		lo, hi = math.Min(lo, 100*dlo), math.Max(hi, 100*dhi)
		col := color.Color(colorOK)
		switch {
		case r.Regression:
			col = colorBad
		case r.Significant && r.Delta < 0:
			col = colorGood
		}
		g := groups[col]
		g.XYs = append(g.XYs, plotter.XY{X: float64(i + 1), Y: 100 * r.Delta})
		g.YErrors = append(g.YErrors, struct{ Low, High float64 }{100 * (r.Delta - dlo), 100 * (dhi - r.Delta)})
	}
	if n == 0 {
		return "", nil
	}
	for _, col := range []color.Color{colorOK, colorGood, colorBad} {
		g := groups[col]
		if len(g.XYs) == 0 {
			continue
		}
		s, err := plotter.NewScatter(g.XYs)
		if err != nil {
			return "", err
		}
		s.GlyphStyle.Color = col
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		bars, err := plotter.NewYErrorBars(g)
		if err != nil {
			return "", err
		}
		bars.LineStyle.Color = col
		p.Add(s, bars)
	}
	zero := plotter.NewFunction(func(float64) float64 { return 0 })
	zero.Color = colorRoof
	limit := plotter.NewFunction(func(float64) float64 { return 100 * c.Threshold })
	limit.Color = colorBad
	limit.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(zero, limit, plotter.NewGrid())
	p.Legend.Add(fmt.Sprintf("regression threshold %+.0f%%", 100*c.Threshold), limit)
	p.X.Min, p.X.Max = 0, float64(len(c.Rows)+1)
	pad := 0.1 * (hi - lo)
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
	return svg(p, 7*vg.Inch, 3.5*vg.Inch)
}

// RooflinePlot places each matmul benchmark of the new set by arithmetic
// intensity and rate under the measured roofs.
func (c *Comparison) RooflinePlot() (string, error) {
	if c.Roofs.Bandwidth == 0 || c.Roofs.FMA == 0 {
		return "", nil
	}
	var pts plotter.XYs
	for _, r := range c.Rows {
		ai := Intensity(r.Name)
		if r.New == nil || math.IsNaN(ai) || math.IsNaN(r.New.Rate) {
			continue
		}
		pts = append(pts, plotter.XY{X: ai, Y: r.New.Rate})
	}
	p := plot.New()
	p.Title.Text = "Roofline (new results)"
	p.X.Label.Text = "arithmetic intensity (FLOP/byte)"
	p.Y.Label.Text = "FLOP/s"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	ridge := c.Roofs.FMA / c.Roofs.Bandwidth
	lo, hi := ridge/100, ridge*100
	for _, pt := range pts {
		lo, hi = math.Min(lo, pt.X/2), math.Max(hi, pt.X*2)
	}
	roof := plotter.XYs{{X: lo, Y: lo * c.Roofs.Bandwidth}, {X: ridge, Y: c.Roofs.FMA}, {X: hi, Y: c.Roofs.FMA}}
	line, err := plotter.NewLine(roof)
	if err != nil {
		return "", err
	}
	line.Color = colorRoof
	line.Width = vg.Points(2)
	p.Add(line, plotter.NewGrid())
	p.Legend.Add(fmt.Sprintf("roof: %s, %s", FormatRate(c.Roofs.Bandwidth, "B/s"), FormatRate(c.Roofs.FMA, "FLOP/s")), line)
	if len(pts) > 0 {
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return "", err
		}
		s.GlyphStyle.Color = colorOK
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add("matmul kernels", s)
	}
	p.Y.Min = math.Min(c.Roofs.FMA/1e4, minY(pts)/2)
	p.Y.Max = c.Roofs.FMA * 2
	p.Legend.Top = false
	p.Legend.Left = false
	return svg(p, 7*vg.Inch, 4*vg.Inch)
}

func minY(pts plotter.XYs) float64 {
	m := math.Inf(1)
	for _, p := range pts {
		m = math.Min(m, p.Y)
	}
	return m
}

// BestSoFarPlot draws, per task, the best score after each evaluation in
// journal order: how fast a search found its winner.
func BestSoFarPlot(results []search.Result) (string, error) {
	byTask := map[string][]search.Result{}
	var tasks []string
	for _, r := range results {
		// The baseline is no candidate, and a task with '#' holds a sweep's
		// bookkeeping (its finals' verdict, its starts), not a search.
		if r.Kernel == "matmul_naive" || strings.Contains(r.Task, "#") {
			continue
		}
		if _, ok := byTask[r.Task]; !ok {
			tasks = append(tasks, r.Task)
		}
		byTask[r.Task] = append(byTask[r.Task], r)
	}
	if len(tasks) == 0 {
		return "", nil
	}
	sort.Strings(tasks)
	p := plot.New()
	p.Title.Text = "Best so far, by evaluation (journal order)"
	p.X.Label.Text = "evaluations"
	p.Y.Label.Text = "fraction of the task's best"
	for i, t := range tasks {
		var best, final float64
		for _, r := range byTask[t] {
			if r.Status == search.OK {
				final = math.Max(final, r.Score)
			}
		}
		if final == 0 {
			continue
		}
		var pts plotter.XYs
		for j, r := range byTask[t] {
			if r.Status == search.OK {
				best = math.Max(best, r.Score)
			}
			pts = append(pts, plotter.XY{X: float64(j + 1), Y: best / final})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return "", err
		}
		l.Color = palette(i)
		p.Add(l)
		p.Legend.Add(t, l)
	}
	p.Y.Min, p.Y.Max = 0, 1.05
	p.Legend.Top = false
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	return svg(p, 7*vg.Inch, 4*vg.Inch)
}

// TokensPlot draws the tokens per second of every tok/s benchmark of the
// new set, or nothing when there is none.
func (c *Comparison) TokensPlot() (string, error) {
	var vals plotter.Values
	var names []string
	for _, r := range c.Rows {
		if r.Unit == "tok/s" && r.New != nil && !math.IsNaN(r.New.Rate) {
			vals = append(vals, r.New.Rate)
			names = append(names, fmt.Sprint(len(names)+1))
		}
	}
	if len(vals) == 0 {
		return "", nil
	}
	p := plot.New()
	p.Title.Text = "Tokens per second (new results)"
	p.Y.Label.Text = "tok/s"
	bars, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return "", err
	}
	bars.Color = colorOK
	p.Add(bars)
	p.NominalX(names...)
	return svg(p, 7*vg.Inch, 3.5*vg.Inch)
}

func palette(i int) color.Color {
	cs := []color.RGBA{colorOK, {0xff, 0x7f, 0x0e, 0xff}, colorGood, colorBad, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}}
	return cs[i%len(cs)]
}
