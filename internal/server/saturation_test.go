package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/testdb"
)

// TestManyClients: 200 clients at once, each producing and acknowledging
// reports through the real server, tokens, store and outbox, on each
// store, with a small pool and a rate limit. Every answer is a 2xx, a 429
// or a 503 with Retry-After: saturation slows clients down, never fails
// them with a 500.
func TestManyClients(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	data, c := nudges(t)
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			// Fewer connections than requests in flight.
			ho := harnessOptions{records: true, rateLimit: 0.2, rateBurst: 3, maxInFlight: 16, maxConns: 4}
			if dialect == "postgres" {
				ho.dsn = testdb.PostgresDSN(t)
			}
			h := newHarness(t, ho)
			const clients = 200
			users := make([]individual, clients)
			for i := range users {
				users[i] = h.newIndividual(`{}`)
				put := "/test-support/calculations/" + users[i].NINO + "/" + c.TaxYear + "/" + c.CalculationID
				if got := h.do("PUT", put, headers("Content-Type", "application/json"), string(data)); got.status != 204 {
					t.Fatalf("PUT calculation = %d %s", got.status, got.body)
				}
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			defer client.CloseIdleConnections()
			var (
				mu       sync.Mutex
				statuses = map[int]int{}
				bad      []string
			)
			send := func(u individual, path string) (int, []byte) {
				req, _ := http.NewRequest("POST", h.url+path, nil)
				req.Header = api(u.AccessToken)
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("POST: %v", err))
					mu.Unlock()
					return 0, nil
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				defer mu.Unlock()
				statuses[resp.StatusCode]++
				switch {
				case resp.StatusCode == 429 || resp.StatusCode == 503:
					if resp.Header.Get("Retry-After") == "" {
						bad = append(bad, fmt.Sprintf("%d without Retry-After", resp.StatusCode))
					}
				case resp.StatusCode < 200 || resp.StatusCode > 299:
					bad = append(bad, fmt.Sprintf("%d %s", resp.StatusCode, body))
				}
				return resp.StatusCode, body
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, u := range users {
				wg.Go(func() {
					<-start
					for range 4 {
						status, body := send(u, produce(u.NINO, c.TaxYear, c.CalculationID))
						if status != 200 {
							continue
						}
						var rep struct {
							ReportID      string `json:"reportId"`
							CorrelationID string `json:"correlationId"`
						}
						if json.Unmarshal(body, &rep) == nil {
							send(u, acknowledge(u.NINO, rep.ReportID, rep.CorrelationID))
						}
					}
				})
			}
			close(start)
			wg.Wait()
			t.Logf("%s: statuses %v", dialect, statuses)
			if len(bad) > 0 {
				t.Errorf("%d answers were not 2xx, 429 or 503 with Retry-After; first: %s", len(bad), bad[0])
			}
			if statuses[200] == 0 || statuses[429] == 0 {
				t.Errorf("statuses %v: want some 200s and some 429s", statuses)
			}
			if logs := h.logs.String(); strings.Contains(logs, `"level":"ERROR"`) {
				i := strings.Index(logs, `"level":"ERROR"`)
				t.Errorf("errors logged under load: %s", logs[max(0, i-200):min(len(logs), i+400)])
			}
		})
	}
}

// TestNRSRecordHoldsOnlyAllowListedHeaders: the submission queued for a
// report, as stored in the job table, carries none of the credentials or
// junk a client sent, and a 1 MB header never gets in at all.
func TestNRSRecordHoldsOnlyAllowListedHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{records: true})
	user := h.newIndividual(`{}`)
	hdr := api(user.AccessToken,
		"X-Auth-Token", "secret-auth-token",
		"Api-Key", "secret-api-key",
		"X-Original-Authorization", "Bearer secret-original",
		"X-Junk", strings.Repeat("j", 16<<10),
		"Gov-Client-Connection-Method", "DESKTOP_APP_DIRECT",
		"Gov-Vendor-Version", "mtd-cli=1.0",
		"User-Agent", "mtd-cli/1.0")
	path := produce(user.NINO, "2025-26", anyCalcID) // the sandbox's example report: a 200, recorded
	if got := h.do("POST", path, hdr, ""); got.status != 200 {
		t.Fatalf("produce = %d %s", got.status, got.body)
	}
	huge := hdr.Clone()
	huge.Set("X-Junk", strings.Repeat("j", 1<<20))
	req, _ := http.NewRequest("POST", h.url+path, nil)
	req.Header = huge
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("produce with a 1 MB header = %d, want 431", resp.StatusCode)
		}
	} // else: the server closed the connection, which also keeps it out

	// River keeps args as SQLite JSONB; json() reads them as text.
	rows, err := h.db.SQL().Query(`SELECT json(args) FROM river_job WHERE kind = 'nrs_submission'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var args []byte
		if err := rows.Scan(&args); err != nil {
			t.Fatal(err)
		}
		n++
		var job struct {
			Submission struct {
				Metadata struct {
					HeaderData map[string]string `json:"headerData"`
				} `json:"metadata"`
			} `json:"submission"`
		}
		if err := json.Unmarshal(args, &job); err != nil {
			t.Fatal(err)
		}
		got := job.Submission.Metadata.HeaderData
		for name := range got {
			lower := strings.ToLower(name)
			if !strings.HasPrefix(lower, "gov-client-") && !strings.HasPrefix(lower, "gov-vendor-") &&
				lower != "user-agent" && lower != "accept" && lower != "accept-language" && lower != "x-correlationid" && lower != "gov-test-scenario" {
				t.Errorf("headerData has %s, which is not allow-listed", name)
			}
		}
		for _, secret := range []string{"secret", "jjjj", user.AccessToken} {
			if strings.Contains(string(args), secret) {
				t.Errorf("the queued record contains %.20q", secret)
			}
		}
		if got["Gov-Client-Connection-Method"] != "DESKTOP_APP_DIRECT" || got["Gov-Vendor-Version"] != "mtd-cli=1.0" || got["User-Agent"] != "mtd-cli/1.0" || got["Accept"] != hmrc.MediaTypeV1 {
			t.Errorf("headerData = %v, want the fraud prevention headers, User-Agent and Accept kept", got)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d NRS records queued, want 1 (the 1 MB request refused)", n)
	}
}
