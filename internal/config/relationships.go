package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"time"
)

// addRelationshipsFlags defines the flags of the agent relationships
// service, which, when set, is asked about agent authorisations instead of
// the database.
func (c *Config) addRelationshipsFlags(fs *flag.FlagSet, def func(name, fallback string) string, durationVar durationFlag) {
	fs.StringVar(&c.AgentRelationshipsURL, "agent-relationships-url", def("agent-relationships-url", ""),
		"base URL of an agent-client relationships service checked instead of the database (https, or http to loopback); empty: the database (ASSIST_AGENT_RELATIONSHIPS_URL)")
	durationVar(&c.AgentRelationshipsTimeout, "agent-relationships-timeout", 5*time.Second,
		"time allowed for one call to the agent relationships service (ASSIST_AGENT_RELATIONSHIPS_TIMEOUT)")
}

// validateRelationships reports the problems of the relationships service
// settings. The URL carries NINOs and the callers' tokens: https, or http
// only to this machine; and no password in it, where logs could show it.
func (c *Config) validateRelationships() []error {
	var errs []error
	if raw := c.AgentRelationshipsURL; raw != "" {
		u, err := url.Parse(raw)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, errors.New("--agent-relationships-url is not an http(s) URL"))
		case u.User != nil:
			errs = append(errs, errors.New("--agent-relationships-url must not hold a user name or password"))
		case u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, errors.New("--agent-relationships-url must not have a query or fragment"))
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			errs = append(errs, fmt.Errorf("--agent-relationships-url: http is allowed only to a loopback address, not %q; use https", u.Hostname()))
		}
	}
	if c.AgentRelationshipsTimeout <= 0 || c.AgentRelationshipsTimeout > time.Minute {
		errs = append(errs, fmt.Errorf("--agent-relationships-timeout: %s is not a duration from 1ns to 1m", c.AgentRelationshipsTimeout))
	}
	return errs
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
