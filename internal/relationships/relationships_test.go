package relationships

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/store"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		wantErr string
	}{
		{url: "https://relationships.example/agent-client-relationships"},
		{url: "http://127.0.0.1:9434"},
		{url: "http://localhost:9434/acr/"},
		{url: "http://[::1]:9434"},
		{url: "http://relationships.example", wantErr: "loopback"},
		{url: "http://10.0.0.1", wantErr: "loopback"},
		{url: "https://user:secret@relationships.example", wantErr: "user name or password"},
		{url: "https://relationships.example?x=1", wantErr: "query"},
		{url: "ftp://relationships.example", wantErr: "not an http(s) URL"},
		{url: "relationships.example", wantErr: "not an http(s) URL"},
		{url: "", wantErr: "not an http(s) URL"},
	}
	for _, tc := range tests {
		_, err := CheckURL(tc.url)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("CheckURL(%q) = %v, want no error", tc.url, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("CheckURL(%q) = %v, want an error about %q", tc.url, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("CheckURL(%q) = %v, which shows the password", tc.url, err)
		}
	}
}

// service answers 200 for the paths in yes and 404 otherwise, recording
// the escaped paths it was asked.
type service struct {
	yes map[string]bool
	mu  sync.Mutex
	got []string
	// gate, when set, holds each request until it is closed.
	gate chan struct{}
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.got = append(s.got, r.URL.EscapedPath())
	s.mu.Unlock()
	if s.gate != nil {
		<-s.gate
	}
	if s.yes[r.URL.EscapedPath()] {
		return
	}
	w.WriteHeader(http.StatusNotFound)
}

func (s *service) paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func TestRelationshipPathsAndCache(t *testing.T) {
	t.Parallel()
	svc := &service{yes: map[string]bool{"/acr/agent/AARN1/service/HMRC-MTD-IT-SUPP/client/NI/AA000001A": true}}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c, err := New(srv.URL+"/acr/", Options{Now: func() time.Time { return now }, MaxEntries: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	kind, err := c.Relationship(ctx, "AARN1", "AA000001A")
	if kind != store.Supporting || err != nil {
		t.Fatalf("Relationship(supporting) = %q, %v; want %q", kind, err, store.Supporting)
	}
	want := []string{
		"/acr/agent/AARN1/service/HMRC-MTD-IT/client/NI/AA000001A",
		"/acr/agent/AARN1/service/HMRC-MTD-IT-SUPP/client/NI/AA000001A",
	}
	if got := svc.paths(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("paths asked = %v, want %v", got, want)
	}
	// Cached for the yes TTL, asked again after it.
	c.Relationship(ctx, "AARN1", "AA000001A")
	if n := len(svc.paths()); n != 2 {
		t.Errorf("after a cached yes: %d calls, want 2", n)
	}
	now = now.Add(DefaultYesTTL)
	c.Relationship(ctx, "AARN1", "AA000001A")
	if n := len(svc.paths()); n != 4 {
		t.Errorf("after the yes TTL: %d calls, want 4", n)
	}
	// A no is cached for the shorter no TTL.
	if _, err := c.Relationship(ctx, "AARN2", "AA000001A"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Relationship(none) = %v, want store.ErrNotFound", err)
	}
	now = now.Add(DefaultNoTTL - time.Second)
	c.Relationship(ctx, "AARN2", "AA000001A")
	if n := len(svc.paths()); n != 6 {
		t.Errorf("within the no TTL: %d calls, want 6", n)
	}
	now = now.Add(time.Second)
	c.Relationship(ctx, "AARN2", "AA000001A")
	if n := len(svc.paths()); n != 8 {
		t.Errorf("after the no TTL: %d calls, want 8", n)
	}
	// The cache holds at most MaxEntries.
	c.Relationship(ctx, "AARN3", "AA000001A")
	c.mu.Lock()
	size := len(c.cache)
	c.mu.Unlock()
	if size > 2 {
		t.Errorf("cache holds %d entries, want at most 2", size)
	}
	// Anything that could change the path is never sent.
	for _, arn := range []string{"../../x", "A/B", "A%2F", ""} {
		before := len(svc.paths())
		if _, err := c.Relationship(ctx, arn, "AA000001A"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Relationship(%q) = %v, want store.ErrNotFound", arn, err)
		}
		if n := len(svc.paths()); n != before {
			t.Errorf("Relationship(%q) reached the service", arn)
		}
	}
}

func TestRelationshipUnavailable(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	statuses := func(code int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hanging.Close)
	tests := []struct {
		name string
		url  string
	}{
		{"connection_refused", closed},
		{"server_error", statuses(http.StatusBadGateway)},
		{"unauthorised", statuses(http.StatusUnauthorized)},
		{"redirect", statuses(http.StatusFound)},
		{"timeout", hanging.URL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tc.url, Options{Timeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			kind, err := c.Relationship(context.Background(), "AARN1", "AA000001A")
			if kind != "" || !errors.Is(err, ErrUnavailable) || errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Relationship() = %q, %v; want ErrUnavailable", kind, err)
			}
			if strings.Contains(err.Error(), "AA000001A") {
				t.Errorf("error %q holds the NINO", err)
			}
			// A failure is not cached: the next call asks again (and fails).
			if _, err := c.Relationship(context.Background(), "AARN1", "AA000001A"); !errors.Is(err, ErrUnavailable) {
				t.Errorf("second Relationship() = %v, want ErrUnavailable", err)
			}
		})
	}
}

// TestRelationshipConcurrent: concurrent requests about one pair make one
// call to the service.
func TestRelationshipConcurrent(t *testing.T) {
	t.Parallel()
	svc := &service{yes: map[string]bool{"/agent/AARN1/service/HMRC-MTD-IT/client/NI/AA000001A": true}, gate: make(chan struct{})}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	var yes atomic.Int32
	for range n {
		wg.Go(func() {
			if kind, err := c.Relationship(context.Background(), "AARN1", "AA000001A"); kind == store.Main && err == nil {
				yes.Add(1)
			}
		})
	}
	// Wait for the one call to arrive, then let it answer.
	for len(svc.paths()) == 0 {
		time.Sleep(time.Millisecond)
	}
	close(svc.gate)
	wg.Wait()
	if got := yes.Load(); got != n {
		t.Errorf("%d of %d callers got main, want all", got, n)
	}
	if got := len(svc.paths()); got != 1 {
		t.Errorf("service called %d times, want 1", got)
	}
}
