package redisstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/redisconn"
)

// Writer applies rows of a view; *featcache.Service is the one the daemon
// uses. A refused batch must be a *featcache.InputError with nothing
// written; any other error is a store failure, retried. Write must be safe
// to call again with rows it already applied (newer-wins by event time).
type Writer interface {
	Write(ctx context.Context, view string, rows []featcache.Row) (featcache.PushResult, error)
}

var _ Writer = (*featcache.Service)(nil)

// Options configures New. Start from DefaultOptions and set Addr (or
// Client), Stream, Group and Consumer.
type Options struct {
	// Addr is the Redis server as "host:port". Required unless Client is set.
	Addr string
	// Username and Password authenticate with AUTH; empty sends none.
	Username, Password string
	// TLS, when set, connects over TLS (a rediss:// URL).
	TLS *tls.Config
	// DB is the logical database selected after connecting; 0 by default.
	DB int
	// DialTimeout bounds each connection attempt. Must be > 0; default 2s.
	DialTimeout time.Duration
	// Client, when set, is used instead of dialing Addr (Addr, Password, DB
	// and DialTimeout are then ignored). The caller owns it: Run does not
	// close it, and it must stay open until Run returns.
	Client rueidis.Client

	// Stream is the key of the stream the feature pipeline XADDs to. Required.
	Stream string
	// Group is the consumer group. Every group sees every entry once, so
	// replicas that each keep their own store (pebblestore) each need their
	// own Group; replicas sharing one store (redisstore) share one Group.
	// Required.
	Group string
	// Consumer names this reader within Group. It must be stable across
	// restarts of one replica (a restarted consumer re-reads its own
	// pending entries) and unique among live replicas of the group. Required.
	Consumer string

	// Count is the most entries one XREADGROUP or XAUTOCLAIM returns, and so
	// the largest batch handed to one Write per view. Must be > 0; default 256.
	Count int
	// Block is how long one XREADGROUP waits for new entries, and so the
	// longest Run takes to notice a cancelled context while idle. Must be
	// >= 1ms; default 1s.
	Block time.Duration
	// ClaimMinIdle is how long an entry must sit unacknowledged in another
	// consumer's pending list (a replica that died) before this consumer
	// takes it over with XAUTOCLAIM; the pending lists are scanned every
	// ClaimMinIdle/2. Must be > 0; default 30s. Keep it well above the time
	// one batch takes to write, or live consumers steal each other's work
	// (harmless, since writes are idempotent, but wasted).
	ClaimMinIdle time.Duration
	// DeadLetter is the stream malformed or refused entries are copied to
	// before they are acknowledged. Default Stream + ":dead". It is never
	// trimmed by this package.
	DeadLetter string
	// StartID is where a newly created group starts reading: "0" (the
	// default) reads the whole stream, safe because writes are idempotent;
	// "$" reads only entries added after the group is created. Ignored when
	// the group exists.
	StartID string
	// RetryBackoff is the wait after a store or Redis error before trying
	// again. Must be > 0; default 1s.
	RetryBackoff time.Duration
	// Logf receives one line per error, dead-lettered entry and reconnect.
	// Default log.Printf. It is called from Run's goroutine only.
	Logf func(format string, args ...any)
}

// DefaultOptions returns Options with every field but Addr, Client, Stream,
// Group and Consumer set to its default (DeadLetter is derived from Stream
// in New).
func DefaultOptions() Options {
	return Options{
		DialTimeout:  2 * time.Second,
		Count:        256,
		Block:        time.Second,
		ClaimMinIdle: 30 * time.Second,
		StartID:      "0",
		RetryBackoff: time.Second,
		Logf:         log.Printf,
	}
}

