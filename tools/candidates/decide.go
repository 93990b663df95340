package candidates

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/predictd/predictd/loadtest/capacity"
	"github.com/predictd/predictd/model"
)

// Candidate names one model version to compare.
type Candidate struct {
	Name string `json:"model"`
	// Version is the version number; 0 means the latest, which Run
	// resolves once, before it evaluates or measures anything.
	Version int `json:"version"`
}

// String is "name:version", or the name alone for the latest.
func (c Candidate) String() string {
	if c.Version == 0 {
		return c.Name
	}
	return c.Name + ":" + strconv.Itoa(c.Version)
}

// ParseCandidates reads a comma-separated list of NAME or NAME:VERSION
// ("a:1,b:2,c"; a bare NAME is its latest version). It refuses an empty
// item, an invalid model name, a version that is not a positive integer and
// a candidate named twice.
func ParseCandidates(s string) ([]Candidate, error) {
	var cs []Candidate
	seen := map[Candidate]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("candidates %q: an empty item; want NAME or NAME:VERSION, comma-separated", s)
		}
		name, ver, hasVer := strings.Cut(item, ":")
		c := Candidate{Name: name}
		if !model.ValidName(name) {
			return nil, fmt.Errorf("candidates %q: model name %s is not valid", s, model.Quote(name))
		}
		if hasVer {
			v, err := strconv.Atoi(ver)
			if err != nil || v < 1 || strconv.Itoa(v) != ver {
				return nil, fmt.Errorf("candidates %q: %q: version %q is not a positive integer", s, item, ver)
			}
			c.Version = v
		}
		if seen[c] {
			return nil, fmt.Errorf("candidates %q: %s is named twice", s, c)
		}
		seen[c] = true
		cs = append(cs, c)
	}
	return cs, nil
}

// Measure is a measured value: the median over the rounds, and the
// lowest and highest round.
type Measure struct {
	Median, Min, Max float64
}

// Exact is a value measured once, or known exactly.
func Exact(v float64) Measure { return Measure{v, v, v} }

func (m Measure) defined() bool {
	return !math.IsNaN(m.Median) && !math.IsNaN(m.Min) && !math.IsNaN(m.Max)
}

// cmpLower compares two measures where lower is better: -1 when a is
// better beyond the spread (a's highest round below b's lowest), +1 when
// worse beyond it, 0 when their rounds overlap (a tie within the noise).
func cmpLower(a, b Measure) int {
	switch {
	case a.Max < b.Min:
		return -1
	case a.Min > b.Max:
		return 1
	}
	return 0
}

// Point is one candidate's position on the three axes Dominators and Best
// compare. Each axis may be in any unit, the same for every point; NaN
// means undefined.
type Point struct {
	// Quality is the primary quality metric (AUC or RMSE), computed
	// exactly.
	Quality float64
	// P99 is the single-row 99th-percentile latency: lower is better.
	P99 Measure
	// Cost is the price of a prediction, or anything proportional to it:
	// lower is better.
	Cost Measure
}

func (p Point) defined() bool {
	return !math.IsNaN(p.Quality) && p.P99.defined() && p.Cost.defined()
}

// dominates reports whether a is at least as good as b on every axis and
// strictly better on one, the measured axes compared by cmpLower;
// higher says whether a higher Quality is better.
func dominates(a, b Point, higher bool) bool {
	if !a.defined() || !b.defined() {
		return false
	}
	q := 0 // -1: a better
	switch {
	case a.Quality == b.Quality:
	case (a.Quality > b.Quality) == higher:
		q = -1
	default:
		q = 1
	}
	p, c := cmpLower(a.P99, b.P99), cmpLower(a.Cost, b.Cost)
	if q > 0 || p > 0 || c > 0 {
		return false
	}
	return q < 0 || p < 0 || c < 0
}

// Dominators returns, for each point, the indices (ascending) of the points
// that dominate it: at least as good on every axis and strictly better on
// one, where higher says whether a higher Quality is better (AUC) or a
// lower one (RMSE). Quality compares exactly; P99 and Cost compare by
// their rounds: one is better only when its highest round is below the
// other's lowest, and rounds that overlap are a tie. With Exact measures
// that is plain comparison. The points with no dominator are the Pareto
// frontier. Equal points do not dominate each other; a point with a NaN
// axis neither dominates nor is dominated.
func Dominators(pts []Point, higher bool) [][]int {
	out := make([][]int, len(pts))
	for i := range pts {
		for j := range pts {
			if i != j && dominates(pts[j], pts[i], higher) {
				out[i] = append(out[i], j)
			}
		}
	}
	return out
}

// Best returns the index of the best point whose median P99 is at most
// sloP99 (every point when sloP99 is 0): the best Quality (higher or lower
// as higher says), ties broken by the lower median Cost, then the lower
// median P99, then the lower index. A point with a NaN Quality or P99 is
// never best; a NaN Cost loses every cost tie. It returns -1 when no point
// qualifies.
func Best(pts []Point, higher bool, sloP99 float64) int {
	best := -1
	for i, p := range pts {
		if math.IsNaN(p.Quality) || math.IsNaN(p.P99.Median) || (sloP99 > 0 && p.P99.Median > sloP99) {
			continue
		}
		if best < 0 || better(p, pts[best], higher) {
			best = i
		}
	}
	return best
}

// better reports whether p ranks strictly above q in Best's order.
func better(p, q Point, higher bool) bool {
	if p.Quality != q.Quality {
		return (p.Quality > q.Quality) == higher
	}
	pc, qc := p.Cost.Median, q.Cost.Median
	if math.IsNaN(pc) {
		pc = math.Inf(1)
	}
	if math.IsNaN(qc) {
		qc = math.Inf(1)
	}
	if pc != qc {
		return pc < qc
	}
	return p.P99.Median < q.P99.Median
}

// CoreSecondsPerMillion is the CPU time a million predictions take at
// rowsPerSecond on cores cores: cores × 1e6 / rowsPerSecond. NaN when
// rowsPerSecond is not positive.
func CoreSecondsPerMillion(cores int, rowsPerSecond float64) float64 {
	if !(rowsPerSecond > 0) || math.IsInf(rowsPerSecond, 0) {
		return math.NaN()
	}
	return float64(cores) * 1e6 / rowsPerSecond
}

// CostPerMillion prices a million predictions served at rowsPerSecond by
// cores cores bought at costPerCoreHour:
//
//	cores × costPerCoreHour / (rowsPerSecond × 3600) × 1e6
//
// through capacity.MakePlan (one replica of cores cores, headroom 1: every
// core busy), so that `predictd capacity` and `predictd candidates` price
// alike. It returns 0 when costPerCoreHour is 0.
func CostPerMillion(cores int, rowsPerSecond, costPerCoreHour float64, currency string) (float64, error) {
	p, err := capacity.MakePlan(capacity.PlanInput{
		KneeRPS: rowsPerSecond, Headroom: 1, ServerCores: cores,
		CostPerCoreHour: costPerCoreHour, Currency: currency,
	})
	if err != nil {
		return 0, fmt.Errorf("cost per million: %w", err)
	}
	return p.CostPerMillionReplicas, nil
}
