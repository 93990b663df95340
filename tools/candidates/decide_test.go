package candidates

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

var nan = math.NaN()

// pt is a point with exact measures.
func pt(q, p99, cost float64) Point { return Point{q, Exact(p99), Exact(cost)} }

// spread is a point whose measures have rounds: p99 and cost each a
// [min, max] around their median.
func spread(q float64, p99, cost [3]float64) Point {
	return Point{q, Measure{p99[1], p99[0], p99[2]}, Measure{cost[1], cost[0], cost[2]}}
}

func TestParseCandidates(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Candidate
		err  string
	}{
		{in: "a:1,b:2,c", want: []Candidate{{"a", 1}, {"b", 2}, {"c", 0}}},
		{in: " a , a:3 ", want: []Candidate{{"a", 0}, {"a", 3}}},
		{in: "fraud:12", want: []Candidate{{"fraud", 12}}},
		{in: "", err: "an empty item"},
		{in: "a,,b", err: "an empty item"},
		{in: "a:0", err: `version "0" is not a positive integer`},
		{in: "a:-1", err: "not a positive integer"},
		{in: "a:01", err: "not a positive integer"},
		{in: "a:x", err: "not a positive integer"},
		{in: "a:", err: "not a positive integer"},
		{in: "../x", err: "is not valid"},
		{in: "a:1,b,a:1", err: "a:1 is named twice"},
		{in: "a,a", err: "a is named twice"},
	} {
		got, err := ParseCandidates(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseCandidates(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseCandidates(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestCandidateString(t *testing.T) {
	if s := (Candidate{"a", 0}).String(); s != "a" {
		t.Errorf("String() = %q, want a", s)
	}
	if s := (Candidate{"a", 7}).String(); s != "a:7" {
		t.Errorf("String() = %q, want a:7", s)
	}
}

func TestDominators(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pts    []Point
		higher bool
		want   [][]int
	}{
		{"better on every axis", []Point{pt(0.9, 1, 1), pt(0.8, 2, 2)}, true, [][]int{nil, {0}}},
		{"equal but one axis", []Point{pt(0.9, 1, 1), pt(0.9, 1, 2)}, true, [][]int{nil, {0}}},
		{"equal but quality", []Point{pt(0.9, 1, 1), pt(0.91, 1, 1)}, true, [][]int{{1}, nil}},
		{"equal points: neither", []Point{pt(0.9, 1, 1), pt(0.9, 1, 1)}, true, [][]int{nil, nil}},
		{"a trade-off: neither", []Point{pt(0.9, 2, 1), pt(0.8, 1, 1)}, true, [][]int{nil, nil}},
		{"cost against latency: neither", []Point{pt(0.9, 2, 1), pt(0.9, 1, 2)}, true, [][]int{nil, nil}},
		{"lower quality is better (RMSE)", []Point{pt(1.0, 1, 1), pt(0.7, 1, 1)}, false, [][]int{{1}, nil}},
		{"RMSE trade-off", []Point{pt(1.0, 1, 1), pt(0.7, 5, 5)}, false, [][]int{nil, nil}},
		{"two dominators, listed ascending", []Point{pt(0.7, 3, 3), pt(0.9, 1, 1), pt(0.8, 2, 2)}, true, [][]int{{1, 2}, nil, {1}}},
		{"NaN quality: neither way", []Point{pt(nan, 1, 1), pt(0.9, 2, 2), pt(0.8, 3, 3)}, true, [][]int{nil, nil, {1}}},
		{"NaN cost: neither way", []Point{pt(0.9, 1, nan), pt(0.8, 2, 2)}, true, [][]int{nil, nil}},
		{"one point", []Point{pt(0.5, 1, 1)}, true, [][]int{nil}},
		// Rounds: a speed difference counts only beyond the spread.
		{"equal quality, overlapping rounds: a tie", []Point{
			spread(0.9, [3]float64{0.8, 0.9, 1.0}, [3]float64{1, 1, 1}),
			spread(0.9, [3]float64{0.95, 1.0, 1.1}, [3]float64{1, 1, 1}),
		}, true, [][]int{nil, nil}},
		{"equal quality, separate rounds: dominated", []Point{
			spread(0.9, [3]float64{0.8, 0.85, 0.9}, [3]float64{1, 1, 1}),
			spread(0.9, [3]float64{0.91, 1.0, 1.1}, [3]float64{1, 1, 1}),
		}, true, [][]int{nil, {0}}},
		{"touching rounds: a tie", []Point{
			spread(0.9, [3]float64{0.8, 0.85, 0.9}, [3]float64{1, 1, 1}),
			spread(0.9, [3]float64{0.9, 1.0, 1.1}, [3]float64{1, 1, 1}),
		}, true, [][]int{nil, nil}},
		{"better quality, speed tied within noise: dominates", []Point{
			spread(0.95, [3]float64{0.95, 1.0, 1.1}, [3]float64{1, 2, 3}),
			spread(0.90, [3]float64{0.8, 0.9, 1.0}, [3]float64{1.5, 1.6, 2.5}),
		}, true, [][]int{nil, {0}}},
		{"better quality, slower beyond noise: neither", []Point{
			spread(0.95, [3]float64{2, 2.1, 2.2}, [3]float64{1, 1, 1}),
			spread(0.90, [3]float64{0.8, 0.9, 1.0}, [3]float64{1, 1, 1}),
		}, true, [][]int{nil, nil}},
		{"cost better beyond noise, p99 tied", []Point{
			spread(0.9, [3]float64{1, 2, 3}, [3]float64{1, 1.1, 1.2}),
			spread(0.9, [3]float64{1.5, 2.5, 3.5}, [3]float64{1.3, 1.4, 1.5}),
		}, true, [][]int{nil, {0}}},
		{"NaN in a round's range: neither", []Point{
			{0.95, Measure{1, nan, 1}, Exact(1)}, pt(0.9, 2, 2),
		}, true, [][]int{nil, nil}},
		{"no points", nil, true, [][]int{}},
	} {
		got := Dominators(tc.pts, tc.higher)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Dominators(%v, higher=%v) = %v, want %v", tc.name, tc.pts, tc.higher, got, tc.want)
		}
	}
}

func TestBest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pts    []Point
		higher bool
		slo    float64
		want   int
	}{
		{"best quality within the SLO", []Point{pt(0.95, 20, 1), pt(0.9, 8, 2), pt(0.8, 2, 1)}, true, 10, 1},
		{"p99 equal to the SLO qualifies", []Point{pt(0.95, 10, 1), pt(0.9, 8, 2)}, true, 10, 0},
		{"no SLO: best quality of all", []Point{pt(0.95, 20, 1), pt(0.9, 8, 2)}, true, 0, 0},
		{"none within the SLO", []Point{pt(0.95, 20, 1), pt(0.9, 11, 2)}, true, 10, -1},
		{"quality tie: lower cost", []Point{pt(0.9, 1, 3), pt(0.9, 5, 2), pt(0.9, 2, 4)}, true, 10, 1},
		{"quality and cost tie: lower p99", []Point{pt(0.9, 3, 2), pt(0.9, 2, 2)}, true, 10, 1},
		{"full tie: listed first", []Point{pt(0.9, 2, 2), pt(0.9, 2, 2)}, true, 10, 0},
		{"RMSE: lowest wins", []Point{pt(1.1, 1, 1), pt(0.7, 2, 2), pt(0.9, 1, 1)}, false, 10, 1},
		{"RMSE tie: lower cost", []Point{pt(0.7, 1, 2), pt(0.7, 1, 1)}, false, 0, 1},
		{"NaN quality never best", []Point{pt(nan, 1, 1), pt(0.6, 2, 2)}, true, 10, 1},
		{"only NaN quality: none", []Point{pt(nan, 1, 1)}, true, 0, -1},
		{"NaN cost loses the cost tie", []Point{pt(0.9, 1, nan), pt(0.9, 2, 5)}, true, 0, 1},
		{"NaN p99 never best", []Point{pt(0.99, nan, 1), pt(0.9, 2, 5)}, true, 0, 1},
		{"no points", nil, true, 10, -1},
		// The SLO and the ties use the medians.
		{"median within the SLO, a round above: qualifies", []Point{
			spread(0.95, [3]float64{8, 9, 12}, [3]float64{1, 1, 1}), pt(0.9, 1, 1),
		}, true, 10, 0},
		{"median above the SLO, a round within: does not", []Point{
			spread(0.95, [3]float64{8, 11, 12}, [3]float64{1, 1, 1}), pt(0.9, 1, 1),
		}, true, 10, 1},
		{"quality tie: lower median cost, whatever the rounds", []Point{
			spread(0.9, [3]float64{1, 1, 1}, [3]float64{1, 3, 3}), spread(0.9, [3]float64{1, 1, 1}, [3]float64{2, 2, 9}),
		}, true, 0, 1},
	} {
		if got := Best(tc.pts, tc.higher, tc.slo); got != tc.want {
			t.Errorf("%s: Best(%v, higher=%v, slo=%v) = %d, want %d", tc.name, tc.pts, tc.higher, tc.slo, got, tc.want)
		}
	}
}