func (o Options) validate() error {
	if o.Client == nil {
		if err := redisconn.Check("redisstream", o.Addr, o.DB, o.DialTimeout); err != nil {
			return fmt.Errorf("%w (or set Options.Client)", err)
		}
	}
	for _, f := range []struct{ name, v string }{{"Stream", o.Stream}, {"Group", o.Group}, {"Consumer", o.Consumer}} {
		if f.v == "" {
			return fmt.Errorf("redisstream: Options.%s is empty; it is required", f.name)
		}
	}
	switch {
	case o.Count <= 0:
		return fmt.Errorf("redisstream: Options.Count is %d; it must be > 0 (DefaultOptions sets 256)", o.Count)
	case o.Block < time.Millisecond:
		return fmt.Errorf("redisstream: Options.Block is %v; it must be >= 1ms (DefaultOptions sets 1s)", o.Block)
	case o.ClaimMinIdle <= 0:
		return fmt.Errorf("redisstream: Options.ClaimMinIdle is %v; it must be > 0 (DefaultOptions sets 30s)", o.ClaimMinIdle)
	case o.RetryBackoff <= 0:
		return fmt.Errorf("redisstream: Options.RetryBackoff is %v; it must be > 0 (DefaultOptions sets 1s)", o.RetryBackoff)
	case o.StartID == "":
		return errors.New(`redisstream: Options.StartID is empty; use "0" (whole stream), "$" (new entries only) or an entry ID`)
	case o.DeadLetter == o.Stream:
		return fmt.Errorf("redisstream: Options.DeadLetter is the same stream as Options.Stream (%q)", o.Stream)
	}
	return nil
}

// Stats are counts since New; each is read atomically, the set is not one
// snapshot.
type Stats struct {
	Read        int64 // entries received (new, re-read pending and claimed; an entry may count more than once)
	Written     int64 // rows the store wrote
	Skipped     int64 // rows not newer than the stored row (a replay)
	Acked       int64 // entries acknowledged (XACK's count)
	Dead        int64 // entries copied to the dead-letter stream
	StoreErrors int64 // Write calls that failed with a store error (entries left pending)
	RedisErrors int64 // Redis commands that failed (connection, NOGROUP, ...)
	Claimed     int64 // entries taken with XAUTOCLAIM: other consumers' (and this one's own) idle >= ClaimMinIdle
}

// Consumer reads one stream as one consumer of a group and applies its
// entries through a Writer. Create it with New; call Run once. Stats may
// be called from any goroutine at any time.
type Consumer struct {
	defs *featcache.Defs
	w    Writer
	opts Options

	running atomic.Bool

	read, written, skipped, acked, dead, storeErrors, redisErrors, claimed atomic.Int64
}

// New returns a consumer applying opts.Stream's entries, decoded against
// defs, through w. It validates opts (an error names the field) and does
// not connect: Run does, and keeps retrying while Redis is away.
func New(defs *featcache.Defs, w Writer, opts Options) (*Consumer, error) {
	if defs == nil {
		return nil, errors.New("redisstream: New: nil feature definitions")
	}
	if w == nil {
		return nil, errors.New("redisstream: New: nil Writer")
	}
	if opts.DeadLetter == "" {
		opts.DeadLetter = opts.Stream + ":dead"
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Logf == nil {
		opts.Logf = log.Printf
	}
	return &Consumer{defs: defs, w: w, opts: opts}, nil
}

// Stats returns the counters.
func (c *Consumer) Stats() Stats {
	return Stats{
		Read:        c.read.Load(),
		Written:     c.written.Load(),
		Skipped:     c.skipped.Load(),
		Acked:       c.acked.Load(),
		Dead:        c.dead.Load(),
		StoreErrors: c.storeErrors.Load(),
		RedisErrors: c.redisErrors.Load(),
		Claimed:     c.claimed.Load(),
	}
}

// errStore marks a failed Write that was not a refusal.
var errStore = errors.New("store error")

// Run consumes until ctx is cancelled, then returns nil. It connects
// (unless Options.Client is set), creates the group with MKSTREAM if
// missing, applies this consumer's own pending entries (left by a previous
// run), then loops: take over entries idle longer than ClaimMinIdle in
// other consumers' pending lists, read new entries, apply them, acknowledge
// what was written or dead-lettered. Store and Redis errors are logged and
// retried after RetryBackoff; they never end Run. Run returns an error only
// when called while another Run of c is running.
func (c *Consumer) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("redisstream: Run called while already running")
	}
	defer c.running.Store(false)

	client := c.opts.Client
	if client == nil {
		client = c.connect(ctx)
		if client == nil {
			return nil // cancelled
		}
		defer client.Close()
	}
	r := &runner{Consumer: c, client: client}
	needGroup, needPending := true, true
	for ctx.Err() == nil {
		var err error
		switch {
		case needGroup:
			if err = r.createGroup(ctx); err == nil {
				needGroup = false
			}
		case needPending:
			// Entries this consumer read but did not acknowledge: from a run
			// that stopped, or from a failed write in this one.
			if err = r.drainPending(ctx); err == nil {
				needPending = false
			}
		default:
			if err = r.claim(ctx); err == nil {
				err = r.readNew(ctx)
			}
		}
		if err == nil || ctx.Err() != nil {
			continue
		}
		needPending = true
		if rerr := (*rueidis.RedisError)(nil); errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "NOGROUP") {
			needGroup = true // the stream or group was deleted
		}
		c.opts.Logf("redisstream: %s group %s consumer %s: %v; retrying in %v",
			c.opts.Stream, c.opts.Group, c.opts.Consumer, err, c.opts.RetryBackoff)
		sleep(ctx, c.opts.RetryBackoff)
	}
	return nil
}

