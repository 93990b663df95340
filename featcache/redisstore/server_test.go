package redisstore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/redistest"
)

// startRedis starts a redis-server for tb (see redistest.Start; it skips
// without redis-server on PATH).
func startRedis(tb testing.TB) *redistest.Server { return redistest.Start(tb) }

// freePort is a local port nothing listens on a moment ago.
func freePort(tb testing.TB) int { return redistest.FreePort(tb) }

var prefixSeq atomic.Int64

// openStore opens a Store on srv with a key prefix no other test uses, so
// tests can share one server; it closes the store when tb ends.
func openStore(tb testing.TB, srv *redistest.Server) *Store {
	tb.Helper()
	opts := DefaultOptions()
	opts.Addr = srv.Addr
	opts.KeyPrefix = fmt.Sprintf("test%d-%d:", os.Getpid(), prefixSeq.Add(1))
	s, err := Open(opts)
	if err != nil {
		tb.Fatalf("Open(%+v): %v", opts, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// ctxT is a context bounded well below the test timeout so a hang fails the
// test with a message instead of killing the binary.
func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func itoa(i int) string { return strconv.Itoa(i) }
