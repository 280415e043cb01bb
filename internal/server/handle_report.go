package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/store"
)

// handleProduce is "produce a report": checks 3 (path parameters) and 4
// (authority), the sandbox's scenarios, then the guidance engine. 200 with
// the report, or 204 when nothing applies; either way the report is stored.
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
		req := report.Request{
			NINO:          nino,
			TaxYear:       taxYear,
			CalculationID: calcID,
			Language:      preferredLanguage(r.Header.Values("Accept-Language")),
			By:            party(p),
			RequestID:     RequestID(ctx),
			Headers:       nrs.HeaderData(r.Header),
		}
		rep, err := s.generate(ctx, req, r.Header.Get(hmrc.HeaderGovTestScenario))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var body []byte
		if len(rep.Shown()) > 0 {
			if body, err = encodeJSON(wireReport(rep)); err != nil {
				s.fail(w, r, fmt.Errorf("encode report: %w", err))
				return
			}
		}
		if err := s.opts.Reports.Commit(ctx, rep, body); err != nil {
			s.fail(w, r, err)
			return
		}
		// Counted here, the one caller of Commit, once the report is
		// stored: a report that failed to store was never given.
		s.metrics.Report(rep)
		if body == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeBody(w, http.StatusOK, body)
	})
}

// generate evaluates the calculation, or, in the sandbox, applies a
// Gov-Test-Scenario or a fixed calculation id first, and answers ids with no
// stored calculation with the example report.
func (s *Server) generate(ctx context.Context, req report.Request, scenario string) (*report.Report, error) {
	svc := s.opts.Reports
	if s.opts.Sandbox {
		switch scenario {
		case "":
		case hmrc.ScenarioNoMessages:
			return svc.FromResult(req, noMessages()), nil
		case hmrc.ScenarioCalculationNotFound:
			return nil, report.ErrCalculationNotFound
		default:
			return nil, errScenario
		}
		switch req.CalculationID {
		case hmrc.SandboxNoMessagesCalculationID:
			return svc.FromResult(req, noMessages()), nil
		case hmrc.SandboxNotFoundCalculationID:
			return nil, report.ErrCalculationNotFound
		}
	}
	rep, err := svc.Generate(ctx, req)
	if s.opts.Sandbox && errors.Is(err, report.ErrCalculationNotFound) {
		return svc.FromResult(req, exampleResult()), nil
	}
	return rep, err
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
		if err := s.opts.Reports.Acknowledge(ctx, nino, reportID, correlationID, party(p), RequestID(ctx), nrs.HeaderData(r.Header)); err != nil {
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
	case auth.Individual:
		if p.NINO != nino || !p.HasEnrolment(auth.EnrolmentMTDIT) || p.MTDITID == "" || p.ConfidenceLevel < 200 {
			return errNotAuthorised
		}
		return nil
	case auth.Agent:
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

func party(p *auth.Principal) report.Party {
	if p.AffinityGroup == auth.Agent {
		return report.Party{AffinityGroup: report.Agent, ARN: p.ARN, Enrolments: p.Enrolments, ConfidenceLevel: p.ConfidenceLevel}
	}
	return report.Party{AffinityGroup: report.Individual, NINO: p.NINO, Enrolments: p.Enrolments, ConfidenceLevel: p.ConfidenceLevel}
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
	for _, m := range r.Shown() {
		wm := hmrc.Message{Title: m.Title, Body: m.Body, Action: m.Action, Path: m.Path, Links: make([]hmrc.Link, 0, len(m.Links))}
		for _, l := range m.Links {
			wm.Links = append(wm.Links, hmrc.Link{Title: l.Title, URL: l.URL})
		}
		out.Messages = append(out.Messages, wm)
	}
	return out
}
