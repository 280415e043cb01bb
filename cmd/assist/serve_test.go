package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/tracing/tracingtest"
)

// serveLogBuffer is a log sink written by the server and read by the test.
type serveLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *serveLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *serveLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServe starts the real service on a SQLite file, uses it, and stops it
// as SIGTERM would (by cancelling its context).
func TestServe(t *testing.T) {
	dir := t.TempDir()
	addr, adminAddr := freeAddr(t), freeAddr(t)
	env := map[string]string{"ASSIST_DB": "sqlite:" + filepath.Join(dir, "assist.db")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &serveLogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--addr", addr, "--admin-addr", adminAddr}, io.Discard, logs, func(k string) string { return env[k] })
	}()

	base := "http://" + addr
	awaitServing(t, base, done, logs)

	// /metrics is on the admin listener only, never on the API port; one
	// registry serves the outbox's metrics and the API's (the 404 just
	// answered, and every rule of the catalogue at zero).
	for _, tc := range []struct {
		url  string
		want int
	}{{base + "/metrics", 404}, {"http://" + adminAddr + "/metrics", 200}} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.url, resp.StatusCode, tc.want)
		}
		if tc.want != 200 {
			continue
		}
		for _, want := range []string{
			"assist_outbox_dead_jobs",
			`assist_http_requests_total{code="MATCHING_RESOURCE_NOT_FOUND",route="(none)",status="404"} 1`,
			"assist_report_messages_total{rule_id=",
			"assist_api_requests_in_flight 0",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("GET %s lacks %s", tc.url, want)
			}
		}
	}

	// A sandbox user's token works against the running service.
	resp, err := http.Post(base+"/test-support/individuals", "application/json", strings.NewReader(`{"nino":"TC663795B"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := serveBetween(string(body), `"accessToken":"`, `"`)
	req, _ := http.NewRequest("POST", base+"/individuals/self-assessment/assist/reports/TC663795B/2025-26/620490b4-06e3-4fef-a555-6fd0877dc7ca", nil)
	req.Header.Set("Accept", "application/vnd.hmrc.1.0+json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Errorf("produce = %d, want 204", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("runServe() = %v, want nil after a clean shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runServe() did not return after its context ended")
	}
	out := logs.String()
	if strings.Contains(out, tok) {
		t.Errorf("logs contain the token")
	}
	if !strings.Contains(out, `"msg":"request"`) || !strings.Contains(out, `"correlation_id"`) || !strings.Contains(out, `"duration_ms":`) {
		t.Errorf("logs lack request lines with correlation ids and duration_ms:\n%s", out)
	}

	// The signing key survives a restart: the same token still verifies.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	done2 := make(chan error, 1)
	go func() {
		done2 <- runServe(ctx2, []string{"--addr", addr}, io.Discard, io.Discard, func(k string) string { return env[k] })
	}()
	awaitServing(t, base, done2, nil)
	req, _ = http.NewRequest("POST", base+"/reports/TC663795B/2025-26/620490b4-06e3-4fef-a555-6fd0877dc7ca", nil)
	req.Header.Set("Accept", "application/vnd.hmrc.1.0+json")
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Errorf("produce after restart = %d, want 204 (same signing key)", resp.StatusCode)
	}
	cancel2()
	if err := <-done2; err != nil {
		t.Errorf("second runServe() = %v", err)
	}
}

func TestServeBadConfig(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--mode", "nope"}, nil, io.Discard, &stderr, func(string) string { return "" })
	if code != exitFail || !strings.Contains(stderr.String(), "--mode") {
		t.Errorf("run(serve --mode nope) = %d, %q; want %d and a --mode error", code, stderr.String(), exitFail)
	}
	// NINOs and tokens are not sent in clear to another machine.
	stderr.Reset()
	code = run(context.Background(), []string{"serve", "--agent-relationships-url", "http://acr.example"}, nil, io.Discard, &stderr, func(string) string { return "" })
	if code != exitFail || !strings.Contains(stderr.String(), "--agent-relationships-url") {
		t.Errorf("run(serve --agent-relationships-url http://acr.example) = %d, %q; want %d and an --agent-relationships-url error", code, stderr.String(), exitFail)
	}
	err := runServe(context.Background(), []string{"--db", "sqlite:" + filepath.Join(t.TempDir(), "x.db"), "--rules", t.TempDir()}, io.Discard, io.Discard, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "rules") {
		t.Errorf("runServe(--rules empty dir) = %v, want a rules error", err)
	}
}

func serveBetween(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		panic(fmt.Sprintf("%q not in %q", start, s))
	}
	v, _, _ := strings.Cut(after, end)
	return v
}

// awaitServing waits until the service at base answers /health/ready with
// 200. It fails the test when runServe returns first (done) or after a
// minute: a race-built service on a busy 2-core machine can take many
// seconds to load its rules and migrate.
func awaitServing(t *testing.T, base string, done chan error, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("GET /health/ready = %d", resp.StatusCode)
			}
			return
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("runServe() = %v before it answered\n%v", err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never answered: %v\n%v", err, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeTraces: with OTEL_EXPORTER_OTLP_ENDPOINT set, serve sends the
// spans of its requests to the collector, the last ones flushed on the way
// out. Not parallel: the exporter reads the process environment.
func TestServeTraces(t *testing.T) {
	collector := tracingtest.NewCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	env := map[string]string{
		"ASSIST_DB":                   "sqlite:" + filepath.Join(t.TempDir(), "assist.db"),
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL,
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--addr", addr}, io.Discard, io.Discard, func(k string) string { return env[k] })
	}()
	base := "http://" + addr
	awaitServing(t, base, done, nil)
	resp, err := http.Get(base + "/ping/ping")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-CorrelationId")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServe() = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runServe() did not return after its context ended")
	}
	for _, s := range collector.Spans() {
		if s.Name == "GET /ping/ping" && s.Attributes["assist.correlation_id"] == id {
			if s.Resource["service.name"] != "assist" || s.Resource["service.version"] == "" {
				t.Errorf("span's resource = %v, want service.name assist and a service.version", s.Resource)
			}
			return
		}
	}
	t.Errorf("the collector got %+v; want the span of GET /ping/ping with correlation id %s", collector.Spans(), id)
}
