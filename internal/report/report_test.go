package report

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/rules"
)

// memRepo keeps what the service stores, as the store would.
type memRepo struct {
	mu      sync.Mutex
	reports map[string]*Report
	proofs  map[string][]Proof
	acks    map[string]*Acknowledgement
	fail    error
}

func newMemRepo() *memRepo {
	return &memRepo{reports: map[string]*Report{}, proofs: map[string][]Proof{}, acks: map[string]*Acknowledgement{}}
}

func (m *memRepo) CreateReport(_ context.Context, r *Report, p Proof) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.reports[r.ID] = r
	m.proofs[r.ID] = append(m.proofs[r.ID], p)
	return nil
}

func (m *memRepo) Report(_ context.Context, id string) (*Report, *Acknowledgement, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reports[id]
	if !ok {
		return nil, nil, ErrNotFound
	}
	return r, m.acks[id], nil
}

func (m *memRepo) ReportKey(_ context.Context, id string) (*Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reports[id]
	if !ok {
		return nil, ErrNotFound
	}
	return &Key{ID: r.ID, NINO: r.NINO, TaxYear: r.TaxYear, CalculationID: r.CalculationID, CorrelationID: r.CorrelationID}, nil
}

func (m *memRepo) Acknowledge(_ context.Context, a *Acknowledgement, p Proof) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.acks[a.ReportID]; ok {
		return false, nil
	}
	m.acks[a.ReportID] = a
	m.proofs[a.ReportID] = append(m.proofs[a.ReportID], p)
	return true, nil
}

type fakeSource struct {
	body []byte
	err  error
}

func (f fakeSource) Calculation(context.Context, string, string, string) ([]byte, error) {
	return f.body, f.err
}

// fixedAnalyzer gives n messages, "en i" and "cy i", and notes the NINO
// it was asked about.
type fixedAnalyzer struct {
	n     int
	nino  string
	fraud *fraud.Assessment
}

func (a *fixedAnalyzer) Analyze(_ context.Context, c *calc.Calculation, f *fraud.Assessment) (en, cy *rules.Result, err error) {
	a.nino, a.fraud = c.NINO, f
	result := func(prefix string) *rules.Result {
		res := &rules.Result{RuleSetVersion: "v1"}
		for i := range a.n {
			res.Messages = append(res.Messages, rules.Message{RuleID: fmt.Sprintf("R%d", i), Title: fmt.Sprintf("%s %d", prefix, i),
				Links: []rules.Link{{Title: "l", URL: "https://www.gov.uk/x"}}})
		}
		return res
	}
	return result("en"), result("cy"), nil
}

const calcBody = `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"inputs":{"personalInformation":{"identifier":"AA123456A"}}}`

