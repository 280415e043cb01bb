package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/oauth"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/server"
	"github.com/open-assist/assist/internal/store"
)

// slowAnalyzer takes its time, so that a request is in flight at shutdown.
type slowAnalyzer struct{ started chan struct{} }

func (s slowAnalyzer) Analyze(ctx context.Context, c *calc.Calculation, f *fraud.Assessment) (en, cy *rules.Result, err error) {
	close(s.started)
	time.Sleep(300 * time.Millisecond)
	return &rules.Result{RuleSetVersion: "slow"}, &rules.Result{RuleSetVersion: "slow"}, nil
}

// TestRunFinishesRequestsInFlight stops the server while a request runs:
// the request completes, then Run returns.
func TestRunFinishesRequestsInFlight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "assist.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		t.Fatal(err)
	}
	const calcID = "9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"
	if err := db.PutCalculation(ctx, "TC663795B", "2025-26", calcID, data); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	key, _ := auth.NewSigningKey()
	issuer, _ := auth.NewIssuer(key, testIssuer, testAudience, time.Hour, nil)
	verifier, _ := auth.NewVerifier(testIssuer, testAudience, issuer.PublicKeys(), nil)
	started := make(chan struct{})
	svc, err := report.NewService(report.Options{Repo: db, Analyzer: slowAnalyzer{started}, Source: db, Encode: server.EncodeReport, Log: log, MaxMessages: 5, Sandbox: true})
	if err != nil {
		t.Fatal(err)
	}
	oa, err := oauth.New(db, issuer, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Sandbox: true, Reports: svc, Store: db, Verifier: verifier, Issuer: issuer, OAuth: oa, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(runCtx, ln, 5*time.Second) }()

	tok, _, _ := issuer.Issue(&auth.Principal{AffinityGroup: identity.Individual, NINO: "TC663795B", MTDITID: "XAIT00000000001",
		ConfidenceLevel: 250, Enrolments: []string{auth.EnrolmentMTDIT}, Scopes: []string{"read:self-assessment-assist"}})
	status := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/reports/TC663795B/2025-26/"+calcID, nil)
		req.Header.Set("Accept", v1)
		req.Header.Set("Authorization", "Bearer "+string(tok))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("request in flight: %v", err)
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-started
	stop()
	if got := <-status; got != http.StatusNoContent {
		t.Errorf("request in flight at shutdown = %d, want 204", got)
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run() did not return")
	}
}
