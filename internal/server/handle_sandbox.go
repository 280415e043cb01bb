package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/store"
)

// The sandbox's test-support endpoints take and return application/json,
// whatever the Accept header, and need no token.

// Bodies of the test-support endpoints.
type (
	createIndividualRequest struct {
		NINO            string    `json:"nino"`
		Scopes          *[]string `json:"scopes"`
		MTDEnrolled     *bool     `json:"mtdEnrolled"`
		ConfidenceLevel *int      `json:"confidenceLevel"`
	}
	createIndividualResponse struct {
		NINO        string `json:"nino"`
		MTDITID     string `json:"mtdItId"`
		AccessToken string `json:"accessToken"`
		ExpiresIn   int    `json:"expiresIn"`
		UserID      string `json:"userId"`
		Password    string `json:"password"`
	}
	createAgentRequest struct {
		ARN    string    `json:"arn"`
		Scopes *[]string `json:"scopes"`
	}
	createAgentResponse struct {
		ARN         string `json:"arn"`
		AccessToken string `json:"accessToken"`
		ExpiresIn   int    `json:"expiresIn"`
		UserID      string `json:"userId"`
		Password    string `json:"password"`
	}
	putClientRequest struct {
		Type string `json:"type"`
	}
	storedReport struct {
		ReportID        string                 `json:"reportId"`
		NINO            string                 `json:"nino"`
		TaxYear         string                 `json:"taxYear"`
		CalculationID   string                 `json:"calculationId"`
		CorrelationID   string                 `json:"correlationId"`
		RuleSetVersion  string                 `json:"ruleSetVersion"`
		Language        string                 `json:"language"`
		CreatedAt       string                 `json:"createdAt"`
		Messages        []storedMessage        `json:"messages"`
		Acknowledgement *storedAcknowledgement `json:"acknowledgement"`
		// Fraud is what the request's fraud prevention headers showed
		// (null for reports made before they were checked).
		Fraud *fraud.Assessment `json:"fraud"`
	}
	storedMessage struct {
		RuleID string      `json:"ruleId"`
		Title  string      `json:"title"`
		Body   string      `json:"body"`
		Action string      `json:"action"`
		Links  []hmrc.Link `json:"links"`
		Path   string      `json:"path"`
		// Shown is false for a message that applied but was past the cap.
		Shown bool `json:"shown"`
	}
	storedAcknowledgement struct {
		AcknowledgedAt string      `json:"acknowledgedAt"`
		By             storedParty `json:"by"`
	}
	storedParty struct {
		AffinityGroup string `json:"affinityGroup"`
		NINO          string `json:"nino,omitempty"`
		ARN           string `json:"arn,omitempty"`
	}
)

// handleCreateIndividual makes a test user and a token for them, like HMRC's
// Create Test User API, with a user id and password to sign in with through
// /oauth/authorize. Everything in the body is optional.
func (s *Server) handleCreateIndividual() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in createIndividualRequest
		if err := decodeOptional(w, r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		if in.NINO == "" {
			in.NINO = randomNINO()
		}
		if !hmrc.ValidNINO(in.NINO) {
			s.fail(w, r, invalidRequest("nino %q is not a valid National Insurance number", in.NINO))
			return
		}
		scopes, err := checkScopes(in.Scopes)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		enrolled := in.MTDEnrolled == nil || *in.MTDEnrolled
		level := 250
		if in.ConfidenceLevel != nil {
			level = *in.ConfidenceLevel
		}
		if level < 0 || level > 500 {
			s.fail(w, r, invalidRequest("confidenceLevel %d is not between 0 and 500", level))
			return
		}
		ind := &store.Individual{NINO: in.NINO, MTDITID: randomMTDITID(), MTDEnrolled: enrolled, ConfidenceLevel: level, CreatedAt: s.now().UTC()}
		if err := s.opts.Store.PutIndividual(r.Context(), ind); err != nil {
			s.fail(w, r, err)
			return
		}
		tok, ttl, err := s.opts.Issuer.Issue(auth.IndividualPrincipal(ind.NINO, ind.MTDITID, enrolled, level, scopes))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		login, err := s.opts.OAuth.NewUser(r.Context(), identity.Individual, ind.NINO, "")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeJSON(w, http.StatusCreated, createIndividualResponse{NINO: ind.NINO, MTDITID: ind.MTDITID, AccessToken: string(tok), ExpiresIn: ttl,
			UserID: login.UserID, Password: login.Password})
	})
}

