package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// KeySource finds the public key that verifies a token.
type KeySource interface {
	// Key returns the signing key with id kid; a token that names no key
	// (kid "") may use the only key of a set of one.
	Key(ctx context.Context, kid string) (jose.JSONWebKey, error)
}

// Limits on a key set: a real issuer publishes a handful of keys in a few
// kilobytes.
const (
	maxKeySetBytes = 1 << 20
	maxKeys        = 100
	minRSABits     = 2048
)

// keyList is a checked key set: public signing keys only.
type keyList []jose.JSONWebKey

// Key implements KeySource.
func (l keyList) Key(_ context.Context, kid string) (jose.JSONWebKey, error) {
	if k, ok := l.find(kid); ok {
		return k, nil
	}
	return jose.JSONWebKey{}, fmt.Errorf("no key with id %q", kid)
}

func (l keyList) find(kid string) (jose.JSONWebKey, bool) {
	if kid == "" {
		if len(l) == 1 {
			return l[0], true
		}
		return jose.JSONWebKey{}, false
	}
	i := slices.IndexFunc(l, func(k jose.JSONWebKey) bool { return k.KeyID == kid })
	if i < 0 {
		return jose.JSONWebKey{}, false
	}
	return l[i], true
}

// StaticKeys returns a KeySource of a fixed key set (the sandbox's own key,
// or a test's), refusing one that CheckKeySet refuses.
func StaticKeys(set jose.JSONWebKeySet) (KeySource, error) {
	return checkKeys(set.Keys)
}

// ParseKeySet reads a JSON Web Key Set ({"keys":[...]}) and checks it as
// CheckKeySet does. Keys published for encryption ("use":"enc") are left
// out: they verify nothing.
func ParseKeySet(data []byte) (jose.JSONWebKeySet, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return jose.JSONWebKeySet{}, fmt.Errorf("key set is not JSON: %w", err)
	}
	if len(raw.Keys) > maxKeys {
		return jose.JSONWebKeySet{}, fmt.Errorf("key set has %d keys, more than %d", len(raw.Keys), maxKeys)
	}
	var set jose.JSONWebKeySet
	for i, r := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			return jose.JSONWebKeySet{}, fmt.Errorf("key %d: %w", i, err)
		}
		if k.Use == "enc" {
			continue
		}
		set.Keys = append(set.Keys, k)
	}
	if _, err := checkKeys(set.Keys); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	return set, nil
}

// CheckKeySet refuses a key set the service must never trust: an empty one;
// a symmetric key (whoever holds the secret could mint tokens, and it may be
// shared with other relying parties); a private key (the set was put
// together wrongly and the key has leaked); a key for another use or
// algorithm than RS256, PS256, ES256 or EdDSA; an RSA key under 2048 bits;
// two keys with one id.
func CheckKeySet(set jose.JSONWebKeySet) error {
	_, err := checkKeys(set.Keys)
	return err
}

func checkKeys(keys []jose.JSONWebKey) (keyList, error) {
	if len(keys) == 0 {
		return nil, errors.New("key set has no signing keys")
	}
	if len(keys) > maxKeys {
		return nil, fmt.Errorf("key set has %d keys, more than %d", len(keys), maxKeys)
	}
	var errs []error
	seen := map[string]bool{}
	for i, k := range keys {
		name := fmt.Sprintf("key %d (kid %q)", i, k.KeyID)
		if err := checkKey(k); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		if seen[k.KeyID] {
			errs = append(errs, fmt.Errorf("%s: another key has this id", name))
		}
		seen[k.KeyID] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(keys) > 1 && seen[""] {
		return nil, errors.New("key set has several keys, not all with a key id")
	}
	return keyList(slices.Clone(keys)), nil
}

func checkKey(k jose.JSONWebKey) error {
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		if key.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits is under %d", key.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		if key.Curve != elliptic.P256() {
			return fmt.Errorf("elliptic curve %s is not P-256 (ES256)", key.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	case []byte:
		return errors.New("symmetric keys are refused: only RS256, PS256, ES256 and EdDSA public keys verify tokens")
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return errors.New("private keys are refused: a key set publishes public keys only")
	default:
		return fmt.Errorf("key type %T is not supported", k.Key)
	}
	if k.Use != "" && k.Use != "sig" {
		return fmt.Errorf("use %q is not sig", k.Use)
	}
	if k.Algorithm != "" && !slices.Contains(allowedAlgs, jose.SignatureAlgorithm(k.Algorithm)) {
		return fmt.Errorf("algorithm %q is not one of %v", k.Algorithm, allowedAlgs)
	}
	return nil
}

// CheckJWKSURL reports whether u may locate a token issuer's key set:
// https, a file: URL (file:///etc/assist/jwks.json or file:jwks.json), or
// http to a loopback address only (a sidecar on the same host, or a test),
// since keys fetched in clear over a network could be swapped on the way.
func CheckJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", s)
		}
	case "http":
		if !IsLoopback(u.Hostname()) {
			return fmt.Errorf("%q: http is allowed only to a loopback address; use https", u.Redacted())
		}
	case "file":
		if filePath(u) == "" {
			return fmt.Errorf("%q names no file", s)
		}
	default:
		return fmt.Errorf("%q is neither an https:// nor a file: URL", u.Redacted())
	}
	return nil
}

// IsLoopback tells whether host names this machine: the one place http (no
// TLS) is allowed for a service that carries keys, tokens or NINOs.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// filePath is the path of file:///abs/path or file:relative/path.
func filePath(u *url.URL) string {
	if u.Opaque != "" {
		return u.Opaque
	}
	return u.Path
}

