package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Report is everything the page shows; its JSON form is report.json.
type Report struct {
	Title     string       `json:"title"`
	Generated string       `json:"generated"` // RFC 3339
	Version   string       `json:"edge_version"`
	Device    Device       `json:"device"`
	Budget    Budget       `json:"budget"`
	Model     Model        `json:"model"`
	Layers    []Layer      `json:"layers"`
	Dense     *Measure     `json:"dense,omitempty"`
	Compact   *Measure     `json:"compressed,omitempty"`
	Sweep     []SweepPoint `json:"sweep,omitempty"`
	EvalData  string       `json:"eval_data,omitempty"`
	CalibData string       `json:"calib_data,omitempty"`
}

// Device summarises the probed machine.
type Device struct {
	Board       string             `json:"board"`
	CPU         string             `json:"cpu"`
	Arch        string             `json:"arch"`
	Features    []string           `json:"features"`
	Threads     int                `json:"threads"`
	MemoryLimit int64              `json:"memory_limit_bytes"`
	PeakGFLOPS  map[string]float64 `json:"peak_gflops,omitempty"` // by thread count
	Calibration string             `json:"calibration,omitempty"`
}

// Budget is the derived budget and how it was derived.
type Budget struct {
	Targets     string   `json:"targets"`
	MACs        int64    `json:"macs"`
	Params      int64    `json:"params"`
	WeightBytes int64    `json:"weight_bytes"`
	PredictedMs float64  `json:"predicted_ms,omitempty"`
	Binding     string   `json:"binding"`
	Explanation []string `json:"explanation"`
}

// Model describes the compression run.
type Model struct {
	Name         string  `json:"name"`
	SHA256       string  `json:"sha256,omitempty"`
	Output       string  `json:"output,omitempty"`
	Method       string  `json:"method"`
	Scheme       string  `json:"scheme,omitempty"`
	MACsBefore   int64   `json:"macs_before"`
	MACsAfter    int64   `json:"macs_after"`
	ParamsBefore int64   `json:"params_before"`
	ParamsAfter  int64   `json:"params_after"`
	Seconds      float64 `json:"seconds"`
}

// Layer is one decomposable layer's rank and cost.
type Layer struct {
	Name       string `json:"name"`
	Op         string `json:"op"`
	Scheme     string `json:"scheme,omitempty"`
	Kept       int    `json:"kept"`
	Full       int    `json:"full"`
	Dense      bool   `json:"dense"`
	MACsBefore int64  `json:"macs_before"`
	MACsAfter  int64  `json:"macs_after"`
}

// Measure is what was measured for one model (nil fields: not measured).
type Measure struct {
	Top1       *float64 `json:"top1,omitempty"`
	Top5       *float64 `json:"top5,omitempty"`
	N          int      `json:"n,omitempty"` // evaluation images
	P50Ms      float64  `json:"p50_ms"`
	ImagesPerS float64  `json:"images_per_s"`
	ModelBytes int64    `json:"model_bytes"`
	PeakRSSMB  float64  `json:"peak_rss_mb"`
	MACs       int64    `json:"macs"`
	Params     int64    `json:"params"`
}

