package featcache_test

import (
	"context"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
)

// TestFresh holds the TTL rule at its bound: valid while age < TTL, expired
// at age == TTL, and a row timed after the reading is fresh.
func TestFresh(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ttl := time.Hour
	for _, c := range []struct {
		age  time.Duration
		want bool
	}{
		{0, true},
		{time.Hour - time.Nanosecond, true},
		{time.Hour, false},
		{time.Hour + time.Nanosecond, false},
		{-time.Minute, true},
	} {
		if got := featcache.Fresh(t0, t0.Add(c.age), ttl); got != c.want {
			t.Errorf("Fresh(t0, t0+%s, %s) = %v, want %v", c.age, ttl, got, c.want)
		}
	}
}

// TestFreshIsTheCacheRule checks that the cache reports a row expired
// exactly when Fresh says it is not fresh, around the bound.
func TestFreshIsTheCacheRule(t *testing.T) {
	for _, age := range []time.Duration{0, time.Hour - time.Nanosecond, time.Hour, time.Hour + time.Nanosecond} {
		c, st, now := newCached(t, time.Nanosecond)
		t0 := now.Add(-age)
		put(t, st, "e", t0, 1)
		_, sts, err := c.Get(context.Background(), []featcache.Key{{View: "v", Entity: "e"}}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := featcache.StatusExpired
		if featcache.Fresh(t0, *now, time.Hour) {
			want = featcache.StatusPresent
		}
		if sts[0] != want || (age < time.Hour) != (want == featcache.StatusPresent) {
			t.Errorf("age %s: cache status %s, Fresh's status %s", age, sts[0], want)
		}
	}
}