// connect dials until it succeeds or ctx is done (then it returns nil).
func (c *Consumer) connect(ctx context.Context) rueidis.Client {
	for {
		client, err := rueidis.NewClient(redisconn.ClientOption(redisconn.Server{Addr: c.opts.Addr, Username: c.opts.Username, Password: c.opts.Password, DB: c.opts.DB, TLS: c.opts.TLS}, c.opts.DialTimeout))
		if err == nil {
			return client
		}
		if ctx.Err() != nil {
			return nil
		}
		c.redisErrors.Add(1)
		c.opts.Logf("redisstream: connect to %s: %v; retrying in %v", c.opts.Addr, err, c.opts.RetryBackoff)
		if !sleep(ctx, c.opts.RetryBackoff) {
			return nil
		}
	}
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runner is one Run's state; only Run's goroutine touches it.
type runner struct {
	*Consumer
	client rueidis.Client
	// claimCursor is where the next XAUTOCLAIM continues its scan of the
	// group's pending entries; "0-0" starts a new scan, due at nextClaim.
	claimCursor string
	nextClaim   time.Time
}

func (r *runner) do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	res := r.client.Do(ctx, cmd)
	if err := res.Error(); err != nil && !rueidis.IsRedisNil(err) && ctx.Err() == nil {
		r.redisErrors.Add(1)
	}
	return res
}

func (r *runner) createGroup(ctx context.Context) error {
	o := r.opts
	err := r.do(ctx, r.client.B().XgroupCreate().Key(o.Stream).Group(o.Group).Id(o.StartID).Mkstream().Build()).Error()
	if rerr, ok := rueidis.IsRedisErr(err); ok && rerr.IsBusyGroup() {
		return nil
	}
	if err != nil {
		return fmt.Errorf("XGROUP CREATE %s %s %s MKSTREAM: %w", o.Stream, o.Group, o.StartID, err)
	}
	return nil
}

// drainPending re-reads and applies this consumer's pending entries, a
// page of Count at a time, until there are none after the last one seen.
func (r *runner) drainPending(ctx context.Context) error {
	for after := "0"; ; {
		entries, err := r.readGroup(ctx, after, false)
		if err != nil || len(entries) == 0 {
			return err
		}
		if err := r.apply(ctx, entries); err != nil {
			return err
		}
		after = entries[len(entries)-1].ID
	}
}

// readNew reads and applies up to Count new entries, waiting up to Block.
func (r *runner) readNew(ctx context.Context) error {
	entries, err := r.readGroup(ctx, ">", true)
	if err != nil || len(entries) == 0 {
		return err
	}
	return r.apply(ctx, entries)
}