func newService(t *testing.T, repo Repository, a Analyzer, src CalculationSource, mod func(*Options)) *Service {
	t.Helper()
	o := Options{
		Repo: repo, Analyzer: a, Source: src, Log: slog.New(slog.DiscardHandler), MaxMessages: 5,
		Encode: func(r *Report) ([]byte, error) { return json.Marshal(map[string]any{"reportId": r.ID, "n": r.Shown}) },
		NRS:    true, Events: true,
		Now: func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.FixedZone("x", 3600)) },
	}
	if mod != nil {
		mod(&o)
	}
	s, err := NewService(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var agent = identity.Party{AffinityGroup: identity.Agent, ARN: "AARN1234567", Enrolments: []string{"HMRC-AS-AGENT"}}

// Produce stores the report it returns with the exact body it encoded, and
// queues proof of that body: an NRS submission of those bytes and an event
// with the messages shown, in both languages.
func TestProduceStoresReportWithItsProof(t *testing.T) {
	t.Parallel()
	repo := newMemRepo()
	s := newService(t, repo, &fixedAnalyzer{n: 7}, fakeSource{body: []byte(calcBody)}, nil)
	r, err := s.Produce(context.Background(), Request{NINO: "TC663795B", TaxYear: "2025-26", CalculationID: "12345678",
		Language: rules.Welsh, By: agent, RequestID: "req-1", Headers: map[string]string{"Gov-Client-Device-ID": "d"}})
	if err != nil {
		t.Fatal(err)
	}
	uuidV4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuidV4.MatchString(r.ID) || !regexp.MustCompile(`^[0-9A-F]{64}$`).MatchString(r.CorrelationID) {
		t.Errorf("id %q, correlation id %q; want a UUID v4 and 64 upper-case hex", r.ID, r.CorrelationID)
	}
	if r.CreatedAt.Location() != time.UTC || r.Language != rules.Welsh || len(r.Messages) != 7 || r.Shown != 5 || r.Messages[0].Title != "cy 0" {
		t.Errorf("report = %+v", r)
	}
	// The other language is kept too, and ShownIn picks either.
	if en, lang := r.ShownIn(rules.English); lang != rules.English || len(en) != 5 || en[4].Title != "en 4" {
		t.Errorf("ShownIn(English) = %+v, %s; want the 5 shown, in English", en, lang)
	}
	if cy, lang := r.ShownIn(rules.Welsh); lang != rules.Welsh || cy[0].Title != "cy 0" {
		t.Errorf("ShownIn(Welsh) = %+v, %s", cy, lang)
	}
	if repo.reports[r.ID] != r {
		t.Fatal("the report returned is not the report stored")
	}
	ps := repo.proofs[r.ID]
	if len(ps) != 1 || ps[0].NRS == nil || ps[0].Event == nil || ps[0].RequestID != "req-1" {
		t.Fatalf("proof = %+v, want an NRS submission and an event for req-1", ps)
	}
	payload, _ := base64.StdEncoding.DecodeString(ps[0].NRS.Payload)
	if string(payload) != string(r.Body) || ps[0].NRS.Metadata.IdentityData.ARN != "AARN1234567" || ps[0].NRS.Metadata.HeaderData["Gov-Client-Device-ID"] != "d" {
		t.Errorf("NRS submission %+v does not prove body %s by the agent", ps[0].NRS.Metadata, r.Body)
	}
	msgs := ps[0].Event.Payload.Messages
	if len(msgs) != 5 || msgs[4].EnglishAction.Title != "en 4" || msgs[4].WelshAction.Title != "cy 4" {
		t.Errorf("event messages = %+v, want the 5 shown in both languages", msgs)
	}
}

// Proof is built only for the deliveries that are on, and a report that
// showed nothing (a 204) has none.
func TestProofFollowsDeliveries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name               string
		nrs, events        bool
		messages           int
		wantNRS, wantEvent bool
	}{
		{name: "both", nrs: true, events: true, messages: 1, wantNRS: true, wantEvent: true},
		{name: "nrs_only", nrs: true, messages: 1, wantNRS: true},
		{name: "events_only", events: true, messages: 1, wantEvent: true},
		{name: "none", messages: 1},
		{name: "no_messages", nrs: true, events: true, messages: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			repo := newMemRepo()
			s := newService(t, repo, &fixedAnalyzer{n: tc.messages}, fakeSource{body: []byte(calcBody)}, func(o *Options) { o.NRS, o.Events = tc.nrs, tc.events })
			r, err := s.Produce(context.Background(), Request{NINO: "TC663795B", By: agent})
			if err != nil {
				t.Fatal(err)
			}
			if (r.Body == nil) != (tc.messages == 0) {
				t.Errorf("body %q with %d messages", r.Body, tc.messages)
			}
			p := repo.proofs[r.ID][0]
			if (p.NRS != nil) != tc.wantNRS || (p.Event != nil) != tc.wantEvent {
				t.Errorf("proof NRS %v event %v, want %v %v", p.NRS != nil, p.Event != nil, tc.wantNRS, tc.wantEvent)
			}
		})
	}
}

