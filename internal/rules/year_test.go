package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/open-assist/assist/internal/calc"
)

// TestYearOf pins the point in the year for each kind of calculation:
// rules about the year's outcome wait for complete, rules about what to do
// now read inYear and dueQuarter.
func TestYearOf(t *testing.T) {
	t.Parallel()
	base := map[string]any{"start": "2025-04-06", "end": "2026-04-05", "paymentDue": "2027-01-31"}
	with := func(kv map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range kv {
			out[k] = v
		}
		return out
	}
	q := func(n int64, from, to, calTo, deadline string) map[string]any {
		return map[string]any{"number": n, "from": from, "to": to, "calendarTo": calTo, "deadline": deadline}
	}
	cases := []struct {
		name string
		meta string // metadata fields besides taxYear and calculationId
		srcs string // inputs.incomeSources.businessIncomeSources
		want map[string]any
	}{
		{
			name: "nothing_known",
			want: with(map[string]any{"complete": false, "inYear": true}),
		},
		{
			name: "final_calculation",
			meta: `"calculationType":"intent-to-finalise","periodTo":"2026-04-05"`,
			want: with(map[string]any{"complete": true, "inYear": false, "monthsCovered": int64(12), "periodTo": "2026-04-05"}),
		},
		{
			name: "final_without_period",
			meta: `"calculationType":"declare-finalisation"`,
			want: with(map[string]any{"complete": true, "inYear": false, "monthsCovered": int64(12)}),
		},
		{
			name: "in_year_with_data_to_the_last_day",
			meta: `"calculationType":"in-year","periodTo":"2026-04-05","calculationTimestamp":"2026-05-10T09:00:00Z"`,
			want: with(map[string]any{"complete": true, "inYear": false, "monthsCovered": int64(12), "periodTo": "2026-04-05", "calculatedOn": "2026-05-10"}),
		},
		{
			name: "first_quarter_before_its_deadline",
			meta: `"calculationType":"in-year","periodTo":"2025-07-05","calculationTimestamp":"2025-08-07T23:59:00Z"`,
			want: with(map[string]any{"complete": false, "inYear": true, "monthsCovered": int64(3), "periodTo": "2025-07-05", "calculatedOn": "2025-08-07"}),
		},
		{
			name: "first_quarter_after_its_deadline",
			meta: `"calculationType":"in-year","periodTo":"2025-07-05","calculationTimestamp":"2025-08-08T00:00:01Z"`,
			want: with(map[string]any{"complete": false, "inYear": true, "monthsCovered": int64(3), "periodTo": "2025-07-05", "calculatedOn": "2025-08-08",
				"dueQuarter": q(1, "2025-04-06", "2025-07-05", "2025-06-30", "2025-08-07")}),
		},
		{
			name: "calendar_quarters_count_the_same",
			meta: `"calculationType":"in-year","periodTo":"2025-09-30","calculationTimestamp":"2026-02-08T10:00:00.123Z"`,
			want: with(map[string]any{"complete": false, "inYear": true, "monthsCovered": int64(6), "periodTo": "2025-09-30", "calculatedOn": "2026-02-08",
				"dueQuarter": q(3, "2025-10-06", "2026-01-05", "2025-12-31", "2026-02-07")}),
		},
		{
			name: "fourth_quarter_due_after_the_year",
			meta: `"calculationType":"in-year","periodTo":"2026-01-05","calculationTimestamp":"2026-05-08T10:00:00Z"`,
			want: with(map[string]any{"complete": false, "inYear": true, "monthsCovered": int64(9), "periodTo": "2026-01-05", "calculatedOn": "2026-05-08",
				"dueQuarter": q(4, "2026-01-06", "2026-04-05", "2026-03-31", "2026-05-07")}),
		},
		{
			name: "period_from_the_businesses_when_metadata_lacks_it",
			meta: `"calculationType":"in-year"`,
			srcs: `[{"incomeSourceId":"XAIS00000000001","latestPeriodEndDate":"2025-07-05"},{"incomeSourceId":"XAIS00000000002","latestPeriodEndDate":"2025-10-05"},{"incomeSourceId":"XAIS00000000003"}]`,
			want: with(map[string]any{"complete": false, "inYear": true, "monthsCovered": int64(6), "periodTo": "2025-10-05"}),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			meta := `"taxYear":"2025-26","calculationId":"12345678"`
			if tc.meta != "" {
				meta += "," + tc.meta
			}
			doc := fmt.Sprintf(`{"metadata":{%s}}`, meta)
			if tc.srcs != "" {
				doc = fmt.Sprintf(`{"metadata":{%s},"inputs":{"incomeSources":{"businessIncomeSources":%s}}}`, meta, tc.srcs)
			}
			c, err := calc.Decode([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			m := c.Section("metadata")
			got := yearOf(c, isFinal(c.Generation, m), m)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("yearOf() (-want +got):\n%s", diff)
			}
		})
	}
}

