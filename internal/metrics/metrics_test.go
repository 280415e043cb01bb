package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/open-assist/assist/internal/outbox"
)

type fixedCounts struct {
	m   map[string]int
	err error
}

func (f fixedCounts) Stats(context.Context) (map[string]int, map[string]outbox.Backlog, error) {
	return f.m, map[string]outbox.Backlog{}, f.err
}
func (fixedCounts) SetRecorder(outbox.Recorder) {}

// outboxHandler serves a fresh registry with the outbox's metrics read
// from counter.
func outboxHandler(tb testing.TB, counter Outbox) http.Handler {
	tb.Helper()
	reg := NewRegistry()
	if err := RegisterOutbox(reg, counter, slog.New(slog.DiscardHandler)); err != nil {
		tb.Fatalf("RegisterOutbox() = %v", err)
	}
	return Handler(reg)
}

func TestHandler(t *testing.T) {
	t.Parallel()
	h := outboxHandler(t, fixedCounts{m: map[string]int{"discarded": 2, "cancelled": 1, "retryable": 5}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`assist_outbox_jobs{state="retryable"} 5`,
		`assist_outbox_jobs{state="pending"} 0`,
		`assist_outbox_dead_jobs 3`,
		`assist_outbox_up 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	rec = httptest.NewRecorder()
	outboxHandler(t, fixedCounts{err: errors.New("db down")}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if body, _ := io.ReadAll(rec.Body); !strings.Contains(string(body), "assist_outbox_up 0") {
		t.Errorf("/metrics with the database down lacks assist_outbox_up 0")
	}
}
