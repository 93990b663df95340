package manager

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// sink keeps the benchmark's results alive.
var sink atomic.Int64

// BenchmarkAcquireRelease measures the request path's overhead: one
// Acquire and Release of the latest version, from every P at once
// (all goroutines contend on the same version's reference count).
func BenchmarkAcquireRelease(b *testing.B) {
	repo := b.TempDir()
	write(b, repo, "m", 1)
	m := start(b, Options{Repo: repo, PollInterval: -1, Logf: func(string, ...any) {}})
	for _, label := range []string{"", "stable"} {
		if label != "" {
			if err := m.SetLabel("m", label, 1); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("label=%t", label != ""), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				n := 0
				for pb.Next() {
					h, err := m.Acquire("m", 0, label)
					if err != nil {
						panic(err)
					}
					n += h.Version
					h.Release()
				}
				sink.Add(int64(n))
			})
		})
	}
}
