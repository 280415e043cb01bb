package config

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/store"
)

// Defaults of the limits. The pool stays well under PostgreSQL's default
// max_connections (100) with several replicas; 1 MiB is 25 times the
// largest real calculation (about 40 kB).
const (
	DefaultDBMaxConns          = store.DefaultMaxConns
	DefaultWriteQueue          = store.DefaultWriteQueue
	DefaultMaxInFlight         = 32
	DefaultMaxCalculationBytes = report.DefaultMaxCalculationBytes
	// DefaultProductionRateLimit is HMRC's API platform's default rate limit
	// for an application (3 requests a second), so that software built to
	// HMRC's limits is never throttled sooner by this service.
	DefaultProductionRateLimit = 3
	DefaultRateBurst           = 10
	// NRSOff is the --nrs-url value that runs production without records.
	NRSOff = "off"
)

// limitFlags holds the rate limit as given until the mode is known: its
// default depends on it.
type limitFlags struct {
	rateLimit string
}

// intFlag and durationFlag define typed flags whose defaults come from the
// environment (see LoadFor).
type (
	intFlag      func(p *int, name string, fallback int, usage string)
	durationFlag func(p *time.Duration, name string, fallback time.Duration, usage string)
)

// addLimitFlags defines the flags of the service's limits on fs.
func (c *Config) addLimitFlags(fs *flag.FlagSet, def func(name, fallback string) string, intVar intFlag, durationVar durationFlag) *limitFlags {
	l := &limitFlags{}
	intVar(&c.DBMaxConns, "db-max-conns", DefaultDBMaxConns, "most database connections this process opens (ASSIST_DB_MAX_CONNS)")
	intVar(&c.WriteQueue, "write-queue", DefaultWriteQueue, "reports and acknowledgements that may wait to be committed; more get 503 (ASSIST_WRITE_QUEUE)")
	fs.StringVar(&l.rateLimit, "rate-limit", def("rate-limit", ""), "API requests a second per token subject (a number); 0: off; default off in sandbox, 3 in production (ASSIST_RATE_LIMIT)")
	intVar(&c.RateBurst, "rate-burst", DefaultRateBurst, "API requests a token subject may make at once above --rate-limit (ASSIST_RATE_BURST)")
	intVar(&c.MaxInFlight, "max-in-flight", DefaultMaxInFlight, "API requests served at once; more wait briefly, then get 503 (ASSIST_MAX_IN_FLIGHT)")
	intVar(&c.MaxCalculationBytes, "max-calculation-bytes", DefaultMaxCalculationBytes, "largest calculation analysed or stored, in bytes (ASSIST_MAX_CALCULATION_BYTES)")
	durationVar(&c.DeliveryRetention, "delivery-retention", 24*time.Hour, "how long delivered records are kept before they are deleted (ASSIST_DELIVERY_RETENTION)")
	fs.StringVar(&c.AdminAddr, "admin-addr", def("admin-addr", ""), "listen address of /metrics; empty: off (ASSIST_ADMIN_ADDR)")
	fs.StringVar(&c.AdminToken, "admin-token", def("admin-token", ""), "secret of the rule authors' dashboard, /admin/rules; empty: off. Give it in the environment, not on the command line (ASSIST_ADMIN_TOKEN)")
	return l
}

// parse sets the rate limit, after the other flags (its default depends on
// the mode), and --nrs-url off.
func (l *limitFlags) parse(c *Config) []error {
	var errs []error
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
