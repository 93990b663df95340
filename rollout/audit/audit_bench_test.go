package audit

import (
	"bytes"
	"fmt"
	"os"
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

// BenchmarkVerify measures Verify over a log of 1,000 typical entries
// (what Open does at startup, per entry).
func BenchmarkVerify(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.log")
	l, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	e := Entry{Actor: "alice", Action: ActionRolloutStep, Model: "churn", Versions: []int64{3, 5}, Reason: "step 2: 5% of traffic, checks passed"}
	for range 999 {
		if _, err := l.Append(e); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if verifySink, err = Verify(bytes.NewReader(data), nil); err != nil || verifySink.Entries != 1000 {
			b.Fatalf("Verify: %+v, %v; want 1000 entries", verifySink, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/entry")
}

var verifySink Summary
