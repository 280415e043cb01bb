// Package report is the core of the service: it turns a calculation into a
// report (Generate, then Commit with the exact bytes returned to the client)
// and records acknowledgements. It knows neither HTTP nor SQL: calculations
// come through a CalculationSource, guidance through an Analyzer, and
// storage through a Repository.
package report

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/rules"
)

// Errors the Service returns; the server maps each to an HMRC error.
var (
	// ErrCalculationNotFound means no calculation has that id for that NINO
	// and tax year.
	ErrCalculationNotFound = errors.New("report: calculation not found")
	// ErrNotFound means no report has that id for that NINO.
	ErrNotFound = errors.New("report: report not found")
	// ErrCorrelationMismatch means the correlation id given on acknowledgement
	// is not the report's.
	ErrCorrelationMismatch = errors.New("report: correlation id does not match")
	// ErrCalculationTooLarge means the calculation is larger than the
	// service analyses (the cost of analysis grows with the size).
	ErrCalculationTooLarge = errors.New("report: calculation too large")
)

// DefaultMaxCalculationBytes bounds a calculation: 25 times the largest
// real one (about 40 kB).
const DefaultMaxCalculationBytes = 1 << 20

// Affinity groups of the parties who produce and acknowledge reports.
const (
	Individual = "Individual"
	Agent      = "Agent"
)

// Party is who made a request: an individual (with their NINO) or an agent
// (with their ARN), as their credentials said. Enrolments and confidence
// level go into the non-repudiation record; they are not stored.
type Party struct {
	AffinityGroup   string
	NINO            string
	ARN             string
	Enrolments      []string
	ConfidenceLevel int
}

// Message is one message of a report, in the report's language.
type Message struct {
	RuleID string
	// Severity is the rule's, for the metrics; it is not stored.
	Severity rules.Severity
	Title    string
	Body     string
	Action   string
	Links    []Link
	Path     string
	// Shown tells whether the customer saw the message: a report shows
	// only the first MaxMessages, and keeps the rest for rule authors.
	Shown bool
}

// Link is a link of a message.
type Link struct {
	Title string
	URL   string
}

// Report is one evaluation of one calculation. Every request makes a new one,
// including those with no messages.
type Report struct {
	ID             string // lower-case UUID v4
	NINO           string
	TaxYear        string
	CalculationID  string
	CorrelationID  string // 64 upper-case hex characters; the client acknowledges with it
	RuleSetVersion string
	Language       rules.Lang
	CreatedAt      time.Time // UTC
	// Messages are every message that applied, in the report's language,
	// most important first; those the customer saw have Shown set.
	Messages []Message
	// RuleErrors lists rules that failed at run time; the others still ran.
	RuleErrors []rules.RuleError
	// RequestedBy is who asked for the report.
	RequestedBy Party
	// RequestID is the X-CorrelationId of the response that returned it.
	RequestID string
	// Body is the exact response body returned to the client, or nil when
	// there were no messages (a 204).
	Body []byte
	// English and Welsh are the messages shown, in both languages, for the
	// interaction event. Not stored.
	English, Welsh []Message
	// Headers are the request's headers, without credentials, for the
	// non-repudiation record. Not stored.
	Headers map[string]string
}

// Shown returns the messages the customer saw, in order.
func (r *Report) Shown() []Message {
	var out []Message
	for _, m := range r.Messages {
		if m.Shown {
			out = append(out, m)
		}
	}
	return out
}

// Acknowledgement records that a report was shown in full.
type Acknowledgement struct {
	ReportID       string
	AcknowledgedAt time.Time // UTC
	By             Party
	RequestID      string // the X-CorrelationId of the acknowledging request
	// Report is the report acknowledged, and Headers the request's headers
	// without credentials, for the records that prove it. Not stored.
	Report  *Report
	Headers map[string]string
}

// Repository stores reports and acknowledgements.
type Repository interface {
	// CreateReport stores a new report in one transaction.
	CreateReport(ctx context.Context, r *Report) error
	// Report returns a report and its acknowledgement (nil when there is
	// none), or an error wrapping ErrNotFound.
	Report(ctx context.Context, id string) (*Report, *Acknowledgement, error)
	// Acknowledge records a.ReportID's first acknowledgement; it reports
	// false, and changes nothing, when the report was acknowledged before.
	Acknowledge(ctx context.Context, a *Acknowledgement) (bool, error)
}

// Analyzer runs the guidance engine on a calculation, giving the same
// messages in English and in Welsh.
type Analyzer interface {
	Analyze(ctx context.Context, c *calc.Calculation) (en, cy *rules.Result, err error)
}

// CalculationSource fetches a calculation as the Individual Calculations API
// returns it, or an error wrapping ErrCalculationNotFound.
type CalculationSource interface {
	Calculation(ctx context.Context, nino, taxYear, calculationID string) ([]byte, error)
}

// Request asks for a report.
type Request struct {
	NINO          string
	TaxYear       string
	CalculationID string
	Language      rules.Lang
	By            Party
	RequestID     string
	// Headers are the request's headers without credentials.
	Headers map[string]string
}

// Service produces and acknowledges reports.
type Service struct {
	repo     Repository
	analyzer Analyzer
	source   CalculationSource
	log      *slog.Logger
	// maxMessages is how many messages a report shows at most.
	maxMessages int
	// Now is the clock; tests may replace it before first use.
	Now func() time.Time
	// MaxCalculationBytes is the largest calculation analysed (default
	// DefaultMaxCalculationBytes); set it before first use.
	MaxCalculationBytes int
}