// readGroup runs XREADGROUP from id ("0" and later: own pending entries;
// ">": new ones, blocking if block).
func (r *runner) readGroup(ctx context.Context, id string, block bool) ([]rueidis.XRangeSlice, error) {
	o := r.opts
	b := r.client.B().Xreadgroup().Group(o.Group, o.Consumer).Count(int64(o.Count))
	var cmd rueidis.Completed
	if block {
		cmd = b.Block(o.Block.Milliseconds()).Streams().Key(o.Stream).Id(id).Build()
	} else {
		cmd = b.Streams().Key(o.Stream).Id(id).Build()
	}
	res, err := r.do(ctx, cmd).AsXReadSlices()
	if rueidis.IsRedisNil(err) {
		return nil, nil // BLOCK timed out
	}
	if err != nil {
		return nil, fmt.Errorf("XREADGROUP %s %s %s: %w", o.Group, o.Consumer, id, err)
	}
	return res[o.Stream], nil
}

// claim runs one XAUTOCLAIM step when a scan is in progress or due, and
// applies what it took over.
func (r *runner) claim(ctx context.Context) error {
	if r.claimCursor == "" || r.claimCursor == "0-0" {
		if time.Now().Before(r.nextClaim) {
			return nil
		}
		r.claimCursor = "0-0"
	}
	o := r.opts
	cmd := r.client.B().Xautoclaim().Key(o.Stream).Group(o.Group).Consumer(o.Consumer).
		MinIdleTime(fmt.Sprint(o.ClaimMinIdle.Milliseconds())).Start(r.claimCursor).Count(int64(o.Count)).Build()
	arr, err := r.do(ctx, cmd).ToArray()
	if err != nil {
		return fmt.Errorf("XAUTOCLAIM %s %s %s: %w", o.Stream, o.Group, o.Consumer, err)
	}
	if len(arr) < 2 {
		return fmt.Errorf("XAUTOCLAIM %s %s: reply of %d elements, want 2 or 3", o.Stream, o.Group, len(arr))
	}
	next, err := arr[0].ToString()
	if err != nil {
		return fmt.Errorf("XAUTOCLAIM %s %s: cursor: %w", o.Stream, o.Group, err)
	}
	entries, err := arr[1].AsXRangeSlices()
	if err != nil {
		return fmt.Errorf("XAUTOCLAIM %s %s: entries: %w", o.Stream, o.Group, err)
	}
	r.claimCursor = next
	if next == "0-0" {
		r.nextClaim = time.Now().Add(o.ClaimMinIdle / 2)
	}
	if len(entries) == 0 {
		return nil
	}
	r.claimed.Add(int64(len(entries)))
	return r.apply(ctx, entries)
}

// deadEntry is an entry that will never apply, and why.
type deadEntry struct {
	e   rueidis.XRangeSlice
	err error
}

