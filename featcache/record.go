package featcache

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// RecordHeaderBytes is the size of an encoded record's header: the event
// time (8 bytes) and the value count (4 bytes).
const RecordHeaderBytes = 12

// EncodeRecord appends to dst the value bytes both stores use: 8 bytes
// big-endian uint64 of the event time in Unix nanoseconds offset by 1<<63
// (so byte order = time order, also for times before 1970), then 4 bytes
// big-endian count n, then n float64 little-endian IEEE bits. The event
// time must lie within the years 1678..2262 (time.Time.UnixNano's range).
func EncodeRecord(dst []byte, eventTime time.Time, values []float64) []byte {
	dst = binary.BigEndian.AppendUint64(dst, encodeTime(eventTime))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(values)))
	for _, v := range values {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	return dst
}

// DecodeRecord decodes a record written by EncodeRecord, appending its
// values to values[:0] (out is values' array if it has room, else one new
// allocation). The event time is in UTC. A short, long or corrupt b is an
// error naming what is wrong.
func DecodeRecord(b []byte, values []float64) (eventTime time.Time, out []float64, err error) {
	eventTime, err = RecordTime(b)
	if err != nil {
		return time.Time{}, values[:0], err
	}
	n := uint64(binary.BigEndian.Uint32(b[8:12]))
	if want := RecordHeaderBytes + 8*n; uint64(len(b)) != want {
		return time.Time{}, values[:0], fmt.Errorf("featcache: record of %d bytes, want %d for its %d values", len(b), want, n)
	}
	out = values[:0]
	if uint64(cap(out)) < n {
		out = make([]float64, 0, n)
	}
	for p := RecordHeaderBytes; p < len(b); p += 8 {
		out = append(out, math.Float64frombits(binary.LittleEndian.Uint64(b[p:])))
	}
	return eventTime, out, nil
}

// RecordTime decodes only the event time of an encoded record, in UTC.
func RecordTime(b []byte) (time.Time, error) {
	if len(b) < RecordHeaderBytes {
		return time.Time{}, fmt.Errorf("featcache: record of %d bytes, shorter than its %d-byte header", len(b), RecordHeaderBytes)
	}
	return decodeTime(binary.BigEndian.Uint64(b)), nil
}

func encodeTime(t time.Time) uint64 { return uint64(t.UnixNano()) ^ 1<<63 }

func decodeTime(u uint64) time.Time { return time.Unix(0, int64(u^1<<63)).UTC() }

// StoreKey appends to dst the byte key both stores use: view + 0x00 +
// entity. Views and entities never contain 0x00 (CheckPut rejects them).
func StoreKey(dst []byte, view, entity string) []byte {
	dst = append(dst, view...)
	dst = append(dst, 0)
	return append(dst, entity...)
}
