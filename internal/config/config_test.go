package config

import (
	"errors"
	"flag"
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
		"ASSIST_NRS_URL":           "off",
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

func TestLoadTypedEnvAndLogFormat(t *testing.T) {
	t.Parallel()
	_, err := Load(nil, env(map[string]string{"ASSIST_WORKERS": "many", "ASSIST_DELIVERY_TIMEOUT": "soon", "ASSIST_LOG_FORMAT": "xml"}), io.Discard)
	for _, want := range []string{"ASSIST_WORKERS", "ASSIST_DELIVERY_TIMEOUT", "--log-format"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(bad environment) = %v, want an error naming %s", err, want)
		}
	}
	c, err := Load([]string{"--log-format", "json", "--workers", "7", "--delivery-timeout", "90s"}, env(map[string]string{"ASSIST_LOG_FORMAT": "text"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogFormat != LogJSON || c.Workers != 7 || c.DeliveryTimeout != 90*time.Second {
		t.Errorf("Load() = format %q workers %d timeout %s", c.LogFormat, c.Workers, c.DeliveryTimeout)
	}
	if c, _ := Load(nil, env(nil), io.Discard); c.LogFormat != LogAuto {
		t.Errorf("default --log-format = %q, want auto (empty)", c.LogFormat)
	}
}

func TestLoadForHelp(t *testing.T) {
	t.Parallel()
	var out, errOut strings.Builder
	if _, err := LoadFor("worker", []string{"--workers", "2", "--help"}, env(nil), &out, &errOut); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("LoadFor(worker --help) = %v, want flag.ErrHelp", err)
	}
	if errOut.Len() != 0 || !strings.Contains(out.String(), "-workers int") || !strings.Contains(out.String(), "(default 32)") || strings.Contains(out.String(), "  -addr ") || !strings.Contains(out.String(), "-admin-addr") {
		t.Errorf("worker help: stdout %q, stderr %q", out.String(), errOut.String())
	}
	// Worker still accepts serve's flags, so one command line starts both.
	if c, err := LoadFor("worker", []string{"--addr", ":1", "--workers", "2"}, env(nil), io.Discard, io.Discard); err != nil || c.Workers != 2 {
		t.Errorf("LoadFor(worker --addr) = %+v, %v", c, err)
	}
}

// production is a complete production configuration but for what a test
// leaves out or adds.
func production(extra ...string) []string {
	return append([]string{"--mode", "production", "--upstream-url", "https://api.example",
		"--jwks-url", "https://issuer.example/jwks.json", "--token-issuer", "https://issuer.example", "--token-audience", "assist",
		"--nrs-url", "off"}, extra...)
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
		{"jwks_refresh", production("--jwks-refresh", "soon"), "jwks-refresh"},
		{"jwks_refresh_zero", production("--jwks-refresh", "0s"), "--jwks-refresh"},
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
