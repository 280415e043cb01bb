package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestBench runs assist bench end to end on SQLite for a second: the
// service is this test binary re-executed as assist serve (see TestMain).
// It checks what the run did, never how fast.
func TestBench(t *testing.T) {
	skipShort(t)
	t.Setenv(childEnv, "1") // for the service the bench starts, not for this process
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--duration", "1s", "--warmup", "0", "--clients", "2", "--individuals", "2", "--agents", "1", "--json", "-"},
		nil, &stdout, &stderr, func(string) string { return "" })
	if code != exitOK {
		t.Fatalf("assist bench = %d\n%s", code, stderr.String())
	}
	var res struct {
		Store     string
		Delivery  bool
		Endpoints []struct {
			Name       string
			Saturation struct {
				Requests int
				Rate     float64 `json:"requestsPerSecond"`
				Errors   map[string]int
			}
			HalfLoad struct {
				Requests int
				Errors   map[string]int
			}
			Ratio float64 `json:"ratioToLimit"`
		}
		PeakRSSBytes int64 `json:"peakRssBytes"`
		Drain        *struct {
			Expected, NRSReceived, EventsReceived int
			Complete                              bool
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not the JSON result: %v\n%s", err, stdout.String())
	}
	if res.Store != "sqlite" || !res.Delivery {
		t.Errorf("store %q, delivery %v; want sqlite with delivery", res.Store, res.Delivery)
	}
	got := map[string]bool{}
	for _, ep := range res.Endpoints {
		got[ep.Name] = true
		if ep.Saturation.Requests == 0 || ep.Saturation.Rate <= 0 || ep.Ratio <= 0 {
			t.Errorf("%s at saturation: %d requests, %g/s, ratio %g; want some", ep.Name, ep.Saturation.Requests, ep.Saturation.Rate, ep.Ratio)
		}
		if ep.HalfLoad.Requests == 0 {
			t.Errorf("%s at half load: no requests", ep.Name)
		}
		if len(ep.Saturation.Errors)+len(ep.HalfLoad.Errors) > 0 {
			t.Errorf("%s errors: %v at saturation, %v at half load; want none", ep.Name, ep.Saturation.Errors, ep.HalfLoad.Errors)
		}
	}
	if !got["produce"] || !got["acknowledge"] || !got["limit"] {
		t.Errorf("endpoints %v, want produce, acknowledge and limit", got)
	}
	if d := res.Drain; d == nil || !d.Complete || d.Expected == 0 || d.NRSReceived < d.Expected || d.EventsReceived < d.Expected {
		t.Errorf("drain = %+v, want every record received", d)
	}
	if res.PeakRSSBytes <= 0 {
		t.Errorf("peak RSS = %d", res.PeakRSSBytes)
	}
	if !strings.Contains(stderr.String(), "of limit") {
		t.Errorf("the table is not on stderr with --json -:\n%s", stderr.String())
	}
}

func TestBenchBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"bench", "--clients", "0"},
		{"bench", "--duration", "-1s"},
		{"bench", "extra"},
		{"bench", "--nope"},
	} {
		if code := run(context.Background(), args, nil, io.Discard, io.Discard, func(string) string { return "" }); code != exitUsage {
			t.Errorf("run(%q) = %d, want %d", args, code, exitUsage)
		}
	}
}

// TestBenchFailsWhenRecordsAreLost: a run whose records do not all arrive
// (here the service delivers none) exits 1 after printing its table, so a
// script cannot take it for a pass.
func TestBenchFailsWhenRecordsAreLost(t *testing.T) {
	skipShort(t)
	t.Setenv(childEnv, "1")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--duration", "1s", "--warmup", "0", "--clients", "1", "--individuals", "1", "--agents", "1",
		"--drain-timeout", "1s", "--serve-flag=--workers=0"}, nil, &stdout, &stderr, func(string) string { return "" })
	if code != exitFail || !strings.Contains(stdout.String(), "NOT ALL DELIVERED") || !strings.Contains(stderr.String(), "not every record was delivered") {
		t.Errorf("assist bench with no delivery workers = %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
}
