// Package report is the core of the service: it turns a calculation into a
// report, builds the records that prove the customer was shown it, and
// stores both with one call; likewise for acknowledgements. It knows
// neither HTTP nor SQL: calculations come through a CalculationSource,
// guidance through an Analyzer, the response body through an Encoder, and
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
	"go.opentelemetry.io/otel/attribute"

	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/tracing"
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
	// ErrUnknownScenario means a sandbox request named a Gov-Test-Scenario
	// this service does not simulate.
	ErrUnknownScenario = errors.New("report: unknown test scenario")
)

// DefaultMaxCalculationBytes bounds a calculation: 25 times the largest
// real one (about 40 kB).
const DefaultMaxCalculationBytes = 1 << 20

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
	// most important first; the customer saw the first Shown of them.
	Messages []rules.Message
	Shown    int
	// Translation is Messages in the other language, in the same order, so
	// that the report can be read in either; nil for reports stored
	// before both were kept.
	Translation []rules.Message
	// RuleErrors lists rules that failed at run time; the others still ran.
	RuleErrors []rules.RuleError
	// RequestedBy is who asked for the report.
	RequestedBy identity.Party
	// RequestID is the X-CorrelationId of the response that returned it.
	RequestID string
	// Body is the exact response body returned to the client, or nil when
	// no message was shown (a 204).
	Body []byte
	// Fraud is what the request's fraud prevention headers showed; nil for
	// reports made before they were checked.
	Fraud *fraud.Assessment
}

// ShownMessages returns the messages the customer saw, in order.
func (r *Report) ShownMessages() []rules.Message { return r.Messages[:r.Shown] }

// ShownIn returns the messages the customer saw, in lang when the report
// has them in it, and the language they are in.
func (r *Report) ShownIn(lang rules.Lang) ([]rules.Message, rules.Lang) {
	if lang != r.Language && len(r.Translation) == len(r.Messages) && r.Translation != nil {
		return r.Translation[:r.Shown], lang
	}
	return r.ShownMessages(), r.Language
}

// Acknowledgement records that a report was shown in full.
type Acknowledgement struct {
	ReportID       string
	AcknowledgedAt time.Time // UTC
	By             identity.Party
	RequestID      string // the X-CorrelationId of the acknowledging request
}

// Key is what acknowledging a report needs of it: whose it is, the
// correlation id it is acknowledged with, and what the event names.
type Key struct {
	ID, NINO, TaxYear, CalculationID, CorrelationID string
}

// Proof is what is queued with a report or an acknowledgement, in the same
// transaction, to be delivered later: the non-repudiation submission and
// the interaction event, each nil when that delivery is off.
type Proof struct {
	NRS   *nrs.Submission
	Event *events.Event
	// RequestID is the X-CorrelationId the event is sent with.
	RequestID string
}

// Repository stores reports and acknowledgements with their proof.
type Repository interface {
	// CreateReport stores a new report and queues its proof, both or
	// neither.
	CreateReport(ctx context.Context, r *Report, p Proof) error
	// Report returns a report and its acknowledgement (nil when there is
	// none), or an error wrapping ErrNotFound.
	Report(ctx context.Context, id string) (*Report, *Acknowledgement, error)
	// ReportKey returns a report's Key, or an error wrapping ErrNotFound:
	// a cheaper read than Report, for acknowledgements.
	ReportKey(ctx context.Context, id string) (*Key, error)
	// Acknowledge records a.ReportID's first acknowledgement and queues its
	// proof; it reports false, and changes nothing, when the report was
	// acknowledged before.
	Acknowledge(ctx context.Context, a *Acknowledgement, p Proof) (bool, error)
}

// Analyzer runs the guidance engine on a calculation, giving the same
// messages in English and in Welsh.
type Analyzer interface {
	Analyze(ctx context.Context, c *calc.Calculation, f *fraud.Assessment) (en, cy *rules.Result, err error)
}

// CalculationSource fetches a calculation as the Individual Calculations API
// returns it, or an error wrapping ErrCalculationNotFound.
type CalculationSource interface {
	Calculation(ctx context.Context, nino, taxYear, calculationID string) ([]byte, error)
}

// Encoder writes a report with messages as the API returns it: the bytes
// the customer is sent are the bytes the non-repudiation record proves.
type Encoder func(*Report) ([]byte, error)

// Request asks for a report.
type Request struct {
	NINO          string
	TaxYear       string
	CalculationID string
	Language      rules.Lang
	By            identity.Party
	RequestID     string
	// Headers are the request's headers as nrs.HeaderData keeps them.
	Headers map[string]string
	// Scenario is the sandbox's Gov-Test-Scenario, if any.
	Scenario string
	// Fraud is the assessment of the request's fraud prevention headers:
	// the rules read it, and it is stored with the report. Nil when the
	// request was not checked.
	Fraud *fraud.Assessment
}

