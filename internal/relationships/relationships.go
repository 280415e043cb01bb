// Package relationships asks an agent-client relationships service whether
// a client has authorised an agent, in place of the authorisations kept in
// the database (assist agents).
//
// The service is shaped like the check of HMRC's agent-client-relationships
// service: GET {base}/agent/{arn}/service/{service}/client/NI/{nino} answers
// 200 when the relationship exists and 404 (body {"code":
// "RELATIONSHIP_NOT_FOUND"}) when it does not. A main agent holds
// HMRC-MTD-IT, a supporting agent HMRC-MTD-IT-SUPP; HMRC-MTD-IT is asked
// first. The caller's bearer token, when the context carries one, is passed
// on, as HMRC's services pass on the user's authority.
//
// Answers are cached briefly (a yes longer than a no) and the cache is
// bounded. Any other answer, a transport error or a timeout is an error
// wrapping ErrUnavailable: never taken as a yes or a no.
package relationships

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/store"
)

// Services of HMRC's agent-client relationships for MTD Income Tax.
const (
	ServiceMain       = "HMRC-MTD-IT"
	ServiceSupporting = "HMRC-MTD-IT-SUPP"
)

// Defaults of a Client.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultYesTTL     = 60 * time.Second
	DefaultNoTTL      = 10 * time.Second
	DefaultMaxEntries = 10_000
)

// ErrUnavailable is returned (wrapped) when the service gave no usable
// answer: the caller should try again later.
var ErrUnavailable = errors.New("relationships: service unavailable")

// Options tune a Client; zero values take the defaults.
type Options struct {
	// Timeout bounds one call to the service.
	Timeout time.Duration
	// YesTTL and NoTTL are how long an answer is remembered: a revoked
	// authorisation is still honoured for up to YesTTL, a new one refused
	// for up to NoTTL.
	YesTTL, NoTTL time.Duration
	// MaxEntries bounds the cache.
	MaxEntries int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Client checks relationships with the service at a base URL. It is safe
// for concurrent use.
type Client struct {
	base   string // without a trailing slash
	http   *http.Client
	opts   Options
	flight singleflight.Group

	mu    sync.Mutex
	cache map[key]entry
}

type key struct{ arn, nino string }

type entry struct {
	kind    string // store.Main, store.Supporting, or "" for none
	expires time.Time
}

// New returns a Client of the service at baseURL, which must be https, or
// http to a loopback address, with no user information, query or fragment.
func New(baseURL string, opts Options) (*Client, error) {
	u, err := CheckURL(baseURL)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.YesTTL <= 0 {
		opts.YesTTL = DefaultYesTTL
	}
	if opts.NoTTL <= 0 {
		opts.NoTTL = DefaultNoTTL
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Client{
		base: strings.TrimSuffix(u.String(), "/"),
		http: &http.Client{
			// A redirect is not an answer of the check; following it could
			// take the caller's token elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		opts:  opts,
		cache: make(map[key]entry),
	}, nil
}

// CheckURL parses the base URL of a relationships service, refusing what
// would send tokens and NINOs in clear or leak credentials into logs.
func CheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("relationships: %q is not an http(s) URL", raw)
	case u.User != nil:
		return nil, errors.New("relationships: the URL must not hold a user name or password")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("relationships: the URL must not have a query or fragment")
	case u.Scheme == "https":
	case u.Scheme == "http" && auth.IsLoopback(u.Hostname()):
	case u.Scheme == "http":
		return nil, fmt.Errorf("relationships: http is allowed only to a loopback address, not %q; use https", u.Hostname())
	default:
		return nil, fmt.Errorf("relationships: %q is not an http(s) URL", u.Redacted())
	}
	return u, nil
}

// Relationship returns store.Main or store.Supporting, an error wrapping
// store.ErrNotFound when the client has authorised the agent for neither,
// or an error wrapping ErrUnavailable.
func (c *Client) Relationship(ctx context.Context, arn, nino string) (string, error) {
	if !identifier(arn) || !identifier(nino) {
		// No relationship can exist, and it must not reach the URL.
		return found("")
	}
	k := key{arn, nino}
	if kind, ok := c.cached(k); ok {
		return found(kind)
	}
	// One call to the service for concurrent requests about the same pair,
	// not cancelled when the first of them gives up.
	ch := c.flight.DoChan(arn+"\x00"+nino, func() (any, error) {
		kind, err := c.check(context.WithoutCancel(ctx), arn, nino)
		if err == nil {
			c.remember(k, kind)
		}
		return kind, err
	})
	select {
	case <-ctx.Done():
		return "", fmt.Errorf("relationships: %w", context.Cause(ctx))
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return found(res.Val.(string))
	}
}

// identifier reports whether s looks like an ARN or a NINO: a few letters
// and digits, nothing that could change the path.
func identifier(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func found(kind string) (string, error) {
	if kind == "" {
		return "", fmt.Errorf("relationships: no authorisation: %w", store.ErrNotFound)
	}
	return kind, nil
}

// check asks for a main, then a supporting, relationship.
func (c *Client) check(ctx context.Context, arn, nino string) (string, error) {
	for _, s := range []struct{ service, kind string }{
		{ServiceMain, store.Main},
		{ServiceSupporting, store.Supporting},
	} {
		yes, err := c.ask(ctx, s.service, arn, nino)
		if err != nil {
			return "", err
		}
		if yes {
			return s.kind, nil
		}
	}
	return "", nil
}

// ask makes one call. Its errors name the service and the status but not
// the URL, which holds the NINO.
func (c *Client) ask(ctx context.Context, service, arn, nino string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	u := c.base + "/agent/" + url.PathEscape(arn) +
		"/service/" + service + "/client/NI/" + url.PathEscape(nino)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("%w: %s: make request: %w", ErrUnavailable, service, err)
	}
	req.Header.Set("Accept", "application/json")
	if tok := auth.TokenFromContext(ctx); tok != "" {
		req.Header.Set("Authorization", "Bearer "+string(tok))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return false, fmt.Errorf("%w: %s: %w", ErrUnavailable, service, err)
	}
	defer resp.Body.Close()
	// Read a little so that the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	default:
		return false, fmt.Errorf("%w: %s: status %d", ErrUnavailable, service, resp.StatusCode)
	}
}

func (c *Client) cached(k key) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[k]
	if !ok {
		return "", false
	}
	if !c.opts.Now().Before(e.expires) {
		delete(c.cache, k)
		return "", false
	}
	return e.kind, true
}

// remember caches an answer. A full cache first drops what has expired,
// then, if still full, an arbitrary entry: that pair is asked again.
func (c *Client) remember(k key, kind string) {
	ttl := c.opts.NoTTL
	if kind != "" {
		ttl = c.opts.YesTTL
	}
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cache[k]; !ok && len(c.cache) >= c.opts.MaxEntries {
		for ck, e := range c.cache {
			if !now.Before(e.expires) {
				delete(c.cache, ck)
			}
		}
		for ck := range c.cache {
			if len(c.cache) < c.opts.MaxEntries {
				break
			}
			delete(c.cache, ck)
		}
	}
	c.cache[k] = entry{kind: kind, expires: now.Add(ttl)}
}