// The calculation may name another identifier (a sandbox copy, say): the
// guidance must be about the NINO the client asked for.
func TestProduceUsesTheRequestNINO(t *testing.T) {
	t.Parallel()
	a := &fixedAnalyzer{}
	s := newService(t, newMemRepo(), a, fakeSource{body: []byte(calcBody)}, nil)
	if _, err := s.Produce(context.Background(), Request{NINO: "TC663795B", TaxYear: "2025-26", CalculationID: "12345678"}); err != nil {
		t.Fatal(err)
	}
	if a.nino != "TC663795B" {
		t.Errorf("analyzer saw NINO %q, want the request's TC663795B", a.nino)
	}
}

// The request's fraud prevention assessment reaches the rules and is kept
// with the report.
func TestProduceKeepsTheFraudAssessment(t *testing.T) {
	t.Parallel()
	a := &fixedAnalyzer{n: 1}
	repo := newMemRepo()
	s := newService(t, repo, a, fakeSource{body: []byte(calcBody)}, nil)
	f := &fraud.Assessment{ConnectionMethod: "OTHER_DIRECT", Code: fraud.InvalidHeaders, Score: 40,
		Reasons: []fraud.Reason{{Code: fraud.ReasonMissing, Points: 40}}}
	r, err := s.Produce(context.Background(), Request{NINO: "TC663795B", TaxYear: "2025-26", CalculationID: "12345678", Fraud: f})
	if err != nil {
		t.Fatal(err)
	}
	if a.fraud != f || repo.reports[r.ID].Fraud != f {
		t.Errorf("analyzer saw %+v and the stored report has %+v; want %+v in both", a.fraud, repo.reports[r.ID].Fraud, f)
	}
}

// Nothing is given that was not stored, and nothing is stored of a
// calculation that could not be analysed.
func TestProduceFailures(t *testing.T) {
	t.Parallel()
	storeDown := errors.New("disk full")
	cases := []struct {
		name    string
		src     fakeSource
		fail    error
		sandbox bool
		scen    string
		want    error
	}{
		{name: "store_fails", src: fakeSource{body: []byte(calcBody)}, fail: storeDown, want: storeDown},
		{name: "not_found", src: fakeSource{err: ErrCalculationNotFound}, want: ErrCalculationNotFound},
		{name: "too_large", src: fakeSource{body: make([]byte, DefaultMaxCalculationBytes+1)}, want: ErrCalculationTooLarge},
		{name: "unknown_scenario", sandbox: true, scen: "NOPE", want: ErrUnknownScenario},
		{name: "scenario_not_found", sandbox: true, scen: hmrc.ScenarioCalculationNotFound, src: fakeSource{body: []byte(calcBody)}, want: ErrCalculationNotFound},
		{name: "scenario_ignored_in_production", scen: "NOPE", src: fakeSource{err: ErrCalculationNotFound}, want: ErrCalculationNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			repo := newMemRepo()
			repo.fail = tc.fail
			s := newService(t, repo, &fixedAnalyzer{n: 1}, tc.src, func(o *Options) { o.Sandbox = tc.sandbox })
			r, err := s.Produce(context.Background(), Request{NINO: "TC663795B", Scenario: tc.scen})
			if !errors.Is(err, tc.want) || r != nil {
				t.Errorf("Produce() = %v, %v; want %v", r, err, tc.want)
			}
			if len(repo.reports) != 0 {
				t.Errorf("%d reports stored", len(repo.reports))
			}
		})
	}
}

