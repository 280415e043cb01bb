package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/store"
)

// handleProduce is "produce a report": checks 3 (path parameters) and 4
// (authority), then the report service. 200 with the report, or 204 when
// nothing applies; either way the report is stored.
func (s *Server) handleProduce() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		nino, taxYear, calcID := r.PathValue("nino"), r.PathValue("taxYear"), r.PathValue("calculationId")
		if ps := hmrc.CheckProduce(nino, taxYear, calcID, s.now()); ps != nil {
			s.fail(w, r, problems(ps))
			return
		}
		p := auth.FromContext(ctx)
		if err := s.authorise(ctx, p, nino, config.EndpointProduce); err != nil {
			s.fail(w, r, err)
			return
		}
		rep, err := s.opts.Reports.Produce(ctx, report.Request{
			NINO:          nino,
			TaxYear:       taxYear,
			CalculationID: calcID,
			Language:      preferredLanguage(r.Header.Values("Accept-Language")),
			By:            p.Party(),
			RequestID:     RequestID(ctx),
			Headers:       nrs.HeaderData(r.Header),
			Scenario:      r.Header.Get(hmrc.HeaderGovTestScenario),
			Fraud:         fraudFrom(ctx),
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.opts.Metrics.Report(rep)
		if rep.Body == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeBody(w, http.StatusOK, rep.Body)
	})
}

// handleAcknowledge is "acknowledge a report": 204 once the acknowledgement
// is recorded (or was already).
func (s *Server) handleAcknowledge() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		nino, reportID, correlationID := r.PathValue("nino"), r.PathValue("reportId"), r.PathValue("correlationId")
		if ps := hmrc.CheckAcknowledge(nino, reportID); ps != nil {
			s.fail(w, r, problems(ps))
			return
		}
		p := auth.FromContext(ctx)
		if err := s.authorise(ctx, p, nino, config.EndpointAcknowledge); err != nil {
			s.fail(w, r, err)
			return
		}
		err := s.opts.Reports.Acknowledge(ctx, report.AckRequest{
			NINO: nino, ReportID: reportID, CorrelationID: correlationID,
			By: p.Party(), RequestID: RequestID(ctx), Headers: nrs.HeaderData(r.Header),
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// authorise is check 4: an individual acts only for their own NINO, enrolled
// for MTD Income Tax with confidence level 200 or more; an agent needs an
// agent services account and the client's authorisation, and a supporting
// agent only gets the endpoints configured for supporting agents.
func (s *Server) authorise(ctx context.Context, p *auth.Principal, nino, endpoint string) error {
	if p == nil {
		return errNotAuthorised
	}
	switch p.AffinityGroup {
	case identity.Individual:
		if p.NINO != nino || !p.HasEnrolment(auth.EnrolmentMTDIT) || p.MTDITID == "" || p.ConfidenceLevel < 200 {
			return errNotAuthorised
		}
		return nil
	case identity.Agent:
		if p.ARN == "" || !p.HasEnrolment(auth.EnrolmentAgent) {
			return errNotAuthorised
		}
		kind, err := s.opts.Relationships.Relationship(ctx, p.ARN, nino)
		if errors.Is(err, store.ErrNotFound) {
			return errNotAuthorised
		}
		if err != nil {
			return fmt.Errorf("check agent authorisation: %w", err)
		}
		if kind == store.Supporting && !s.opts.SupportingAgents[endpoint] {
			return errNotAuthorised
		}
		return nil
	default:
		return errNotAuthorised
	}
}

// EncodeReport writes a report as the API returns it: the report service's
// encoder, so that the bytes sent are the bytes proved.
func EncodeReport(r *report.Report) ([]byte, error) {
	return encodeJSON(wireReport(r))
}

// wireReport is a report as the API returns it.
func wireReport(r *report.Report) hmrc.Report {
	out := hmrc.Report{
		ReportID:      r.ID,
		Messages:      []hmrc.Message{},
		NINO:          r.NINO,
		TaxYear:       r.TaxYear,
		CalculationID: r.CalculationID,
		CorrelationID: r.CorrelationID,
	}
	for _, m := range r.ShownMessages() {
		wm := hmrc.Message{Title: m.Title, Body: m.Body, Action: m.Action, Path: m.Path, Links: make([]hmrc.Link, 0, len(m.Links))}
		for _, l := range m.Links {
			wm.Links = append(wm.Links, hmrc.Link{Title: l.Title, URL: l.URL})
		}
		out.Messages = append(out.Messages, wm)
	}
	return out
}
