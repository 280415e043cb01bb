package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestLimitDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if c.DBMaxConns != 20 || c.RateLimit != 0 || c.RateBurst != 10 || c.MaxInFlight != 32 ||
		c.MaxCalculationBytes != 1<<20 || c.DeliveryRetention != 24*time.Hour || c.AdminAddr != "" {
		t.Errorf("Load() limits = %+v; want the documented defaults, no rate limit in sandbox", c)
	}
	p, err := Load(production(), env(nil), io.Discard)
	if err != nil {
		t.Fatalf("Load(production) = %v", err)
	}
	if p.RateLimit != DefaultProductionRateLimit || p.NRSURL != "" || !p.NRSDisabled {
		t.Errorf("Load(production) = rate %v, nrs %q disabled %v; want %v, \"\", true", p.RateLimit, p.NRSURL, p.NRSDisabled, DefaultProductionRateLimit)
	}
	o, err := Load(production("--rate-limit", "0"), env(nil), io.Discard)
	if err != nil || o.RateLimit != 0 {
		t.Errorf("Load(production --rate-limit 0) = %v, %v; want the limit off when asked", o, err)
	}
}

func TestLimitProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"production_without_nrs", production("--nrs-url", ""), "--nrs-url is required in production"},
		{"pool_zero", []string{"--db-max-conns", "0"}, "--db-max-conns"},
		{"rate_negative", []string{"--rate-limit", "-1"}, "--rate-limit"},
		{"burst_zero", []string{"--rate-burst", "0"}, "--rate-burst"},
		{"in_flight_zero", []string{"--max-in-flight", "0"}, "--max-in-flight"},
		{"calculation_tiny", []string{"--max-calculation-bytes", "10"}, "--max-calculation-bytes"},
		{"retention_bad", []string{"--delivery-retention", "forever"}, "delivery-retention"},
		{"retention_zero", []string{"--delivery-retention", "0s"}, "--delivery-retention"},
		{"admin_on_api_port", []string{"--addr", ":9000", "--admin-addr", ":9000"}, "--admin-addr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tc.args, env(nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load(%q) = %v, want an error with %q", tc.args, err, tc.want)
			}
		})
	}
}
