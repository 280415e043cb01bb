package upstream

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/report"
)

const path = "/individuals/calculations/TC663795B/self-assessment/2025-26/f2fb30e5-4ab6-4a29-b3c1-c7264259ff1c"

// fakeUpstream answers with the given statuses in turn (the last repeats),
// counting calls.
func fakeUpstream(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		if r.URL.Path != path {
			t.Errorf("path = %s, want %s", r.URL.Path, path)
		}
		if r.Header.Get("Accept") != DefaultAccept {
			t.Errorf("Accept = %q", r.Header.Get("Accept"))
		}
		status := statuses[min(n, len(statuses))-1]
		if status == 0 { // hang past the timeout
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		if status == http.StatusOK {
			if got := r.Header.Get("Authorization"); got != "Bearer tok" {
				t.Errorf("Authorization = %q, want the caller's token", got)
			}
			io.WriteString(w, `{"metadata":{}}`)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func newClient(t *testing.T, url string, retries int) *Client {
	t.Helper()
	c, err := New(url, 200*time.Millisecond, retries, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	c.Retry = delivery.Policy{Base: time.Millisecond, Cap: time.Millisecond}
	return c
}

// errRetryable in a test case wants the last failure, retryable.
var errRetryable = errors.New("retryable")

func TestCalculation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		statuses  []int
		retries   int
		wantErr   error // nil: success
		wantCalls int32
	}{
		{"ok", []int{200}, 2, nil, 1},
		{"not_found", []int{404}, 2, report.ErrCalculationNotFound, 1},
		{"retried_5xx", []int{503, 500, 200}, 2, nil, 3},
		{"gives_up", []int{500}, 2, errRetryable, 3},
		{"no_retries", []int{502}, 0, errRetryable, 1},
		{"too_many_requests_retried", []int{429, 200}, 1, nil, 2},
		{"client_error_not_retried", []int{400}, 2, errors.New("any"), 1},
		{"timeout_retried", []int{0, 200}, 1, nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, calls := fakeUpstream(t, tc.statuses...)
			c := newClient(t, srv.URL, tc.retries)
			ctx := auth.NewContext(context.Background(), &auth.Principal{}, "tok")
			body, err := c.Calculation(ctx, "TC663795B", "2025-26", "f2fb30e5-4ab6-4a29-b3c1-c7264259ff1c")
			switch {
			case tc.wantErr == nil && (err != nil || string(body) != `{"metadata":{}}`):
				t.Errorf("Calculation() = %s, %v; want the body", body, err)
			case tc.wantErr != nil && err == nil:
				t.Errorf("Calculation() = nil error, want %v", tc.wantErr)
			case tc.wantErr == errRetryable && !delivery.Retryable(err):
				t.Errorf("Calculation() = %v, want a retryable *delivery.Error", err)
			case tc.wantErr != nil && tc.wantErr != errRetryable && tc.wantErr.Error() != "any" && !errors.Is(err, tc.wantErr):
				t.Errorf("Calculation() = %v, want %v", err, tc.wantErr)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("upstream called %d times, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestCalculationCancelled(t *testing.T) {
	t.Parallel()
	srv, _ := fakeUpstream(t, 500)
	c := newClient(t, srv.URL, 5)
	c.Retry = delivery.Policy{Base: time.Hour, Cap: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Calculation(ctx, "TC663795B", "2025-26", "f2fb30e5-4ab6-4a29-b3c1-c7264259ff1c"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Calculation() = %v, want the context's error", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("Calculation() waited %v after the context ended", time.Since(start))
	}
}

func TestDefaultRetry(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 10; n++ {
		if d := DefaultRetry.Backoff(n); d <= 0 || d > 5*time.Second {
			t.Errorf("DefaultRetry.Backoff(%d) = %v, want within (0, 5s]", n, d)
		}
	}
	// A request is waiting: a long Retry-After is cut to 30s.
	if d, retry, _ := DefaultRetry.Next(1, &delivery.Error{Status: 503, Retryable: true, RetryAfter: time.Hour}); !retry || d != 30*time.Second {
		t.Errorf("DefaultRetry.Next(Retry-After 1h) = %v, %v; want 30s", d, retry)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, u := range []string{"", "ftp://x", "http://"} {
		if _, err := New(u, time.Second, 1, log); err == nil {
			t.Errorf("New(%q) = nil error", u)
		}
	}
}

// A calculation over the cap is refused as too large, not read in full and
// not retried.
func TestCalculationTooLarge(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Write(make([]byte, 4<<10))
	}))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, 2)
	c.MaxBytes = 1 << 10
	if _, err := c.Calculation(context.Background(), "TC663795B", "2025-26", "f2fb30e5-4ab6-4a29-b3c1-c7264259ff1c"); !errors.Is(err, report.ErrCalculationTooLarge) {
		t.Errorf("Calculation(4 KiB body, 1 KiB cap) = %v, want ErrCalculationTooLarge", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("upstream called %d times, want 1 (no retry)", n)
	}
}
