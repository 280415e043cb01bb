package insight

import (
	"testing"
	"time"
)

func TestCompute(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(h float64) time.Time { return now.Add(-time.Duration(h * float64(time.Hour))) }
	ack := func(t time.Time) *time.Time { return &t }
	reports := []Report{
		// A: shown R on calc c1, then a new calculation c2 without R: resolved.
		{ID: "a1", NINO: "A", TaxYear: "2025-26", CalculationID: "c1", CreatedAt: ago(100)},
		{ID: "a1b", NINO: "A", TaxYear: "2025-26", CalculationID: "c1", CreatedAt: ago(99)}, // the same calculation again: not "next"
		{ID: "a2", NINO: "A", TaxYear: "2025-26", CalculationID: "c2", CreatedAt: ago(50)},
		// B: shown R, the next calculation still triggers it: unresolved.
		{ID: "b1", NINO: "B", TaxYear: "2025-26", CalculationID: "c3", CreatedAt: ago(20)},
		{ID: "b2", NINO: "B", TaxYear: "2025-26", CalculationID: "c4", CreatedAt: ago(10)},
		// C: shown R, no later calculation: pending. Another tax year's
		// report does not count as next.
		{ID: "c1", NINO: "C", TaxYear: "2025-26", CalculationID: "c5", CreatedAt: ago(5)},
		{ID: "c9", NINO: "C", TaxYear: "2024-25", CalculationID: "c6", CreatedAt: ago(4)},
		// D: R hidden by the cap only: not followed up.
		{ID: "d1", NINO: "D", TaxYear: "2025-26", CalculationID: "c7", CreatedAt: ago(2)},
		{ID: "d2", NINO: "D", TaxYear: "2025-26", CalculationID: "c8", CreatedAt: ago(1)},
	}
	hits := []Hit{
		{RuleID: "R", ReportID: "a1", NINO: "A", TaxYear: "2025-26", CalculationID: "c1", CreatedAt: ago(100), Shown: true, AcknowledgedAt: ack(ago(99))},
		{RuleID: "R", ReportID: "a1b", NINO: "A", TaxYear: "2025-26", CalculationID: "c1", CreatedAt: ago(99), Shown: true},
		{RuleID: "R", ReportID: "b1", NINO: "B", TaxYear: "2025-26", CalculationID: "c3", CreatedAt: ago(20), Shown: true, AcknowledgedAt: ack(ago(17))},
		{RuleID: "R", ReportID: "b2", NINO: "B", TaxYear: "2025-26", CalculationID: "c4", CreatedAt: ago(10), Shown: true},
		{RuleID: "R", ReportID: "c1", NINO: "C", TaxYear: "2025-26", CalculationID: "c5", CreatedAt: ago(5), Shown: true},
		{RuleID: "R", ReportID: "d1", NINO: "D", TaxYear: "2025-26", CalculationID: "c7", CreatedAt: ago(2), Shown: false},
		{RuleID: "R", ReportID: "old", NINO: "E", TaxYear: "2025-26", CalculationID: "c0", CreatedAt: ago(31 * 24), Shown: true}, // outside the window
		{RuleID: "S", ReportID: "d2", NINO: "D", TaxYear: "2025-26", CalculationID: "c8", CreatedAt: ago(1), Shown: true},
	}
	got := Compute(now, []string{"R", "S", "QUIET"}, hits, reports)
	if len(got) != 3 || got[0].RuleID != "R" || got[1].RuleID != "S" || got[2].RuleID != "QUIET" {
		t.Fatalf("rules = %+v, want R, S, QUIET (most appearances first)", got)
	}
	r := got[0]
	if r.Appeared != [3]int{4, 6, 6} {
		t.Errorf("appeared = %v, want 4 in a day, 6 in 7 days and in 30", r.Appeared)
	}
	if r.Hidden != 1 || r.Shown != 5 || r.Acknowledged != 2 || r.AckShare() != 0.4 {
		t.Errorf("hidden %d, shown %d, acknowledged %d (%v); want 1, 5, 2 (0.4)", r.Hidden, r.Shown, r.Acknowledged, r.AckShare())
	}
	if r.MedianToAcknowledge != 3*time.Hour {
		t.Errorf("median to acknowledge = %v, want 3h (of 1h and 3h, the upper)", r.MedianToAcknowledge)
	}
	if r.Resolved != 1 || r.Unresolved != 1 || r.Pending != 1 || r.ResolutionRate() != 0.5 {
		t.Errorf("resolved %d, unresolved %d, pending %d (rate %v); want 1, 1, 1 (0.5)", r.Resolved, r.Unresolved, r.Pending, r.ResolutionRate())
	}
	if r.Daily[29] != 4 || r.Daily[25] != 2 || sum(r.Daily[:]) != 6 {
		t.Errorf("daily = %v", r.Daily)
	}
	if q := got[2]; q.Appeared != [3]int{} || q.AckShare() != -1 || q.ResolutionRate() != -1 {
		t.Errorf("a rule that never fired = %+v, want zeros and no rates", q)
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
