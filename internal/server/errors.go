package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/relationships"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/store"
)

// Errors of the request pipeline itself.
var (
	errAccept             = errors.New("server: accept header is not version 1.0")
	errMissingCredentials = errors.New("server: no bearer token")
	errScope              = errors.New("server: token lacks the scope")
	errNotAuthorised      = errors.New("server: caller may not act for this NINO")
	errAgentNotFound      = errors.New("server: no such agent")
)

// problems is an error that is already the answer: one or more HMRC errors.
type problems []hmrc.Problem

func (p problems) Error() string {
	var b bytes.Buffer
	for i, e := range p {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(e.Error.Code))
	}
	return "server: " + b.String()
}

// errorTable maps each known error to what the client sees. It is the only
// place where an error gets an HTTP status and an HMRC code.
var errorTable = []struct {
	err     error
	problem hmrc.Problem
}{
	{errAccept, hmrc.ErrAcceptHeaderInvalid},
	{errMissingCredentials, hmrc.ErrMissingCredentials},
	{auth.ErrInvalidToken, hmrc.ErrInvalidCredentials},
	{errScope, hmrc.ErrInvalidScope},
	{errNotAuthorised, hmrc.ErrClientOrAgentNotAuthorised},
	{report.ErrUnknownScenario, hmrc.ErrIncorrectGovTestScenario},
	{report.ErrCalculationNotFound, hmrc.ErrMatchingCalculationNotFound},
	{report.ErrNotFound, hmrc.ErrReportNotFound},
	{report.ErrCorrelationMismatch, hmrc.ErrCorrelationIDNotAuthorised},
	{errAgentNotFound, hmrc.ErrAgentNotFound},
	{report.ErrCalculationTooLarge, hmrc.ErrCalculationTooLarge},
	{errThrottled, hmrc.ErrThrottled},
	{errBusy, hmrc.ErrBusy},
	// The agent relationships service gave no answer: neither a yes nor a
	// no, so try again later.
	{relationships.ErrUnavailable, hmrc.ErrBusy},
}

// problemsFor returns what the client sees for err, and whether err was
// expected (an unexpected error is a 500 and gets logged).
func problemsFor(err error) (problems, bool) {
	var ps problems
	if errors.As(err, &ps) {
		return ps, true
	}
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return problems{e.problem}, true
		}
	}
	// A saturated database, or a request that ran out of time (waiting for
	// a connection, the write lock or the upstream API), is worth trying
	// again later: 503, not 500.
	if store.Busy(err) || errors.Is(err, context.DeadlineExceeded) {
		return problems{hmrc.ErrBusy}, true
	}
	return problems{hmrc.ErrInternalServerError}, false
}

// fail writes the answer for err, logging it once when it is unexpected,
// and a warning when the service is saturated.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	ps, expected := problemsFor(err)
	switch {
	case !expected:
		s.log.ErrorContext(r.Context(), "request failed", slog.Any("err", err),
			slog.Group("request", slog.String("method", r.Method), slog.String("route", r.Pattern)))
	case ps[0].Status == http.StatusServiceUnavailable:
		s.log.WarnContext(r.Context(), "service busy", slog.Any("err", err), slog.String("route", r.Pattern))
	}
	s.writeProblems(w, ps)
}

// writeProblems writes one or more errors: a lone "object" problem as an
// object, anything else as an array, with the first problem's status.
func (s *Server) writeProblems(w http.ResponseWriter, ps problems) {
	noteCode(w, ps[0].Error.Code)
	if st := ps[0].Status; (st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "1")
	}
	if len(ps) == 1 && ps[0].Object {
		s.writeJSON(w, ps[0].Status, ps[0].Error)
		return
	}
	body := make([]hmrc.Error, len(ps))
	for i, p := range ps {
		body[i] = p.Error
	}
	s.writeJSON(w, ps[0].Status, body)
}

// writeJSON writes v as compact JSON, not escaping <, > and & (as HMRC does).
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := encodeJSON(v)
	if err != nil {
		s.log.Error("encode response", slog.Any("err", err))
		status = http.StatusInternalServerError
		body = []byte(`[{"code":"INTERNAL_SERVER_ERROR","message":"An internal server error occurred"}]`)
	}
	writeBody(w, status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", hmrc.ContentTypeJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(body)
}

func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// noteCode tells the statusWriter under w the HMRC code of the answer (the
// first problem's), for the request metrics.
func noteCode(w http.ResponseWriter, code hmrc.Code) {
	for {
		if sw, ok := w.(*statusWriter); ok {
			sw.code = code
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
