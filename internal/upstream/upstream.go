// Package upstream fetches calculations from HMRC's Individual Calculations
// API ("retrieve a self assessment tax calculation"), the source of
// calculations in production mode.
//
// Each attempt has its own timeout. A 5xx, 408 or 429 answer, a timeout or
// a transport error is retried a bounded number of times by the shared
// delivery.Policy (exponential backoff and jitter, Retry-After honoured up
// to 30s); a 404 is ErrCalculationNotFound at once; any other answer fails
// without retrying. The caller's bearer token, when the context
// carries one, is passed on.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/report"
)

// DefaultAccept is the version of the Individual Calculations API asked for.
const DefaultAccept = "application/vnd.hmrc.8.0+json"

// Client reads calculations from the Individual Calculations API.
type Client struct {
	base    *url.URL
	http    *http.Client
	timeout time.Duration
	retries int
	log     *slog.Logger
	// Accept is the Accept header sent upstream.
	Accept string
	// Retry spaces the retries (default DefaultRetry).
	Retry delivery.Policy
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
		Retry:    DefaultRetry,
		MaxBytes: report.DefaultMaxCalculationBytes,
	}, nil
}

// DefaultRetry waits 200ms, 400ms, 800ms, ... (capped at 5s), each with up
// to half taken off at random, or what Retry-After asks, up to 30s: a
// request is waiting.
var DefaultRetry = delivery.Policy{Base: 200 * time.Millisecond, Cap: 5 * time.Second, MaxRetryAfter: 30 * time.Second}

// Calculation fetches one calculation's JSON.
func (c *Client) Calculation(ctx context.Context, nino, taxYear, calculationID string) ([]byte, error) {
	u := c.base.JoinPath("individuals", "calculations", nino, "self-assessment", taxYear, calculationID)
	for attempt := 1; ; attempt++ {
		body, err := c.attempt(ctx, u.String())
		if err == nil {
			return body, nil
		}
		wait, retry, _ := c.Retry.Next(attempt, err)
		if !retry {
			return nil, err
		}
		if attempt > c.retries {
			return nil, fmt.Errorf("upstream: giving up after %d attempts: %w", attempt, err)
		}
		c.log.WarnContext(ctx, "retrying upstream", slog.Int("attempt", attempt), slog.Any("err", err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("upstream: %w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

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
		// A transport error or this attempt's timeout is worth another
		// attempt; the caller going away is not.
		cause := context.Cause(ctx)
		return nil, fmt.Errorf("upstream: %w", &delivery.Error{Retryable: cause == nil || errors.Is(cause, context.DeadlineExceeded), Err: err})
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.MaxBytes)+1))
	switch {
	case resp.StatusCode == http.StatusOK:
		if err != nil {
			return nil, fmt.Errorf("upstream: read body: %w", &delivery.Error{Status: resp.StatusCode, Retryable: true, Err: err})
		}
		if len(body) > c.MaxBytes {
			return nil, fmt.Errorf("upstream: calculation larger than %d bytes: %w", c.MaxBytes, report.ErrCalculationTooLarge)
		}
		return body, nil
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("upstream: %w", report.ErrCalculationNotFound)
	default:
		return nil, fmt.Errorf("upstream: %w", delivery.StatusError(resp, "unexpected status"))
	}
}
