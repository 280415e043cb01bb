package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/server"
	"github.com/open-assist/assist/internal/store"
	"github.com/open-assist/assist/internal/testdb"
)

// runEnv is runArgs with an environment.
func runEnv(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// TestHelp asks every command for help: its own flags, on stdout, exit 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args    []string
		want    []string // in the help
		notWant []string
	}{
		{[]string{"serve", "--help"}, []string{"-addr string", "-upstream-timeout duration", "-workers int", "-log-format string"}, nil},
		{[]string{"worker", "--help"}, []string{"assist worker", "-db string", "-workers int", "-delivery-timeout duration", "-nrs-url"}, []string{"  -addr string", "-token-issuer", "-upstream-url"}},
		{[]string{"worker", "-h"}, []string{"-workers int", "-admin-addr string"}, []string{"  -addr string"}},
		{[]string{"outbox", "list", "--help"}, []string{"outbox list", "-dead", "-limit int", "-db string"}, nil},
		{[]string{"outbox", "retry", "--help"}, []string{"outbox retry", "-db string"}, []string{"-dead"}},
		{[]string{"outbox", "--help"}, []string{"assist outbox list"}, nil},
		{[]string{"agents", "--help"}, []string{"assist agents authorise"}, nil},
		{[]string{"agents", "authorise", "--help"}, []string{"-arn string", "-nino string", "-type string", "-db string"}, nil},
		{[]string{"agents", "revoke", "--help"}, []string{"-arn string", "-nino string"}, []string{"-type"}},
		{[]string{"agents", "list", "--help"}, []string{"-arn string", "-nino string"}, []string{"-type"}},
		{[]string{"explain", "--help"}, []string{"-lang string", "-rules string"}, nil},
		{[]string{"rules", "check", "--help"}, []string{"rules check", "-rules string"}, []string{"-long"}},
		{[]string{"rules", "test", "-h"}, []string{"rules test"}, nil},
		{[]string{"rules", "list", "--help"}, []string{"-long"}, nil},
		{[]string{"rules", "--help"}, []string{"rules check|test|list", "rules simulate"}, nil},
		{[]string{"rules", "simulate", "--help"}, []string{"rules simulate", "-against string", "-rules string", "-json"}, []string{"-long"}},
		{[]string{"--help"}, []string{"assist agents", "assist version"}, nil},
	}
	for _, tc := range cases {
		code, out, errOut := runEnv(t, nil, tc.args...)
		if code != exitOK || errOut != "" {
			t.Errorf("assist %s = %d, stderr %q; want 0 and nothing on stderr", strings.Join(tc.args, " "), code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("assist %s: help lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(out, w) {
				t.Errorf("assist %s: help shows %q, which is not this command's:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalogue("")
	if err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{"version", "--version"} {
		code, out, errOut := runEnv(t, nil, arg)
		if code != exitOK {
			t.Fatalf("assist %s = %d, %s", arg, code, errOut)
		}
		for _, re := range []string{`(?m)^assist \S+$`, `(?m)^revision \S+`, `(?m)^go1\.`, `(?m)^rules ` + regexp.QuoteMeta(cat.Version()) + `$`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("assist %s = %q, want a line matching %s", arg, out, re)
			}
		}
	}
}

// TestFlagsAfterOperands: flags are read wherever they are, up to "--".
func TestFlagsAfterOperands(t *testing.T) {
	t.Parallel()
	const file = "../../testdata/calculations/many-messages_TY2025-26_final.json"
	_, en, _ := runEnv(t, nil, "explain", file)
	code, cy, errOut := runEnv(t, nil, "explain", file, "--lang", "cy")
	if code != exitOK {
		t.Fatalf("explain FILE --lang cy = %d, %s", code, errOut)
	}
	_, cyBefore, _ := runEnv(t, nil, "explain", "--lang", "cy", file)
	if cy != cyBefore || cy == en {
		t.Errorf("explain FILE --lang cy differs from explain --lang cy FILE, or equals the English")
	}
	if code, _, errOut := runEnv(t, nil, "explain", "--", "--lang"); code != exitUsage || !strings.Contains(errOut, "--lang") {
		t.Errorf("explain -- --lang = %d, %q; want --lang read as a file name", code, errOut)
	}
	if code, _, errOut := runEnv(t, nil, "rules", "check", "--rules", "../../rules", "--nope"); code != exitUsage || !strings.Contains(errOut, "-nope") {
		t.Errorf("rules check --nope = %d, %q; want a usage error naming the flag", code, errOut)
	}
}

// TestOperatorCommandsRefuseToCreateADatabase: a mistyped --db is an error
// and leaves no file behind; serve alone creates databases.
func TestOperatorCommandsRefuseToCreateADatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "typo.db")
	cases := [][]string{
		{"outbox", "list", "--db", "sqlite:" + path},
		{"outbox", "retry", "--db", "sqlite:" + path, "1"},
		{"agents", "list", "--db", "sqlite:" + path},
		{"agents", "authorise", "--db", "sqlite:" + path, "--arn", "AARN1234567", "--nino", "TC663795B", "--type", "main"},
		{"worker", "--db", "sqlite:" + path},
	}
	for _, args := range cases {
		code, _, errOut := runEnv(t, nil, args...)
		if code == exitOK || !strings.Contains(errOut, "no such database") || !strings.Contains(errOut, path) {
			t.Errorf("assist %s = %d, %q; want a failure naming the missing database", strings.Join(args, " "), code, errOut)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("assist %s left %s behind (stat: %v)", strings.Join(args, " "), path, err)
		}
	}
	// The same through $ASSIST_DB.
	if code, _, _ := runEnv(t, map[string]string{"ASSIST_DB": "sqlite:" + path}, "agents", "list"); code == exitOK {
		t.Errorf("agents list with ASSIST_DB on a missing file = 0")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("agents list with ASSIST_DB left %s behind", path)
	}
}

func TestAgentsFlagsAreChecked(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "assist.db")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"authorise", "--arn", "1234567", "--nino", "TC663795B", "--type", "main"}, "--arn"},
		{[]string{"authorise", "--arn", "AARN1234567", "--nino", "tc663795b", "--type", "main"}, "--nino"},
		{[]string{"authorise", "--arn", "AARN1234567", "--nino", "TC663795B"}, "--type"},
		{[]string{"authorise", "--arn", "AARN1234567", "--nino", "TC663795B", "--type", "both"}, "--type"},
		{[]string{"revoke", "--arn", "AARN1234567"}, "--nino"},
		{[]string{"list", "--arn", "AARN1234567", "--nino", "TC663795B"}, "not both"},
		{[]string{"list", "extra"}, "unexpected"},
		{[]string{"grant"}, "usage"},
	}
	for _, tc := range cases {
		args := append([]string{"agents"}, append(tc.args, "--db", db)...)
		code, _, errOut := runEnv(t, nil, args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("assist %s = %d, %q; want exit 2 mentioning %s", strings.Join(args, " "), code, errOut, tc.want)
		}
	}
}

