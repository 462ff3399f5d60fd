package reports

import (
	"html/template"
	"io"
	"strconv"

	"github.com/tune-gpu/tune/search"
)

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tune report: {{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; font-family: monospace; word-break: break-all; max-width: 38em; }
tr.regression td { background: #fde0e0; }
tr.improvement td { background: #e2f5e2; }
figure { margin: 1.5em 0; }
figcaption { color: #555; font-size: 13px; }
</style>
</head>
<body>
<h1>tune report</h1>
<p>{{.Title}}</p>
<table>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}<th>#</th></tr>
{{range $i, $r := .Rows}}<tr class="{{$r.Class}}">{{range $r.Cells}}<td>{{.}}</td>{{end}}<td>{{$r.Number}}</td></tr>
{{end}}</table>
<ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>
{{range .Plots}}<figure>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}</body>
</html>
`))

type htmlRow struct {
	Cells  []string
	Class  string
	Number string
}

type htmlPlot struct {
	SVG     template.HTML
	Caption string
}

// WriteHTML renders one self-contained page: the table, its footnotes and
// SVG plots (per-benchmark change, roofline, best-so-far curves of the
// journals' searches, tokens per second), each only where there is data.
func (c *Comparison) WriteHTML(w io.Writer, journals []search.Result) error {
	cells := c.Cells()
	rows := make([]htmlRow, len(cells))
	for i, cs := range cells {
		rows[i] = htmlRow{Cells: cs}
		if i < len(c.Rows) {
			rows[i].Number = strconv.Itoa(i + 1)
			r := c.Rows[i]
			switch {
			case r.Regression:
				rows[i].Class = "regression"
			case r.Significant && r.Delta < 0:
				rows[i].Class = "improvement"
			}
		}
	}
	var plots []htmlPlot
	add := func(svg string, err error, caption string) error {
		if err != nil {
			return err
		}
		if svg != "" {
			plots = append(plots, htmlPlot{SVG: template.HTML(svg), Caption: caption})
		}
		return nil
	}
	s, err := c.ChangePlot()
	if err := add(s, err, "Change of each benchmark's median sec/op, with bounds from both 95% confidence intervals; x is the row number (#) in the table."); err != nil {
		return err
	}
	s, err = c.RooflinePlot()
	if err := add(s, err, "Measured roofs (copy-kernel bandwidth, fma rate) and each matmul kernel at its compulsory-traffic intensity."); err != nil {
		return err
	}
	s, err = BestSoFarPlot(journals)
	if err := add(s, err, "Best score found so far against evaluations, per task, as a fraction of the task's final best."); err != nil {
		return err
	}
	s, err = c.TokensPlot()
	if err := add(s, err, "Tokens per second of the new results."); err != nil {
		return err
	}
	return page.Execute(w, struct {
		Title  string
		Header []string
		Rows   []htmlRow
		Notes  []string
		Plots  []htmlPlot
	}{c.Old.Label + " vs " + c.New.Label, Header, rows, c.Footnotes(), plots})
}
