package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDurationsInMilliseconds(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	log := slog.New(NewHandler(&b, slog.LevelInfo, JSON)).With(slog.Duration("timeout", 2*time.Second))
	log.Info("done", Duration("duration", 1500*time.Microsecond), slog.Duration("retry_after", 250*time.Millisecond),
		slog.Group("job", slog.Duration("wait", time.Minute)), slog.Int("n", 3))
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("log line %q is not JSON: %v", b.String(), err)
	}
	want := map[string]float64{"duration_ms": 1.5, "retry_after_ms": 250, "timeout_ms": 2000}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, got[k], v, b.String())
		}
	}
	if job, _ := got["job"].(map[string]any); job["wait_ms"] != 60000.0 {
		t.Errorf("job.wait_ms = %v, want 60000 (line %s)", job["wait_ms"], b.String())
	}
	for _, k := range []string{"duration", "retry_after", "timeout"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s logged without _ms: %s", k, b.String())
		}
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	cases := []struct {
		format string
		want   string
	}{
		{Text, `level=INFO msg=hello duration_ms=3`},
		{JSON, `"msg":"hello","duration_ms":3}`},
		{Auto, `"msg":"hello"`}, // a buffer is not a terminal
	}
	for _, tc := range cases {
		var b bytes.Buffer
		slog.New(NewHandler(&b, slog.LevelInfo, tc.format)).Info("hello", slog.Duration("duration", 3*time.Millisecond))
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("format %q wrote %q, want it to contain %q", tc.format, b.String(), tc.want)
		}
	}
}
