package server

import (
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"

	"github.com/valyala/fasthttp"
)

// Prediction ids (issue 19). Every prediction request has one: the
// caller's X-Request-Id header (HTTP), or the OIP body's "id" (JSON,
// binary, gRPC's ModelInferRequest.id), else one the server generates: 32
// lowercase hex digits, 16 bytes from a ChaCha8 generator the request's
// pooled exchange owns, seeded from crypto/rand when the exchange is made.
// No lock and no allocation on the hot path; unique within a process and
// across restarts with high probability (the seeds are random: about 2^-65 for
// a collision among 2^32 ids, by the birthday bound; TestPredictionIDsUnique
// checks 100,000).
//
// A caller's id is 1 to MaxIDBytes bytes of printable ASCII (0x20 to
// 0x7e) other than '"' and '\': such an id is its own JSON string's
// contents and a valid header value, so it comes back byte for byte in
// the header and the body. An empty id counts as absent. When a request
// carries both the header and the body's id they must be equal.

// MaxIDBytes is the longest prediction id a caller may send.
const MaxIDBytes = 128

// headerRequestID is the HTTP header of the prediction id, in the request
// and in every answer to a prediction request (errors too).
const headerRequestID = "X-Request-Id"

// checkID returns nil if id is a valid caller id (see above), else a 400
// naming where it came from and what is wrong.
func checkID(id []byte, where string) error {
	if len(id) > MaxIDBytes {
		return Errorf(fasthttp.StatusBadRequest, "%s: the prediction id is %d bytes long, at most %d are allowed", where, len(id), MaxIDBytes)
	}
	for i, b := range id {
		if b < 0x20 || b > 0x7e || b == '"' || b == '\\' {
			return Errorf(fasthttp.StatusBadRequest, "%s: byte %d of the prediction id is %q: an id is printable ASCII other than '\"' and '\\'", where, i, rune(b))
		}
	}
	return nil
}

// newRand returns a ChaCha8 generator seeded from crypto/rand.
func newRand() *rand.ChaCha8 {
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		panic(fmt.Sprintf("BUG: crypto/rand: %v", err)) // crypto/rand.Read does not fail (Go 1.24+)
	}
	return rand.NewChaCha8(seed)
}

// appendNewID appends a generated id, 32 hex digits, to dst.
func appendNewID(dst []byte, rng *rand.ChaCha8) []byte {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rng.Uint64())
	return hex.AppendEncode(dst, b[:])
}

// ensureID gives c a generated id if the caller sent none, and tells the
// front (an HTTP response header).
func (c *exchange) ensureID(f front) {
	if len(c.id) == 0 {
		c.id = appendNewID(c.id[:0], c.rng)
	}
	f.setID(c.id)
}

// bodyID merges the request body's id (OIP), when there is one, into
// c.id, which holds the header's: a body id must be valid and, when the
// header gave one, equal to it.
func (c *exchange) bodyID(body []byte, where string) error {
	if len(body) == 0 {
		return nil
	}
	if err := checkID(body, where); err != nil {
		return err
	}
	if len(c.id) > 0 {
		if string(c.id) != string(body) {
			return Errorf(fasthttp.StatusBadRequest, "the %s header %q and the %s %q differ: send one, or the same in both", headerRequestID, c.id, where, body)
		}
		return nil
	}
	c.id = append(c.id[:0], body...)
	return nil
}
