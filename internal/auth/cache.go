package auth

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// verified remembers tokens already verified until they expire, so that a
// client's every request does not pay for a signature check (the largest
// cost of a request after the engine). A hit still checks the token's time
// window and that its key is still published: a key removed from the set
// ends its tokens at once.
type verified struct {
	mu      sync.Mutex
	entries map[[sha256.Size]byte]verifiedToken
	max     int
}

type verifiedToken struct {
	principal Principal
	kid       string
	notBefore time.Time // zero: none
	expiry    time.Time
}

// maxVerified bounds the cache: at about 300 bytes an entry, 10,000 tokens
// are some 3 MB. A full cache drops expired tokens, then all of them.
const maxVerified = 10000

func newVerified() *verified {
	return &verified{entries: map[[sha256.Size]byte]verifiedToken{}, max: maxVerified}
}

// get returns a copy of the principal of a token verified before and still
// valid at now, with its key still published.
func (c *verified) get(ctx context.Context, v *Verifier, sum [sha256.Size]byte, now time.Time) (*Principal, bool) {
	c.mu.Lock()
	e, ok := c.entries[sum]
	c.mu.Unlock()
	if !ok || !now.Before(e.expiry.Add(v.leeway)) || (!e.notBefore.IsZero() && now.Add(v.leeway).Before(e.notBefore)) {
		return nil, false
	}
	if _, err := v.keys.Key(ctx, e.kid); err != nil {
		return nil, false
	}
	return e.principal.clone(), true
}

func (c *verified) put(sum [sha256.Size]byte, e verifiedToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, old := range c.entries {
			if !now.Before(old.expiry) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[sum] = e
}

// clone is a copy of p that shares no slice with it.
func (p Principal) clone() *Principal {
	p.Enrolments = slices.Clone(p.Enrolments)
	p.Scopes = slices.Clone(p.Scopes)
	return &p
}
