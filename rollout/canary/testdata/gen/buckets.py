"""Buckets of the canary split, computed independently of the Go code:
FNV-1a 64 of the key's bytes, MurmurHash3's fmix64, then
floor(h * 10000 / 2**64). Prints the golden table of TestBucketGolden
(split_test.go); run with /usr/bin/python3 testdata/gen/buckets.py.
"""
M = (1 << 64) - 1


def fnv1a64(data: bytes) -> int:
    h = 14695981039346656037
    for c in data:
        h ^= c
        h = (h * 1099511628211) & M
    return h


def fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & M
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & M
    h ^= h >> 33
    return h


def bucket(data: bytes) -> int:
    return (fmix64(fnv1a64(data)) * 10000) >> 64


KEYS = [b"a", b"user-1", b"user-2", b"user-10", b"42", b"alice@example.com",
        "müller".encode(), b"\x00", b"\xff" * 16, b"a" * 100]
SEQS = [0, 1, 2, 1000, 2**63, 2**64 - 1]

for k in KEYS:
    print('\t{%s, %d},' % ('"' + ''.join('\\x%02x' % c if c < 0x20 or c > 0x7e or c in b'"\\' else chr(c) for c in k) + '"', bucket(k)))
for s in SEQS:
    print('\t{%d, %d},' % (s, bucket(s.to_bytes(8, "little"))))
