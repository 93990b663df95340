package predlog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"strings"

	"github.com/predictd/predictd/internal/sample"
)

// sampleHash maps an id to a uniform 64-bit value: internal/sample's Hash,
// which the shadow samples requests by too.
func sampleHash(id string) uint64 { return sample.Hash(id) }

// MinKeyBytes is the shortest HMAC key ReadKey accepts.
const MinKeyBytes = 16

// ReadKey reads an HMAC key file: the key as hex text, at least
// MinKeyBytes bytes (32 hex digits), white space around it ignored.
func ReadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("predlog: HMAC key file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	k, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("predlog: HMAC key file %s: %v; want the key as hex digits", path, err)
	}
	if len(k) < MinKeyBytes {
		return nil, fmt.Errorf("predlog: HMAC key file %s: key of %d bytes, want at least %d (%d hex digits)", path, len(k), MinKeyBytes, 2*MinKeyBytes)
	}
	return k, nil
}

// Hash is the keyed hash that replaces an identifier in the log: the
// lower-case hex of the first 16 bytes of HMAC-SHA256(key, value), 32
// characters.
func Hash(key []byte, value string) string {
	return string(newHasher(key).sum(nil, []byte(value)))
}

// hasher computes Hash without allocating once warm (the writer's use).
type hasher struct {
	mac   hash.Hash
	sum32 [sha256.Size]byte
}

func newHasher(key []byte) *hasher { return &hasher{mac: hmac.New(sha256.New, key)} }

// sum appends Hash(key, value) to dst.
func (h *hasher) sum(dst, value []byte) []byte {
	h.mac.Reset()
	h.mac.Write(value)
	s := h.mac.Sum(h.sum32[:0])
	return hex.AppendEncode(dst, s[:16])
}
