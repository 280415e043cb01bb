package config

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"
)

// Defaults of the limits. The pool stays well under PostgreSQL's default
// max_connections (100) with several replicas; 1 MiB is 25 times the
// largest real calculation (about 40 kB).
const (
	DefaultDBMaxConns          = 20
	DefaultMaxInFlight         = 32
	DefaultMaxCalculationBytes = 1 << 20
	// DefaultProductionRateLimit is HMRC's API platform's default rate limit
	// for an application (3 requests a second), so that software built to
	// HMRC's limits is never throttled sooner by this service.
	DefaultProductionRateLimit = 3
	DefaultRateBurst           = 10
	// NRSOff is the --nrs-url value that runs production without records.
	NRSOff = "off"
)

// limitFlags holds the raw values of the limit flags until they are parsed.
type limitFlags struct {
	dbMaxConns, rateLimit, rateBurst, maxInFlight, maxCalc, retention string
}

// addLimitFlags defines the flags of the service's limits on fs.
func (c *Config) addLimitFlags(fs *flag.FlagSet, def func(name, fallback string) string) *limitFlags {
	l := &limitFlags{}
	fs.StringVar(&l.dbMaxConns, "db-max-conns", def("db-max-conns", strconv.Itoa(DefaultDBMaxConns)), "most database connections this process opens (ASSIST_DB_MAX_CONNS)")
	fs.StringVar(&l.rateLimit, "rate-limit", def("rate-limit", ""), "API requests a second per token subject; 0: off; default off in sandbox, 3 in production (ASSIST_RATE_LIMIT)")
	fs.StringVar(&l.rateBurst, "rate-burst", def("rate-burst", strconv.Itoa(DefaultRateBurst)), "API requests a token subject may make at once above --rate-limit (ASSIST_RATE_BURST)")
	fs.StringVar(&l.maxInFlight, "max-in-flight", def("max-in-flight", strconv.Itoa(DefaultMaxInFlight)), "API requests served at once; more wait briefly, then get 503 (ASSIST_MAX_IN_FLIGHT)")
	fs.StringVar(&l.maxCalc, "max-calculation-bytes", def("max-calculation-bytes", strconv.Itoa(DefaultMaxCalculationBytes)), "largest calculation analysed or stored (ASSIST_MAX_CALCULATION_BYTES)")
	fs.StringVar(&l.retention, "delivery-retention", def("delivery-retention", "24h"), "how long delivered records are kept before they are deleted (ASSIST_DELIVERY_RETENTION)")
	fs.StringVar(&c.AdminAddr, "admin-addr", def("admin-addr", ""), "listen address of /metrics; empty: off (ASSIST_ADMIN_ADDR)")
	return l
}

// parse sets c's limits from l, after the other flags (the rate limit's
// default depends on the mode).
func (l *limitFlags) parse(c *Config) []error {
	var errs []error
	count := func(name, s string, lo, hi int) int {
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("--%s: %q is not a number from %d to %d", name, s, lo, hi))
		}
		return n
	}
	c.DBMaxConns = count("db-max-conns", l.dbMaxConns, 1, 1000)
	c.RateBurst = count("rate-burst", l.rateBurst, 1, 10000)
	c.MaxInFlight = count("max-in-flight", l.maxInFlight, 1, 10000)
	c.MaxCalculationBytes = count("max-calculation-bytes", l.maxCalc, 1<<10, 64<<20)
	switch {
	case l.rateLimit == "" && c.Mode == Production:
		c.RateLimit = DefaultProductionRateLimit
	case l.rateLimit == "":
	default:
		r, err := strconv.ParseFloat(l.rateLimit, 64)
		if err != nil || r < 0 || r > 100000 {
			errs = append(errs, fmt.Errorf("--rate-limit: %q is not a number of requests a second from 0 to 100000", l.rateLimit))
		}
		c.RateLimit = r
	}
	d, err := time.ParseDuration(l.retention)
	if err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("--delivery-retention: %q is not a positive duration", l.retention))
	}
	c.DeliveryRetention = d
	if c.NRSURL == NRSOff {
		c.NRSURL, c.NRSDisabled = "", true
	}
	return errs
}

// validateLimits reports the problems of the limits and of what production
// must not run without.
func (c *Config) validateLimits() []error {
	var errs []error
	if c.Mode == Production && c.NRSURL == "" && !c.NRSDisabled {
		errs = append(errs, errors.New("--nrs-url is required in production mode: give the NRS submission URL, or --nrs-url off to run without non-repudiation records"))
	}
	if c.AdminAddr != "" && c.AdminAddr == c.Addr {
		errs = append(errs, errors.New("--admin-addr must differ from --addr: /metrics is not served on the API port"))
	}
	return errs
}