// The sandbox's fixed outcomes: NO_MESSAGES and its calculation id are a
// 204, and a calculation the sandbox does not have gets the example report.
func TestSandboxOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, scen, calcID string
		wantShown          int
		wantVersion        string
	}{
		{name: "no_messages_scenario", scen: hmrc.ScenarioNoMessages, wantVersion: SandboxRuleSetVersion},
		{name: "no_messages_id", calcID: hmrc.SandboxNoMessagesCalculationID, wantVersion: SandboxRuleSetVersion},
		{name: "unknown_calculation", calcID: "c-1", wantShown: 1, wantVersion: SandboxRuleSetVersion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, newMemRepo(), &fixedAnalyzer{n: 3}, fakeSource{err: ErrCalculationNotFound}, func(o *Options) { o.Sandbox = true })
			r, err := s.Produce(context.Background(), Request{NINO: "TC663795B", CalculationID: tc.calcID, Scenario: tc.scen})
			if err != nil {
				t.Fatal(err)
			}
			if r.Shown != tc.wantShown || r.RuleSetVersion != tc.wantVersion {
				t.Errorf("shown %d version %q, want %d %q", r.Shown, r.RuleSetVersion, tc.wantShown, tc.wantVersion)
			}
		})
	}
}

// A report shows the first MaxMessages messages in the engine's order and
// keeps the others.
func TestReportShowsAtMostMaxMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		max, applied int
		wantShown    int
	}{
		{name: "fewer_than_the_cap", max: 5, applied: 3, wantShown: 3},
		{name: "exactly_the_cap", max: 5, applied: 5, wantShown: 5},
		{name: "more_than_the_cap", max: 5, applied: 7, wantShown: 5},
		{name: "cap_of_one", max: 1, applied: 4, wantShown: 1},
		{name: "nothing_applies", max: 5, applied: 0, wantShown: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, newMemRepo(), &fixedAnalyzer{n: tc.applied}, fakeSource{body: []byte(calcBody)}, func(o *Options) { o.MaxMessages = tc.max })
			r, err := s.Produce(context.Background(), Request{NINO: "TC663795B"})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Messages) != tc.applied || len(r.ShownMessages()) != tc.wantShown {
				t.Fatalf("%d messages, %d shown; want %d, %d", len(r.Messages), len(r.ShownMessages()), tc.applied, tc.wantShown)
			}
		})
	}
	if _, err := NewService(Options{Repo: newMemRepo(), Analyzer: &fixedAnalyzer{}, Source: fakeSource{}, Log: slog.New(slog.DiscardHandler)}); err == nil {
		t.Error("NewService(max 0) = nil error, want a refusal")
	}
}

// Acknowledging proves it once; a repeat succeeds and queues nothing; a
// wrong correlation id or another NINO changes nothing.
func TestAcknowledge(t *testing.T) {
	t.Parallel()
	repo := newMemRepo()
	s := newService(t, repo, &fixedAnalyzer{n: 1}, fakeSource{body: []byte(calcBody)}, nil)
	ctx := context.Background()
	r, err := s.Produce(ctx, Request{NINO: "TC663795B", By: agent})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Acknowledge(ctx, AckRequest{NINO: "TC663795B", ReportID: r.ID, CorrelationID: strings.Repeat("0", 64), By: agent}); !errors.Is(err, ErrCorrelationMismatch) {
		t.Errorf("wrong correlation id: %v", err)
	}
	if err := s.Acknowledge(ctx, AckRequest{NINO: "AA123456A", ReportID: r.ID, CorrelationID: r.CorrelationID, By: agent}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another NINO: %v", err)
	}
	for range 2 {
		if err := s.Acknowledge(ctx, AckRequest{NINO: "TC663795B", ReportID: r.ID, CorrelationID: r.CorrelationID, By: agent, RequestID: "req-2"}); err != nil {
			t.Fatal(err)
		}
	}
	ps := repo.proofs[r.ID]
	if len(ps) != 2 || ps[1].NRS == nil || ps[1].Event == nil || ps[1].RequestID != "req-2" || ps[1].NRS.Metadata.NotableEvent != "saa-report-acknowledged" {
		t.Errorf("proofs = %+v, want the report's and one acknowledgement's", ps)
	}
}
