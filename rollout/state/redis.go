package state

import (
	"context"
	"crypto/tls"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/predictd/predictd/internal/redisconn"
	"github.com/redis/rueidis"
)

// KeyPrefix is put before every key in Redis.
const KeyPrefix = "predictd:state:"

// RedisOptions configure OpenRedis. Start from DefaultRedisOptions, or
// RedisOptionsFromURL.
type RedisOptions struct {
	// Addr is the server's host:port. Required.
	Addr string
	// Username and Password authenticate; empty: none.
	Username, Password string
	// DB is the logical database. Default 0.
	DB int
	// TLS, if set, connects with TLS.
	TLS *tls.Config
	// DialTimeout bounds the connection and the first round trip. Default
	// 2s.
	DialTimeout time.Duration
}

// DefaultRedisOptions returns the defaults; set Addr.
func DefaultRedisOptions() RedisOptions { return RedisOptions{DialTimeout: 2 * time.Second} }

// RedisOptionsFromURL reads redis://[[user]:password@]host:port[/db] (or
// rediss:// for TLS) into DefaultRedisOptions. Errors show the URL without
// its password.
func RedisOptionsFromURL(spec string) (RedisOptions, error) {
	srv, err := redisconn.ParseURL(spec)
	if err != nil {
		return RedisOptions{}, fmt.Errorf("state: %w", err)
	}
	o := DefaultRedisOptions()
	o.Addr, o.Username, o.Password, o.DB, o.TLS = srv.Addr, srv.Username, srv.Password, srv.DB, srv.TLS
	return o, nil
}

// RedisStore is the Redis backend: one hash per key (fields gen and data)
// under KeyPrefix. See the package doc.
type RedisStore struct {
	addr   string
	client rueidis.Client
	closed atomic.Bool
}

var _ Store = (*RedisStore)(nil)

// casScript compares the hash's gen with ARGV[1] and, if equal, stores
// ARGV[2] as data and gen+1; it returns the new generation, or -1-stored
// on a conflict. Redis runs a script atomically, so no WATCH is needed.
var casScript = rueidis.NewLuaScript(`
local g = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if g ~= tonumber(ARGV[1]) then return -1 - g end
redis.call('HSET', KEYS[1], 'gen', g + 1, 'data', ARGV[2])
return g + 1
`)

// OpenRedis connects to opts.Addr (failing within DialTimeout if it does
// not answer PING).
func OpenRedis(opts RedisOptions) (*RedisStore, error) {
	if err := redisconn.Check("state", opts.Addr, opts.DB, opts.DialTimeout); err != nil {
		return nil, err
	}
	co := redisconn.ClientOption(redisconn.Server{Addr: opts.Addr, Username: opts.Username, Password: opts.Password, DB: opts.DB, TLS: opts.TLS}, opts.DialTimeout)
	client, err := rueidis.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("state: redis %s: connect: %w", opts.Addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.DialTimeout)
	defer cancel()
	if err := client.Do(ctx, client.B().Ping().Build()).Error(); err != nil {
		client.Close()
		return nil, fmt.Errorf("state: redis %s: ping: %w", opts.Addr, err)
	}
	return &RedisStore{addr: opts.Addr, client: client}, nil
}

// Get implements Store with one HMGET.
func (s *RedisStore) Get(ctx context.Context, key string) (Record, error) {
	if err := checkKey(key); err != nil {
		return Record{}, fmt.Errorf("state: redis %s: %w", s.addr, err)
	}
	if s.closed.Load() {
		return Record{}, fmt.Errorf("state: redis %s: get %q: %w", s.addr, key, ErrClosed)
	}
	vs, err := s.client.Do(ctx, s.client.B().Hmget().Key(KeyPrefix+key).Field("gen", "data").Build()).ToArray()
	if err != nil {
		return Record{}, fmt.Errorf("state: redis %s: get %q: %w", s.addr, key, err)
	}
	if len(vs) != 2 || vs[0].IsNil() {
		return Record{}, nil
	}
	gs, err := vs[0].ToString()
	if err != nil {
		return Record{}, fmt.Errorf("state: redis %s: key %q: %w", s.addr, KeyPrefix+key, err)
	}
	gen, err := strconv.ParseInt(gs, 10, 64)
	if err != nil || gen <= 0 {
		return Record{}, fmt.Errorf("state: redis %s: key %q is corrupt: field gen is %q, want a positive integer", s.addr, KeyPrefix+key, gs)
	}
	data, err := vs[1].ToString()
	if err != nil && !vs[1].IsNil() {
		return Record{}, fmt.Errorf("state: redis %s: key %q: field data: %w", s.addr, KeyPrefix+key, err)
	}
	return Record{Data: []byte(data), Gen: gen}, nil
}

// CAS implements Store with one Lua script (see casScript).
func (s *RedisStore) CAS(ctx context.Context, key string, gen int64, data []byte) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, fmt.Errorf("state: redis %s: %w", s.addr, err)
	}
	if s.closed.Load() {
		return 0, fmt.Errorf("state: redis %s: write %q: %w", s.addr, key, ErrClosed)
	}
	n, err := casScript.Exec(ctx, s.client, []string{KeyPrefix + key}, []string{strconv.FormatInt(gen, 10), string(data)}).AsInt64()
	if err != nil {
		return 0, fmt.Errorf("state: redis %s: write %q: %w", s.addr, key, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("state: redis %s: write %q at generation %d: stored generation is %d: %w", s.addr, key, gen, -1-n, ErrConflict)
	}
	return n, nil
}

// Close implements Store.
func (s *RedisStore) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("state: redis %s: %w", s.addr, ErrClosed)
	}
	s.client.Close()
	return nil
}