// JWKSConfig configures a JWKS.
type JWKSConfig struct {
	// URL locates the key set (see CheckJWKSURL).
	URL string
	// Timeout bounds one fetch; default 10s.
	Timeout time.Duration
	// MinRefresh is the least time between two fetches caused by tokens
	// naming an unknown key, so that made-up key ids cannot turn the service
	// into a flood of requests to the issuer; default 30s.
	MinRefresh time.Duration
	// Client fetches https and http URLs; default one with Timeout. It must
	// not follow redirects to another scheme; the default follows none.
	Client *http.Client
	Log    *slog.Logger
	Now    func() time.Time
}

// JWKS is a token issuer's key set, fetched from a URL, kept in memory,
// fetched again on a schedule (Run) and when a token names a key it does
// not hold (at most once per MinRefresh). A failed refresh keeps the keys
// already held.
type JWKS struct {
	url        *url.URL
	client     *http.Client
	timeout    time.Duration
	minRefresh time.Duration
	log        *slog.Logger
	now        func() time.Time

	fetchMu     sync.Mutex // one fetch at a time
	lastMissing time.Time  // last fetch caused by an unknown key id; under fetchMu

	mu   sync.RWMutex
	keys keyList
}

// NewJWKS fetches the key set at cfg.URL, and fails if it cannot: a service
// that cannot verify tokens must not start.
func NewJWKS(ctx context.Context, cfg JWKSConfig) (*JWKS, error) {
	if err := CheckJWKSURL(cfg.URL); err != nil {
		return nil, fmt.Errorf("auth: JWKS URL: %w", err)
	}
	u, _ := url.Parse(cfg.URL)
	j := &JWKS{url: u, client: cfg.Client, timeout: cfg.Timeout, minRefresh: cfg.MinRefresh, log: cfg.Log, now: cfg.Now}
	if j.timeout <= 0 {
		j.timeout = 10 * time.Second
	}
	if j.minRefresh <= 0 {
		j.minRefresh = 30 * time.Second
	}
	if j.client == nil {
		j.client = &http.Client{
			Timeout:       j.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if j.log == nil {
		j.log = slog.New(slog.DiscardHandler)
	}
	if j.now == nil {
		j.now = time.Now
	}
	j.fetchMu.Lock()
	defer j.fetchMu.Unlock()
	if err := j.fetch(ctx); err != nil {
		return nil, err
	}
	return j, nil
}

// Key implements KeySource, fetching the set again for an unknown key id
// unless that was done less than MinRefresh ago.
func (j *JWKS) Key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	if k, ok := j.find(kid); ok {
		return k, nil
	}
	j.fetchMu.Lock()
	defer j.fetchMu.Unlock()
	// Another request may have fetched the set while this one waited.
	if k, ok := j.find(kid); ok {
		return k, nil
	}
	if since := j.now().Sub(j.lastMissing); since < j.minRefresh {
		return jose.JSONWebKey{}, fmt.Errorf("no key with id %q (key set fetched %s ago)", kid, since.Round(time.Second))
	}
	j.lastMissing = j.now()
	// The fetch serves every later request too: a caller who hangs up must
	// not cut it short.
	if err := j.fetch(context.WithoutCancel(ctx)); err != nil {
		j.log.WarnContext(ctx, "key set refresh failed", slog.String("url", j.url.Redacted()), slog.Any("err", err))
		return jose.JSONWebKey{}, fmt.Errorf("no key with id %q: %w", kid, err)
	}
	if k, ok := j.find(kid); ok {
		return k, nil
	}
	return jose.JSONWebKey{}, fmt.Errorf("no key with id %q, even after fetching the key set", kid)
}

// Refresh fetches the key set now; on failure the keys held are kept.
func (j *JWKS) Refresh(ctx context.Context) error {
	j.fetchMu.Lock()
	defer j.fetchMu.Unlock()
	return j.fetch(ctx)
}

// Run fetches the key set every interval until ctx is done, so that keys
// the issuer withdraws stop being accepted. Failures are logged and the
// keys held are kept.
func (j *JWKS) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := j.Refresh(ctx); err != nil && ctx.Err() == nil {
				j.log.WarnContext(ctx, "key set refresh failed", slog.String("url", j.url.Redacted()), slog.Any("err", err))
			}
		}
	}
}

func (j *JWKS) find(kid string) (jose.JSONWebKey, bool) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	return j.keys.find(kid)
}

// fetch reads and checks the key set, replacing the one held. The caller
// holds fetchMu.
func (j *JWKS) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, j.timeout)
	defer cancel()
	data, err := j.read(ctx)
	if err != nil {
		return fmt.Errorf("auth: fetch key set %s: %w", j.url.Redacted(), err)
	}
	set, err := ParseKeySet(data)
	if err != nil {
		return fmt.Errorf("auth: key set %s: %w", j.url.Redacted(), err)
	}
	keys, _ := checkKeys(set.Keys)
	j.mu.Lock()
	j.keys = keys
	j.mu.Unlock()
	j.log.InfoContext(ctx, "key set fetched", slog.String("url", j.url.Redacted()), slog.Int("keys", len(keys)))
	return nil
}

func (j *JWKS) read(ctx context.Context) ([]byte, error) {
	var body io.ReadCloser
	if j.url.Scheme == "file" {
		f, err := os.Open(filePath(j.url))
		if err != nil {
			return nil, err
		}
		body = f
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url.String(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := j.client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("status %d", resp.StatusCode)
		}
		body = resp.Body
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxKeySetBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeySetBytes {
		return nil, fmt.Errorf("key set is larger than %d bytes", maxKeySetBytes)
	}
	return data, nil
}
