package capacity

import (
	"math"
	"strings"
	"testing"
)

// FuzzParseCPU: parseCPU never panics on a scraped page, and a value it
// returns is a number it found on a process_cpu_seconds_total line.
func FuzzParseCPU(f *testing.F) {
	f.Add("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.5\n")
	f.Add("process_cpu_seconds_total{a=\"b\"} 3 1700000000000\n")
	f.Add("process_cpu_seconds_total_other 1\nprocess_cpu_seconds_total{\n")
	f.Add("process_cpu_seconds_total NaN\n")
	f.Fuzz(func(t *testing.T, page string) {
		v, err := parseCPU(strings.NewReader(page))
		if err == nil && !math.IsNaN(v) && !strings.Contains(page, cpuMetric) {
			t.Fatalf("parseCPU(%q) = %v with no %s in the page", page, v, cpuMetric)
		}
	})
}
