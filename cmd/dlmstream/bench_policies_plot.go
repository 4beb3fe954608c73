package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// writePolicyPlot draws quality against tokens per forward, one panel per
// task and one labelled point per run: the threshold sweep joined as a
// line (the curve other methods are judged against), threshold 0.9 as a
// ring, and the runs that beat it by >= 30% at equal quality as red
// triangles. The format follows path's extension: .svg or .png.
func writePolicyPlot(path string, results []*taskResult) error {
	if len(results) == 0 {
		return fmt.Errorf("plot: no tasks measured")
	}
	cols := min(len(results), 2)
	if len(results) > 4 {
		cols = 3
	}
	rows := (len(results) + cols - 1) / cols
	w, h := vg.Length(cols)*5*vg.Inch, vg.Length(rows)*4*vg.Inch
	var c vg.CanvasWriterTo
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		c = vgsvg.New(w, h)
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(150))}
	default:
		return fmt.Errorf("plot %s: want a .svg or .png file", path)
	}
	plots := make([][]*plot.Plot, rows)
	for i := range plots {
		plots[i] = make([]*plot.Plot, cols)
	}
	for i, r := range results {
		p, err := policyPanel(r)
		if err != nil {
			return err
		}
		plots[i/cols][i%cols] = p
	}
	dc := draw.New(c)
	t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3, PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		for j, p := range plots[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}

// policyPanel is one task's panel.
func policyPanel(r *taskResult) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = r.name
	p.X.Label.Text = "tokens per forward"
	p.Y.Label.Text = r.metric
	if r.lowerBetter {
		p.Y.Label.Text += " (lower is better)"
	}
	p.Add(plotter.NewGrid())
	base := r.point(benchBaseline)
	var sweep, others, wins plotter.XYs
	for _, pt := range r.points {
		xy := plotter.XY{X: pt.tpf(), Y: pt.quality}
		switch {
		case pt.run.pf.name == "threshold" && pt.run.policy == nil && !pt.run.flash && !pt.run.pf.verify:
			sweep = append(sweep, xy)
		case base != nil && pt != base:
			if _, _, ok := verdict(pt, base, r.lowerBetter); ok {
				wins = append(wins, xy)
				continue
			}
			others = append(others, xy)
		default:
			others = append(others, xy)
		}
	}
	blue := color.RGBA{R: 31, G: 119, B: 180, A: 255}
	if len(sweep) > 1 {
		l, err := plotter.NewLine(sweep)
		if err != nil {
			return nil, err
		}
		l.Color, l.Dashes = blue, []vg.Length{vg.Points(3), vg.Points(2)}
		p.Add(l)
	}
	add := func(xys plotter.XYs, shape draw.GlyphDrawer, c color.Color, radius vg.Length) error {
		if len(xys) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: radius, Shape: shape}
		p.Add(s)
		return nil
	}
	if err := add(sweep, draw.CircleGlyph{}, blue, vg.Points(2.5)); err != nil {
		return nil, err
	}
	if err := add(others, draw.BoxGlyph{}, color.RGBA{R: 90, G: 90, B: 90, A: 255}, vg.Points(2.2)); err != nil {
		return nil, err
	}
	if err := add(wins, draw.PyramidGlyph{}, color.RGBA{R: 214, G: 39, B: 40, A: 255}, vg.Points(3.5)); err != nil {
		return nil, err
	}
	if base != nil {
		if err := add(plotter.XYs{{X: base.tpf(), Y: base.quality}}, draw.RingGlyph{}, color.Black, vg.Points(5)); err != nil {
			return nil, err
		}
	}
	labels := clusterLabels(r.points)
	ls, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, err
	}
	for i := range ls.TextStyle {
		ls.TextStyle[i].Font.Size = vg.Points(6)
	}
	ls.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(-2)}
	p.Add(ls)
	// Room on the right for the labels, and a margin around the points.
	lo, hi := labels.XYs[0].Y, labels.XYs[0].Y
	right := 0.0
	for _, xy := range labels.XYs {
		lo, hi, right = min(lo, xy.Y), max(hi, xy.Y), max(right, xy.X)
	}
	pad := max((hi-lo)*0.08, 0.5)
	p.Y.Min, p.Y.Max = lo-pad, hi+pad
	p.X.Min, p.X.Max = 0.8, right*1.3
	return p, nil
}

// clusterLabels gives each group of runs that landed close together
// (within 4% of the axes' spans) one label listing them, so labels do not
// print over each other; long lists end in "+N more".
func clusterLabels(points []*policyPoint) plotter.XYLabels {
	var out plotter.XYLabels
	var names [][]string
	x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, pt := range points {
		x0, x1 = min(x0, pt.tpf()), max(x1, pt.tpf())
		y0, y1 = min(y0, pt.quality), max(y1, pt.quality)
	}
	dx, dy := max(0.04*(x1-x0), 0.02), max(0.04*(y1-y0), 0.05)
	for _, pt := range points {
		xy := plotter.XY{X: pt.tpf(), Y: pt.quality}
		i := slices.IndexFunc(out.XYs, func(o plotter.XY) bool { return math.Abs(o.X-xy.X) < dx && math.Abs(o.Y-xy.Y) < dy })
		if i < 0 {
			out.XYs = append(out.XYs, xy)
			names = append(names, nil)
			i = len(names) - 1
		}
		names[i] = append(names[i], pt.run.name)
	}
	for _, n := range names {
		if len(n) > 4 {
			n = append(n[:3:3], fmt.Sprintf("+%d more", len(n)-3))
		}
		out.Labels = append(out.Labels, strings.Join(n, "\n"))
	}
	return out
}
