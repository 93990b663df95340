package server

import (
	"net"
	"sync"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/model/contract"
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

	// conn is the connection the request came on, for gone; gone is
	// c.clientGone, made once per pooled exchange so that handing it to the
	// batcher does not allocate.
	conn net.Conn
	gone func() bool
}

// clientGone reports whether the client closed the connection the request
// came on (see peerClosed).
func (c *exchange) clientGone() bool { return c.conn != nil && peerClosed(c.conn) }

var exchangePool sync.Pool

func getExchange() *exchange {
	if c, ok := exchangePool.Get().(*exchange); ok {
		return c
	}
	c := new(exchange)
	c.gone = c.clientGone
	return c
}

// putExchange resets c and returns it to the pool; c must not be used
// afterwards.
func putExchange(c *exchange) {
	c.conn = nil
	c.Request.Reset()
	c.join.Reset()
	exchangePool.Put(c)
}
