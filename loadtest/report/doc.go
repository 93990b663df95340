// Package report renders load-test and capacity-search results as
// self-contained HTML pages: inline CSS and inline SVG plots drawn with
// gonum.org/v1/plot, no scripts, no external stylesheets, fonts or
// images, so a page can be mailed, attached to a ticket or opened from
// disk years later and look the same.
//
// LoadTest renders one run (loadtest.Summary); Capacity renders a search
// (capacity.Report) with its knee curve and the knee step's latency
// spectrum; KneePNG draws the same two plots as one PNG image.
//
// Latency percentile spectra are drawn the way HdrHistogram plots them:
// the x axis is 1/(1-p) on a log scale, labeled 50%, 90%, 99%, 99.9%, ...,
// so every "nine" of the tail gets the same width; the 100th percentile
// (the maximum, infinitely far right) is left to the tables.
//
// The pages are well-formed XML as well as HTML (every element closed,
// no named entities but XML's), which the tests rely on to parse them.
//
// The page scaffolding (head, CSS, formatting, palette, plot-to-SVG) is
// internal/htmlpage's, shared with the other reports.
//
// The functions keep no state and may be called concurrently.
package report
