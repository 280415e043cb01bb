package report

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/rules"
)

func TestFromResult(t *testing.T) {
	t.Parallel()
	s := &Service{log: slog.New(slog.NewTextHandler(io.Discard, nil)), maxMessages: 5, Now: func() time.Time {
		return time.Date(2026, 11, 25, 12, 0, 0, 0, time.FixedZone("x", 3600))
	}}
	req := Request{NINO: "TC663795B", TaxYear: "2025-26", CalculationID: "c", Language: rules.Welsh,
		By: Party{AffinityGroup: Individual, NINO: "TC663795B"}, RequestID: "r"}
	res := &rules.Result{RuleSetVersion: "v1", Messages: []rules.Message{{RuleID: "A", Title: "t", Links: []rules.Link{{Title: "l", URL: "u"}}}}}
	a, b := s.FromResult(req, res), s.FromResult(req, res)
	uuidV4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	corr := regexp.MustCompile(`^[0-9A-F]{64}$`)
	for _, r := range []*Report{a, b} {
		if !uuidV4.MatchString(r.ID) || !corr.MatchString(r.CorrelationID) {
			t.Errorf("FromResult() id %q, correlation id %q; want a UUID v4 and 64 upper-case hex", r.ID, r.CorrelationID)
		}
		if r.CreatedAt.Location() != time.UTC || r.RuleSetVersion != "v1" || r.Language != rules.Welsh || r.Messages[0].Links[0].URL != "u" {
			t.Errorf("FromResult() = %+v", r)
		}
	}
	if a.ID == b.ID || a.CorrelationID == b.CorrelationID {
		t.Errorf("two reports share an id or correlation id")
	}
	if empty := s.FromResult(req, &rules.Result{}); len(empty.Messages) != 0 {
		t.Errorf("FromResult(no messages) has %d messages", len(empty.Messages))
	}
}

type fakeSource struct{ body []byte }

func (f fakeSource) Calculation(context.Context, string, string, string) ([]byte, error) {
	return f.body, nil
}

type seenAnalyzer struct{ nino string }

func (a *seenAnalyzer) Analyze(_ context.Context, c *calc.Calculation) (en, cy *rules.Result, err error) {
	a.nino = c.NINO
	return &rules.Result{}, &rules.Result{}, nil
}

// The calculation may name another identifier (a sandbox copy, say): the
// guidance must be about the NINO the client asked for.
func TestGenerateUsesTheRequestNINO(t *testing.T) {
	t.Parallel()
	a := &seenAnalyzer{}
	body := []byte(`{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"inputs":{"personalInformation":{"identifier":"AA123456A"}}}`)
	s, err := NewService(nopRepo{}, a, fakeSource{body}, slog.New(slog.DiscardHandler), 5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Generate(context.Background(), Request{NINO: "TC663795B", TaxYear: "2025-26", CalculationID: "12345678"}); err != nil {
		t.Fatal(err)
	}
	if a.nino != "TC663795B" {
		t.Errorf("analyzer saw NINO %q, want the request's TC663795B", a.nino)
	}
}

type nopRepo struct{ Repository }

// A report shows the first maxMessages messages in the engine's order, in
// both languages, and keeps the others, marked as not shown.
func TestReportShowsAtMostMaxMessages(t *testing.T) {
	t.Parallel()
	result := func(prefix string, n int) *rules.Result {
		res := &rules.Result{RuleSetVersion: "v1"}
		for i := range n {
			res.Messages = append(res.Messages, rules.Message{RuleID: fmt.Sprintf("R%d", i), Title: fmt.Sprintf("%s %d", prefix, i)})
		}
		return res
	}
	cases := []struct {
		name             string
		max, applied     int
		wantShown, wantN int
	}{
		{name: "fewer_than_the_cap", max: 5, applied: 3, wantShown: 3, wantN: 3},
		{name: "exactly_the_cap", max: 5, applied: 5, wantShown: 5, wantN: 5},
		{name: "more_than_the_cap", max: 5, applied: 7, wantShown: 5, wantN: 7},
		{name: "cap_of_one", max: 1, applied: 4, wantShown: 1, wantN: 4},
		{name: "nothing_applies", max: 5, applied: 0, wantShown: 0, wantN: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewService(nopRepo{}, &seenAnalyzer{}, fakeSource{}, slog.New(slog.DiscardHandler), tc.max)
			if err != nil {
				t.Fatal(err)
			}
			r := s.fromResults(Request{Language: rules.Welsh}, result("en", tc.applied), result("cy", tc.applied))
			if len(r.Messages) != tc.wantN || len(r.Shown()) != tc.wantShown {
				t.Fatalf("%d messages, %d shown; want %d, %d", len(r.Messages), len(r.Shown()), tc.wantN, tc.wantShown)
			}
			for i, m := range r.Messages {
				if m.RuleID != fmt.Sprintf("R%d", i) || m.Title != fmt.Sprintf("cy %d", i) || m.Shown != (i < tc.wantShown) {
					t.Errorf("message %d = %+v, want R%d in Welsh, shown %v", i, m, i, i < tc.wantShown)
				}
			}
			if len(r.English) != tc.wantShown || len(r.Welsh) != tc.wantShown {
				t.Errorf("the event carries %d English and %d Welsh messages, want the %d shown", len(r.English), len(r.Welsh), tc.wantShown)
			}
		})
	}
	if _, err := NewService(nopRepo{}, &seenAnalyzer{}, fakeSource{}, slog.New(slog.DiscardHandler), 0); err == nil {
		t.Error("NewService(max 0) = nil error, want a refusal")
	}
}
