package report

import (
	"fmt"
	"html/template"
	"strings"
)

var funcs = template.FuncMap{
	"count": func(v int64) string {
		f := float64(v)
		switch {
		case f >= 1e9:
			return fmt.Sprintf("%.2f G", f/1e9)
		case f >= 1e6:
			return fmt.Sprintf("%.2f M", f/1e6)
		case f >= 1e3:
			return fmt.Sprintf("%.1f k", f/1e3)
		}
		return fmt.Sprint(v)
	},
	"mib": func(v int64) string { return fmt.Sprintf("%.2f MiB", float64(v)/(1<<20)) },
	"pct": func(a, b int64) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
	},
	"acc": func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmt.Sprintf("%.4f", *p)
	},
	"f1":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"f3":   func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"f4":   func(v float64) string { return fmt.Sprintf("%.4f", v) },
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
	"ratio": func(a, b float64) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", a/b)
	},
	"bratio": func(a, b int64) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", float64(a)/float64(b))
	},
}

var page = template.Must(template.New("report").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.R.Title}}</title>
<style>
body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; margin: 2em auto; max-width: 980px; color: #1d232a; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
.sub { color: #57606a; margin-top: 0; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: right; }
th { background: #f3f5f7; }
td.l, th.l { text-align: left; }
.chart { display: block; margin: 1em 0; max-width: 100%; height: auto; }
ul.how { font-size: .92em; }
.grid { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1.2em; font-size: .92em; }
.grid div:nth-child(odd) { color: #57606a; }
</style>
</head>
<body>
<h1>{{.R.Title}}</h1>
<p class="sub">edge {{.R.Version}} · {{.R.Generated}}</p>

<h2 id="device">Device and budget</h2>
<div class="grid">
<div>board</div><div>{{.R.Device.Board}}</div>
<div>CPU</div><div>{{.R.Device.CPU}} ({{.R.Device.Arch}}), {{.R.Device.Threads}} threads</div>
<div>SIMD</div><div>{{join .R.Device.Features " "}}</div>
<div>memory limit</div><div>{{mib .R.Device.MemoryLimit}}</div>
{{if .R.Device.Calibration}}<div>calibration</div><div>{{.R.Device.Calibration}}</div>{{end}}
<div>targets</div><div>{{.R.Budget.Targets}}</div>
<div>budget</div><div>≤ {{count .R.Budget.MACs}} MACs, ≤ {{count .R.Budget.Params}} params ({{mib .R.Budget.WeightBytes}} weights); binding target: {{.R.Budget.Binding}}{{if .R.Budget.PredictedMs}}; predicted {{f3 .R.Budget.PredictedMs}} ms{{end}}</div>
</div>
{{if .R.Device.PeakGFLOPS}}
<table><tr><th class="l">threads</th>{{range $t, $g := .R.Device.PeakGFLOPS}}<th>{{$t}}</th>{{end}}</tr>
<tr><td class="l">peak GFLOP/s measured</td>{{range $t, $g := .R.Device.PeakGFLOPS}}<td>{{f1 $g}}</td>{{end}}</tr></table>
{{end}}
<ul class="how">{{range .R.Budget.Explanation}}<li>{{.}}</li>{{end}}</ul>

<h2 id="result">Dense vs compressed</h2>
<p>{{.R.Model.Name}} compressed with <b>{{.R.Model.Method}}</b>{{if .R.Model.Scheme}} (scheme {{.R.Model.Scheme}}){{end}} in {{f1 .R.Model.Seconds}} s{{if .R.Model.Output}} → {{.R.Model.Output}}{{end}}.{{if .R.EvalData}} Accuracy on {{.R.EvalData}}.{{end}}{{if .R.CalibData}} Calibration: {{.R.CalibData}}.{{end}}</p>
<table id="compare">
<tr><th class="l"></th><th>dense</th><th>compressed</th><th>ratio</th></tr>
<tr><td class="l">MACs per image</td><td>{{count .R.Model.MACsBefore}}</td><td>{{count .R.Model.MACsAfter}}</td><td>{{bratio .R.Model.MACsAfter .R.Model.MACsBefore}}</td></tr>
<tr><td class="l">parameters</td><td>{{count .R.Model.ParamsBefore}}</td><td>{{count .R.Model.ParamsAfter}}</td><td>{{bratio .R.Model.ParamsAfter .R.Model.ParamsBefore}}</td></tr>
{{if and .R.Dense .R.Compact}}
<tr><td class="l">top-1</td><td>{{acc .R.Dense.Top1}}</td><td>{{acc .R.Compact.Top1}}</td><td></td></tr>
<tr><td class="l">top-5</td><td>{{acc .R.Dense.Top5}}</td><td>{{acc .R.Compact.Top5}}</td><td></td></tr>
<tr><td class="l">latency p50 (ms)</td><td>{{f3 .R.Dense.P50Ms}}</td><td>{{f3 .R.Compact.P50Ms}}</td><td>{{ratio .R.Compact.P50Ms .R.Dense.P50Ms}}</td></tr>
<tr><td class="l">images/s</td><td>{{f1 .R.Dense.ImagesPerS}}</td><td>{{f1 .R.Compact.ImagesPerS}}</td><td>{{ratio .R.Compact.ImagesPerS .R.Dense.ImagesPerS}}</td></tr>
<tr><td class="l">model file</td><td>{{mib .R.Dense.ModelBytes}}</td><td>{{mib .R.Compact.ModelBytes}}</td><td>{{bratio .R.Compact.ModelBytes .R.Dense.ModelBytes}}</td></tr>
<tr><td class="l">peak RSS (MB)</td><td>{{f1 .R.Dense.PeakRSSMB}}</td><td>{{f1 .R.Compact.PeakRSSMB}}</td><td>{{ratio .R.Compact.PeakRSSMB .R.Dense.PeakRSSMB}}</td></tr>
{{end}}
</table>

{{if .R.Layers}}
<h2 id="ranks">Rank per layer</h2>
{{.RankSVG}}
<h2 id="macs">MACs per layer</h2>
{{.MACsSVG}}
<table id="layers">
<tr><th class="l">#</th><th class="l">layer</th><th class="l">op</th><th class="l">scheme</th><th>kept</th><th>full</th><th>MACs before</th><th>MACs after</th><th>after/before</th></tr>
{{range $i, $l := .R.Layers}}<tr><td class="l">L{{inc $i}}</td><td class="l">{{$l.Name}}</td><td class="l">{{$l.Op}}</td><td class="l">{{if $l.Dense}}dense{{else}}{{$l.Scheme}}{{end}}</td><td>{{$l.Kept}}</td><td>{{$l.Full}}</td><td>{{count $l.MACsBefore}}</td><td>{{count $l.MACsAfter}}</td><td>{{pct $l.MACsAfter $l.MACsBefore}}</td></tr>
{{end}}</table>
{{end}}

{{if .R.Sweep}}
<h2 id="sweep">Accuracy vs MACs</h2>
{{.SweepSVG}}
<table id="sweep-table">
<tr><th class="l">method</th><th>MACs fraction</th><th>MACs</th><th>params</th><th>top-1</th><th>seconds</th></tr>
{{range .R.Sweep}}<tr><td class="l">{{.Method}}</td><td>{{f3 .Fraction}}</td><td>{{count .MACs}}</td><td>{{count .Params}}</td><td>{{f4 .Top1}}</td><td>{{f1 .Seconds}}</td></tr>
{{end}}</table>
{{end}}
</body>
</html>
`))
