package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-assist/assist/internal/fraud"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p90 of ten is the ninth", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{"p99 of ten is the last", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %g) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestStats(t *testing.T) {
	a, b := NewRecorder(), NewRecorder()
	for i := 1; i <= 6; i++ {
		a.Add(Produce, 200, time.Duration(i)*time.Millisecond, true)
	}
	for i := 7; i <= 10; i++ {
		b.Add(Produce, 503, time.Duration(i)*time.Millisecond, false)
	}
	b.Add(Produce, 0, 20*time.Millisecond, false)
	b.Add(Acknowledge, 204, time.Millisecond, true)
	a.Merge(b)
	got := a.Stats(Produce, 2*time.Second)
	want := Stats{Requests: 11, Rate: 5.5, P50: 6, P90: 10, P99: 20, Max: 20, Errors: map[string]int{"503": 4, "0": 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats(produce) (-want +got):\n%s", diff)
	}
	if errorCount(got) != 5 {
		t.Errorf("errorCount() = %d, want 5", errorCount(got))
	}
	if got := a.Stats("nothing", time.Second); got.Requests != 0 || len(got.Errors) != 0 {
		t.Errorf("Stats(an endpoint never called) = %+v", got)
	}
}

// TestDrivers runs both drivers briefly against a server that answers 200
// to even requests and 503 to odd ones: every request is recorded, with its
// status, and no client outlives its phase.
func TestDrivers(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	c := newClient(srv.URL, 4)
	j := func(ctx context.Context, rec *Recorder) {
		start := time.Now()
		status, _, err := c.do(ctx, http.MethodPost, "/", "t", nil)
		if err != nil {
			status = 0
		}
		rec.Add(Limit, status, time.Since(start), status == http.StatusOK)
	}

	for _, tc := range []struct {
		name string
		run  func() *Phase
	}{
		{"closed", func() *Phase { return Closed(context.Background(), 4, 200*time.Millisecond, j) }},
		{"open", func() *Phase { return Open(context.Background(), 200, 4, 200*time.Millisecond, j) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := served.Load()
			p := tc.run()
			n := int(served.Load() - before)
			s := p.Rec.Stats(Limit, p.Elapsed)
			if n == 0 || s.Requests != n {
				t.Fatalf("recorded %d requests, the server answered %d", s.Requests, n)
			}
			if s.Errors["503"] < n/2-1 || s.Errors["503"] > n/2+1 || errorCount(s) != s.Errors["503"] {
				t.Errorf("errors = %v for %d requests, want about half 503", s.Errors, n)
			}
			if s.Rate <= 0 || s.Max < s.P99 || s.P99 < s.P90 || s.P90 < s.P50 {
				t.Errorf("stats out of order: %+v", s)
			}
		})
	}
	// Open starts at most rate × duration journeys (plus the one at zero).
	before := served.Load()
	p := Open(context.Background(), 50, 4, 100*time.Millisecond, j)
	if n := served.Load() - before; n > 6 || int(n)+p.Missed > 6 {
		t.Errorf("open loop at 50/s for 100ms started %d journeys and missed %d, want at most 6", n, p.Missed)
	}
}

// TestReceiver counts distinct keys only, and AwaitCount returns once they
// have come.
func TestReceiver(t *testing.T) {
	r, err := NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		for _, key := range []string{"a", "b", "a", "", "c"} {
			req, _ := http.NewRequest(http.MethodPost, r.URL+"/submission", nil)
			req.Header.Set("Idempotency-Key", key)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if got, last := r.AwaitCount(ctx, 3); got != 3 || last.IsZero() {
		t.Errorf("AwaitCount(3) = %d, %v; want 3 distinct keys and a time", got, last)
	}
}

// errorCount is the number of requests that failed.
func errorCount(s Stats) int {
	n := 0
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// TestFloor answers as the service does and sends one record of each size
// to each receiver for every report and acknowledgement.
func TestFloor(t *testing.T) {
	nrs, err := NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer nrs.Close()
	events, err := NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	f, err := startFloor(500, nrs, events, 700, 300)
	if err != nil {
		t.Fatal(err)
	}
	targets := floorTargets([]target{{calcID: "a"}, {calcID: "b"}}, map[string]bool{"b": true})
	c := newClient(f.url, 2)
	ctx := context.Background()
	var l ledger
	rec := NewRecorder()
	j := journey(c, targets, &l, FloorProduce, FloorAcknowledge)
	for range 4 { // a (200, then acknowledged), b (204), a, b
		j(ctx, rec)
	}
	f.close()

	if s := rec.Stats(FloorProduce, time.Second); s.Requests != 4 || errorCount(s) != 0 {
		t.Errorf("produce: %d requests, errors %v; want 4 and none", s.Requests, s.Errors)
	}
	if s := rec.Stats(FloorAcknowledge, time.Second); s.Requests != 2 || errorCount(s) != 0 {
		t.Errorf("acknowledge: %d requests, errors %v; want 2 and none", s.Requests, s.Errors)
	}
	for _, tc := range []struct {
		name string
		r    *Receiver
		size int
	}{{"nrs", nrs, 700}, {"events", events, 300}} {
		if n, _ := tc.r.Count(); n != 4 || tc.r.MeanSize() != tc.size {
			t.Errorf("%s: %d records of %d bytes, want 4 of %d", tc.name, n, tc.r.MeanSize(), tc.size)
		}
	}
	if int(l.reports.Load()) != 2 || int(l.acks.Load()) != 2 {
		t.Errorf("ledger: %d reports, %d acks; want 2 and 2", l.reports.Load(), l.acks.Load())
	}
}

// TestFraudHeadersAreValid: the bench sends what real software must, so
// that the service's reports are those real software would get.
func TestFraudHeadersAreValid(t *testing.T) {
	now := time.Now()
	if r := fraud.Validate(fraudHeaders(now), now.Add(time.Minute)); r.Code != fraud.ValidHeaders {
		t.Errorf("the bench's headers are %s: %+v %+v", r.Code, r.Errors, r.Warnings)
	}
}
