package server

import (
	"fmt"
	"testing"
	"time"
)

// The rate limiter's memory is bounded: idle buckets are forgotten, and the
// map never holds more than its maximum, however many subjects appear.
func TestRateLimiterIsBounded(t *testing.T) {
	t.Parallel()
	l := newRateLimiter(1, 2, 100)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range 1000 {
		if _, ok := l.allow(fmt.Sprint("subject-", i), now); !ok {
			t.Fatalf("a new subject was refused")
		}
		if n := l.size(); n > 100 {
			t.Fatalf("after %d subjects the limiter holds %d buckets, want at most 100", i+1, n)
		}
	}
	// Once every bucket has refilled, a new subject sweeps them all away.
	l.allow("late", now.Add(l.idle))
	if n := l.size(); n != 1 {
		t.Errorf("after the idle period the limiter holds %d buckets, want 1", n)
	}
	// A subject's allowance survives while it is active.
	l.allow("busy", now.Add(l.idle))
	l.allow("busy", now.Add(l.idle))
	if _, ok := l.allow("busy", now.Add(l.idle)); ok {
		t.Errorf("a third request within the burst of 2 was allowed")
	}
}
