package config

import (
	"io"
	"strings"
	"testing"
	"time"
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
	})
	c, err := Load([]string{"--addr", "127.0.0.1:1", "--rules=/other"}, e, io.Discard)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if c.Addr != "127.0.0.1:1" || c.DB != "sqlite:/tmp/x.db" || c.Mode != Production || c.Rules != "/other" ||
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