func TestCostPerMillion(t *testing.T) {
	for _, tc := range []struct {
		cores      int
		rps, price float64
		want       float64
	}{
		// cores × price / (rows/s × 3600) × 1e6
		{2, 100_000, 0.05, 2 * 0.05 / (100_000 * 3600) * 1e6},
		{1, 3600, 1, 1e6 / 3600 / 3600 * 1},
		{4, 1e6, 0.1, 4 * 0.1 / 3600},
		{2, 5000, 0, 0},
	} {
		got, err := CostPerMillion(tc.cores, tc.rps, tc.price, "USD")
		if err != nil || math.Abs(got-tc.want) > 1e-12*math.Abs(tc.want) {
			t.Errorf("CostPerMillion(%d, %v, %v) = %v, %v; want %v", tc.cores, tc.rps, tc.price, got, err, tc.want)
		}
		// The cost is proportional to the core-seconds per million: the
		// unpriced axis orders candidates as the priced one does.
		if tc.price > 0 {
			cs := CoreSecondsPerMillion(tc.cores, tc.rps)
			if r := got / (cs * tc.price / 3600); math.Abs(r-1) > 1e-12 {
				t.Errorf("CostPerMillion(%d, %v, %v) = %v, CoreSecondsPerMillion %v: ratio %v, want 1", tc.cores, tc.rps, tc.price, got, cs, r)
			}
		}
	}
	for _, bad := range []struct {
		cores      int
		rps, price float64
	}{{0, 100, 1}, {2, 0, 1}, {2, math.NaN(), 1}, {2, 100, -1}} {
		if got, err := CostPerMillion(bad.cores, bad.rps, bad.price, ""); err == nil {
			t.Errorf("CostPerMillion(%d, %v, %v) = %v, nil; want an error", bad.cores, bad.rps, bad.price, got)
		}
	}
	if v := CoreSecondsPerMillion(2, 0); !math.IsNaN(v) {
		t.Errorf("CoreSecondsPerMillion(2, 0) = %v, want NaN", v)
	}
	if v := CoreSecondsPerMillion(2, 4e6); v != 0.5 {
		t.Errorf("CoreSecondsPerMillion(2, 4e6) = %v, want 0.5", v)
	}
}