// NewService returns a Service over its dependencies, all required. A
// report shows at most maxMessages messages, the most important first, as
// HMRC's service shows five.
func NewService(repo Repository, analyzer Analyzer, source CalculationSource, log *slog.Logger, maxMessages int) (*Service, error) {
	switch {
	case maxMessages < 1:
		return nil, fmt.Errorf("report: a report must be able to show a message, not %d", maxMessages)
	case repo == nil:
		return nil, errors.New("report: missing repository")
	case analyzer == nil:
		return nil, errors.New("report: missing analyzer")
	case source == nil:
		return nil, errors.New("report: missing calculation source")
	case log == nil:
		return nil, errors.New("report: missing logger")
	}
	return &Service{repo: repo, analyzer: analyzer, source: source, log: log, maxMessages: maxMessages, Now: time.Now, MaxCalculationBytes: DefaultMaxCalculationBytes}, nil
}

// Generate fetches the calculation and evaluates it. The report is not
// stored until Commit.
func (s *Service) Generate(ctx context.Context, req Request) (*Report, error) {
	data, err := s.source.Calculation(ctx, req.NINO, req.TaxYear, req.CalculationID)
	if err != nil {
		return nil, fmt.Errorf("fetch calculation: %w", err)
	}
	if len(data) > s.MaxCalculationBytes {
		return nil, fmt.Errorf("calculation %s has %d bytes, more than %d: %w", req.CalculationID, len(data), s.MaxCalculationBytes, ErrCalculationTooLarge)
	}
	c, err := calc.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode calculation %s: %w", req.CalculationID, err)
	}
	// Guidance names the customer the request is for: paths to their data
	// must carry the NINO the client asked about.
	c.NINO = req.NINO
	en, cy, err := s.analyzer.Analyze(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("analyze calculation %s: %w", req.CalculationID, err)
	}
	for _, re := range en.Errors {
		s.log.WarnContext(ctx, "rule failed", slog.String("rule_id", re.RuleID), slog.String("err", re.Error))
	}
	return s.fromResults(req, en, cy), nil
}

// FromResult makes a new report of a given result, for the sandbox's fixed
// outcomes, whose text is the same in both languages.
func (s *Service) FromResult(req Request, res *rules.Result) *Report {
	return s.fromResults(req, res, res)
}

func (s *Service) fromResults(req Request, en, cy *rules.Result) *Report {
	res := en
	if req.Language == rules.Welsh {
		res = cy
	}
	// The engine orders messages by importance, the same in both
	// languages; the first maxMessages are shown.
	english, welsh := messages(en), messages(cy)
	shown := min(len(english), s.maxMessages)
	for _, ms := range [][]Message{english, welsh} {
		for i := range ms {
			ms[i].Shown = i < shown
		}
	}
	all := english
	if req.Language == rules.Welsh {
		all = welsh
	}
	return &Report{
		ID:             uuid.NewString(),
		NINO:           req.NINO,
		TaxYear:        req.TaxYear,
		CalculationID:  req.CalculationID,
		CorrelationID:  newCorrelationID(),
		RuleSetVersion: res.RuleSetVersion,
		Language:       req.Language,
		CreatedAt:      s.Now().UTC(),
		Messages:       all,
		RuleErrors:     res.Errors,
		RequestedBy:    req.By,
		RequestID:      req.RequestID,
		English:        english[:shown],
		Welsh:          welsh[:shown],
		Headers:        req.Headers,
	}
}

func messages(res *rules.Result) []Message {
	out := make([]Message, 0, len(res.Messages))
	for _, m := range res.Messages {
		msg := Message{RuleID: m.RuleID, Severity: m.Severity, Title: m.Title, Body: m.Body, Action: m.Action, Path: m.Path, Links: []Link{}}
		for _, l := range m.Links {
			msg.Links = append(msg.Links, Link{Title: l.Title, URL: l.URL})
		}
		out = append(out, msg)
	}
	return out
}

// Commit stores a report with the exact body returned for it (nil when it
// shows no messages).
func (s *Service) Commit(ctx context.Context, r *Report, body []byte) error {
	r.Body = body
	if err := s.repo.CreateReport(ctx, r); err != nil {
		return fmt.Errorf("store report %s: %w", r.ID, err)
	}
	return nil
}

// Acknowledge records that the report was shown in full. A report of another
// NINO is not found; a repeat succeeds and records nothing new.
func (s *Service) Acknowledge(ctx context.Context, nino, reportID, correlationID string, by Party, requestID string, headers map[string]string) error {
	id := strings.ToLower(reportID)
	r, _, err := s.repo.Report(ctx, id)
	if err != nil {
		return fmt.Errorf("find report: %w", err)
	}
	if r.NINO != nino {
		return fmt.Errorf("report %s is of another NINO: %w", id, ErrNotFound)
	}
	if subtle.ConstantTimeCompare([]byte(r.CorrelationID), []byte(correlationID)) != 1 {
		return ErrCorrelationMismatch
	}
	created, err := s.repo.Acknowledge(ctx, &Acknowledgement{
		ReportID:       id,
		AcknowledgedAt: s.Now().UTC(),
		By:             by,
		RequestID:      requestID,
		Report:         r,
		Headers:        headers,
	})
	if err != nil {
		return fmt.Errorf("store acknowledgement: %w", err)
	}
	if !created {
		s.log.InfoContext(ctx, "report already acknowledged", slog.String("report_id", id))
	}
	return nil
}

// Find returns a report and its acknowledgement, for the sandbox.
func (s *Service) Find(ctx context.Context, reportID string) (*Report, *Acknowledgement, error) {
	return s.repo.Report(ctx, strings.ToLower(reportID))
}

// newCorrelationID returns 32 random bytes as 64 upper-case hex characters.
func newCorrelationID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return strings.ToUpper(hex.EncodeToString(b))
}