// apply decodes entries, writes them once per view, copies the bad ones to
// the dead-letter stream and acknowledges the written and dead-lettered
// ones. Entries of a view whose write failed with a store error stay
// pending; apply then returns an error wrapping errStore (after doing the
// rest).
func (r *runner) apply(ctx context.Context, entries []rueidis.XRangeSlice) error {
	r.read.Add(int64(len(entries)))
	var (
		ack    []string
		dead   []deadEntry
		views  []string // in order of first appearance
		byView = map[string][]int{}
		rows   = make([]featcache.Row, len(entries))
	)
	for i, e := range entries {
		if e.FieldValues == nil {
			// Deleted from the stream (XDEL, trimming) while pending: nothing to apply.
			ack = append(ack, e.ID)
			continue
		}
		view, row, err := Decode(r.defs, e.FieldValues)
		if err != nil {
			dead = append(dead, deadEntry{e, err})
			continue
		}
		if _, ok := byView[view]; !ok {
			views = append(views, view)
		}
		byView[view] = append(byView[view], i)
		rows[i] = row
	}
	var storeErr error
	batch := make([]featcache.Row, 0, len(entries))
views:
	for _, view := range views {
		idx := byView[view]
		batch = batch[:0]
		for _, i := range idx {
			batch = append(batch, rows[i])
		}
		res, err := r.w.Write(ctx, view, batch)
		var ie *featcache.InputError
		switch {
		case err == nil:
			r.count(res)
			for _, i := range idx {
				ack = append(ack, entries[i].ID)
			}
		case ctx.Err() != nil:
			break views // shutting down: acknowledge what was written
		case errors.As(err, &ie):
			// Something Decode let through was refused; find which entries
			// by writing them one at a time.
			for _, i := range idx {
				res, err := r.w.Write(ctx, view, rows[i:i+1])
				switch {
				case err == nil:
					r.count(res)
					ack = append(ack, entries[i].ID)
				case ctx.Err() != nil:
					break views
				case errors.As(err, &ie):
					dead = append(dead, deadEntry{entries[i], err})
				default:
					r.storeErrors.Add(1)
					storeErr = fmt.Errorf("%w: write entry %s of view %s: %v", errStore, entries[i].ID, view, err)
				}
			}
		default:
			r.storeErrors.Add(1)
			storeErr = fmt.Errorf("%w: write %d entries of view %s: %v", errStore, len(idx), view, err)
		}
	}
	// Acknowledge what is durable even when Run is being cancelled, so a
	// clean shutdown leaves nothing pending that was applied; bounded, as
	// Redis may be what is failing.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	ack, err := r.deadLetter(actx, dead, ack)
	if aerr := r.ack(actx, ack); aerr != nil {
		err = errors.Join(err, aerr)
	}
	if storeErr != nil {
		err = errors.Join(storeErr, err)
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// ackTimeout bounds the dead-letter copies and XACK of one batch.
const ackTimeout = 2 * time.Second

func (r *runner) count(res featcache.PushResult) {
	r.written.Add(int64(res.Written))
	r.skipped.Add(int64(res.Skipped))
}

// deadLetter copies dead entries to the dead-letter stream, returning ack
// with the IDs of those copied appended. An entry not copied stays pending
// and is tried again.
func (r *runner) deadLetter(ctx context.Context, dead []deadEntry, ack []string) ([]string, error) {
	if len(dead) == 0 {
		return ack, nil
	}
	o := r.opts
	cmds := make(rueidis.Commands, len(dead))
	for i, d := range dead {
		o.Logf("redisstream: %s entry %s: %v; copied to %s", o.Stream, d.e.ID, d.err, o.DeadLetter)
		fv := r.client.B().Xadd().Key(o.DeadLetter).Id("*").FieldValue().
			FieldValue("id", d.e.ID).FieldValue("error", d.err.Error())
		for _, f := range d.e.FieldValues {
			fv = fv.FieldValue(deadField(f.Field), f.Value)
		}
		cmds[i] = fv.Build()
	}
	var errs []error
	for i, res := range r.client.DoMulti(ctx, cmds...) {
		if err := res.Error(); err != nil {
			if ctx.Err() == nil {
				r.redisErrors.Add(1)
			}
			errs = append(errs, fmt.Errorf("XADD %s (entry %s): %w", o.DeadLetter, dead[i].e.ID, err))
			continue
		}
		r.dead.Add(1)
		ack = append(ack, dead[i].e.ID)
	}
	return ack, errors.Join(errs...)
}

// deadField is the dead-letter field name of an original field: its own
// name, except that "id" and "error" (the dead-letter entry's own fields)
// become "orig:id" and "orig:error".
func deadField(name string) string {
	if name == "id" || name == "error" || strings.HasPrefix(name, "orig:") {
		return "orig:" + name
	}
	return name
}

func (r *runner) ack(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	o := r.opts
	n, err := r.do(ctx, r.client.B().Xack().Key(o.Stream).Group(o.Group).Id(ids...).Build()).AsInt64()
	if err != nil {
		return fmt.Errorf("XACK %s %s (%d entries): %w", o.Stream, o.Group, len(ids), err)
	}
	r.acked.Add(n)
	return nil
}
