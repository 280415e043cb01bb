package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/store"
)

const (
	prodIssuer   = "https://issuer.test"
	prodAudience = "assist-production"
	prodNINO     = "TC663795B"
)

// keyServer is an identity provider's JWKS endpoint on loopback, whose
// published keys a test changes.
type keyServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetches atomic.Int32
}

func newKeyServer(t *testing.T, keys ...jose.JSONWebKey) *keyServer {
	t.Helper()
	ks := &keyServer{}
	ks.publish(keys...)
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		ks.mu.Lock()
		set := jose.JSONWebKeySet{Keys: ks.keys}
		ks.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(ks.Close)
	return ks
}

// publish replaces the published keys with the public halves of keys.
func (ks *keyServer) publish(keys ...jose.JSONWebKey) {
	var pub []jose.JSONWebKey
	for _, k := range keys {
		pub = append(pub, k.Public())
	}
	ks.mu.Lock()
	ks.keys = pub
	ks.mu.Unlock()
}

// newES256Key is a private signing key with id kid.
func newES256Key(t *testing.T, kid string) jose.JSONWebKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}
}

// mint signs claims with key under alg, naming the key's id.
func mint(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// individualClaims are an MTD-enrolled individual's, from the production
// issuer, issued now for lifetime.
func individualClaims(lifetime time.Duration) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": prodIssuer, "aud": prodAudience, "sub": "user-1",
		"iat": now.Unix(), "exp": now.Add(lifetime).Unix(),
		"scope":         "read:self-assessment-assist write:self-assessment-assist",
		"affinityGroup": "Individual", "nino": prodNINO, "mtdItId": "XAIT00000000001",
		"enrolments": []string{"HMRC-MTD-IT"}, "confidenceLevel": 250,
	}
}

// fakeCalculations is the Individual Calculations API, knowing one
// calculation.
func fakeCalculations(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path != "/individuals/calculations/"+prodNINO+"/self-assessment/2025-26/"+calcID {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(calculation)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// startServe runs runServe with args until the test ends, and waits until
// it answers.
func startServe(t *testing.T, args ...string) (base string, logs *serveLogBuffer) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs = &serveLogBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, append([]string{"--addr", addr}, args...), io.Discard, logs, func(string) string { return "" })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runServe() = %v after shutdown", err)
		}
	})
	base = "http://" + addr
	awaitServing(t, base, done, logs)
	return base, logs
}

