package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/upstream"
)

// TestProductionUpstream runs production mode against a fake Individual
// Calculations API.
func TestProductionUpstream(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		t.Fatal(err)
	}
	const calcID = "9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"
	var fails atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			t.Errorf("upstream Authorization = %q, want the caller's bearer token", r.Header.Get("Authorization"))
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/"+calcID) && strings.Contains(r.URL.Path, "/2025-26/"):
			if fails.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable) // retried
				return
			}
			w.Write(data)
		case strings.HasSuffix(r.URL.Path, "/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"):
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(fake.Close)
	src, err := upstream.New(fake.URL, time.Second, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	src.Retry = delivery.Policy{Base: time.Millisecond, Cap: time.Millisecond}
	h := newHarness(t, harnessOptions{production: true, source: src})
	tok, _, _ := h.issuer.Issue(&auth.Principal{AffinityGroup: identity.Individual, NINO: "TC663795B", MTDITID: "XAIT00000000001",
		ConfidenceLevel: 250, Enrolments: []string{auth.EnrolmentMTDIT}, Scopes: []string{"read:self-assessment-assist"}})

	got := h.do("POST", produce("TC663795B", "2025-26", calcID), api(string(tok)), "")
	if got.status != 200 && got.status != 204 {
		t.Errorf("produce from upstream = %d %s, want 200 or 204", got.status, got.body)
	}
	if n := fails.Load(); n != 2 {
		t.Errorf("upstream called %d times, want 2 (one 503, one retry)", n)
	}
	got = h.do("POST", produce("TC663795B", "2024-25", calcID), api(string(tok)), "")
	if got.status != 404 || got.codes(t)[0] != "MATCHING_CALCULATION_ID_NOT_FOUND" {
		t.Errorf("produce of a calculation upstream lacks = %d %s, want 404 MATCHING_CALCULATION_ID_NOT_FOUND", got.status, got.body)
	}
	got = h.do("POST", produce("TC663795B", "2025-26", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"), api(string(tok)), "")
	if got.status != 500 || got.codes(t)[0] != "INTERNAL_SERVER_ERROR" {
		t.Errorf("produce with upstream failing = %d %s, want 500 INTERNAL_SERVER_ERROR", got.status, got.body)
	}
}
