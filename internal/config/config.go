// Package config reads the configuration of "assist serve" from flags, each
// with an environment variable that sets its default. Flags win.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/outbox"
)

// Modes of the service.
const (
	// Sandbox serves test-support endpoints, signs its own tokens and reads
	// calculations from the store.
	Sandbox = "sandbox"
	// Production has no test-support endpoints and reads calculations from
	// the Individual Calculations API.
	Production = "production"
)

// The sandbox's own token issuer and audience, refused in production: a
// token naming them was minted by a sandbox.
const (
	DefaultTokenIssuer   = "assist-sandbox"
	DefaultTokenAudience = "self-assessment-assist"
)

// Endpoint names, for the supporting-agent switch.
const (
	EndpointProduce     = "produce"
	EndpointAcknowledge = "acknowledge"
)

// LogFormat is how logs are written: LogText, LogJSON, or LogAuto (text
// when standard error is a terminal, JSON otherwise).
type LogFormat string

// Log formats.
const (
	LogAuto LogFormat = ""
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// Config is the whole configuration of the service.
type Config struct {
	Addr  string // listen address
	DB    string // sqlite:PATH
	Mode  string // Sandbox or Production
	Rules string // rule catalogue directory; "" for the built-in one
	// MaxMessages is how many messages a report shows at most, the most
	// important first; the stored report keeps the others too.
	MaxMessages int

	// UpstreamURL is the base URL of the Individual Calculations API
	// (production mode).
	UpstreamURL     string
	UpstreamTimeout time.Duration // per attempt
	UpstreamRetries int           // retries after a 5xx or a transport error

	TokenIssuer   string
	TokenAudience string
	TokenTTL      time.Duration // lifetime of sandbox tokens

	// Production identity. JWKSURL locates the token issuer's public keys
	// (https://, file:PATH, or http:// to a loopback address); empty, in
	// sandbox mode only, the sandbox's own key verifies tokens.
	JWKSURL string
	// JWKSRefresh is how often the key set is fetched again.
	JWKSRefresh time.Duration
	// TokenMaxLifetime refuses tokens whose exp - iat is longer.
	TokenMaxLifetime time.Duration
	// Claims names the identity's claims in the issuer's tokens.
	Claims auth.ClaimNames

	// SupportingAgents lists the endpoints (EndpointProduce,
	// EndpointAcknowledge) open to supporting agents; main agents may use
	// both.
	SupportingAgents map[string]bool

	APIStatus       string // version status in the API definition
	LogLevel        slog.Level
	LogFormat       LogFormat
	ShutdownTimeout time.Duration

	// NRSURL is where non-repudiation submissions are posted, with
	// NRSAPIKey in X-API-Key; EventsURL where interaction events are
	// posted. Either empty switches that delivery off: nothing is queued.
	NRSURL, NRSAPIKey, EventsURL string
	// Workers is how many deliveries this process makes at once to each
	// receiver; 0 queues records for other processes (assist worker) to
	// deliver.
	Workers int
	// Delivery tunes the outbox; zero values take its defaults.
	DeliveryMaxAttempts                  int
	DeliveryMaxAge                       time.Duration
	DeliveryBackoff, DeliveryBackoffCap  time.Duration
	DeliveryTimeout, DeliveryRescueAfter time.Duration
	DeliveryPollInterval                 time.Duration

	// Limits (limits.go).
	//
	// DBMaxConns bounds this process's database connections (store and
	// outbox share them).
	DBMaxConns int
	// WriteQueue bounds the writes waiting for a group commit.
	WriteQueue int
	// RateLimit is how many API requests a second one token subject may
	// make, with bursts of RateBurst; 0 is no limit.
	RateLimit float64
	RateBurst int
	// MaxInFlight is how many API requests are served at once.
	MaxInFlight int
	// MaxCalculationBytes bounds a calculation, fetched or stored.
	MaxCalculationBytes int
	// DeliveryRetention is how long delivered records are kept.
	DeliveryRetention time.Duration
	// AdminAddr is where /metrics is served; "" for nowhere.
	AdminAddr string
	// AdminToken is the secret that opens /admin/rules; "" keeps it closed.
	AdminToken string
	// NRSDisabled is set by --nrs-url off: production without records, on
	// purpose.
	NRSDisabled bool

	// AgentRelationshipsURL is the base URL of an agent-client
	// relationships service asked about agent authorisations instead of the
	// database; "" for the database (relationships.go).
	AgentRelationshipsURL     string
	AgentRelationshipsTimeout time.Duration
}

// MaxMessagesLimit bounds --max-messages: a report is read by a person
// before they finalise, not scrolled through.
const MaxMessagesLimit = 50

// Env names the environment variable behind each flag.
var Env = map[string]string{
	"addr":               "ASSIST_ADDR",
	"db":                 "ASSIST_DB",
	"mode":               "ASSIST_MODE",
	"rules":              "ASSIST_RULES",
	"max-messages":       "ASSIST_MAX_MESSAGES",
	"upstream-url":       "ASSIST_UPSTREAM_URL",
	"upstream-timeout":   "ASSIST_UPSTREAM_TIMEOUT",
	"upstream-retries":   "ASSIST_UPSTREAM_RETRIES",
	"token-issuer":       "ASSIST_TOKEN_ISSUER",
	"token-audience":     "ASSIST_TOKEN_AUDIENCE",
	"jwks":               "ASSIST_JWKS",
	"jwks-url":           "ASSIST_JWKS_URL",
	"jwks-refresh":       "ASSIST_JWKS_REFRESH",
	"token-max-lifetime": "ASSIST_TOKEN_MAX_LIFETIME",
	"claims":             "ASSIST_CLAIMS",
	"token-ttl":          "ASSIST_TOKEN_TTL",
	"supporting-agents":  "ASSIST_SUPPORTING_AGENTS",
	"api-status":         "ASSIST_API_STATUS",
	"log-level":          "ASSIST_LOG_LEVEL",
	"log-format":         "ASSIST_LOG_FORMAT",
	"shutdown-timeout":   "ASSIST_SHUTDOWN_TIMEOUT",

	"nrs-url":                "ASSIST_NRS_URL",
	"nrs-api-key":            "ASSIST_NRS_API_KEY",
	"events-url":             "ASSIST_EVENTS_URL",
	"workers":                "ASSIST_WORKERS",
	"delivery-max-attempts":  "ASSIST_DELIVERY_MAX_ATTEMPTS",
	"delivery-max-age":       "ASSIST_DELIVERY_MAX_AGE",
	"delivery-backoff":       "ASSIST_DELIVERY_BACKOFF",
	"delivery-backoff-cap":   "ASSIST_DELIVERY_BACKOFF_CAP",
	"delivery-timeout":       "ASSIST_DELIVERY_TIMEOUT",
	"delivery-rescue-after":  "ASSIST_DELIVERY_RESCUE_AFTER",
	"delivery-poll-interval": "ASSIST_DELIVERY_POLL_INTERVAL",

	"db-max-conns":          "ASSIST_DB_MAX_CONNS",
	"write-queue":           "ASSIST_WRITE_QUEUE",
	"rate-limit":            "ASSIST_RATE_LIMIT",
	"rate-burst":            "ASSIST_RATE_BURST",
	"max-in-flight":         "ASSIST_MAX_IN_FLIGHT",
	"max-calculation-bytes": "ASSIST_MAX_CALCULATION_BYTES",
	"delivery-retention":    "ASSIST_DELIVERY_RETENTION",
	"admin-addr":            "ASSIST_ADMIN_ADDR",
	"admin-token":           "ASSIST_ADMIN_TOKEN",

	"agent-relationships-url":     "ASSIST_AGENT_RELATIONSHIPS_URL",
	"agent-relationships-timeout": "ASSIST_AGENT_RELATIONSHIPS_TIMEOUT",
}

// MinAdminToken is the shortest admin token accepted: a guessable one
// would open every rule's numbers.
const MinAdminToken = 32

// Load parses the flags of "assist serve" (args) with defaults from getenv,
// and validates the result, reporting every problem at once.
func Load(args []string, getenv func(string) string, output io.Writer) (*Config, error) {
	return LoadFor("serve", args, getenv, output, output)
}

// serveOnly names the flags that only serve reads: worker accepts them but
// its help leaves them out.
var serveOnly = map[string]bool{
	"addr": true, "mode": true, "rules": true, "max-messages": true,
	"upstream-url": true, "upstream-timeout": true, "upstream-retries": true,
	"token-issuer": true, "token-audience": true, "jwks": true, "token-ttl": true,
	"supporting-agents": true, "api-status": true, "shutdown-timeout": true,
	"rate-limit": true, "rate-burst": true, "max-in-flight": true, "max-calculation-bytes": true,

	"agent-relationships-url": true, "agent-relationships-timeout": true,
}

// LoadFor is Load for command cmd ("serve" or "worker"): help (-h, --help)
// goes to stdout and returns flag.ErrHelp, errors to stderr.
func LoadFor(cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) (*Config, error) {
	def := func(name, fallback string) string {
		if v := getenv(Env[name]); v != "" {
			return v
		}
		return fallback
	}
	var errs []error
	fs := flag.NewFlagSet("assist "+cmd, flag.ContinueOnError)
	// Typed flags, so that help shows "duration" or "int"; a default from
	// the environment that does not parse is reported and left at fallback.
	durationVar := func(p *time.Duration, name string, fallback time.Duration, usage string) {
		d := fallback
		if v := getenv(Env[name]); v != "" {
			var err error
			if d, err = time.ParseDuration(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a duration", Env[name], v))
				d = fallback
			}
		}
		fs.DurationVar(p, name, d, usage)
	}
	intVar := func(p *int, name string, fallback int, usage string) {
		n := fallback
		if v := getenv(Env[name]); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %q is not a number", Env[name], v))
				n = fallback
			}
		}
		fs.IntVar(p, name, n, usage)
	}
	var (
		c                     Config
		agents, level, format string
	)
	fs.StringVar(&c.Addr, "addr", def("addr", ":8342"), "listen address (ASSIST_ADDR)")
	fs.StringVar(&c.DB, "db", def("db", "sqlite:assist.db"), "database: sqlite:PATH or postgres://... (ASSIST_DB)")
	fs.StringVar(&c.Mode, "mode", def("mode", Sandbox), "sandbox or production (ASSIST_MODE)")
	fs.StringVar(&c.Rules, "rules", def("rules", ""), "rule catalogue directory; default built in (ASSIST_RULES)")
	intVar(&c.MaxMessages, "max-messages", 5, "most messages a report shows, as HMRC's service does (ASSIST_MAX_MESSAGES)")
	fs.StringVar(&c.UpstreamURL, "upstream-url", def("upstream-url", ""), "Individual Calculations API base URL, production mode (ASSIST_UPSTREAM_URL)")
	durationVar(&c.UpstreamTimeout, "upstream-timeout", 10*time.Second, "timeout of one upstream attempt (ASSIST_UPSTREAM_TIMEOUT)")
	intVar(&c.UpstreamRetries, "upstream-retries", 2, "retries after an upstream 5xx (ASSIST_UPSTREAM_RETRIES)")
	fs.StringVar(&c.TokenIssuer, "token-issuer", def("token-issuer", DefaultTokenIssuer), "the iss tokens must have; in production, your issuer's (ASSIST_TOKEN_ISSUER)")
	fs.StringVar(&c.TokenAudience, "token-audience", def("token-audience", DefaultTokenAudience), "an aud tokens must have; in production, your issuer's name for this service (ASSIST_TOKEN_AUDIENCE)")
	// Production identity.
	var jwksFile, claimNames string
	fs.StringVar(&c.JWKSURL, "jwks-url", def("jwks-url", ""), "token issuer's key set: https://..., file:PATH, or http:// to loopback; required in production (ASSIST_JWKS_URL)")
	fs.StringVar(&jwksFile, "jwks", def("jwks", ""), "key set file; short for --jwks-url file:PATH (ASSIST_JWKS)")
	durationVar(&c.JWKSRefresh, "jwks-refresh", time.Hour, "how often the key set is fetched again (ASSIST_JWKS_REFRESH)")
	durationVar(&c.TokenMaxLifetime, "token-max-lifetime", 4*time.Hour, "tokens living longer (exp - iat) are refused (ASSIST_TOKEN_MAX_LIFETIME)")
	fs.StringVar(&claimNames, "claims", def("claims", ""), "claim names of the identity, field=claim,...; default "+auth.DefaultClaims.String()+" (ASSIST_CLAIMS)")
	durationVar(&c.TokenTTL, "token-ttl", 4*time.Hour, "lifetime of sandbox tokens (ASSIST_TOKEN_TTL)")
	fs.StringVar(&agents, "supporting-agents", def("supporting-agents", ""), "endpoints open to supporting agents: produce,acknowledge (ASSIST_SUPPORTING_AGENTS)")
	fs.StringVar(&c.APIStatus, "api-status", def("api-status", "BETA"), "status of version 1.0 in the API definition (ASSIST_API_STATUS)")
	fs.StringVar(&level, "log-level", def("log-level", "info"), "debug, info, warn or error (ASSIST_LOG_LEVEL)")
	fs.StringVar(&format, "log-format", def("log-format", ""), "text or json; default text when standard error is a terminal, else json (ASSIST_LOG_FORMAT)")
	durationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "time given to requests in flight on SIGTERM (ASSIST_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.NRSURL, "nrs-url", def("nrs-url", ""), "URL non-repudiation submissions are posted to; off: none (required in production) (ASSIST_NRS_URL)")
	fs.StringVar(&c.NRSAPIKey, "nrs-api-key", def("nrs-api-key", ""), "X-API-Key for the NRS (ASSIST_NRS_API_KEY)")
	fs.StringVar(&c.EventsURL, "events-url", def("events-url", ""), "URL interaction events are posted to; empty: off (ASSIST_EVENTS_URL)")
	intVar(&c.Workers, "workers", outbox.DefaultWorkers, "deliveries this process makes at once to each receiver (NRS, events); 0: queue only (ASSIST_WORKERS)")
	intVar(&c.DeliveryMaxAttempts, "delivery-max-attempts", 0, "attempts before a record is dead-lettered; 0: as many as fit in --delivery-max-age (ASSIST_DELIVERY_MAX_ATTEMPTS)")
	durationVar(&c.DeliveryMaxAge, "delivery-max-age", 24*time.Hour, "how long a record is tried for when --delivery-max-attempts is 0 (ASSIST_DELIVERY_MAX_AGE)")
	durationVar(&c.DeliveryBackoff, "delivery-backoff", time.Second, "first wait between attempts, doubled each time (ASSIST_DELIVERY_BACKOFF)")
	durationVar(&c.DeliveryBackoffCap, "delivery-backoff-cap", 10*time.Minute, "longest wait between attempts (ASSIST_DELIVERY_BACKOFF_CAP)")
	durationVar(&c.DeliveryTimeout, "delivery-timeout", time.Minute, "time allowed for one attempt (ASSIST_DELIVERY_TIMEOUT)")
	durationVar(&c.DeliveryRescueAfter, "delivery-rescue-after", 5*time.Minute, "a record whose worker died is retried after this (ASSIST_DELIVERY_RESCUE_AFTER)")
	durationVar(&c.DeliveryPollInterval, "delivery-poll-interval", time.Second, "how often idle workers look for due records (ASSIST_DELIVERY_POLL_INTERVAL)")
	limits := c.addLimitFlags(fs, def, intVar, durationVar)
	c.addRelationshipsFlags(fs, def, durationVar)

	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: assist %s [flags]\n\nEach flag's default comes from the environment variable in brackets.\n\nflags:\n", cmd)
		shown := fs
		if cmd != "serve" {
			// Only the flags this command uses; it still accepts the
			// others, so that one command line can start both.
			shown = flag.NewFlagSet(cmd, flag.ContinueOnError)
			shown.SetOutput(fs.Output())
			fs.VisitAll(func(f *flag.Flag) {
				if !serveOnly[f.Name] {
					shown.Var(f.Value, f.Name, f.Usage)
					shown.Lookup(f.Name).DefValue = f.DefValue
				}
			})
		}
		shown.PrintDefaults()
	}
	if err := Parse(fs, args, stdout, stderr); err != nil {
		return nil, err
	}
	errs = append(errs, limits.parse(&c)...)
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("--%s: %s is not a positive duration", name, d))
		}
	}
	positive("upstream-timeout", c.UpstreamTimeout)
	positive("token-ttl", c.TokenTTL)
	positive("jwks-refresh", c.JWKSRefresh)
	positive("token-max-lifetime", c.TokenMaxLifetime)
	positive("shutdown-timeout", c.ShutdownTimeout)
	positive("delivery-max-age", c.DeliveryMaxAge)
	positive("delivery-backoff", c.DeliveryBackoff)
	positive("delivery-backoff-cap", c.DeliveryBackoffCap)
	positive("delivery-timeout", c.DeliveryTimeout)
	positive("delivery-rescue-after", c.DeliveryRescueAfter)
	positive("delivery-poll-interval", c.DeliveryPollInterval)
	positive("delivery-retention", c.DeliveryRetention)
	if jwksFile != "" {
		if c.JWKSURL != "" {
			errs = append(errs, errors.New("--jwks and --jwks-url both name a key set: give one"))
		}
		c.JWKSURL = "file:" + jwksFile
	}
	var err error
	if c.Claims, err = auth.ParseClaimNames(claimNames); err != nil {
		errs = append(errs, fmt.Errorf("--claims: %w", err))
	}
	if claimNames != "" && c.JWKSURL == "" {
		errs = append(errs, errors.New("--claims applies to an external issuer's tokens: it needs --jwks-url"))
	}
	count := func(name string, n, lo, hi int) {
		if n < lo || n > hi {
			errs = append(errs, fmt.Errorf("--%s: %d is not a number from %d to %d", name, n, lo, hi))
		}
	}
	count("workers", c.Workers, 0, 1000)
	count("delivery-max-attempts", c.DeliveryMaxAttempts, 0, math.MaxInt16)
	count("upstream-retries", c.UpstreamRetries, 0, 10)
	count("db-max-conns", c.DBMaxConns, 2, 1000)
	count("write-queue", c.WriteQueue, 1, 100000)
	count("rate-burst", c.RateBurst, 1, 10000)
	count("max-in-flight", c.MaxInFlight, 1, 10000)
	count("max-calculation-bytes", c.MaxCalculationBytes, 1<<10, 64<<20)
	// --max-messages is checked by Validate.
	c.SupportingAgents = map[string]bool{}
	for _, e := range strings.Split(agents, ",") {
		switch e = strings.TrimSpace(e); e {
		case "":
		case EndpointProduce, EndpointAcknowledge:
			c.SupportingAgents[e] = true
		default:
			errs = append(errs, fmt.Errorf("--supporting-agents: unknown endpoint %q (want produce, acknowledge)", e))
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level))
	}
	switch c.LogFormat = LogFormat(format); c.LogFormat {
	case LogAuto, LogText, LogJSON:
	default:
		errs = append(errs, fmt.Errorf("--log-format: %q is neither text nor json", format))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, c.Validate())
	}
	return &c, c.Validate()
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("--addr is empty"))
	}
	if !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		errs = append(errs, fmt.Errorf("--db: %q is neither sqlite:PATH nor a postgres:// URL", c.DB))
	}
	for name, v := range map[string]string{"nrs-url": c.NRSURL, "events-url": c.EventsURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--%s: %q is not an http(s) URL", name, v))
		}
	}
	if c.NRSURL != "" && c.NRSAPIKey == "" {
		errs = append(errs, errors.New("--nrs-api-key is required with --nrs-url"))
	}
	if c.AdminToken != "" && len(c.AdminToken) < MinAdminToken {
		errs = append(errs, fmt.Errorf("--admin-token must be at least %d characters (a random secret, e.g. openssl rand -hex 32)", MinAdminToken))
	}
	if c.MaxMessages < 1 || c.MaxMessages > MaxMessagesLimit {
		errs = append(errs, fmt.Errorf("--max-messages: %d is not from 1 to %d", c.MaxMessages, MaxMessagesLimit))
	}
	if c.DeliveryBackoffCap < c.DeliveryBackoff {
		errs = append(errs, errors.New("--delivery-backoff-cap is shorter than --delivery-backoff"))
	}
	if c.DeliveryRescueAfter <= c.DeliveryTimeout {
		errs = append(errs, errors.New("--delivery-rescue-after must be longer than --delivery-timeout"))
	}
	switch c.Mode {
	case Sandbox:
	case Production:
		if c.UpstreamURL == "" {
			errs = append(errs, errors.New("--upstream-url is required in production mode"))
		}
		errs = append(errs, c.validateProductionIdentity()...)
	default:
		errs = append(errs, fmt.Errorf("--mode: %q is neither sandbox nor production", c.Mode))
	}
	if c.UpstreamURL != "" {
		if u, err := url.Parse(c.UpstreamURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--upstream-url: %q is not an http(s) URL", c.UpstreamURL))
		}
	}
	if c.TokenIssuer == "" || c.TokenAudience == "" {
		errs = append(errs, errors.New("--token-issuer and --token-audience must not be empty"))
	}
	errs = append(errs, c.validateLimits()...)
	errs = append(errs, c.validateRelationships()...)
	if c.JWKSURL != "" {
		if err := auth.CheckJWKSURL(c.JWKSURL); err != nil {
			errs = append(errs, fmt.Errorf("--jwks-url: %w", err))
		}
	}
	if c.Mode == Sandbox && c.JWKSURL == "" && c.TokenTTL > c.TokenMaxLifetime {
		errs = append(errs, fmt.Errorf("--token-ttl %s is longer than --token-max-lifetime %s: the sandbox's own tokens would be refused", c.TokenTTL, c.TokenMaxLifetime))
	}
	if !hmrc.ValidStatus(c.APIStatus) {
		errs = append(errs, fmt.Errorf("--api-status: %q is not ALPHA, BETA, STABLE, DEPRECATED or RETIRED", c.APIStatus))
	}
	return errors.Join(errs...)
}

// validateProductionIdentity names every setting production lacks to verify
// tokens of its own issuer only: without them it would trust the sandbox's
// key, issuer and audience.
func (c *Config) validateProductionIdentity() []error {
	var errs []error
	if c.JWKSURL == "" {
		errs = append(errs, errors.New("--jwks-url is required in production mode: the token issuer's key set (https://... or file:PATH)"))
	}
	if c.TokenIssuer == DefaultTokenIssuer {
		errs = append(errs, fmt.Errorf("--token-issuer is required in production mode: %q is the sandbox's", DefaultTokenIssuer))
	}
	if c.TokenAudience == DefaultTokenAudience {
		errs = append(errs, fmt.Errorf("--token-audience is required in production mode: %q is the sandbox's", DefaultTokenAudience))
	}
	return errs
}
