package delivery

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Policy is how failed attempts are retried, by the outbox (NRS records and
// events, over hours) and by the upstream client (a calculation, within one
// request): exponential back-off with "equal jitter", the receiver's
// Retry-After honoured when it asks for longer, and no retry of a failure
// that Retryable says will not recover.
type Policy struct {
	// Base and Cap shape the wait after attempt n: between half and all of
	// min(Cap, Base×2^(n-1)), at random, so that replicas do not retry in
	// step.
	Base, Cap time.Duration
	// MaxRetryAfter is the longest Retry-After obeyed; a longer one is cut
	// to it. 0 means Cap.
	MaxRetryAfter time.Duration
}

// Ceiling is the longest wait after attempt n (1, 2, ...), before jitter.
func (p Policy) Ceiling(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Cap; i++ {
		d *= 2
	}
	return min(d, p.Cap)
}

// Backoff is the wait after attempt n: Ceiling(n) with up to half of it
// taken off at random.
func (p Policy) Backoff(n int) time.Duration {
	d := p.Ceiling(n)
	return d/2 + rand.N(d/2+1)
}

// Next says what to do after attempt n failed with err: retry is false when
// err will not recover; otherwise wait is how long to wait first, and asked
// is true when that is the receiver's Retry-After (longer than our back-off
// would wait) rather than Backoff(n).
func (p Policy) Next(n int, err error) (wait time.Duration, retry, asked bool) {
	var e *Error
	if !errors.As(err, &e) || !e.Retryable {
		return 0, false, false
	}
	if e.RetryAfter > 0 {
		ra := min(e.RetryAfter, p.maxRetryAfter())
		if ra > p.Ceiling(n) {
			return ra, true, true
		}
	}
	return p.Backoff(n), true, false
}

func (p Policy) maxRetryAfter() time.Duration {
	if p.MaxRetryAfter > 0 {
		return p.MaxRetryAfter
	}
	return p.Cap
}

// AttemptsWithin is how many attempts fit in age, taking each wait at its
// expected length (three quarters of its ceiling).
func (p Policy) AttemptsWithin(age time.Duration) int {
	var total time.Duration
	n := 1
	for ; total < age && n < 100000; n++ {
		total += p.Ceiling(n) * 3 / 4
	}
	return n
}
