package redisstore

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/redisconn"
)

// Options configures Open. Start from DefaultOptions and set Addr.
type Options struct {
	// Addr is the Redis server as "host:port". Required.
	Addr string
	// Username and Password authenticate with AUTH; empty sends none.
	Username, Password string
	// TLS, when set, connects over TLS (a rediss:// URL).
	TLS *tls.Config
	// DB is the logical database selected after connecting (SELECT); 0 by default.
	DB int
	// KeyPrefix is prepended to every key so several deployments (or tests)
	// can share one server. Default "predictd:"; empty means no prefix.
	KeyPrefix string
	// DialTimeout bounds connecting (including at Open, which connects
	// eagerly). Must be > 0; default 2s.
	DialTimeout time.Duration
}

// DefaultOptions returns Options with every field but Addr set to its default.
func DefaultOptions() Options {
	return Options{KeyPrefix: "predictd:", DialTimeout: 2 * time.Second}
}

func (o Options) validate() error {
	if err := redisconn.Check("redisstore", o.Addr, o.DB, o.DialTimeout); err != nil {
		return err
	}
	if strings.IndexByte(o.KeyPrefix, 0) >= 0 {
		return fmt.Errorf("redisstore: Options.KeyPrefix %q contains a NUL byte", o.KeyPrefix)
	}
	return nil
}

// putIfNewer stores ARGV[1] under KEYS[1] unless the stored value's first 8
// bytes (big-endian biased UnixNano, see featcache.EncodeRecord) are >= the new
// value's; it returns 1 when it wrote and 0 when it skipped. The comparison is
// byte by byte rather than Lua's `<` on strings because Lua compares strings
// with strcoll, which follows the server's locale, not byte order. A stored
// value shorter than 8 bytes is corrupt and gets replaced.
const putIfNewer = `
local cur = redis.call('GET', KEYS[1])
if cur and #cur >= 8 then
  local new = ARGV[1]
  local newer = false
  for i = 1, 8 do
    local a, b = string.byte(new, i), string.byte(cur, i)
    if a ~= b then
      newer = a > b
      break
    end
  end
  if not newer then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`

// Store is a featcache.Store over one Redis server. Safe for concurrent use.
type Store struct {
	client rueidis.Client
	prefix string
	sha1   string
	closed atomic.Bool
}

var _ featcache.Store = (*Store)(nil)

// Open connects to opts.Addr, failing within opts.DialTimeout if the server is
// unreachable, and loads the newer-wins script.
func Open(opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	co := redisconn.ClientOption(redisconn.Server{Addr: opts.Addr, Username: opts.Username, Password: opts.Password, DB: opts.DB, TLS: opts.TLS}, opts.DialTimeout)
	// By default rueidis retries read-only commands (MGET) after network
	// errors, with exponential backoff of up to 1s a wait. A feature lookup
	// on the request path should fail fast and let the caller decide
	// (serve defaults, shed load).
	co.DisableRetry = true
	client, err := rueidis.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("redisstore: connect to %s: %w", opts.Addr, err)
	}
	s := &Store{client: client, prefix: opts.KeyPrefix}
	ctx, cancel := context.WithTimeout(context.Background(), opts.DialTimeout)
	defer cancel()
	sha, err := client.Do(ctx, client.B().ScriptLoad().Script(putIfNewer).Build()).ToString()
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("redisstore: load script on %s: %w", opts.Addr, err)
	}
	s.sha1 = sha
	return s, nil
}

// Ping checks the server answers; for health checks.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	if err := s.client.Do(ctx, s.client.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// Close closes the client's connections; in-flight calls fail. Later calls,
// Close included, return an error wrapping featcache.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return errClosed
	}
	s.client.Close()
	return nil
}

func (s *Store) key(buf []byte, view, entity string) ([]byte, string) {
	buf = append(buf[:0], s.prefix...)
	buf = featcache.StoreKey(buf, view, entity)
	return buf, string(buf)
}

