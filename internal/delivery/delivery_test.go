package delivery

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"5":                             5 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Thu, 01 Jan 2026 00:00:30 GMT": 30 * time.Second,
		"Wed, 31 Dec 2025 00:00:30 GMT": 0,
	}
	for in, want := range tests {
		if got := RetryAfter(in, now); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]bool{500: true, 502: true, 503: true, 408: true, 429: true, 400: false, 401: false, 403: false, 404: false, 409: false, 422: false} {
		if got := RetryableStatus(status); got != want {
			t.Errorf("RetryableStatus(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestPolicyBackoff(t *testing.T) {
	t.Parallel()
	p := Policy{Base: time.Second, Cap: time.Minute}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 50: time.Minute} {
		if got := p.Ceiling(n); got != want {
			t.Errorf("Ceiling(%d) = %v, want %v", n, got, want)
		}
	}
	for range 100 {
		if d := p.Backoff(3); d < 2*time.Second || d > 4*time.Second {
			t.Fatalf("Backoff(3) = %v, want 2s to 4s", d)
		}
	}
	if n := (Policy{Base: time.Second, Cap: 10 * time.Minute}).AttemptsWithin(24 * time.Hour); n < 190 || n > 210 {
		t.Errorf("AttemptsWithin(24h) = %d, want about 24h/7.5min", n)
	}
}

func TestPolicyNext(t *testing.T) {
	t.Parallel()
	p := Policy{Base: time.Second, Cap: time.Minute, MaxRetryAfter: 30 * time.Second}
	tests := []struct {
		name             string
		attempt          int
		err              error
		wantRetry, asked bool
		wantMin, wantMax time.Duration
	}{
		{"not_ours", 1, errors.New("bad record"), false, false, 0, 0},
		{"refused", 1, &Error{Status: 400}, false, false, 0, 0},
		{"backoff", 2, &Error{Status: 503, Retryable: true}, true, false, time.Second, 2 * time.Second},
		{"wrapped", 2, fmt.Errorf("nrs: %w", &Error{Status: 503, Retryable: true}), true, false, time.Second, 2 * time.Second},
		{"retry_after_longer", 1, &Error{Status: 429, Retryable: true, RetryAfter: 10 * time.Second}, true, true, 10 * time.Second, 10 * time.Second},
		{"retry_after_cut", 1, &Error{Status: 503, Retryable: true, RetryAfter: time.Hour}, true, true, 30 * time.Second, 30 * time.Second},
		{"retry_after_shorter", 7, &Error{Status: 503, Retryable: true, RetryAfter: 5 * time.Second}, true, false, 30 * time.Second, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wait, retry, asked := p.Next(tc.attempt, tc.err)
			if retry != tc.wantRetry || asked != tc.asked || wait < tc.wantMin || wait > tc.wantMax {
				t.Errorf("Next(%d, %v) = %v, %v, %v; want retry %v, asked %v, wait in [%v, %v]",
					tc.attempt, tc.err, wait, retry, asked, tc.wantRetry, tc.asked, tc.wantMin, tc.wantMax)
			}
		})
	}
}
