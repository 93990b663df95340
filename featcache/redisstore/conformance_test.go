package redisstore

import (
	"fmt"
	"testing"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/storetest"
)

// TestConformance runs the shared featcache.Store suite; every store gets a
// fresh key prefix on one server, so each starts empty.
func TestConformance(t *testing.T) {
	srv := startRedis(t)
	storetest.Run(t, func(t *testing.T) featcache.Store { return openStore(t, srv) })
}

// TestReopen: rows acknowledged before Close are read by a new client on
// the same server and prefix. This is "acknowledged by Redis"; surviving a
// Redis restart is the server's persistence config, not tested here.
func TestReopen(t *testing.T) {
	srv := startRedis(t)
	opts := DefaultOptions()
	opts.Addr = srv.Addr
	opts.KeyPrefix = fmt.Sprintf("reopen%d:", prefixSeq.Add(1))
	open := func(t *testing.T) featcache.Store {
		s, err := Open(opts)
		if err != nil {
			t.Fatalf("Open(%+v): %v", opts, err)
		}
		return s
	}
	storetest.Reopen(t, open, open)
}
