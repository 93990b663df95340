package redisstream

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/predictd/predictd/internal/redistest"
)

// BenchmarkStreamIngest measures rows/s from XADD to acknowledged: b.N
// entries of the 2-feature view over 10,000 entities are published
// (pipelined, 1,000 a round trip) while one consumer applies them to a
// pebble store (one synced batch per XREADGROUP) through a Service.
// count is Options.Count, the batch size.
func BenchmarkStreamIngest(b *testing.B) {
	for _, count := range []int{16, 256} {
		b.Run(fmt.Sprintf("count=%d", count), func(b *testing.B) {
			srv := redistest.Start(b)
			rc := newClient(b, srv)
			svc, _ := newService(b)
			o := testOptions(b, srv, "a")
			o.Count = count
			c, err := New(svc.Defs, svc, o)
			if err != nil {
				b.Fatal(err)
			}
			start(b, c)
			at := time.Now()
			const chunk = 1000
			cmds := make(rueidis.Commands, 0, chunk)
			b.ReportAllocs()
			b.ResetTimer()
			t0 := time.Now()
			for i := 0; i < b.N; i++ {
				cmds = append(cmds, rc.B().Xadd().Key(o.Stream).Id("*").FieldValue().
					FieldValue("view", "stats").FieldValue("entity", fmt.Sprint(i%10000)).
					FieldValue("event_time", at.Add(time.Duration(i)*time.Microsecond).Format(time.RFC3339Nano)).
					FieldValue("spend", "1.5").FieldValue("orders", fmt.Sprint(i%7)).Build())
				if len(cmds) == chunk || i == b.N-1 {
					for _, res := range rc.DoMulti(context.Background(), cmds...) {
						if err := res.Error(); err != nil {
							b.Fatal(err)
						}
					}
					cmds = cmds[:0]
				}
			}
			deadline := time.Now().Add(5 * time.Minute)
			for c.Stats().Acked < int64(b.N) {
				if time.Now().After(deadline) {
					b.Fatalf("after 5m, %d of %d entries acked: %+v", c.Stats().Acked, b.N, c.Stats())
				}
				time.Sleep(time.Millisecond) // polling the counter
			}
			elapsed := time.Since(t0)
			b.StopTimer()
			if st := c.Stats(); st.Written != int64(b.N) || st.Dead != 0 {
				b.Fatalf("Stats = %+v, want all %d written", st, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "rows/s")
		})
	}
}
