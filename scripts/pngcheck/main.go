// Command pngcheck checks that a screenshot of a report page is not
// blank: it decodes the PNG, requires some spread in its pixels' values,
// and requires pixels of the plots' first line color (the blue of
// loadtest/report), so that the inline SVG plots were drawn, not only the
// text around them. Used by scripts/check-report-render.sh.
//
//	go run ./scripts/pngcheck FILE.png
//
// Exit 0 with a one-line summary when the image passes, 1 otherwise.
package main

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
)

// near reports whether the pixel (r, g, b, 8 bits) is within tol of want.
func near(r, g, b uint32, want [3]uint32, tol float64) bool {
	d := func(x, y uint32) float64 { return float64(x) - float64(y) }
	return math.Abs(d(r, want[0])) <= tol && math.Abs(d(g, want[1])) <= tol && math.Abs(d(b, want[2])) <= tol
}

func check(img image.Image) (string, error) {
	var (
		blue, orange                = [3]uint32{0x1f, 0x77, 0xb4}, [3]uint32{0xff, 0x7f, 0x0e}
		nBlue, nOrange, nonWhite, n int
		sum, sum2                   float64
	)
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			l := 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)
			sum, sum2, n = sum+l, sum2+l*l, n+1
			if r < 240 || g < 240 || b < 240 {
				nonWhite++
			}
			if near(r, g, b, blue, 40) {
				nBlue++
			}
			if near(r, g, b, orange, 40) {
				nOrange++
			}
		}
	}
	if n == 0 {
		return "", fmt.Errorf("the image is empty (%v)", bd)
	}
	mean := sum / float64(n)
	sd := math.Sqrt(max(0, sum2/float64(n)-mean*mean))
	summary := fmt.Sprintf("%dx%d, luminance sd %.1f, %.1f%% non-white, %d blue and %d orange plot pixels",
		bd.Dx(), bd.Dy(), sd, 100*float64(nonWhite)/float64(n), nBlue, nOrange)
	switch {
	case sd < 5:
		return summary, fmt.Errorf("blank: luminance sd %.2f", sd)
	case float64(nonWhite)/float64(n) < 0.01:
		return summary, fmt.Errorf("almost blank: %d non-white pixels", nonWhite)
	case nBlue < 200:
		// Every plot's first series is blue (the capacity page's second
		// series orange): no blue, no plot.
		return summary, fmt.Errorf("the plots are missing: %d blue pixels, want at least 200", nBlue)
	}
	return summary, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pngcheck FILE.png")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pngcheck:", err)
		os.Exit(1)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pngcheck: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	summary, err := check(img)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pngcheck: %s: %v (%s)\n", os.Args[1], err, summary)
		os.Exit(1)
	}
	fmt.Printf("pngcheck: %s: ok: %s\n", os.Args[1], summary)
}