// A rule reads year like any input: a full-year rule is quiet on a
// first-quarter calculation and speaks on the final one.
func TestRulesReadTheYear(t *testing.T) {
	t.Parallel()
	r := strings.Replace(rule("FULL_YEAR", "year.complete && calculation.a > 1000", "calculation.a"),
		"{calculation: {a: 2000}}", "{metadata: {calculationType: intent-to-finalise}, calculation: {a: 2000}}", 1)
	c := loadClean(t, r)
	inYear := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678","calculationType":"in-year","periodTo":"2025-07-05"},"calculation":{"a":2000}}`)
	final := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678","calculationType":"intent-to-finalise"},"calculation":{"a":2000}}`)
	if len(inYear.Messages) != 0 || len(final.Messages) != 1 || len(inYear.Errors)+len(final.Errors) != 0 {
		t.Errorf("in year %v %v, final %v %v; want quiet in year and one message on the final calculation",
			ruleIDs(inYear.Messages), inYear.Errors, ruleIDs(final.Messages), final.Errors)
	}
}

// Messages come by severity, then priority, then id: a low-numbered priority
// goes ahead of a rule whose id sorts first.
func TestMessagesComeBySeverityThenPriority(t *testing.T) {
	t.Parallel()
	withPriority := func(id string, severity string, p int) string {
		r := rule(id, "calculation.a > 1000", "calculation.a")
		r = strings.Replace(r, "severity: check", "severity: "+severity, 1)
		return strings.Replace(r, "priority: 50", fmt.Sprintf("priority: %d", p), 1)
	}
	c, err := Load(testCatalogue(map[string]string{
		"a.yaml": withPriority("A_INFO", "info", 1),
		"b.yaml": withPriority("B_CHECK_LATE", "check", 90),
		"c.yaml": withPriority("C_CHECK_EARLY", "check", 10),
		"d.yaml": withPriority("D_CHECK_EARLY", "check", 10),
		"e.yaml": withPriority("E_BLOCK", "block", 100),
	}))
	if err != nil {
		t.Fatal(err)
	}
	res := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":2000}}`)
	got := strings.Join(ruleIDs(res.Messages), " ")
	if want := "E_BLOCK C_CHECK_EARLY D_CHECK_EARLY B_CHECK_LATE A_INFO"; got != want {
		t.Errorf("order = %s, want %s", got, want)
	}
	checkOrder(t, "priorities", res.Messages)
	if out, _ := json.Marshal(res.Messages[1]); !strings.Contains(string(out), `"priority":10`) {
		t.Errorf("message JSON %s lacks its priority", out)
	}
}