// handleCreateAgent makes a test agent with an agent services account, and a
// token for them.
func (s *Server) handleCreateAgent() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in createAgentRequest
		if err := decodeOptional(w, r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		if in.ARN == "" {
			in.ARN = randomARN()
		}
		if !hmrc.ValidARN(in.ARN) {
			s.fail(w, r, invalidRequest("arn %q is not an agent reference number such as AARN1234567", in.ARN))
			return
		}
		scopes, err := checkScopes(in.Scopes)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.opts.Store.PutAgent(r.Context(), &store.Agent{ARN: in.ARN, CreatedAt: s.now().UTC()}); err != nil {
			s.fail(w, r, err)
			return
		}
		tok, ttl, err := s.opts.Issuer.Issue(auth.AgentPrincipal(in.ARN, scopes))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		login, err := s.opts.OAuth.NewUser(r.Context(), identity.Agent, "", in.ARN)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeJSON(w, http.StatusCreated, createAgentResponse{ARN: in.ARN, AccessToken: string(tok), ExpiresIn: ttl,
			UserID: login.UserID, Password: login.Password})
	})
}

// handlePutClient records that a client authorised an agent, as main or
// supporting agent.
func (s *Server) handlePutClient() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arn, nino, err := s.agentClient(r, true)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var in putClientRequest
		if err := decodeOptional(w, r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		if in.Type != store.Main && in.Type != store.Supporting {
			s.fail(w, r, invalidRequest(`type must be "main" or "supporting"`))
			return
		}
		if err := s.opts.Store.PutRelationship(r.Context(), arn, nino, in.Type); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleDeleteClient withdraws a client's authorisation of an agent. Like
// any DELETE it may be repeated: withdrawing nothing is no error.
func (s *Server) handleDeleteClient() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arn, nino, err := s.agentClient(r, false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.opts.Store.DeleteRelationship(r.Context(), arn, nino); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// agentClient checks the path of the agent-client endpoints and, when
// mustExist, that the agent was created.
func (s *Server) agentClient(r *http.Request, mustExist bool) (arn, nino string, err error) {
	arn, nino = r.PathValue("arn"), r.PathValue("nino")
	var ps problems
	if !hmrc.ValidNINO(nino) {
		ps = append(ps, hmrc.ErrFormatNINO)
	}
	if !hmrc.ValidARN(arn) {
		ps = append(ps, hmrc.ErrInvalidRequest.WithMessage(fmt.Sprintf("arn %q is not an agent reference number such as AARN1234567", arn)))
	}
	if ps != nil {
		return "", "", ps
	}
	if !mustExist {
		return arn, nino, nil
	}
	if _, err := s.opts.Store.Agent(r.Context(), arn); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", "", errAgentNotFound
		}
		return "", "", err
	}
	return arn, nino, nil
}

// handlePutCalculation loads a calculation, as the Individual Calculations
// API returns it, for "produce a report" to find.
func (s *Server) handlePutCalculation() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nino, taxYear, calcID := r.PathValue("nino"), r.PathValue("taxYear"), r.PathValue("calculationId")
		if ps := hmrc.CheckProduce(nino, taxYear, calcID, s.now()); ps != nil {
			s.fail(w, r, problems(ps))
			return
		}
		max := s.opts.MaxCalculationBytes
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(max)))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.fail(w, r, problems{hmrc.ErrInvalidCalculation.WithMessage(fmt.Sprintf("the calculation is larger than %d bytes (--max-calculation-bytes)", max))})
				return
			}
			s.fail(w, r, invalidRequest("read body: %v", err))
			return
		}
		c, err := calc.Decode(data)
		if err != nil {
			s.fail(w, r, problems{hmrc.ErrInvalidCalculation.WithMessage(err.Error())})
			return
		}
		switch {
		case c.TaxYear != taxYear:
			s.fail(w, r, problems{hmrc.ErrInvalidCalculation.WithMessage(fmt.Sprintf("the calculation is for tax year %s, not %s", c.TaxYear, taxYear))})
			return
		case c.CalculationID != calcID:
			s.fail(w, r, problems{hmrc.ErrInvalidCalculation.WithMessage(fmt.Sprintf("the calculation's metadata.calculationId is %s, not %s", c.CalculationID, calcID))})
			return
		}
		if err := s.opts.Store.PutCalculation(r.Context(), nino, taxYear, calcID, data); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleGetReport shows a stored report with its rule ids and its