// TestAgentsCommandGovernsTheAPI authorises an agent with the command, and
// the production API lets it in; revoked, it is refused.
func TestAgentsCommandGovernsTheAPI(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "assist.db")
			if dialect == "postgres" {
				dsn = testdb.PostgresDSN(t)
			}
			api := newProductionAPI(t, dsn)
			const arn, nino = "AARN1234567", "TC663795B"
			agents := func(args ...string) (int, string, string) {
				t.Helper()
				return runEnv(t, map[string]string{"ASSIST_DB": dsn}, append([]string{"agents"}, args...)...)
			}

			if got := api.produce(t, arn, nino); got != http.StatusForbidden {
				t.Errorf("produce before any authorisation = %d, want 403", got)
			}
			if code, out, errOut := agents("authorise", "--arn", arn, "--nino", nino, "--type", "main"); code != exitOK || !strings.Contains(out, arn) {
				t.Fatalf("agents authorise = %d, %q, %q", code, out, errOut)
			}
			if got := api.produce(t, arn, nino); got != http.StatusOK && got != http.StatusNoContent {
				t.Errorf("produce by an authorised main agent = %d, want 200 or 204", got)
			}
			if got := api.produce(t, "BARN1234567", nino); got != http.StatusForbidden {
				t.Errorf("produce by another agent = %d, want 403", got)
			}
			code, out, _ := agents("list", "--nino", nino)
			if code != exitOK || !regexp.MustCompile(`(?m)^AARN1234567\s+TC663795B\s+main\s+\d{4}-`).MatchString(out) || !strings.Contains(out, "1 authorisations") {
				t.Errorf("agents list --nino = %d:\n%s", code, out)
			}
			if _, out, _ := agents("list", "--arn", "BARN1234567"); !strings.Contains(out, "0 authorisations") {
				t.Errorf("agents list --arn (other agent):\n%s", out)
			}

			// Supporting agents get only the endpoints configured for them:
			// none here.
			if code, _, errOut := agents("authorise", "--arn", arn, "--nino", nino, "--type", "supporting"); code != exitOK {
				t.Fatalf("agents authorise --type supporting = %d, %s", code, errOut)
			}
			if got := api.produce(t, arn, nino); got != http.StatusForbidden {
				t.Errorf("produce by a supporting agent = %d, want 403", got)
			}
			if _, out, _ := agents("list"); !strings.Contains(out, "supporting") || !strings.Contains(out, "1 authorisations") {
				t.Errorf("agents list after a change of type:\n%s", out)
			}

			if code, _, errOut := agents("revoke", "--arn", arn, "--nino", nino); code != exitOK {
				t.Fatalf("agents revoke = %d, %s", code, errOut)
			}
			if code, _, errOut := agents("authorise", "--nino", nino, "--arn", arn, "--type", "main"); code != exitOK {
				t.Fatalf("agents authorise = %d, %s", code, errOut)
			}
			if code, _, _ := agents("revoke", "--arn", arn, "--nino", nino); code != exitOK {
				t.Fatal("agents revoke failed")
			}
			if got := api.produce(t, arn, nino); got != http.StatusForbidden {
				t.Errorf("produce after revoke = %d, want 403", got)
			}
			if code, _, errOut := agents("revoke", "--arn", arn, "--nino", nino); code != exitFail || !strings.Contains(errOut, "no authorisation") {
				t.Errorf("agents revoke (again) = %d, %q; want 1 and no authorisation to revoke", code, errOut)
			}
		})
	}
}

