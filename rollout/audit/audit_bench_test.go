package audit

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkAppend measures one Append (encode, hash, one write, and the
// fsync when sync=true) of a typical entry on the temp dir's file
// system.
func BenchmarkAppend(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), "audit.log"), Options{NoSync: !sync})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			e := Entry{Actor: "alice", Action: ActionRolloutStep, Model: "churn", Versions: []int64{3, 5}, Reason: "step 2: 5% of traffic, checks passed"}
			b.ReportAllocs()
			for b.Loop() {
				if benchSink, err = l.Append(e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/entry")
		})
	}
}

var benchSink Entry
