package predlog

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"strings"
)

// sampleHash maps an id to a uniform 64-bit value: FNV-1a over its bytes,
// then the splitmix64 finalizer, because FNV-1a's high bits barely change
// between ids that differ only in their last bytes (request-1,
// request-2, ...), and the rate compares against the whole value.
func sampleHash(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

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