// TestProductionIdentity drives production mode end to end: tokens of the
// configured issuer are accepted across a key rotation; sandbox tokens,
// self-signed tokens and symmetric or long-lived ones get HMRC's 401; and
// production refuses to start without its identity flags or on a sandbox's
// database.
func TestProductionIdentity(t *testing.T) {
	dir := t.TempDir()
	sandboxDB := "sqlite:" + filepath.Join(dir, "sandbox.db")
	prodDB := "sqlite:" + filepath.Join(dir, "production.db")
	upstream := fakeCalculations(t)

	// A sandbox's token, and the sandbox's database.
	var sandboxToken string
	t.Run("sandbox", func(t *testing.T) {
		base, _ := startServe(t, "--db", sandboxDB)
		status, body, err := call("POST", base+"/test-support/individuals", "", []byte(`{"nino":"`+prodNINO+`"}`))
		if err != nil || status != http.StatusCreated {
			t.Fatalf("create sandbox individual = %d %s %v", status, body, err)
		}
		sandboxToken = serveBetween(string(body), `"accessToken":"`, `"`)
	})

	keyA, keyB := newES256Key(t, "a"), newES256Key(t, "b")
	keys := newKeyServer(t, keyA)
	prodFlags := []string{"--mode", "production", "--upstream-url", upstream.URL,
		"--jwks-url", keys.URL + "/jwks", "--token-issuer", prodIssuer, "--token-audience", prodAudience, "--nrs-url", "off"}

	// Were a refusal to regress, the server would run until this ends.
	refusal, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t.Run("refuses_without_identity_flags", func(t *testing.T) {
		err := runServe(refusal, []string{"--db", prodDB, "--mode", "production", "--upstream-url", upstream.URL},
			io.Discard, io.Discard, func(string) string { return "" })
		for _, want := range []string{"--jwks-url", "--token-issuer", "--token-audience"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("runServe(production without %s) = %v, want it named", want, err)
			}
		}
	})
	t.Run("refuses_sandbox_database", func(t *testing.T) {
		err := runServe(refusal, append([]string{"--db", sandboxDB, "--addr", freeAddr(t)}, prodFlags...),
			io.Discard, io.Discard, func(string) string { return "" })
		for _, want := range []string{"sandbox data", "signing key", "test user"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("runServe(production on a sandbox database) = %v, want an error naming %q", err, want)
			}
		}
	})

	base, logs := startServe(t, append([]string{"--db", prodDB}, prodFlags...)...)
	produce := func(token string) (int, []byte) {
		t.Helper()
		status, body, err := call("POST", base+"/individuals/self-assessment/assist/reports/"+prodNINO+"/2025-26/"+calcID, token, nil)
		if err != nil {
			t.Fatal(err)
		}
		return status, body
	}
	wantRefused := func(name, token string) {
		t.Helper()
		status, body := produce(token)
		var e hmrc.Error
		if status != http.StatusUnauthorized || json.Unmarshal(body, &e) != nil || e.Code != hmrc.CodeInvalidCredentials ||
			e.Message != "Invalid Authentication information provided" {
			t.Errorf("produce with %s = %d %s, want 401 INVALID_CREDENTIALS", name, status, body)
		}
	}

	tokenA := mint(t, jose.ES256, keyA, "a", individualClaims(time.Hour))
	status, body := produce(tokenA)
	if status != http.StatusOK {
		t.Fatalf("produce with the issuer's token = %d %s, want 200", status, body)
	}
	var rep struct{ ReportID, CorrelationID string }
	if err := json.Unmarshal(body, &rep); err != nil || rep.ReportID == "" {
		t.Fatalf("report %s: %v", body, err)
	}
	status, body, err := call("POST", base+"/reports/acknowledge/"+prodNINO+"/"+rep.ReportID+"/"+rep.CorrelationID, tokenA, nil)
	if err != nil || status != http.StatusNoContent {
		t.Errorf("acknowledge = %d %s %v, want 204", status, body, err)
	}

	// The issuer rotates its key: b replaces a. The first token naming b
	// makes the service fetch the key set again.
	keys.publish(keyB)
	if status, body := produce(mint(t, jose.ES256, keyB, "b", individualClaims(time.Hour))); status != http.StatusOK {
		t.Errorf("produce with a token of the new key = %d %s, want 200", status, body)
	}
	if n := keys.fetches.Load(); n != 2 {
		t.Errorf("key set fetched %d times, want 2 (at start, then for the new key id)", n)
	}
	wantRefused("a token of the withdrawn key", tokenA)

	wantRefused("a sandbox token", sandboxToken)
	// Self-signed: a key of the caller's own, naming a published key id or
	// another, with the production issuer and audience.
	wantRefused("a self-signed token naming a published kid", mint(t, jose.ES256, newES256Key(t, "b"), "b", individualClaims(time.Hour)))
	wantRefused("a self-signed token naming another kid", mint(t, jose.ES256, newES256Key(t, "x"), "x", individualClaims(time.Hour)))
	wantRefused("an HS256 token", mint(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "b", individualClaims(time.Hour)))
	wantRefused("a token living 5h", mint(t, jose.ES256, keyB, "b", individualClaims(5*time.Hour)))
	noIAT := individualClaims(time.Hour)
	delete(noIAT, "iat")
	wantRefused("a token without iat", mint(t, jose.ES256, keyB, "b", noIAT))
	if n := keys.fetches.Load(); n != 2 {
		t.Errorf("key set fetched %d times after unknown key ids, want still 2 (at most once per 30s)", n)
	}
	if strings.Contains(logs.String(), sandboxToken) || strings.Contains(logs.String(), tokenA) {
		t.Errorf("logs contain a token")
	}

	// Production stored no signing key, nor anything else of the sandbox's.
	db, err := store.Open(context.Background(), prodDB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if found, err := db.SandboxData(context.Background()); err != nil || len(found) != 0 {
		t.Errorf("production database holds sandbox data %q, %v; want none", found, err)
	}
}
