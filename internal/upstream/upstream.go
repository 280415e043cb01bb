// Package upstream fetches calculations from HMRC's Individual Calculations
// API ("retrieve a self assessment tax calculation"), the source of
// calculations in production mode.
//
// Each attempt has its own timeout. A 5xx answer or a transport error is
// retried a bounded number of times with exponential backoff and jitter,
// honouring Retry-After; a 404 is ErrCalculationNotFound at once; any other
// answer fails without retrying. The caller's bearer token, when the context
// carries one, is passed on.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/report"
)

// DefaultAccept is the version of the Individual Calculations API asked for.
const DefaultAccept = "application/vnd.hmrc.8.0+json"

// errRetryable marks an attempt worth repeating.
var errRetryable = errors.New("upstream: retryable")

// Client reads calculations from the Individual Calculations API.
type Client struct {
	base    *url.URL
	http    *http.Client
	timeout time.Duration
	retries int
	log     *slog.Logger
	// Accept is the Accept header sent upstream.
	Accept string
	// Backoff returns the wait before retry n (1, 2, ...).
	Backoff func(n int) time.Duration
	// MaxBytes is the largest calculation read (default
	// report.DefaultMaxCalculationBytes); a larger one is
	// report.ErrCalculationTooLarge, and no more of it is read.
	MaxBytes int
}

var _ report.CalculationSource = (*Client)(nil)

// New returns a Client of the API at baseURL.
func New(baseURL string, timeout time.Duration, retries int, log *slog.Logger) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("upstream: %q is not an http(s) URL", baseURL)
	}
	if timeout <= 0 || retries < 0 || log == nil {
		return nil, errors.New("upstream: needs a positive timeout, retries >= 0 and a logger")
	}
	return &Client{
		base:     u,
		http:     &http.Client{},
		timeout:  timeout,
		retries:  retries,
		log:      log,
		Accept:   DefaultAccept,
		Backoff:  DefaultBackoff,
		MaxBytes: report.DefaultMaxCalculationBytes,
	}, nil
}

// DefaultBackoff waits 200ms, 400ms, 800ms, ... (capped at 5s), each with up
// to 50% jitter.
func DefaultBackoff(n int) time.Duration {
	d := 200 * time.Millisecond << min(n-1, 5)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

// Calculation fetches one calculation's JSON.
func (c *Client) Calculation(ctx context.Context, nino, taxYear, calculationID string) ([]byte, error) {
	u := c.base.JoinPath("individuals", "calculations", nino, "self-assessment", taxYear, calculationID)
	var lastErr error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			wait := c.Backoff(attempt)
			var ra *retryAfter
			if errors.As(lastErr, &ra) {
				wait = max(wait, ra.d)
			}
			c.log.WarnContext(ctx, "retrying upstream", slog.Int("attempt", attempt), slog.Any("err", lastErr))
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("upstream: %w (last error: %v)", ctx.Err(), lastErr)
			case <-t.C:
			}
		}
		body, err := c.attempt(ctx, u.String())
		if err == nil || !errors.Is(err, errRetryable) {
			return body, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("upstream: giving up after %d attempts: %w", c.retries+1, lastErr)
}

type retryAfter struct{ d time.Duration }

func (r *retryAfter) Error() string { return "retry after " + r.d.String() }

func (c *Client) attempt(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("upstream: make request: %w", err)
	}
	req.Header.Set("Accept", c.Accept)
	if tok := auth.TokenFromContext(ctx); tok != "" {
		req.Header.Set("Authorization", "Bearer "+string(tok))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if parent := context.Cause(ctx); parent != nil && !errors.Is(parent, context.DeadlineExceeded) {
			return nil, fmt.Errorf("upstream: %w", err)
		}
		// A transport error or this attempt's timeout.
		return nil, fmt.Errorf("upstream: %w: %v", errRetryable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.MaxBytes)+1))
	switch {
	case resp.StatusCode == http.StatusOK:
		if err != nil {
			return nil, fmt.Errorf("upstream: %w: read body: %v", errRetryable, err)
		}
		if len(body) > c.MaxBytes {
			return nil, fmt.Errorf("upstream: calculation larger than %d bytes: %w", c.MaxBytes, report.ErrCalculationTooLarge)
		}
		return body, nil
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("upstream: %w", report.ErrCalculationNotFound)
	case resp.StatusCode >= 500:
		err := fmt.Errorf("upstream: %w: status %d", errRetryable, resp.StatusCode)
		if d := delivery.RetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 && d <= 30*time.Second {
			return nil, errors.Join(err, &retryAfter{d})
		}
		return nil, err
	default:
		return nil, fmt.Errorf("upstream: unexpected status %d", resp.StatusCode)
	}
}