// Options are the dependencies and settings of a Service.
type Options struct {
	Repo     Repository
	Analyzer Analyzer
	Source   CalculationSource
	Encode   Encoder
	Log      *slog.Logger
	// MaxMessages is how many messages a report shows at most, the most
	// important first (HMRC's service shows five).
	MaxMessages int
	// MaxCalculationBytes is the largest calculation analysed (default
	// DefaultMaxCalculationBytes).
	MaxCalculationBytes int
	// NRS and Events say which proof to build: a record is built only for
	// a destination it will be delivered to.
	NRS, Events bool
	// Sandbox turns on the sandbox's fixed outcomes (sandbox.go).
	Sandbox bool
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Service produces and acknowledges reports.
type Service struct {
	opts Options
}

// NewService returns a Service, checking that it has what it needs.
func NewService(o Options) (*Service, error) {
	switch {
	case o.MaxMessages < 1:
		return nil, fmt.Errorf("report: a report must be able to show a message, not %d", o.MaxMessages)
	case o.Repo == nil:
		return nil, errors.New("report: missing repository")
	case o.Analyzer == nil:
		return nil, errors.New("report: missing analyzer")
	case o.Source == nil:
		return nil, errors.New("report: missing calculation source")
	case o.Encode == nil:
		return nil, errors.New("report: missing encoder")
	case o.Log == nil:
		return nil, errors.New("report: missing logger")
	}
	if o.MaxCalculationBytes <= 0 {
		o.MaxCalculationBytes = DefaultMaxCalculationBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{opts: o}, nil
}

// Produce evaluates the calculation (or, in the sandbox, applies a fixed
// outcome), encodes the report and stores it with its proof. The report is
// returned only once stored: a report that failed to store was never given.
func (s *Service) Produce(ctx context.Context, req Request) (*Report, error) {
	en, cy, err := s.results(ctx, req)
	if err != nil {
		return nil, err
	}
	r := s.newReport(req, en, cy)
	if r.Shown > 0 {
		if r.Body, err = s.opts.Encode(r); err != nil {
			return nil, fmt.Errorf("encode report %s: %w", r.ID, err)
		}
	}
	p, err := s.reportProof(r, req.Headers, en, cy)
	if err != nil {
		return nil, err
	}
	if err := s.opts.Repo.CreateReport(ctx, r, p); err != nil {
		return nil, fmt.Errorf("store report %s: %w", r.ID, err)
	}
	return r, nil
}

// results are the engine's messages for the request, in both languages.
func (s *Service) results(ctx context.Context, req Request) (en, cy *rules.Result, err error) {
	if s.opts.Sandbox {
		if res, fixed, err := sandboxOutcome(req); fixed {
			return res, res, err
		}
	}
	en, cy, err = s.analyze(ctx, req)
	if s.opts.Sandbox && errors.Is(err, ErrCalculationNotFound) {
		res := exampleResult()
		return res, res, nil
	}
	return en, cy, err
}

func (s *Service) analyze(ctx context.Context, req Request) (en, cy *rules.Result, err error) {
	data, err := s.fetch(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	c, err := decode(ctx, data, req.CalculationID)
	if err != nil {
		return nil, nil, err
	}
	// Guidance names the customer the request is for: paths to their data
	// must carry the NINO the client asked about.
	c.NINO = req.NINO
	en, cy, err = s.opts.Analyzer.Analyze(ctx, c, req.Fraud)
	if err != nil {
		return nil, nil, fmt.Errorf("analyze calculation %s: %w", req.CalculationID, err)
	}
	for _, re := range en.Errors {
		s.opts.Log.WarnContext(ctx, "rule failed", slog.String("rule_id", re.RuleID), slog.String("err", re.Error))
	}
	return en, cy, nil
}

func (s *Service) fetch(ctx context.Context, req Request) (data []byte, err error) {
	ctx, end := tracing.Start(ctx, nil, "calc.fetch")
	defer end(&err)
	data, err = s.opts.Source.Calculation(ctx, req.NINO, req.TaxYear, req.CalculationID)
	if err != nil {
		return nil, fmt.Errorf("fetch calculation: %w", err)
	}
	if len(data) > s.opts.MaxCalculationBytes {
		return nil, fmt.Errorf("calculation %s has %d bytes, more than %d: %w", req.CalculationID, len(data), s.opts.MaxCalculationBytes, ErrCalculationTooLarge)
	}
	return data, nil
}

func decode(ctx context.Context, data []byte, calculationID string) (c *calc.Calculation, err error) {
	_, end := tracing.Start(ctx, nil, "calc.decode", attribute.Int("assist.calculation_bytes", len(data)))
	defer end(&err)
	if c, err = calc.Decode(data); err != nil {
		return nil, fmt.Errorf("decode calculation %s: %w", calculationID, err)
	}
	return c, nil
}

func (s *Service) newReport(req Request, en, cy *rules.Result) *Report {
	res, other := en, cy
	if req.Language == rules.Welsh {
		res, other = cy, en
	}
	return &Report{
		ID:             uuid.NewString(),
		NINO:           req.NINO,
		TaxYear:        req.TaxYear,
		CalculationID:  req.CalculationID,
		CorrelationID:  newCorrelationID(),
		RuleSetVersion: res.RuleSetVersion,
		Language:       req.Language,
		CreatedAt:      s.opts.Now().UTC(),
		Messages:       res.Messages,
		Translation:    other.Messages,
		// The engine orders messages by importance, the same in both
		// languages; the first MaxMessages are shown.
		Shown:       min(len(res.Messages), s.opts.MaxMessages),
		RuleErrors:  res.Errors,
		RequestedBy: req.By,
		RequestID:   req.RequestID,
		Fraud:       req.Fraud,
	}
}

// reportProof builds the records of a report the customer was shown. A
// report with no messages (a 204) showed nothing, so it has none, as with
// HMRC's own service. The event carries the messages shown in both
// languages.
func (s *Service) reportProof(r *Report, headers map[string]string, en, cy *rules.Result) (Proof, error) {
	p := Proof{RequestID: r.RequestID}
	if r.Body == nil {
		return p, nil
	}
	if s.opts.NRS {
		sub := nrs.NewSubmission(nrs.EventReportGenerated, r.Body, r.CreatedAt, r.RequestedBy, headers, r.ID)
		p.NRS = &sub
	}
	if s.opts.Events {
		m := events.Meta{NINO: r.NINO, TaxYear: r.TaxYear, CalculationID: r.CalculationID, By: r.RequestedBy}
		e, err := events.GenerateReport(r.ID, r.CreatedAt, m, en.Messages[:r.Shown], cy.Messages[:r.Shown])
		if err != nil {
			return p, fmt.Errorf("report %s: %w", r.ID, err)
		}
		p.Event = &e
	}
	return p, nil
}

// AckRequest asks to acknowledge a report.
type AckRequest struct {
	NINO, ReportID, CorrelationID string
	By                            identity.Party
	RequestID                     string
	// Headers are the request's headers as nrs.HeaderData keeps them.
	Headers map[string]string
}

// Acknowledge records that the report was shown in full, with its proof. A
// report of another NINO is not found; a repeat succeeds and records
// nothing new.
func (s *Service) Acknowledge(ctx context.Context, req AckRequest) error {
	id := strings.ToLower(req.ReportID)
	r, err := s.opts.Repo.ReportKey(ctx, id)
	if err != nil {
		return fmt.Errorf("find report: %w", err)
	}
	if r.NINO != req.NINO {
		return fmt.Errorf("report %s is of another NINO: %w", id, ErrNotFound)
	}
	if subtle.ConstantTimeCompare([]byte(r.CorrelationID), []byte(req.CorrelationID)) != 1 {
		return ErrCorrelationMismatch
	}
	a := &Acknowledgement{ReportID: id, AcknowledgedAt: s.opts.Now().UTC(), By: req.By, RequestID: req.RequestID}
	p := Proof{RequestID: req.RequestID}
	if s.opts.NRS {
		sub := nrs.NewSubmission(nrs.EventReportAcknowledged, nrs.AcknowledgementPayload(id), a.AcknowledgedAt, a.By, req.Headers, id)
		p.NRS = &sub
	}
	if s.opts.Events {
		e := events.AcknowledgeReport(id, a.AcknowledgedAt, events.Meta{NINO: r.NINO, TaxYear: r.TaxYear, CalculationID: r.CalculationID, By: a.By})
		p.Event = &e
	}
	created, err := s.opts.Repo.Acknowledge(ctx, a, p)
	if err != nil {
		return fmt.Errorf("store acknowledgement: %w", err)
	}
	if !created {
		s.opts.Log.InfoContext(ctx, "report already acknowledged", slog.String("report_id", id))
	}
	return nil
}

// Find returns a report and its acknowledgement, for the sandbox.
func (s *Service) Find(ctx context.Context, reportID string) (*Report, *Acknowledgement, error) {
	return s.opts.Repo.Report(ctx, strings.ToLower(reportID))
}

// newCorrelationID returns 32 random bytes as 64 upper-case hex characters.
func newCorrelationID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return strings.ToUpper(hex.EncodeToString(b))
}

// Summary is what a list of reports shows of one: for an agent's view of
// their clients.
type Summary struct {
	ID, NINO, TaxYear string
	CreatedAt         time.Time
	Shown             int        // messages the customer was shown
	AcknowledgedAt    *time.Time // nil until acknowledged
}