// acknowledgement.
func (s *Server) handleGetReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("reportId")
		if !hmrc.ValidReportID(id) {
			s.fail(w, r, problems{hmrc.ErrFormatReportID})
			return
		}
		rep, ack, err := s.opts.Reports.Find(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeJSON(w, http.StatusOK, storedView(rep, ack))
	})
}

func storedView(rep *report.Report, ack *report.Acknowledgement) storedReport {
	out := storedReport{
		ReportID:       rep.ID,
		NINO:           rep.NINO,
		TaxYear:        rep.TaxYear,
		CalculationID:  rep.CalculationID,
		CorrelationID:  rep.CorrelationID,
		RuleSetVersion: rep.RuleSetVersion,
		Language:       string(rep.Language),
		CreatedAt:      rep.CreatedAt.UTC().Format(time.RFC3339Nano),
		Messages:       make([]storedMessage, 0, len(rep.Messages)),
		Fraud:          rep.Fraud,
	}
	for i, m := range rep.Messages {
		sm := storedMessage{RuleID: m.RuleID, Title: m.Title, Body: m.Body, Action: m.Action, Path: m.Path, Links: make([]hmrc.Link, 0, len(m.Links)), Shown: i < rep.Shown}
		for _, l := range m.Links {
			sm.Links = append(sm.Links, hmrc.Link{Title: l.Title, URL: l.URL})
		}
		out.Messages = append(out.Messages, sm)
	}
	if ack != nil {
		out.Acknowledgement = &storedAcknowledgement{
			AcknowledgedAt: ack.AcknowledgedAt.UTC().Format(time.RFC3339Nano),
			By:             storedParty{AffinityGroup: string(ack.By.AffinityGroup), NINO: ack.By.NINO, ARN: ack.By.ARN},
		}
	}
	return out
}

func invalidRequest(format string, args ...any) error {
	return problems{hmrc.ErrInvalidRequest.WithMessage(fmt.Sprintf(format, args...))}
}

// decodeOptional reads a JSON object body into v; an empty body leaves v as
// it is. Unknown fields and trailing data are refused.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return invalidRequest("the body is larger than %d bytes", tooBig.Limit)
		}
		return invalidRequest("read body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidRequest("the body is not the expected JSON object: %v", err)
	}
	if dec.More() {
		return invalidRequest("the body must hold one JSON object")
	}
	return nil
}

// checkScopes defaults to both scopes and refuses unknown ones.
func checkScopes(scopes *[]string) ([]string, error) {
	if scopes == nil {
		return []string{hmrc.ScopeRead, hmrc.ScopeWrite}, nil
	}
	for _, sc := range *scopes {
		if sc != hmrc.ScopeRead && sc != hmrc.ScopeWrite {
			return nil, invalidRequest("unknown scope %q (want %s or %s)", sc, hmrc.ScopeRead, hmrc.ScopeWrite)
		}
	}
	return *scopes, nil
}

// randomNINO returns a valid NINO, random enough for test users.
func randomNINO() string {
	const (
		first  = "ABCEGHJKLMNOPRSTWXYZ"
		second = "ABCEGHJKLMNPRSTWXYZ"
	)
	for {
		n := string(first[randN(len(first))]) + string(second[randN(len(second))]) +
			fmt.Sprintf("%06d", randN(1000000)) + string("ABCD"[randN(4)])
		if hmrc.ValidNINO(n) {
			return n
		}
	}
}

// randomMTDITID returns an MTD Income Tax reference such as XAIT00012345678.
func randomMTDITID() string {
	return "X" + string(rune('A'+randN(26))) + "IT" + fmt.Sprintf("%011d", randN(100000000000))
}

// randomARN returns an agent reference number such as AARN1234567.
func randomARN() string {
	return string(rune('A'+randN(26))) + "ARN" + fmt.Sprintf("%07d", randN(10000000))
}

func randN(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return int(v.Int64())
}
