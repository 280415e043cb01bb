package config

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/auth"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if c.Addr != ":8342" || c.DB != "sqlite:assist.db" || c.Mode != Sandbox || c.Rules != "" ||
		c.TokenTTL != 4*time.Hour || c.APIStatus != "BETA" || len(c.SupportingAgents) != 0 || c.UpstreamRetries != 2 || c.MaxMessages != 5 {
		t.Errorf("Load() = %+v", c)
	}
}

func TestLoadEnvAndFlags(t *testing.T) {
	t.Parallel()
	e := env(map[string]string{
		"ASSIST_ADDR":              ":9000",
		"ASSIST_DB":                "sqlite:/tmp/x.db",
		"ASSIST_MODE":              "production",
		"ASSIST_UPSTREAM_URL":      "https://api.example",
		"ASSIST_SUPPORTING_AGENTS": "produce, acknowledge",
		"ASSIST_RULES":             "/rules",
		"ASSIST_MAX_MESSAGES":      "3",
		"ASSIST_JWKS_URL":          "https://issuer.example/jwks.json",
		"ASSIST_TOKEN_ISSUER":      "https://issuer.example",
		"ASSIST_TOKEN_AUDIENCE":    "assist",
	})
	c, err := Load([]string{"--addr", "127.0.0.1:1", "--rules=/other"}, e, io.Discard)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if c.Addr != "127.0.0.1:1" || c.DB != "sqlite:/tmp/x.db" || c.Mode != Production || c.Rules != "/other" ||
		c.JWKSURL != "https://issuer.example/jwks.json" || c.TokenIssuer != "https://issuer.example" || c.TokenAudience != "assist" ||
		!c.SupportingAgents[EndpointProduce] || !c.SupportingAgents[EndpointAcknowledge] || c.MaxMessages != 3 {
		t.Errorf("Load() = %+v; flags should win over the environment", c)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	t.Parallel()
	args := []string{"--mode", "staging", "--db", "mysql:x", "--token-ttl", "-1s", "--supporting-agents", "everything", "--api-status", "beta", "--max-messages", "0"}
	_, err := Load(args, env(nil), io.Discard)
	if err == nil {
		t.Fatal("Load() = nil error")
	}
	for _, want := range []string{"--mode", "--db", "--token-ttl", "--supporting-agents", "--api-status", "--max-messages"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load() error %q does not mention %s", err, want)
		}
	}
}

func TestProductionNeedsUpstream(t *testing.T) {
	t.Parallel()
	if _, err := Load([]string{"--mode", "production"}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--upstream-url") {
		t.Errorf("Load(production without upstream) = %v, want an --upstream-url error", err)
	}
	if _, err := Load([]string{"--mode", "production", "--upstream-url", "localhost:80"}, env(nil), io.Discard); err == nil {
		t.Errorf("Load(upstream without scheme) = nil error")
	}
}

// production is a complete production configuration but for what a test
// leaves out or adds.
func production(extra ...string) []string {
	return append([]string{"--mode", "production", "--upstream-url", "https://api.example",
		"--jwks-url", "https://issuer.example/jwks.json", "--token-issuer", "https://issuer.example", "--token-audience", "assist"}, extra...)
}

func TestProductionIdentity(t *testing.T) {
	t.Parallel()
	c, err := Load(production(), env(nil), io.Discard)
	if err != nil {
		t.Fatalf("Load(production) = %v", err)
	}
	if c.TokenMaxLifetime != 4*time.Hour || c.JWKSRefresh != time.Hour || c.Claims != auth.DefaultClaims {
		t.Errorf("Load(production) = %+v; want 4h lifetime, 1h refresh, the sandbox's claim names", c)
	}

	// Every missing setting is named at once.
	_, err = Load([]string{"--mode", "production", "--upstream-url", "https://api.example"}, env(nil), io.Discard)
	for _, want := range []string{"--jwks-url is required", "--token-issuer is required", "--token-audience is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(production without identity) = %v, want %q", err, want)
		}
	}

	tests := []struct {
		name string
		args []string
		want string // "" for accepted
	}{
		{"sandbox_issuer_given", production("--token-issuer", "assist-sandbox"), "--token-issuer"},
		{"sandbox_audience_given", production("--token-audience", "self-assessment-assist"), "--token-audience"},
		{"jwks_over_http", production("--jwks-url", "http://issuer.example/jwks"), "--jwks-url"},
		{"jwks_http_loopback", production("--jwks-url", "http://127.0.0.1:9999/jwks"), ""},
		{"jwks_file_url", production("--jwks-url", "file:///etc/assist/jwks.json"), ""},
		{"jwks_and_jwks_url", production("--jwks", "/etc/jwks.json"), "--jwks and --jwks-url"},
		{"claims", production("--claims", "nino=hmrc_nino"), ""},
		{"claims_unknown_field", production("--claims", "ssn=x"), "--claims"},
		{"max_lifetime", production("--token-max-lifetime", "-1h"), "--token-max-lifetime"},
		{"jwks_refresh", production("--jwks-refresh", "soon"), "--jwks-refresh"},
		{"sandbox_claims_without_jwks", []string{"--claims", "nino=x"}, "--claims"},
		{"sandbox_ttl_over_max", []string{"--token-ttl", "5h"}, "--token-max-lifetime"},
		{"sandbox_ttl_within_raised_max", []string{"--token-ttl", "5h", "--token-max-lifetime", "6h"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tc.args, env(nil), io.Discard)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Load(%q) = %v, want nil", tc.args, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Load(%q) = %v, want an error about %s", tc.args, err, tc.want)
			}
		})
	}
}

func TestJWKSFileFlag(t *testing.T) {
	t.Parallel()
	c, err := Load([]string{"--jwks", "/etc/assist/jwks.json"}, env(nil), io.Discard)
	if err != nil || c.JWKSURL != "file:/etc/assist/jwks.json" {
		t.Errorf("Load(--jwks FILE) = %+v, %v; want --jwks-url file:/etc/assist/jwks.json", c, err)
	}
	c, err = Load(nil, env(map[string]string{"ASSIST_JWKS": "jwks.json"}), io.Discard)
	if err != nil || c.JWKSURL != "file:jwks.json" {
		t.Errorf("Load(ASSIST_JWKS) = %+v, %v; want --jwks-url file:jwks.json", c, err)
	}
}
