// Package redisconn is what predictd's Redis clients (featcache/redisstore,
// featcache/redisstream) share: checking a server address and the rueidis
// options for a standalone server. Functions are pure and safe for
// concurrent use.
package redisconn

import (
	"fmt"
	"net"
	"time"

	"github.com/redis/rueidis"
)

// Check reports the first of addr (host:port), db (>= 0) and dialTimeout
// (> 0) that is wrong, naming it as pkg's Options field ("redisstore:
// Options.Addr ...").
func Check(pkg, addr string, db int, dialTimeout time.Duration) error {
	switch {
	case addr == "":
		return fmt.Errorf("%s: Options.Addr is empty; set it to the Redis server's host:port", pkg)
	case db < 0:
		return fmt.Errorf("%s: Options.DB is %d; it must be >= 0", pkg, db)
	case dialTimeout <= 0:
		return fmt.Errorf("%s: Options.DialTimeout is %v; it must be > 0 (DefaultOptions sets 2s)", pkg, dialTimeout)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%s: Options.Addr %q is not host:port: %w", pkg, addr, err)
	}
	return nil
}

// ClientOption is the rueidis configuration both clients use: one
// standalone server (no cluster probe), no server-assisted client cache
// (predictd keeps its own, differently invalidated one).
func ClientOption(addr, password string, db int, dialTimeout time.Duration) rueidis.ClientOption {
	return rueidis.ClientOption{
		InitAddress:       []string{addr},
		Password:          password,
		SelectDB:          db,
		Dialer:            net.Dialer{Timeout: dialTimeout},
		DisableCache:      true,
		ForceSingleClient: true,
	}
}
