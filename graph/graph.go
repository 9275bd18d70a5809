// Package graph draws time series as a PNG line chart (with gonum/plot),
// for `graph` in chat.
package graph

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Point is one value at a time.
type Point struct {
	T time.Time
	V float64
}

// Series is one line.
type Series struct {
	Name   string
	Points []Point
}

// Options shape the chart.
type Options struct {
	Title         string
	Width, Height int // pixels (default 800×400)
	// From and To bound the time axis (default: the data's extent).
	From, To time.Time
	// Location is the time zone of the axis labels (default UTC).
	Location *time.Location
	// MaxSeries caps the lines drawn (default 10); the rest are named in the legend's last entry.
	MaxSeries int
}

// Layout is where the data area landed in the image (pixels, y down) and
// the ranges it shows: what a reader needs to map a value to a pixel.
type Layout struct {
	Left, Top, Right, Bottom int
	XMin, XMax               time.Time
	YMin, YMax               float64
}

// Pixel is where (t, v) is drawn.
func (l Layout) Pixel(t time.Time, v float64) (x, y float64) {
	fx := float64(t.Sub(l.XMin)) / float64(l.XMax.Sub(l.XMin))
	fy := (v - l.YMin) / (l.YMax - l.YMin)
	return float64(l.Left) + fx*float64(l.Right-l.Left), float64(l.Bottom) - fy*float64(l.Bottom-l.Top)
}

// Palette is the line colours, in order.
var Palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

// ErrNoData is returned when no series has a point.
var ErrNoData = errors.New("no data points to draw")

// Render draws the series and returns the PNG and its layout.
func Render(series []Series, o Options) ([]byte, Layout, error) {
	if o.Width <= 0 {
		o.Width = 800
	}
	if o.Height <= 0 {
		o.Height = 400
	}
	if o.MaxSeries <= 0 {
		o.MaxSeries = len(Palette)
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	var lay Layout
	xmin, xmax := o.From, o.To
	ymin, ymax := math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range series {
		for _, p := range s.Points {
			n++
			if xmin.IsZero() || (o.From.IsZero() && p.T.Before(xmin)) {
				xmin = p.T
			}
			if xmax.IsZero() || (o.To.IsZero() && p.T.After(xmax)) {
				xmax = p.T
			}
			ymin, ymax = math.Min(ymin, p.V), math.Max(ymax, p.V)
		}
	}
	if n == 0 {
		return nil, lay, ErrNoData
	}
	if !xmax.After(xmin) {
		xmax = xmin.Add(time.Minute)
	}
	if ymax == ymin {
		ymin, ymax = ymin-1, ymax+1
	} else {
		pad := (ymax - ymin) * 0.05
		ymin, ymax = ymin-pad, ymax+pad
	}

	p := plot.New()
	p.Title.Text = o.Title
	p.X.Min, p.X.Max = unix(xmin), unix(xmax)
	p.Y.Min, p.Y.Max = ymin, ymax
	p.X.Tick.Marker = plot.TimeTicks{Format: timeFormat(xmax.Sub(xmin)), Time: func(t float64) time.Time {
		return time.Unix(0, int64(t*1e9)).In(o.Location)
	}}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	for i, s := range series {
		if i == o.MaxSeries {
			p.Legend.Add(fmt.Sprintf("… and %d more series", len(series)-o.MaxSeries))
			break
		}
		xys := make(plotter.XYs, 0, len(s.Points))
		for _, pt := range s.Points {
			if math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
				continue
			}
			xys = append(xys, plotter.XY{X: unix(pt.T), Y: pt.V})
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, lay, fmt.Errorf("graph: %s: %w", s.Name, err)
		}
		l.LineStyle.Color = Palette[i%len(Palette)]
		l.LineStyle.Width = vg.Points(2)
		p.Add(l)
		if len(series) > 1 || s.Name != "" {
			p.Legend.Add(s.Name, l)
		}
	}

	// At 72 DPI a point is a pixel.
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(o.Width), vg.Length(o.Height)), vgimg.UseDPI(72),
		vgimg.UseBackgroundColor(color.White))
	dc := draw.New(c)
	p.Draw(dc)
	da := p.DataCanvas(dc)
	lay = Layout{
		Left: int(math.Round(float64(da.Min.X))), Right: int(math.Round(float64(da.Max.X))),
		Top: o.Height - int(math.Round(float64(da.Max.Y))), Bottom: o.Height - int(math.Round(float64(da.Min.Y))),
		XMin: xmin, XMax: xmax, YMin: ymin, YMax: ymax,
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, lay, fmt.Errorf("graph: encode: %w", err)
	}
	return buf.Bytes(), lay, nil
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func timeFormat(span time.Duration) string {
	switch {
	case span > 72*time.Hour:
		return "Jan 2"
	case span > 20*time.Hour:
		return "Jan 2 15:04"
	}
	return "15:04"
}
