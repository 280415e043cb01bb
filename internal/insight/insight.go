// Package insight works out, from stored reports, what rule authors need
// to judge their rules: how often each rule appears, how often the cap
// hides it, whether customers acknowledge it and how fast, and whether it
// works: the share of taxpayers shown it whose next calculation in the
// same tax year no longer triggers it (its resolution rate). It reads
// nothing itself; the store gives it rows.
package insight

import (
	"slices"
	"strings"
	"time"
)

// Hit is one rule's appearance in one report.
type Hit struct {
	RuleID, ReportID string
	NINO, TaxYear    string // whose: to follow one taxpayer's calculations, never shown
	CalculationID    string
	CreatedAt        time.Time
	Shown            bool       // false: hidden by the cap on messages
	AcknowledgedAt   *time.Time // the report's acknowledgement, if any
}

// Report is one evaluation of one taxpayer's calculation, whatever fired.
type Report struct {
	ID, NINO, TaxYear, CalculationID string
	CreatedAt                        time.Time
}

// Days are the windows counted, in days before now.
var Days = []int{1, 7, 30}

// Window is how far back the dashboard looks: its longest count.
const Window = 30 * 24 * time.Hour

// Stats are one rule's numbers.
type Stats struct {
	RuleID string
	// Appeared counts reports the rule fired in, in the last 1, 7 and 30
	// days (as Days).
	Appeared [3]int
	// Hidden counts, in the last 30 days, reports where the cap hid it.
	Hidden int
	// Shown counts reports that showed it in the last 30 days, Acknowledged
	// those of them acknowledged, MedianToAcknowledge the median time
	// from report to acknowledgement (0 when none).
	Shown, Acknowledged int
	MedianToAcknowledge time.Duration
	// Of taxpayers first shown the rule in the window (per tax year):
	// Resolved have a later calculation that no longer triggers it,
	// Unresolved one that still does, Pending none yet.
	Resolved, Unresolved, Pending int
	// Daily counts reports it fired in on each of the last 30 days, oldest
	// first.
	Daily [30]int
}

// AckShare is the share of shown reports acknowledged, or -1 with none.
func (s Stats) AckShare() float64 {
	if s.Shown == 0 {
		return -1
	}
	return float64(s.Acknowledged) / float64(s.Shown)
}

// ResolutionRate is the share of followed-up taxpayers whose next
// calculation no longer triggers the rule, or -1 with none followed up.
func (s Stats) ResolutionRate() float64 {
	if n := s.Resolved + s.Unresolved; n > 0 {
		return float64(s.Resolved) / float64(n)
	}
	return -1
}

// Compute works out every rule's stats at now from hits (the last Window
// of rule appearances) and reports (every report in the window of the
// taxpayers in hits). ruleIDs lists the rules to report, so that a rule
// that never fired shows as zeros; rules only in hits are added.
func Compute(now time.Time, ruleIDs []string, hits []Hit, reports []Report) []Stats {
	byRule := map[string]*Stats{}
	get := func(id string) *Stats {
		s, ok := byRule[id]
		if !ok {
			s = &Stats{RuleID: id}
			byRule[id] = s
		}
		return s
	}
	for _, id := range ruleIDs {
		get(id)
	}
	type key struct{ rule, nino, year string }
	first := map[key]Hit{}        // first time shown, per taxpayer and year
	fired := map[[2]string]bool{} // (report, rule)
	waits := map[string][]time.Duration{}
	for _, h := range hits {
		s := get(h.RuleID)
		age := now.Sub(h.CreatedAt)
		if age < 0 || age >= Window {
			continue
		}
		fired[[2]string{h.ReportID, h.RuleID}] = true
		for i, d := range Days {
			if age < time.Duration(d)*24*time.Hour {
				s.Appeared[i]++
			}
		}
		s.Daily[29-int(age/(24*time.Hour))]++
		if !h.Shown {
			s.Hidden++
			continue
		}
		s.Shown++
		if h.AcknowledgedAt != nil {
			s.Acknowledged++
			waits[h.RuleID] = append(waits[h.RuleID], h.AcknowledgedAt.Sub(h.CreatedAt))
		}
		k := key{h.RuleID, h.NINO, h.TaxYear}
		if f, ok := first[k]; !ok || h.CreatedAt.Before(f.CreatedAt) {
			first[k] = h
		}
	}
	for id, w := range waits {
		slices.Sort(w)
		byRule[id].MedianToAcknowledge = w[len(w)/2]
	}
	// Each taxpayer's reports in time order, to find the next calculation.
	slices.SortFunc(reports, func(a, b Report) int { return a.CreatedAt.Compare(b.CreatedAt) })
	byTaxpayer := map[[2]string][]Report{}
	for _, r := range reports {
		k := [2]string{r.NINO, r.TaxYear}
		byTaxpayer[k] = append(byTaxpayer[k], r)
	}
	for k, h := range first {
		s := byRule[k.rule]
		next, ok := nextCalculation(byTaxpayer[[2]string{k.nino, k.year}], h)
		switch {
		case !ok:
			s.Pending++
		case fired[[2]string{next.ID, k.rule}]:
			s.Unresolved++
		default:
			s.Resolved++
		}
	}
	out := make([]Stats, 0, len(byRule))
	for _, s := range byRule {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Stats) int {
		if a.Appeared[2] != b.Appeared[2] {
			return b.Appeared[2] - a.Appeared[2]
		}
		return strings.Compare(a.RuleID, b.RuleID)
	})
	return out
}

// nextCalculation is the first report after h of another calculation: the
// customer changed something and asked again.
func nextCalculation(reports []Report, h Hit) (Report, bool) {
	for _, r := range reports {
		if r.CreatedAt.After(h.CreatedAt) && r.CalculationID != h.CalculationID {
			return r, true
		}
	}
	return Report{}, false
}
