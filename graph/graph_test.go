package graph

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// known is a V: 100 at 12:00, 0 at 12:30, 50 at 13:00, a point a minute.
func known() Series {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s := Series{Name: `errors{job="api"}`}
	for i := 0; i <= 60; i++ {
		v := 100 - float64(i)*100/30
		if i > 30 {
			v = float64(i-30) * 50 / 30
		}
		s.Points = append(s.Points, Point{T: t0.Add(time.Duration(i) * time.Minute), V: v})
	}
	return s
}

func near(c, want [3]uint32, tol uint32) bool {
	for i := range c {
		d := int(c[i]) - int(want[i])
		if d < 0 {
			d = -d
		}
		if uint32(d) > tol {
			return false
		}
	}
	return true
}

func rgb(img image.Image, x, y int) [3]uint32 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint32{r >> 8, g >> 8, b >> 8}
}

func TestRenderPlacesTheLine(t *testing.T) {
	s := known()
	data, lay, err := Render([]Series{s}, Options{Title: "errors for 1h", Width: 800, Height: 400})
	require.NoError(t, err)
	if dir := os.Getenv("GRAPH_TEST_OUT"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "graph.png"), data, 0o644))
	}
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, image.Rect(0, 0, 800, 400), img.Bounds())

	// The data area is inside the image, with room for the axes and labels.
	require.Greater(t, lay.Left, 20)
	require.Less(t, lay.Right, 800)
	require.Greater(t, lay.Top, 10)
	require.Less(t, lay.Bottom, 380)
	require.Greater(t, lay.Right-lay.Left, 600)
	require.Greater(t, lay.Bottom-lay.Top, 250)

	line := [3]uint32{uint32(Palette[0].R), uint32(Palette[0].G), uint32(Palette[0].B)}
	// At each sampled point, the line's colour is in the expected column
	// within 3 pixels of the expected row.
	for i := 2; i <= 58; i += 4 {
		p := s.Points[i]
		fx, fy := lay.Pixel(p.T, p.V)
		x, y := int(math.Round(fx)), int(math.Round(fy))
		best := 1 << 30
		for yy := lay.Top; yy <= lay.Bottom; yy++ {
			if near(rgb(img, x, yy), line, 40) {
				if d := abs(yy - y); d < best {
					best = d
				}
			}
		}
		require.LessOrEqual(t, best, 3, "point %d (%s, %g): expected near pixel (%d, %d)", i, p.T.Format("15:04"), p.V, x, y)
	}
	// And no line pixel at the other end of those columns: the V's bottom
	// (12:30, value 0) has nothing near the top.
	fx, _ := lay.Pixel(s.Points[30].T, 0)
	for yy := lay.Top; yy < lay.Top+(lay.Bottom-lay.Top)/2; yy++ {
		require.False(t, near(rgb(img, int(fx), yy), line, 40), "line pixel at (%d,%d)", int(fx), yy)
	}

	// Axes and labels: dark pixels left of and below the data area (tick
	// labels, the axis lines) and above it (the title).
	dark := func(x0, y0, x1, y1 int) int {
		n := 0
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				c := rgb(img, x, y)
				if c[0] < 160 && c[1] < 160 && c[2] < 160 {
					n++
				}
			}
		}
		return n
	}
	require.Greater(t, dark(0, lay.Top, lay.Left-1, lay.Bottom), 50, "y axis labels")
	require.Greater(t, dark(lay.Left, lay.Bottom+1, lay.Right, 400), 100, "x axis labels")
	require.Greater(t, dark(lay.Left, 0, lay.Right, lay.Top), 30, "title")
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestRenderEdgeCases(t *testing.T) {
	_, _, err := Render(nil, Options{})
	require.ErrorIs(t, err, ErrNoData)
	_, _, err = Render([]Series{{Name: "empty"}}, Options{})
	require.ErrorIs(t, err, ErrNoData)
	// A flat single point still draws.
	data, lay, err := Render([]Series{{Name: "one", Points: []Point{{T: time.Unix(0, 0), V: 3}}}}, Options{})
	require.NoError(t, err)
	require.NotEmpty(t, data)
	require.Equal(t, 2.0, lay.YMin)
	// Many series: capped, the rest counted in the legend.
	var many []Series
	for i := 0; i < 15; i++ {
		many = append(many, Series{Name: "s", Points: []Point{{T: time.Unix(0, 0), V: float64(i)}, {T: time.Unix(60, 0), V: float64(i + 1)}}})
	}
	_, _, err = Render(many, Options{MaxSeries: 5})
	require.NoError(t, err)
}