// SweepPoint is one compression of a sweep.
type SweepPoint struct {
	Method   string  `json:"method"`
	Fraction float64 `json:"fraction"` // MACs budget as a fraction of the dense model
	MACs     int64   `json:"macs"`
	Params   int64   `json:"params"`
	Top1     float64 `json:"top1"`
	Seconds  float64 `json:"seconds"`
	// COBLA only: solver iterations, why it stopped and which
	// allocation was kept.
	Iterations int    `json:"iterations,omitempty"`
	Stop       string `json:"stop,omitempty"`
	Chosen     string `json:"chosen,omitempty"`
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Write renders r as a self-contained HTML page.
func Write(w io.Writer, r *Report) error {
	var err error
	v := view{R: r}
	if len(r.Layers) > 0 {
		if v.RankSVG, err = rankChart(r.Layers); err != nil {
			return err
		}
		if v.MACsSVG, err = macsChart(r.Layers); err != nil {
			return err
		}
	}
	if len(r.Sweep) > 0 {
		if v.SweepSVG, err = sweepChart(r); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// view is the template's data.
type view struct {
	R                          *Report
	RankSVG, MACsSVG, SweepSVG template.HTML
}

var (
	colFull    = color.RGBA{R: 0xb8, G: 0xc2, B: 0xcc, A: 0xff}
	colKept    = color.RGBA{R: 0x1f, G: 0x6f, B: 0xb4, A: 0xff}
	colBefore  = color.RGBA{R: 0xb8, G: 0xc2, B: 0xcc, A: 0xff}
	colAfter   = color.RGBA{R: 0xd9, G: 0x5f, B: 0x0e, A: 0xff}
	methodCols = map[string]color.RGBA{
		"cobla":   {R: 0x1f, G: 0x6f, B: 0xb4, A: 0xff},
		"greedy":  {R: 0xd9, G: 0x5f, B: 0x0e, A: 0xff},
		"uniform": {R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	}
)

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	sans := font.Font{Typeface: "Liberation", Variant: "Sans"}
	p.Title.TextStyle.Font = font.From(sans, 13)
	p.X.Label.TextStyle.Font = font.From(sans, 11)
	p.Y.Label.TextStyle.Font = font.From(sans, 11)
	p.X.Tick.Label.Font = font.From(sans, 9)
	p.Y.Tick.Label.Font = font.From(sans, 9)
	p.Legend.TextStyle.Font = font.From(sans, 10)
	return p
}

// svg renders p as an inline <svg> element of w×h points.
func svg(p *plot.Plot, w, h vg.Length) (template.HTML, error) {
	wt, err := p.WriterTo(w, h, "svg")
	if err != nil {
		return "", fmt.Errorf("report: drawing a chart: %w", err)
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return "", fmt.Errorf("report: drawing a chart: %w", err)
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	s = strings.Replace(s, "<svg ", `<svg role="img" class="chart" `, 1)
	return template.HTML(s), nil
}

// layerNames labels layers L1..Ln (the tables give the full names).
func layerNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("L%d", i+1)
	}
	return out
}

// groupedBars draws two horizontal bar series per layer.
func groupedBars(p *plot.Plot, a, b plotter.Values, ca, cb color.Color, na, nb string) error {
	w := vg.Points(6)
	ba, err := plotter.NewBarChart(a, w)
	if err != nil {
		return err
	}
	bb, err := plotter.NewBarChart(b, w)
	if err != nil {
		return err
	}
	ba.Horizontal, bb.Horizontal = true, true
	ba.Color, bb.Color = ca, cb
	ba.LineStyle.Width, bb.LineStyle.Width = 0, 0
	ba.Offset, bb.Offset = w/2, -w/2
	p.Add(ba, bb)
	p.Legend.Add(na, ba)
	p.Legend.Add(nb, bb)
	p.Legend.Top = true
	return nil
}

func reverse[T any](s []T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func chartHeight(n int) vg.Length { return vg.Points(float64(90 + 16*n)) }

func rankChart(ls []Layer) (template.HTML, error) {
	p := newPlot("Rank per layer: kept vs full", "rank (singular components)", "")
	full, kept := make(plotter.Values, len(ls)), make(plotter.Values, len(ls))
	// Top to bottom in graph order: plot rows bottom-up.
	for i, l := range reverse(ls) {
		full[i], kept[i] = float64(l.Full), float64(l.Kept)
	}
	if err := groupedBars(p, full, kept, colFull, colKept, "full", "kept"); err != nil {
		return "", err
	}
	p.NominalY(reverse(layerNames(len(ls)))...)
	p.X.Min = 0
	p.X.Max *= 1.18 // room for the legend
	return svg(p, vg.Points(560), chartHeight(len(ls)))
}

func macsChart(ls []Layer) (template.HTML, error) {
	p := newPlot("MACs per layer: before vs after", "million MACs per image", "")
	before, after := make(plotter.Values, len(ls)), make(plotter.Values, len(ls))
	for i, l := range reverse(ls) {
		before[i], after[i] = float64(l.MACsBefore)/1e6, float64(l.MACsAfter)/1e6
	}
	if err := groupedBars(p, before, after, colBefore, colAfter, "before", "after"); err != nil {
		return "", err
	}
	p.NominalY(reverse(layerNames(len(ls)))...)
	p.X.Min = 0
	p.X.Max *= 1.18
	return svg(p, vg.Points(560), chartHeight(len(ls)))
}

func sweepChart(r *Report) (template.HTML, error) {
	p := newPlot("Accuracy vs MACs", "MACs (fraction of the dense model)", "top-1")
	byMethod := map[string]plotter.XYs{}
	for _, s := range r.Sweep {
		byMethod[s.Method] = append(byMethod[s.Method], plotter.XY{X: s.Fraction, Y: s.Top1})
	}
	methods := make([]string, 0, len(byMethod))
	for m := range byMethod {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	for i, m := range methods {
		xy := byMethod[m]
		sort.Slice(xy, func(a, b int) bool { return xy[a].X < xy[b].X })
		line, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return "", err
		}
		c, ok := methodCols[m]
		if !ok {
			c = color.RGBA{R: uint8(60 * i), G: 0x40, B: 0x80, A: 0xff}
		}
		line.Color, pts.Color = c, c
		line.Width = vg.Points(1.5)
		pts.Shape = draw.CircleGlyph{}
		p.Add(line, pts)
		p.Legend.Add(m, line, pts)
	}
	if r.Dense != nil && r.Dense.Top1 != nil {
		d, err := plotter.NewScatter(plotter.XYs{{X: 1, Y: *r.Dense.Top1}})
		if err != nil {
			return "", err
		}
		d.Shape = draw.BoxGlyph{}
		d.Color = color.Black
		p.Add(d)
		p.Legend.Add("dense", d)
	}
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(6)
	p.Legend.YOffs = vg.Points(6)
	p.Add(plotter.NewGrid())
	p.X.Max = math.Max(p.X.Max, 1.02)
	return svg(p, vg.Points(560), vg.Points(320))
}
