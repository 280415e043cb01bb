// Package identity names who acted on a report: an individual with their
// NINO or an agent with their Agent Reference Number, as their credentials
// said. The token verifier produces a Party, the report keeps it, and the
// store, the non-repudiation record and the interaction event each write it
// in their own shape at their edge.
package identity

// AffinityGroup is the kind of party, as HMRC's identity service spells it.
type AffinityGroup string

// The affinity groups this service serves.
const (
	Individual AffinityGroup = "Individual"
	Agent      AffinityGroup = "Agent"
)

// Party is who made a request. Enrolments and confidence level go into
// the non-repudiation record.
type Party struct {
	AffinityGroup   AffinityGroup
	NINO            string // individuals
	ARN             string // agents
	Enrolments      []string
	ConfidenceLevel int
}

// IsAgent tells whether the party is an agent.
func (p Party) IsAgent() bool { return p.AffinityGroup == Agent }
