package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/model/contract"
	"github.com/predictd/predictd/model/transform"
	"github.com/predictd/predictd/monitor/predlog"
	"github.com/predictd/predictd/wire"
)

// exchange is the request-scoped scratch of one prediction request: the
// decoded request (its rows, predictions and response body), its online
// feature join, and the connection the batcher's gone probe watches. Get
// one with getExchange and return it with putExchange once the response is
// written; an exchange is used by one goroutine at a time.
type exchange struct {
	wire.Request
	join featcache.Join
	// viol is the contract check's scratch (checkContract).
	viol []contract.Violation
	// raw and x are transformRows' scratch, for a version with
	// transforms: one instance's raw values (their strings alias the
	// Request's arena) and the model columns of all instances.
	raw transform.Row
	x   []float64

	// conn is the HTTP connection the request came on, ctx the gRPC
	// call's context, for gone; gone is c.clientGone, made once per pooled
	// exchange so that handing it to the batcher does not allocate.
	conn net.Conn
	ctx  context.Context
	gone func() bool

	// id is the request's prediction id (reqid.go), once known; rng
	// generates ids, one per pooled exchange so that no lock is taken.
	id  []byte
	rng *rand.ChaCha8
	// The prediction log's scratch (logPredictions): the record, its
	// inputs, an instance's id.
	plRec predlog.Record
	plIn  []predlog.Value
	plID  []byte
	// The labels' scratch (recordLabels): the ids of a request's
	// instances, an instance's outputs and slice values.
	lbID     []byte
	lbOut    []float64
	lbSlices []string

	// The request's transport (front), kept here so that infer takes it
	// as an interface without an allocation.
	http httpCall
	grpc grpcCall
}

// clientGone reports whether the client closed the HTTP connection the
// request came on (see peerClosed), or cancelled its gRPC call. A gRPC
// call whose deadline passed is not gone: the batcher answers it 504,
// DeadlineExceeded, by its own deadline, the same.
func (c *exchange) clientGone() bool {
	if c.ctx != nil {
		return errors.Is(c.ctx.Err(), context.Canceled)
	}
	return c.conn != nil && peerClosed(c.conn)
}

var exchangePool sync.Pool

// maxPooledFloats caps the model-column scratch a pooled exchange keeps
// (1 MiB, as wire.Request keeps its buffers): a rare huge request should
// not pin its memory in the pool.
const maxPooledFloats = 1 << 17

func getExchange() *exchange {
	if c, ok := exchangePool.Get().(*exchange); ok {
		return c
	}
	c := new(exchange)
	c.gone = c.clientGone
	c.rng = newRand()
	return c
}

// putExchange resets c and returns it to the pool; c must not be used
// afterwards.
func putExchange(c *exchange) {
	c.conn, c.ctx = nil, nil
	c.id = c.id[:0]
	c.http, c.grpc = httpCall{}, grpcCall{}
	clear(c.raw) // drop the strings aliasing the arena
	c.raw = c.raw[:0]
	if cap(c.x) > maxPooledFloats {
		c.x = nil
	}
	if cap(c.lbID) > maxPooledFloats {
		c.lbID = nil
	}
	c.Request.Reset()
	c.join.Reset()
	exchangePool.Put(c)
}
