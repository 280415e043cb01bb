package server

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Errors of saturation, answered 429 and 503 with Retry-After.
var (
	errThrottled = errors.New("server: client over its rate limit")
	errBusy      = errors.New("server: too many requests in flight")
)

// maxRateKeys bounds the rate limiter's memory: one bucket per token
// subject seen recently, about 200 bytes each.
const maxRateKeys = 100_000

// rateLimiter is a token bucket per key (a token's subject). A bucket idle
// for as long as it takes to refill is full again, so it is forgotten then
// without changing anyone's allowance; the map is also bounded, and when it
// is full of active buckets one is dropped at random (that client gets a
// fresh burst) rather than memory growing.
type rateLimiter struct {
	limit rate.Limit
	burst int
	idle  time.Duration
	max   int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newRateLimiter(perSecond float64, burst, maxKeys int) *rateLimiter {
	idle := time.Duration(float64(burst) / perSecond * float64(time.Second))
	return &rateLimiter{limit: rate.Limit(perSecond), burst: burst, idle: max(idle, time.Second), max: maxKeys, buckets: map[string]*bucket{}}
}

// allow takes one request from key's bucket at now, or says how long until
// one is available.
func (l *rateLimiter) allow(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max || now.Sub(l.lastSweep) > l.idle {
			l.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep forgets idle buckets and, if the map is still full, one more.
func (l *rateLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= l.idle {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) < l.max {
			break
		}
		delete(l.buckets, k)
	}
}

// size is how many buckets are kept.
func (l *rateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// slots bounds the API requests served at once. A request waits up to wait
// for a slot, then is answered 503: a saturated service says so at once
// rather than queueing without bound until clients time out.
type slots struct {
	ch   chan struct{}
	wait time.Duration
}

func (s *slots) acquire(ctx context.Context) bool {
	select {
	case s.ch <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case s.ch <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (s *slots) release() { <-s.ch }

// retryAfter is a Retry-After value: whole seconds, at least one.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
