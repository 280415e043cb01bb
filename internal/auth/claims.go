package auth

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/open-assist/assist/internal/identity"
)

// ClaimNames says which token claim carries each part of the identity, so
// that tokens of an issuer naming them differently map to the same
// Principal.
type ClaimNames struct {
	Scope           string // space-separated string, or array of strings
	AffinityGroup   string // "Individual" or "Agent"
	NINO            string
	MTDITID         string
	ARN             string
	Enrolments      string // array of strings (or one space-separated string)
	ConfidenceLevel string // integer
	ClientID        string // the application the token was issued to
}

// DefaultClaims are the names the sandbox's own tokens use.
var DefaultClaims = ClaimNames{
	Scope:           "scope",
	AffinityGroup:   "affinityGroup",
	NINO:            "nino",
	MTDITID:         "mtdItId",
	ARN:             "arn",
	Enrolments:      "enrolments",
	ConfidenceLevel: "confidenceLevel",
	ClientID:        "client_id", // RFC 9068's name
}

// claimField is one settable name of ClaimNames.
type claimField struct {
	name string
	ptr  *string
}

// fields lists the settable names, in documentation order.
func (n *ClaimNames) fields() []claimField {
	return []claimField{
		{"scope", &n.Scope}, {"affinityGroup", &n.AffinityGroup}, {"nino", &n.NINO}, {"mtdItId", &n.MTDITID},
		{"arn", &n.ARN}, {"enrolments", &n.Enrolments}, {"confidenceLevel", &n.ConfidenceLevel}, {"clientId", &n.ClientID},
	}
}

// reservedClaims carry what the Verifier checks itself; an identity field
// read from one of them would be a misconfiguration.
var reservedClaims = []string{"iss", "aud", "exp", "iat", "nbf", "jti"}

// ParseClaimNames reads a mapping such as "nino=hmrc_nino,arn=agent_code":
// each field (scope, affinityGroup, nino, mtdItId, arn, enrolments,
// confidenceLevel, clientId) named takes that claim; the others keep DefaultClaims'.
// "" is DefaultClaims.
func ParseClaimNames(s string) (ClaimNames, error) {
	names := DefaultClaims
	if strings.TrimSpace(s) == "" {
		return names, nil
	}
	fields := names.fields()
	given := map[string]bool{}
	for _, pair := range strings.Split(s, ",") {
		field, claim, ok := strings.Cut(strings.TrimSpace(pair), "=")
		field, claim = strings.TrimSpace(field), strings.TrimSpace(claim)
		if !ok || claim == "" {
			return ClaimNames{}, fmt.Errorf("%q is not field=claim", pair)
		}
		i := slices.IndexFunc(fields, func(f claimField) bool { return f.name == field })
		if i < 0 {
			return ClaimNames{}, fmt.Errorf("unknown field %q (want scope, affinityGroup, nino, mtdItId, arn, enrolments, confidenceLevel or clientId)", field)
		}
		if given[field] {
			return ClaimNames{}, fmt.Errorf("field %q is mapped twice", field)
		}
		if slices.Contains(reservedClaims, claim) {
			return ClaimNames{}, fmt.Errorf("field %q cannot be read from the registered claim %q", field, claim)
		}
		given[field] = true
		*fields[i].ptr = claim
	}
	return names, nil
}

// String is the mapping as ParseClaimNames reads it.
func (n ClaimNames) String() string {
	var parts []string
	for _, f := range n.fields() {
		parts = append(parts, f.name+"="+*f.ptr)
	}
	return strings.Join(parts, ",")
}

// identity reads the identity of a token's claims, refusing a claim of the
// wrong type rather than guessing what the issuer meant.
func (n ClaimNames) identity(all map[string]json.RawMessage, p *Principal) error {
	var err error
	str := func(claim string) string {
		raw, ok := all[claim]
		if !ok || err != nil {
			return ""
		}
		var s string
		if e := json.Unmarshal(raw, &s); e != nil {
			err = fmt.Errorf("claim %q is not a string", claim)
		}
		return s
	}
	list := func(claim string) []string {
		raw, ok := all[claim]
		if !ok || err != nil {
			return nil
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return strings.Fields(s)
		}
		var l []string
		if e := json.Unmarshal(raw, &l); e != nil {
			err = fmt.Errorf("claim %q is neither a string nor an array of strings", claim)
		}
		return l
	}
	p.Scopes = list(n.Scope)
	p.AffinityGroup = identity.AffinityGroup(str(n.AffinityGroup))
	p.NINO = str(n.NINO)
	p.MTDITID = str(n.MTDITID)
	p.ARN = str(n.ARN)
	p.Enrolments = list(n.Enrolments)
	p.ClientID = str(n.ClientID)
	if raw, ok := all[n.ConfidenceLevel]; ok && err == nil {
		var f float64
		if e := json.Unmarshal(raw, &f); e != nil || f != math.Trunc(f) || f < 0 || f > 1000 {
			return fmt.Errorf("claim %q is not a confidence level", n.ConfidenceLevel)
		}
		p.ConfidenceLevel = int(f)
	}
	return err
}