// An exclusive rule speaks alone: when it fires, the advice other rules
// would build on the same figures is dropped; when it does not, they speak.
func TestExclusiveRuleSpeaksAlone(t *testing.T) {
	t.Parallel()
	exclusive := strings.Replace(rule("INCONSISTENT", "calculation.a < 0", "calculation.a"), "priority: 50\n", "priority: 50\nexclusive: true\n", 1)
	c, err := Load(testCatalogue(map[string]string{
		"a.yaml": exclusive,
		"b.yaml": rule("OTHER", "calculation.b > 1", "calculation.b"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	bad := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":-5,"b":2}}`)
	if got := strings.Join(ruleIDs(bad.Messages), " "); got != "INCONSISTENT" {
		t.Errorf("inconsistent calculation gave %q, want INCONSISTENT alone", got)
	}
	good := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":5,"b":2}}`)
	if got := strings.Join(ruleIDs(good.Messages), " "); got != "OTHER" {
		t.Errorf("consistent calculation gave %q, want OTHER", got)
	}
}

// Evidence may be given per language, for words that depend on the
// calculation: each language's text shows its own, and cases check English.
func TestEvidencePerLanguage(t *testing.T) {
	t.Parallel()
	r := withEvidence("BILINGUAL", "  - {name: when, en: 'calculation.a > 1500 ? \"this year\" : \"last year\"', cy: 'calculation.a > 1500 ? \"eleni\" : \"y llynedd\"'}", "when")
	r = strings.Replace(r, "{name: fires, fires: 1,", "{name: fires, fires: 1, evidence: {when: this year}, evidenceCy: {when: eleni},", 1)
	c := loadClean(t, r)
	en, cy := bodies(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":2000}}`)
	if en.Body != "Body this year" || cy.Body != "Corff eleni" {
		t.Errorf("bodies = %q, %q; want each language's own words", en.Body, cy.Body)
	}
	if cy.Evidence["when"] != "eleni" {
		t.Errorf("Welsh evidence = %v, want the Welsh value", cy.Evidence)
	}

	both := strings.Replace(r, "- {name: when, en:", "- {name: when, expr: '\"x\"', en:", 1)
	if _, err := Load(testCatalogue(map[string]string{"r.yaml": both})); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("Load(expr and en) = %v, want a refusal", err)
	}
	wrongWelsh := strings.Replace(r, "evidenceCy: {when: eleni}", "evidenceCy: {when: y llynedd}", 1)
	c, err := Load(testCatalogue(map[string]string{"r.yaml": wrongWelsh}))
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, cr := range c.RunCases(context.Background()) {
		if cr.Err != nil {
			failed = append(failed, cr.Case+": "+cr.Err.Error())
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], `cy evidence when = "eleni", want "y llynedd"`) {
		t.Errorf("a wrong Welsh pin gave %q, want the fires case to fail on it", failed)
	}
	noWelsh := strings.Replace(r, ", cy: 'calculation.a > 1500 ? \"eleni\" : \"y llynedd\"'", "", 1)
	if _, err := Load(testCatalogue(map[string]string{"r.yaml": noWelsh})); err == nil || !strings.Contains(err.Error(), "when.cy") {
		t.Errorf("Load(en without cy) = %v, want a refusal naming evidence.when.cy", err)
	}
}

// money() and date() let evidence built of sentences write amounts and dates
// the way the text does, in each language.
func TestMoneyAndDateFunctions(t *testing.T) {
	t.Parallel()
	r := withEvidence("SENTENCE", "  - {name: said, en: '\"paid \" + money(calculation.a) + \" on \" + date(\"2026-04-05\", \"en\")', cy: '\"talwyd \" + money(calculation.a) + \" ar \" + date(\"2026-04-05\", \"cy\")'}", "said")
	c, err := Load(testCatalogue(map[string]string{"r.yaml": r}))
	if err != nil {
		t.Fatal(err)
	}
	en, cy := bodies(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":1234.5}}`)
	if en.Body != "Body paid £1,234.50 on 5 April 2026" || cy.Body != "Corff talwyd £1,234.50 ar 5 Ebrill 2026" {
		t.Errorf("bodies = %q, %q", en.Body, cy.Body)
	}
	bad := strings.Replace(r, `date("2026-04-05", "en")`, `date("5 April", "en")`, 1)
	c, err = Load(testCatalogue(map[string]string{"r.yaml": bad}))
	if err != nil {
		t.Fatal(err)
	}
	if res := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":1234.5}}`); len(res.Errors) != 1 {
		t.Errorf("date(not a date) errors = %v, want the rule's error", res.Errors)
	}
}

// withEvidence is the test rule with one more evidence line, shown in place
// of {amount} in both languages' bodies.
func withEvidence(id, evidence, name string) string {
	r := strings.Replace(rule(id, "calculation.a > 1000", "calculation.a"),
		"  - {name: amount, expr: 'calculation.a', format: money}",
		"  - {name: amount, expr: 'calculation.a', format: money}\n"+evidence, 1)
	r = strings.Replace(r, "Body {amount}", "Body {"+name+"}", 1)
	return strings.Replace(r, "Corff {amount}", "Corff {"+name+"}", 1)
}

// bodies evaluates a calculation and returns the first message's body in
// English and in Welsh.
func bodies(t *testing.T, c *Catalogue, doc string) (en, cy *Message) {
	t.Helper()
	d, err := calc.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	e, w, err := c.EvaluateBoth(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Messages) == 0 || len(e.Errors) != 0 {
		t.Fatalf("EvaluateBoth() = %v, errors %v; want a message", ruleIDs(e.Messages), e.Errors)
	}
	return &e.Messages[0], &w.Messages[0]
}

// loadClean loads a catalogue of one rule that must pass Check and its own
// cases.
func loadClean(t *testing.T, rule string) *Catalogue {
	t.Helper()
	c, err := Load(testCatalogue(map[string]string{"r.yaml": rule}))
	if err != nil {
		t.Fatal(err)
	}
	if ps := c.Check(); len(ps) != 0 {
		t.Fatalf("Check() = %v", ps)
	}
	for _, cr := range c.RunCases(context.Background()) {
		if cr.Err != nil {
			t.Errorf("case %s: %v", cr.Case, cr.Err)
		}
	}
	return c
}