// productionAPI is the API in production mode on a database, with a test
// token issuer standing in for the production one.
type productionAPI struct {
	url    string
	issuer *auth.Issuer
}

const (
	testCalcID  = "3f6a2c1d-8b4e-4f7a-9c2d-1e5b7a9c3d4f"
	testTaxYear = "2025-26"
)

func newProductionAPI(t *testing.T, dsn string) *productionAPI {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn) // as serve would: it creates the database
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	body, err := os.ReadFile("../../testdata/calculations/clean_TY2025-26_in-year.json")
	if err != nil {
		t.Fatal(err)
	}
	// The store stands in for the Individual Calculations API.
	if err := db.PutCalculation(ctx, "TC663795B", testTaxYear, testCalcID, body); err != nil {
		t.Fatal(err)
	}
	key, err := auth.NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := auth.NewIssuer(key, "test-issuer", "test-audience", time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier("test-issuer", "test-audience", issuer.PublicKeys(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := loadCatalogue("")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := report.NewService(report.Options{Repo: db, Analyzer: cat, Source: db, Encode: server.EncodeReport, Log: log, MaxMessages: 5})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Reports: svc, Store: db, Verifier: verifier, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &productionAPI{url: ts.URL, issuer: issuer}
}

// produce asks for a report as agent arn for client nino, returning the status.
func (p *productionAPI) produce(t *testing.T, arn, nino string) int {
	t.Helper()
	tok, _, err := p.issuer.Issue(&auth.Principal{Subject: arn, AffinityGroup: identity.Agent, ARN: arn, Enrolments: []string{auth.EnrolmentAgent},
		ConfidenceLevel: 50, Scopes: []string{hmrc.ScopeRead, hmrc.ScopeWrite}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", p.url+"/individuals/self-assessment/assist/reports/"+nino+"/"+testTaxYear+"/"+testCalcID, nil)
	req.Header.Set("Accept", "application/vnd.hmrc.1.0+json")
	req.Header.Set("Authorization", "Bearer "+string(tok))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
