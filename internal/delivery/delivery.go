// Package delivery makes one attempt to deliver a JSON record to a
// downstream service, says whether a failure is worth another (Error,
// Retryable), and holds the one retry policy (Policy) that both the outbox
// and the upstream client space their attempts by. Keeping a record until
// it is delivered is the outbox's job.
package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// IdempotencyHeader carries a key that is the same on every attempt to send
// one record, so the receiver can drop duplicates.
const IdempotencyHeader = "Idempotency-Key"

// Error is a failed attempt.
type Error struct {
	// Status is the HTTP status, or 0 when no response came.
	Status int
	// Retryable is true for 5xx, 408, 429, transport failures and 2xx
	// answers that could not be read.
	Retryable bool
	// RetryAfter is what the receiver asked for, or 0.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("status %d: %v", e.Status, e.Err)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable tells whether err is worth another attempt. Errors that are
// not *Error (a record that cannot be built, say) are permanent.
func Retryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// PostJSON posts body to url with the given headers and returns the
// response body of a 2xx answer. Any other outcome is an *Error.
func PostJSON(ctx context.Context, hc *http.Client, url string, headers http.Header, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Err: err}
	}
	for k, vs := range headers {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		// A cancelled context is the caller stopping, not the receiver failing;
		// the record stays queued either way.
		return nil, &Error{Retryable: true, Err: err}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, StatusError(resp, firstLine(string(data)))
	}
	return data, nil
}

// StatusError is the failure of an answer with an unwanted status: worth
// another attempt or not by its status, and when the receiver asked for it.
func StatusError(resp *http.Response, msg string) *Error {
	return &Error{
		Status:     resp.StatusCode,
		Retryable:  RetryableStatus(resp.StatusCode),
		RetryAfter: RetryAfter(resp.Header.Get("Retry-After"), time.Now()),
		Err:        errors.New(msg),
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	if s == "" {
		s = "no body"
	}
	return s
}

// RetryableStatus tells whether a status is worth another attempt.
func RetryableStatus(status int) bool {
	return status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date); 0 when
// absent or unreadable.
func RetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// NewHTTPClient returns a client for one receiver that keeps up to conns
// connections to it open between attempts (as many as there are workers
// sending to it), so that a busy outbox reuses them rather than opening a
// connection per record and leaving thousands in TIME_WAIT; net/http's
// default keeps 2. timeout bounds one attempt.
func NewHTTPClient(conns int, timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(conns, t.MaxIdleConns)
	t.MaxIdleConnsPerHost = max(conns, 2)
	return &http.Client{Transport: t, Timeout: timeout}
}
