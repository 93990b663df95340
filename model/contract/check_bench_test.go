package contract

import (
	"strconv"
	"testing"
)

var violSink int

// BenchmarkCheck is one row of features checked (clean: every check
// passes), with a range on each and categories on a quarter of them.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run("features="+strconv.Itoa(n), func(b *testing.B) {
			c := &Contract{}
			names := make([]string, n)
			row := make([]float64, n)
			lo, hi := 0.0, 100.0
			for i := range n {
				names[i] = "f" + strconv.Itoa(i)
				col := Column{Name: names[i], Type: Float, Min: &lo, Max: &hi}
				if i%4 == 0 {
					col.Type, col.Categories = Int, []string{"1", "2", "3", "5", "8"}
				}
				c.Columns = append(c.Columns, col)
				row[i] = 5
			}
			k, err := NewChecker(c, names)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]Violation, 0, n)
			b.ReportAllocs()
			for range b.N {
				dst = k.Check(dst[:0], row)
			}
			violSink += len(dst)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
		})
	}
}
