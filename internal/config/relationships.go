package config

import (
	"flag"
	"fmt"
	"time"

	"github.com/open-assist/assist/internal/relationships"
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
// settings; the URL's are relationships.CheckURL's.
func (c *Config) validateRelationships() []error {
	var errs []error
	if raw := c.AgentRelationshipsURL; raw != "" {
		if _, err := relationships.CheckURL(raw); err != nil {
			errs = append(errs, fmt.Errorf("--agent-relationships-url: %w", err))
		}
	}
	if c.AgentRelationshipsTimeout <= 0 || c.AgentRelationshipsTimeout > time.Minute {
		errs = append(errs, fmt.Errorf("--agent-relationships-timeout: %s is not a duration from 1ns to 1m", c.AgentRelationshipsTimeout))
	}
	return errs
}
