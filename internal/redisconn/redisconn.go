// Package redisconn is what predictd's Redis clients (featcache/redisstore,
// featcache/redisstream) share: parsing a redis:// or rediss:// URL,
// checking a server address and the rueidis options for a standalone
// server. Functions are pure and safe for concurrent use.
package redisconn

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
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

// Server is where a client connects and how it authenticates.
type Server struct {
	// Addr is host:port.
	Addr string
	// Username and Password authenticate (AUTH [user] pass); empty: none.
	Username, Password string
	// DB is the logical database (SELECT).
	DB int
	// TLS, when set, makes the connection TLS (a rediss:// URL).
	TLS *tls.Config
}

// ClientOption is the rueidis configuration both clients use: one
// standalone server (no cluster probe), no server-assisted client cache
// (predictd keeps its own, differently invalidated one).
func ClientOption(s Server, dialTimeout time.Duration) rueidis.ClientOption {
	return rueidis.ClientOption{
		InitAddress:       []string{s.Addr},
		Username:          s.Username,
		Password:          s.Password,
		SelectDB:          s.DB,
		TLSConfig:         s.TLS,
		Dialer:            net.Dialer{Timeout: dialTimeout},
		DisableCache:      true,
		ForceSingleClient: true,
	}
}

// ParseURL reads redis://[[user]:password@]host:port[/db] or rediss://...
// (TLS) with rueidis.ParseURL, refusing what a single-server client cannot
// use (several addresses, a Unix socket, a Sentinel or cluster URL). Errors
// show the URL with its password redacted (Redact).
func ParseURL(spec string) (Server, error) {
	u, err := url.Parse(spec)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return Server{}, fmt.Errorf("%s: want redis://[[user]:password@]host:port[/db] or rediss://... for TLS", Redact(spec))
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return Server{}, fmt.Errorf("%s: the address %q is not host:port", Redact(spec), u.Host)
	}
	if q := u.Query(); len(q) > 0 {
		return Server{}, fmt.Errorf("%s: query parameters are not supported (one standalone server: redis://host:port/db)", Redact(spec))
	}
	o, err := rueidis.ParseURL(spec)
	if err != nil {
		return Server{}, fmt.Errorf("%s: %s", Redact(spec), strings.ReplaceAll(err.Error(), spec, Redact(spec)))
	}
	if len(o.InitAddress) != 1 {
		return Server{}, fmt.Errorf("%s: want exactly one server address", Redact(spec))
	}
	return Server{Addr: o.InitAddress[0], Username: o.Username, Password: o.Password, DB: o.SelectDB, TLS: o.TLSConfig}, nil
}

// Redact returns spec with the password of a URL replaced by "xxxxx", for
// messages and logs; anything that does not parse as a URL is returned
// without its part before the last '@'.
func Redact(spec string) string {
	u, err := url.Parse(spec)
	if err != nil {
		if i := strings.LastIndexByte(spec, '@'); i >= 0 {
			return "[redacted]@" + spec[i+1:]
		}
		return spec
	}
	return u.Redacted()
}
