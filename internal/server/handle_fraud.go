package server

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/hmrc"
)

// Bounds on what is kept of one request's headers for feedback: more Gov-*
// headers than the specification has, and values longer than any real one,
// are not worth a row. A value cut to maxSeenValue still fails validation
// as too long when it is replayed.
const (
	maxSeenHeaders = 50
	maxSeenValue   = 4097
)

type fraudKey struct{}

func withFraud(ctx context.Context, a *fraud.Assessment) context.Context {
	return context.WithValue(ctx, fraudKey{}, a)
}

// fraudFrom is the assessment api made of the request's headers.
func fraudFrom(ctx context.Context) *fraud.Assessment {
	a, _ := ctx.Value(fraudKey{}).(*fraud.Assessment)
	return a
}

// checkHeaders validates the request's fraud prevention headers, keeps the
// request for validation feedback (without waiting for it to be written),
// counts and logs the outcome, and, for a produce, returns the assessment
// the rules read (nil otherwise: only a report is analysed). Headers are
// advice: nothing here refuses the request, and a store that cannot keep
// the request only loses feedback.
func (s *Server) checkHeaders(ctx context.Context, r *http.Request, p *auth.Principal, endpoint string) *fraud.Assessment {
	now := s.now().UTC()
	sent := fraud.Collect(r.Header)
	res := fraud.ValidateSent(sent, now)
	var a *fraud.Assessment
	if endpoint == config.EndpointProduce {
		// Read before this request is kept, or it would be its own
		// previous device. Only a request with a device id of its own can
		// show a change.
		var prev string
		if res.DeviceID != "" {
			var err error
			if prev, err = s.opts.Store.LastDeviceID(ctx, p.Subject); err != nil {
				s.log.WarnContext(ctx, "the caller's last device id could not be read", slog.Any("err", err))
			}
		}
		a = fraud.Assess(res, prev)
	}
	seen := fraud.Seen{Owner: feedbackOwner(p), Endpoint: endpoint, ConnectionMethod: string(res.Method), Subject: p.Subject,
		Method: r.Method, Path: r.URL.Path, ReceivedAt: now, Headers: boundedHeaders(sent), DeviceID: res.DeviceID}
	if !s.opts.Store.RecordSeen(seen) {
		s.log.DebugContext(ctx, "the write queue is busy: the request was not kept for validation feedback")
	}
	method := string(res.Method)
	if method == "" {
		method = "none"
	}
	s.opts.Metrics.FraudHeaders(method, res.Code)
	if res.Code == fraud.InvalidHeaders || res.Code == fraud.NoHeaders {
		// Codes and header names only: values are other people's data.
		codes := make([]string, len(res.Errors))
		for i, e := range res.Errors {
			codes[i] = e.Code + " " + strings.Join(e.Headers, ",")
		}
		s.log.WarnContext(ctx, "invalid fraud prevention headers", slog.String("connection_method", method),
			slog.String("outcome", res.Code), slog.Any("errors", codes))
	}
	return a
}

// feedbackOwner is whose feedback a request is: its application's, or,
// for a token that names none, its subject's.
func feedbackOwner(p *auth.Principal) string {
	if p.ClientID != "" {
		return "app:" + p.ClientID
	}
	return "sub:" + p.Subject
}

// boundedHeaders are the Gov-* headers sent, as feedback keeps them.
func boundedHeaders(sent fraud.Sent) map[string]string {
	out := make(map[string]string, min(len(sent.Names), maxSeenHeaders))
	for _, n := range sent.Names[:min(len(sent.Names), maxSeenHeaders)] {
		v := sent.Values[n]
		out[n] = v[:min(len(v), maxSeenValue)]
	}
	return out
}

// handleFraudValidate is the Test Fraud Prevention Headers API's validate:
// the request's own headers, checked. Always 200, as HMRC's is.
func (s *Server) handleFraudValidate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hmrc.AcceptsV1(r.Header.Values("Accept")) {
			s.fail(w, r, errAccept)
			return
		}
		res := fraud.Validate(r.Header, s.now().UTC())
		out := hmrc.FraudValidation{SpecVersion: fraud.SpecVersion, Code: res.Code, Message: res.Message,
			Errors: fraudIssues(res.Errors), Warnings: fraudIssues(res.Warnings)}
		if res.Code == fraud.NoHeaders {
			out.Code = fraud.InvalidHeaders // validate has no NO_HEADERS; its message says why
		}
		s.writeJSON(w, http.StatusOK, out)
	})
}

func fraudIssues(is []fraud.Issue) []hmrc.FraudIssue {
	var out []hmrc.FraudIssue
	for _, i := range is {
		out = append(out, hmrc.FraudIssue{Code: i.Code, Message: i.Message, Headers: i.Headers})
	}
	return out
}

// handleFraudFeedback is validation feedback: the caller's latest request to
// each endpoint of this API, validated as it was received.
func (s *Server) handleFraudFeedback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(hmrc.FraudFeedbackAPIs, r.PathValue("api")) {
			s.fail(w, r, problems{hmrc.ErrFraudFeedbackAPI})
			return
		}
		method := r.URL.Query().Get("connectionMethod")
		if method != "" && !slices.Contains(fraud.Methods, fraud.Method(method)) {
			s.fail(w, r, problems{hmrc.ErrFormatConnectionMethod})
			return
		}
		seen, err := s.opts.Store.Seen(r.Context(), feedbackOwner(auth.FromContext(r.Context())), method)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(seen) == 0 {
			s.fail(w, r, problems{hmrc.ErrNoFraudFeedback})
			return
		}
		out := hmrc.FraudFeedback{Requests: make([]hmrc.FraudRequest, len(seen))}
		for i, sn := range seen {
			out.Requests[i] = feedback(sn)
		}
		s.writeJSON(w, http.StatusOK, out)
	})
}

// feedback is one kept request as validation feedback shows it.
func feedback(sn fraud.Seen) hmrc.FraudRequest {
	res := fraud.ValidateSent(fraud.SentFrom(sn.Headers), sn.ReceivedAt)
	out := hmrc.FraudRequest{Path: sn.Path, Method: sn.Method, RequestTimestamp: sn.ReceivedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		Code: res.Code, Headers: []hmrc.FraudHeader{}, CrossValidation: []hmrc.FraudCross{}}
	for _, h := range res.Headers {
		fh := hmrc.FraudHeader{Header: h.Name, Code: h.Code, Errors: nonNil(h.Errors), Warnings: nonNil(h.Warnings)}
		if h.Present {
			v := h.Value
			fh.Value = &v
		}
		out.Headers = append(out.Headers, fh)
	}
	for _, c := range res.Cross {
		out.CrossValidation = append(out.CrossValidation, hmrc.FraudCross{Headers: c.Headers, Code: c.Code, Errors: nonNil(c.Errors)})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
