package web

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/open-assist/assist/internal/rules"
)

// RulesPage is the rule authors' dashboard: every rule's numbers.
type RulesPage struct {
	Layout
	Rows []RuleRow
}

// RuleRow is one rule's numbers, written for people.
type RuleRow struct {
	ID, Severity         string
	Appeared             [3]int // last 1, 7 and 30 days
	Hidden               int
	AckShare, MedianAck  string // "40%", "3 hours"; "–" when there is nothing to measure
	Resolution           string // "50%" or "–"
	Resolved, Unresolved int
	Pending              int
	Chart                template.HTML
}

// RulePage is one rule: its numbers, what it says and recent evidence.
type RulePage struct {
	Layout
	Row      RuleRow
	Rule     *rules.Rule // nil when the loaded catalogue no longer has it
	TaxYears string
	Chart    template.HTML
	Evidence []EvidenceRow
}

// EvidenceRow is the values behind one recent appearance.
type EvidenceRow struct {
	At     string
	Values []string // "name: value", sorted by name
}

// BarChart draws counts (oldest first, one a day) as a small SVG bar
// chart, described for screen readers by label.
func BarChart(counts []int, width, height int, label string) template.HTML {
	peak := 1
	for _, c := range counts {
		peak = max(peak, c)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="assist-chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`,
		width, height, width, height, template.HTMLEscapeString(label))
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(label))
	bar := float64(width) / float64(max(len(counts), 1))
	for i, c := range counts {
		h := float64(height-1) * float64(c) / float64(peak)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#1d70b8"/>`, float64(i)*bar+0.5, float64(height-1)-h, bar-1, h)
	}
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#0b0c0c"/></svg>`, height-1, width, height-1)
	return template.HTML(b.String()) // built from numbers and an escaped label only
}
