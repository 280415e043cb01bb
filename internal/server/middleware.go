package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/logging"
	"github.com/open-assist/assist/internal/metrics"
)

type requestIDKey struct{}

// RequestID returns the X-CorrelationId of the request in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusWriter remembers the status and size of a response, and the HMRC
// code of an error answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	size   int
	code   hmrc.Code
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.size += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// base gives every response a fresh X-CorrelationId and the headers that
// keep it out of caches and content sniffing (204s too), turns a panic into
// a 500 (never a stack trace to the client), and logs, counts and traces
// each request. It logs and labels the route pattern, not the path, so no
// NINO reaches the logs, the metrics or the spans, and never a header.
func (s *Server) base(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := uuid.NewString()
		w.Header().Set(hmrc.HeaderCorrelationID, id)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		sw := &statusWriter{ResponseWriter: w}
		// A caller's traceparent makes this request's span part of its
		// trace. The route is not known until the mux has matched it: the
		// span is named when it ends.
		ctx := s.opts.Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := s.tracer.Start(ctx, "HTTP", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(spanMethod(r.Method)), attribute.String(AttrCorrelationID, id)))
		defer span.End()
		r = r.WithContext(context.WithValue(ctx, requestIDKey{}, id))
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					s.writeProblems(sw, problems{hmrc.ErrInternalServerError})
				}
			}
			route := r.Pattern
			if route == "" {
				route = "(none)"
			}
			s.log.InfoContext(r.Context(), "request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", sw.status),
				slog.Int("bytes", sw.size),
				logging.Duration("duration", time.Since(start)))
			status := sw.status
			if status == 0 {
				status = http.StatusOK // what net/http sends for a handler that wrote nothing
			}
			s.opts.Metrics.Request(route, status, string(sw.code), time.Since(start))
			endSpan(span, r.Method, r.Pattern, status, sw.code)
		}()
		if len(r.RequestURI) > MaxURIBytes {
			s.writeProblems(sw, problems{hmrc.ErrURITooLong})
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// AttrCorrelationID is the span attribute of a request's X-CorrelationId.
const AttrCorrelationID = "assist.correlation_id"

// endSpan names a request's span after its route pattern ("POST
// /reports/{nino}/..."), or its method when no route matched, as
// OpenTelemetry's HTTP conventions do, and records the answer: its status
// and, for an error, its HMRC code. Only a 5xx is an error of the server's.
func endSpan(span trace.Span, method, pattern string, status int, code hmrc.Code) {
	if _, route, ok := strings.Cut(pattern, " "); ok {
		span.SetName(pattern)
		span.SetAttributes(semconv.HTTPRoute(route))
	} else if m := spanMethod(method); m != "_OTHER" {
		span.SetName(m)
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if code != "" {
		span.SetAttributes(semconv.ErrorTypeKey.String(string(code)))
	}
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, string(code))
	}
}

// spanMethod is the request's method as a span may hold it: one of HTTP's
// own, or _OTHER, so that a client cannot fill the traces with methods of
// its own making.
func spanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// fallback answers paths the mux does not know (404) and known paths asked
// with another method (405 with Allow) with JSON bodies.
func (s *Server) fallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &probeWriter{header: http.Header{}}
		h.ServeHTTP(probe, r)
		switch probe.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", probe.header.Get("Allow"))
			s.writeProblems(w, problems{hmrc.ErrMethodNotAllowed})
		default:
			s.writeProblems(w, problems{hmrc.ErrNotFound})
		}
	})
}

// probeWriter captures what the mux would answer, without writing it.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

// api guards an API endpoint with the contract's first two checks: the
// Accept header (406) and a bearer token (401); then the token's subject's
// rate limit (429), the scope (401), and a slot among the requests in
// flight (503). Once admitted, the request's fraud prevention headers are
// checked for endpoint (never refusing it: see checkHeaders).
func (s *Server) api(scope, endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, raw, ok := s.verify(w, r)
		if !ok {
			return
		}
		if !p.HasScope(scope) {
			s.fail(w, r, errScope)
			return
		}
		if !s.slots.acquire(r.Context()) {
			s.opts.Metrics.Rejected(metrics.ReasonSaturation)
			s.fail(w, r, errBusy)
			return
		}
		s.opts.Metrics.Started()
		defer func() {
			s.opts.Metrics.Finished()
			s.slots.release()
		}()
		ctx, cancel := context.WithTimeout(auth.NewContext(r.Context(), p, raw), s.opts.RequestTimeout)
		defer cancel()
		ctx = withFraud(ctx, s.checkHeaders(ctx, r, p, endpoint))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authenticated guards an endpoint outside the report API (validation of
// fraud prevention headers) with the same Accept, token and rate checks,
// but no scope and no slot: any token of ours will do.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, raw, ok := s.verify(w, r)
		if !ok {
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p, raw)))
	})
}

// verify answers the request itself, and reports false, unless it accepts
// version 1.0, carries a valid bearer token, and its subject is within the
// rate limit.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) (*auth.Principal, auth.Token, bool) {
	if !hmrc.AcceptsV1(r.Header.Values("Accept")) {
		s.fail(w, r, errAccept)
		return nil, "", false
	}
	raw, ok := bearerToken(r.Header.Values("Authorization"))
	if !ok {
		s.fail(w, r, errMissingCredentials)
		return nil, "", false
	}
	p, err := s.opts.Verifier.Verify(r.Context(), raw)
	if err != nil {
		s.log.InfoContext(r.Context(), "token refused", slog.Any("err", err))
		s.fail(w, r, err)
		return nil, "", false
	}
	if s.rate != nil {
		if wait, ok := s.rate.allow(p.Subject, time.Now()); !ok {
			s.opts.Metrics.Rejected(metrics.ReasonRateLimit)
			w.Header().Set("Retry-After", retryAfter(wait))
			s.fail(w, r, errThrottled)
			return nil, "", false
		}
	}
	return p, raw, true
}

// bearerToken returns the token of a lone "Authorization: Bearer X" header.
func bearerToken(values []string) (auth.Token, bool) {
	if len(values) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return auth.Token(tok), true
}
