package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/open-assist/assist/internal/calc"
)

// BenchmarkLoad is the service's load benchmark: parallel clients through
// the real router, auth, SQLite store and rule catalogue. Its references,
// measured in the same run, are the engine alone on the same calculation
// and the cheapest call through the same stack (ping), so the figures say
// what HTTP, tokens and the store add to the guidance itself.
//
//	go test -run '^$' -bench Load ./internal/server
func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		b.Fatal(err)
	}
	c, err := calc.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	h := newHarness(b, harnessOptions{})
	user := h.newIndividual(`{}`)
	put := "/test-support/calculations/" + user.NINO + "/" + c.TaxYear + "/" + c.CalculationID
	if got := h.do("PUT", put, headers("Content-Type", "application/json"), string(data)); got.status != 204 {
		b.Fatalf("PUT calculation = %d %s", got.status, got.body)
	}
	cat := realCatalogue(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	send := func(b *testing.B, method, path string, want int) {
		req, _ := http.NewRequest(method, h.url+path, nil)
		req.Header = api(user.AccessToken)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			b.Fatalf("%s %s = %d, want %d", method, path, resp.StatusCode, want)
		}
	}

	b.Run("reference_engine_only", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := cat.EvaluateBoth(context.Background(), c); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("reference_ping", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				send(b, "GET", "/ping/ping", http.StatusOK)
			}
		})
	})
	b.Run("produce", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				send(b, "POST", produce(user.NINO, c.TaxYear, c.CalculationID), http.StatusOK)
			}
		})
	})
}