var errClosed = fmt.Errorf("redisstore: %w", featcache.ErrClosed)

// Put validates rows with featcache.CheckPut, then stores them for view, skipping each row that is not newer than the one
// stored for its entity (decided atomically on the server). All rows go out
// in one pipelined round trip. A nil error means Redis acknowledged every
// write; see the package doc for what that means for durability. On error,
// some rows may have been written.
func (s *Store) Put(ctx context.Context, view string, rows []featcache.Row) (int, error) {
	if s.closed.Load() {
		return 0, errClosed
	}
	if err := featcache.CheckPut(view, rows); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	var kb, vb []byte
	cmds := make(rueidis.Commands, len(rows))
	keys := make([]string, len(rows))
	vals := make([]string, len(rows))
	for i, r := range rows {
		kb, keys[i] = s.key(kb, view, r.Entity)
		vb = featcache.EncodeRecord(vb[:0], r.EventTime, r.Values)
		vals[i] = string(vb)
		cmds[i] = s.client.B().Evalsha().Sha1(s.sha1).Numkeys(1).Key(keys[i]).Arg(vals[i]).Build()
	}
	resps := s.client.DoMulti(ctx, cmds...)
	// A server restart or SCRIPT FLUSH forgets the script: resend those rows
	// with EVAL (in order, so a later row for the same entity still follows
	// an earlier one) and load it again for the next Put.
	var retry []int
	for i, r := range resps {
		if e, ok := rueidis.IsRedisErr(r.Error()); ok && e.IsNoScript() {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		again := make(rueidis.Commands, len(retry))
		for j, i := range retry {
			again[j] = s.client.B().Eval().Script(putIfNewer).Numkeys(1).Key(keys[i]).Arg(vals[i]).Build()
		}
		for j, r := range s.client.DoMulti(ctx, again...) {
			resps[retry[j]] = r
		}
	}
	written := 0
	for i, r := range resps {
		n, err := r.AsInt64()
		if err != nil {
			return written, fmt.Errorf("redisstore: put view %q entity %q: %w", view, rows[i].Entity, err)
		}
		written += int(n)
	}
	return written, nil
}

// Get looks up keys with one MGET and appends len(keys) records to dst in
// keys' order; Found is false for an absent key. Values are freshly
// allocated and owned by the caller. A stored value that does not decode is
// an error naming its view and entity. On error dst is returned unextended.
func (s *Store) Get(ctx context.Context, keys []featcache.Key, dst []featcache.Record) ([]featcache.Record, error) {
	if s.closed.Load() {
		return dst, errClosed
	}
	if len(keys) == 0 {
		return dst, nil
	}
	n0 := len(dst)
	var kb []byte
	names := make([]string, len(keys))
	for i, k := range keys {
		kb, names[i] = s.key(kb, k.View, k.Entity)
	}
	msgs, err := s.client.Do(ctx, s.client.B().Mget().Key(names...).Build()).ToArray()
	if err != nil {
		return dst[:n0], fmt.Errorf("redisstore: get %d keys: %w", len(keys), err)
	}
	if len(msgs) != len(keys) {
		return dst[:n0], fmt.Errorf("redisstore: MGET of %d keys returned %d values", len(keys), len(msgs))
	}
	for i := range msgs {
		m := &msgs[i]
		if m.IsNil() {
			dst = append(dst, featcache.Record{})
			continue
		}
		b, err := m.AsBytes()
		if err != nil {
			return dst[:n0], fmt.Errorf("redisstore: get view %q entity %q (redis key %q): %w", keys[i].View, keys[i].Entity, names[i], err)
		}
		t, vals, err := featcache.DecodeRecord(b, nil)
		if err != nil {
			return dst[:n0], fmt.Errorf("redisstore: get view %q entity %q (redis key %q): %w", keys[i].View, keys[i].Entity, names[i], err)
		}
		dst = append(dst, featcache.Record{Found: true, EventTime: t, Values: vals})
	}
	return dst, nil
}
