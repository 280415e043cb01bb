package rules

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/open-assist/assist/internal/calc"
	rulefiles "github.com/open-assist/assist/rules"
)

func loadDefault(tb testing.TB) *Catalogue {
	tb.Helper()
	c, err := Load(rulefiles.FS, Reviewed())
	if err != nil {
		tb.Fatalf("Load(default catalogue): %v", err)
	}
	return c
}

func decodeFile(tb testing.TB, name string) *calc.Calculation {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata/calculations", name))
	if err != nil {
		tb.Fatal(err)
	}
	c, err := calc.Decode(data)
	if err != nil {
		tb.Fatalf("calc.Decode(%s): %v", name, err)
	}
	return c
}

// TestCatalogueCases runs every rule's own cases: each rule on both sides of
// its thresholds, with absent inputs, in both languages.
func TestCatalogueCases(t *testing.T) {
	t.Parallel()
	c := loadDefault(t)
	results := c.RunCases(context.Background())
	if len(results) == 0 {
		t.Fatal("no cases ran")
	}
	for _, r := range results {
		t.Run(r.RuleID+"/"+r.Case, func(t *testing.T) {
			if r.Err != nil {
				t.Error(r.Err)
			}
		})
	}
}

func TestCatalogueChecksClean(t *testing.T) {
	t.Parallel()
	c := loadDefault(t)
	for _, p := range c.Check() {
		t.Errorf("Check(): %s", p)
	}
}

// TestCatalogueHasTheRequiredRules pins the rules the service promises.
func TestCatalogueHasTheRequiredRules(t *testing.T) {
	t.Parallel()
	c := loadDefault(t)
	have := map[string]bool{}
	for _, r := range c.Rules() {
		have[r.ID] = true
	}
	for _, id := range strings.Fields(`CALC_BLOCKING_ERRORS SE_TRADING_ALLOWANCE_WITH_EXPENSES
		SE_TRADING_ALLOWANCE_MAY_BE_BETTER SE_EXPENSES_HIGH CONSOLIDATED_EXPENSES_NOT_ALLOWED
		PROPERTY_ALLOWANCE_WITH_EXPENSES PROPERTY_ALLOWANCE_MAY_BE_BETTER PROPERTY_FINANCE_COSTS_AS_EXPENSE
		SE_LOSS_USE_IT PROPERTY_LOSS HICBC_APPLIES HICBC_MAYBE_MISSING PERSONAL_ALLOWANCE_TAPER
		PENSION_ANNUAL_ALLOWANCE_CHARGE PENSION_RELIEF_AT_SOURCE_CHECK GIFT_AID_CHARGE GIFT_AID_UNUSUALLY_HIGH
		MARRIAGE_ALLOWANCE_TRANSFER_POSSIBLE MARRIAGE_ALLOWANCE_NOT_ELIGIBLE STUDENT_LOAN_PLAN_MISMATCH
		CLASS2_VOLUNTARY_CONSIDER STATE_PENSION_MISSING BANK_INTEREST_TAX_DEDUCTED CGT_UK_PROPERTY_60_DAY
		PAYMENTS_ON_ACCOUNT_LIKELY
		MTD_UPDATE_OVERDUE IN_YEAR_SET_ASIDE CLASS4_OVER_STATE_PENSION_AGE TRANSITION_PROFIT_SPREAD
		FHL_REGIME_ENDED HMRC_CORRECTION_MADE CIS_DEDUCTIONS_CHECK PENSION_HIGHER_RATE_RELIEF
		SE_EXPENSES_LOW TAX_ESTIMATE_JUMP EMPLOYMENT_TAX_UNUSUAL WINTER_FUEL_PAYMENT_CHARGE
		CALC_INCONSISTENT`) {
		if !have[id] {
			t.Errorf("catalogue has no rule %s", id)
		}
	}
	if n := len(c.Rules()); n < 45 {
		t.Errorf("catalogue has %d rules, want 45 or more", n)
	}
}

// TestExamplesEvaluate evaluates every example calculation, of every schema
// generation, in both languages: no rule may fail, messages come in the
// fixed order, and every text is one HMRC's API accepts.
func TestExamplesEvaluate(t *testing.T) {
	t.Parallel()
	c := loadDefault(t)
	files, _ := filepath.Glob("../../testdata/calculations/*.json")
	for _, f := range files {
		doc := decodeFile(t, filepath.Base(f))
		for _, lang := range []Lang{English, Welsh} {
			res, err := c.Evaluate(context.Background(), doc, lang)
			if err != nil {
				t.Fatalf("Evaluate(%s, %s): %v", filepath.Base(f), lang, err)
			}
			for _, e := range res.Errors {
				t.Errorf("Evaluate(%s, %s): rule %s failed: %s", filepath.Base(f), lang, e.RuleID, e.Error)
			}
			if res.RuleSetVersion != c.Version() || res.TaxYear != doc.TaxYear {
				t.Errorf("Evaluate(%s) version/year = %s/%s", filepath.Base(f), res.RuleSetVersion, res.TaxYear)
			}
			checkOrder(t, filepath.Base(f), res.Messages)
			for _, m := range res.Messages {
				for _, text := range append([]string{m.Title, m.Body, m.Action, m.Path}, linkTitles(m.Links)...) {
					if bad := badCharacters(text, lang); len(bad) > 0 || text == "" {
						t.Errorf("%s %s %s: text %q has characters %q", filepath.Base(f), lang, m.RuleID, text, string(bad))
					}
				}
			}
		}
	}
}

func checkOrder(t *testing.T, name string, ms []Message) {
	t.Helper()
	for i := 1; i < len(ms); i++ {
		a, b := ms[i-1], ms[i]
		ordered := a.Severity.rank() < b.Severity.rank() ||
			(a.Severity == b.Severity && a.Priority < b.Priority) ||
			(a.Severity == b.Severity && a.Priority == b.Priority && a.RuleID < b.RuleID) ||
			(a.Severity == b.Severity && a.Priority == b.Priority && a.RuleID == b.RuleID && a.Item < b.Item)
		if !ordered {
			t.Errorf("%s: message %d (%s %s #%d) comes before (%s %s #%d)", name, i, b.Severity, b.RuleID, b.Item, a.Severity, a.RuleID, a.Item)
		}
	}
}

func TestCleanCalculationHasNoMessages(t *testing.T) {
	t.Parallel()
	c := loadDefault(t)
	doc := decodeFile(t, "clean_TY2025-26_in-year.json")
	res, err := c.Evaluate(context.Background(), doc, English)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 0 || len(res.Errors) != 0 {
		t.Errorf("Evaluate(clean) = %d messages %v, errors %v; want none", len(res.Messages), ruleIDs(res.Messages), res.Errors)
	}
}

func TestSyntheticCalculationFires(t *testing.T) {
	t.Parallel()
	c := loadDefault(t)
	doc := decodeFile(t, "synthetic_TY2025-26.json")
	res, err := c.Evaluate(context.Background(), doc, Welsh)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(ruleIDs(res.Messages), " ")
	for _, want := range []string{"HICBC_APPLIES", "PAYMENTS_ON_ACCOUNT_LIKELY"} {
		if !strings.Contains(got, want) {
			t.Errorf("Evaluate(synthetic) rules = %s, want %s among them", got, want)
		}
	}
}

func ruleIDs(ms []Message) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.RuleID)
	}
	return ids
}

// testCatalogue builds a catalogue from rule files given as strings.
func testCatalogue(rules map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{
		"catalogue.yaml":          {Data: []byte("name: test\nversion: 1.0.0\n")},
		"thresholds/2025-26.yaml": {Data: []byte("taxYear: 2025-26\nvalues:\n  tradingAllowance: {value: 1000, source: \"https://www.gov.uk/x\"}\n")},
	}
	for name, body := range rules {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

const ruleTemplate = `
id: %ID%
severity: check
priority: 50
description: test rule
references: [Test Act 2000 s1]
condition: %COND%
evidence:
  - {name: amount, expr: '%EVIDENCE%', format: money}
path: /x/{nino}
en:
  title: Title
  body: Body {amount}
  action: Action
cy:
  title: Teitl
  body: Corff {amount}
  action: Gweithred
links:
  - {url: "https://www.gov.uk/x", en: Link, cy: Dolen}
cases:
  - {name: fires, fires: 1, calculation: {calculation: {a: 2000}}}
  - {name: quiet, fires: 0, calculation: {calculation: {a: 1}}}
`

func rule(id, cond, evidence string) string {
	r := strings.ReplaceAll(ruleTemplate, "%ID%", id)
	r = strings.ReplaceAll(r, "%COND%", cond)
	return strings.ReplaceAll(r, "%EVIDENCE%", evidence)
}

func evalDoc(t *testing.T, c *Catalogue, doc string) *Result {
	t.Helper()
	d, err := calc.Decode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Evaluate(context.Background(), d, English)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestAbsentInputsDoNotFire pins how absent fields are told from failures:
// absent means "does not fire", a real failure is that rule's error only.
func TestAbsentInputsDoNotFire(t *testing.T) {
	t.Parallel()
	// Both ways of running a catalogue tell absence apart the same way.
	for name, opts := range map[string][]LoadOption{"metered": nil, "reviewed": {Reviewed()}} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(testCatalogue(map[string]string{
				"a.yaml": rule("READS_A", "calculation.a > 1000", "calculation.a"),
				"b.yaml": rule("READS_NESTED", "calculation.x.y.z > 1000", "calculation.x.y.z"),
				"c.yaml": rule("READS_LIST", "calculation.list[0] > 1000", "calculation.list[0]"),
				"d.yaml": rule("BROKEN", "calculation.a > 'text'", "calculation.a"),
				"e.yaml": rule("OR_ABSENT", "calculation.a > 1000 || calculation.missing > 0", "calculation.a"),
			}), opts...)
			if err != nil {
				t.Fatal(err)
			}
			res := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"list":[]}}`)
			if len(res.Messages) != 0 {
				t.Errorf("absent inputs fired %v", ruleIDs(res.Messages))
			}
			if len(res.Errors) != 0 {
				t.Errorf("errors = %v, want none: absent is not a failure", res.Errors)
			}

			res = evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":2000.5,"x":{"y":{"z":5000}},"list":[3000]}}`)
			if got := strings.Join(ruleIDs(res.Messages), " "); got != "OR_ABSENT READS_A READS_LIST READS_NESTED" {
				t.Errorf("present inputs fired %q", got)
			}
			if len(res.Errors) != 1 || res.Errors[0].RuleID != "BROKEN" {
				t.Errorf("errors = %v, want only BROKEN: a failing rule must not take the others down", res.Errors)
			}
			if got := res.Messages[1].Body; got != "Body £2,000.50" {
				t.Errorf("body = %q, want %q", got, "Body £2,000.50")
			}
			if got, _ := json.Marshal(res.Messages[1].Evidence); string(got) != `{"amount":2000.50}` {
				t.Errorf("evidence = %s, want exact pence", got)
			}
		})
	}
}

func TestLoadRejectsBadCatalogues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"duplicate_id", map[string]string{"a.yaml": rule("SAME", "true", "1.0"), "b.yaml": rule("SAME", "true", "1.0")}, "already defined"},
		{"bad_cel", map[string]string{"a.yaml": rule("BAD_CEL", "calculation.a >", "1.0")}, "condition"},
		{"bad_id", map[string]string{"a.yaml": rule("lower_case", "true", "1.0")}, "UPPER_SNAKE"},
		{"unknown_field", map[string]string{"a.yaml": rule("X", "true", "1.0") + "colour: red\n"}, "colour"},
		{"bad_severity", map[string]string{"a.yaml": strings.Replace(rule("X", "true", "1.0"), "severity: check", "severity: urgent", 1)}, "severity"},
		{"no_priority", map[string]string{"a.yaml": strings.Replace(rule("X", "true", "1.0"), "priority: 50\n", "", 1)}, "priority"},
		{"priority_too_high", map[string]string{"a.yaml": strings.Replace(rule("X", "true", "1.0"), "priority: 50", "priority: 101", 1)}, "priority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(testCatalogue(tc.files))
			if err == nil || !errors.Is(err, ErrCatalogue) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load() error = %v, want ErrCatalogue mentioning %q", err, tc.want)
			}
		})
	}
}

func TestCheckFindsContentProblems(t *testing.T) {
	t.Parallel()
	good := rule("GOOD", "calculation.a > 1000", "calculation.a")
	tests := []struct {
		name string
		rule string
		want string
	}{
		{"missing_welsh", strings.Replace(good, "  action: Gweithred", "", 1), "cy.action is missing"},
		{"unresolved_placeholder", strings.Replace(good, "Body {amount}", "Body {amont}", 1), "placeholder {amont}"},
		{"http_link", strings.Replace(good, `"https://www.gov.uk/x"`, `"http://www.gov.uk/x"`, 1), "not an https URL"},
		{"semicolon", strings.Replace(good, "action: Action", "action: Act; now", 1), `";"`},
		{"en_dash", strings.Replace(good, "title: Title", "title: Tax – check", 1), `"–"`},
		{"circumflex_y_in_english", strings.Replace(good, "title: Title", "title: Tŷ", 1), `"ŷ"`},
		{"no_quiet_case", strings.Replace(good, "fires: 0", "fires: 1", 1), "one it does not"},
		{"unknown_limit", strings.Replace(good, "calculation.a > 1000", "calculation.a > limits.noSuch", 1), "limits.noSuch"},
		{"unknown_variable", strings.Replace(good, "calculation.a > 1000", "calculation.a > 1000 && variables.noSuch", 1), "variables.noSuch"},
		{"unknown_optional_param", strings.Replace(good, "calculation.a > 1000", "calculation.a > params.?limit.orValue(1000)", 1), "params.limit"},
		{"unknown_year_field", strings.Replace(good, "calculation.a > 1000", "calculation.a > 1000 && year.finished", 1), "year.finished"},
		{"no_references", strings.Replace(good, "references: [Test Act 2000 s1]\n", "", 1), "references are missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(testCatalogue(map[string]string{"r.yaml": tc.rule}))
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, p := range c.Check() {
				all = append(all, p.String())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("Check() = %q, want a problem mentioning %q", all, tc.want)
			}
		})
	}
	c, err := Load(testCatalogue(map[string]string{"r.yaml": good}))
	if err != nil {
		t.Fatal(err)
	}
	if ps := c.Check(); len(ps) != 0 {
		t.Errorf("Check(good rule) = %v, want none", ps)
	}
	// Welsh may use ŷ.
	c, err = Load(testCatalogue(map[string]string{"r.yaml": strings.Replace(good, "title: Teitl", "title: Tŷ", 1)}))
	if err != nil {
		t.Fatal(err)
	}
	if ps := c.Check(); len(ps) != 0 {
		t.Errorf("Check(Welsh with ŷ) = %v, want none", ps)
	}
}

func TestRunCasesReportsFailures(t *testing.T) {
	t.Parallel()
	wrong := strings.Replace(rule("WRONG", "calculation.a > 1000", "calculation.a"), "{name: quiet, fires: 0", "{name: quiet, fires: 1", 1)
	wrong = strings.Replace(wrong, "{name: fires, fires: 1,", "{name: fires, fires: 1, evidence: {amount: '£1'},", 1)
	c, err := Load(testCatalogue(map[string]string{"r.yaml": wrong}))
	if err != nil {
		t.Fatal(err)
	}
	res := c.RunCases(context.Background())
	if len(res) != 2 || res[0].Err == nil || res[1].Err == nil {
		t.Fatalf("RunCases() = %+v, want both cases failing", res)
	}
	if !strings.Contains(res[0].Err.Error(), `amount = "£2,000", want "£1"`) {
		t.Errorf("fires case error = %v", res[0].Err)
	}
	if !strings.Contains(res[1].Err.Error(), "fired 0 times, want 1") {
		t.Errorf("quiet case error = %v", res[1].Err)
	}
}

func TestVersionFollowsContent(t *testing.T) {
	t.Parallel()
	a, err := Load(testCatalogue(map[string]string{"r.yaml": rule("R", "true", "1.0")}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(testCatalogue(map[string]string{"r.yaml": rule("R", "false", "1.0")}))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := Load(testCatalogue(map[string]string{"r.yaml": rule("R", "true", "1.0")}))
	if a.Version() == b.Version() || a.Version() != a2.Version() || !strings.HasPrefix(a.Version(), "1.0.0+") {
		t.Errorf("versions %s, %s, %s: want the human version plus a content hash", a.Version(), b.Version(), a2.Version())
	}
}

func TestEvaluateStopsWithContext(t *testing.T) {
	t.Parallel()
	c := loadDefault(t)
	doc := decodeFile(t, "synthetic_TY2025-26.json")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Evaluate(ctx, doc, English); !errors.Is(err, context.Canceled) {
		t.Errorf("Evaluate(cancelled) error = %v, want context.Canceled", err)
	}
}

func TestFormatMoneyGOVUK(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   float64
		want string
	}{
		{0, "£0"},
		{1000, "£1,000"},
		{1234.5, "£1,234.50"},
		{1234.56, "£1,234.56"},
		{0.1 + 0.2, "£0.30"},
		{3053.7, "£3,053.70"},
		{99999999999.99, "£99,999,999,999.99"},
		{-2500.05, "-£2,500.05"},
		{999.999, "£1,000"},
		{12570, "£12,570"},
	}
	for _, tc := range tests {
		if got := FormatMoneyGOVUK(tc.in); got != tc.want {
			t.Errorf("FormatMoneyGOVUK(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestAmountsAreExact is the test of how amounts enter CEL: as doubles, and
// every amount a calculation can hold (two decimal places, up to HMRC's
// maximum) prints back exactly, as money and as evidence.
func TestAmountsAreExact(t *testing.T) {
	t.Parallel()
	c := &Catalogue{}
	for _, lit := range []string{"0.01", "0.10", "19.99", "1000.00", "3053.70", "12345678.91", "99999999999.99"} {
		d, err := calc.Decode([]byte(`{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"x":` + lit + `}}`))
		if err != nil {
			t.Fatal(err)
		}
		v := d.Section("calculation")["x"]
		_, rep, err := c.format(FormatMoney, v, English)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(rep); string(got) != lit {
			t.Errorf("amount %s reported as %s", lit, got)
		}
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		lang Lang
		want string
	}{
		{"Sam's Plumbing", English, "Sam's Plumbing"},
		{`"Best" Cakes; Ltd`, English, "'Best' Cakes, Ltd"},
		{"A – B\nC", English, "A - B C"},
		{"Tŷ Coffi", English, "Ty Coffi"},
		{"Tŷ Coffi", Welsh, "Tŷ Coffi"},
		{"Café ☕", English, "Café "},
	}
	for _, tc := range tests {
		if got := sanitize(tc.in, tc.lang); got != tc.want {
			t.Errorf("sanitize(%q, %s) = %q, want %q", tc.in, tc.lang, got, tc.want)
		}
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	c := &Catalogue{messages: map[string]MessageText{"C1": {EN: "one", CY: "un"}}}
	tests := []struct {
		f    Format
		v    any
		lang Lang
		want string
	}{
		{FormatPercent, 0.8, English, "80%"},
		{FormatPercent, 0.7999, English, "79%"},
		{FormatPercent, 0.826, English, "82%"},
		{FormatNumber, 52.0, English, "52"},
		{FormatNumber, 1234.5, English, "1,234.5"},
		{FormatDate, "2026-04-05", English, "5 April 2026"},
		{FormatDate, "2026-04-05", Welsh, "5 Ebrill 2026"},
		{FormatSource, "uk-property", English, "your UK property business"},
		{FormatSource, "uk-property", Welsh, "eich busnes eiddo yn y DU"},
		{FormatSource, "Sam Brown Plumbing", Welsh, "Sam Brown Plumbing"},
		{FormatList, []string{"A", "B", "C"}, English, "A, B and C"},
		{FormatList, []string{"A", "B"}, Welsh, "A a B"},
		{FormatList, []string{"treth", "incwm"}, Welsh, "treth ac incwm"},
		{FormatList, []string{"x", "y", "Ŵyl"}, Welsh, "x, y ac Ŵyl"},
		{FormatList, []string{"mae'r cyfnod yn hir", "mae'n rhoi"}, Welsh, "mae'r cyfnod yn hir ac mae'n rhoi"},
		{FormatList, []string{"treth", "incwm"}, English, "treth and incwm"},
		{FormatMessages, []string{"C1", "C2"}, Welsh, "C1 (un) a C2"},
		{"", 12.5, English, "£12.50"},
		{"", "text", English, "text"},
	}
	for _, tc := range tests {
		got, _, err := c.format(tc.f, tc.v, tc.lang)
		if err != nil || got != tc.want {
			t.Errorf("format(%s, %v, %s) = %q, %v; want %q", tc.f, tc.v, tc.lang, got, err, tc.want)
		}
	}
	if _, _, err := c.format(FormatDate, "5/4/2026", English); err == nil {
		t.Error("format(date, 5/4/2026) succeeded, want an error")
	}
}

// FuzzEvaluate feeds arbitrary JSON to the decoder and the whole catalogue:
// nothing may panic, and anything that decodes must evaluate.
func FuzzEvaluate(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/calculations/*.json")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"businessProfitAndLoss":[{"incomeSourceType":"self-employment","totalIncome":"x"}]}}`))
	f.Add([]byte(`{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"businessProfitAndLoss":{"a":1}},"messages":{"errors":[]}}`))
	f.Add([]byte(`{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"giftAid":null,"taxCalculation":[1e308,-1e308]}}`))
	c := loadDefault(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := calc.Decode(data)
		if err != nil {
			return
		}
		for _, lang := range []Lang{English, Welsh} {
			if _, err := c.Evaluate(context.Background(), doc, lang); err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
		}
	})
}

func BenchmarkEvaluate(b *testing.B) {
	c := loadDefault(b)
	doc := decodeFile(b, "v9_TY2026-27_def4_mtd-output_full-fixture.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Evaluate(context.Background(), doc, English); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluateSynthetic(b *testing.B) {
	c := loadDefault(b)
	doc := decodeFile(b, "synthetic_TY2025-26.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Evaluate(context.Background(), doc, Welsh); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEvaluateBothPairsLanguages(t *testing.T) {
	t.Parallel()
	c := loadDefault(t)
	doc := decodeFile(t, "v9_TY2024-25_def2_oas-example_final-declaration.json")
	en, cy, err := c.EvaluateBoth(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(en.Messages) == 0 || len(en.Messages) != len(cy.Messages) {
		t.Fatalf("EvaluateBoth() = %d English, %d Welsh messages; want the same, more than none", len(en.Messages), len(cy.Messages))
	}
	for i := range en.Messages {
		if en.Messages[i].RuleID != cy.Messages[i].RuleID || en.Messages[i].Title == cy.Messages[i].Title {
			t.Errorf("message %d: %s %q / %s %q; want one rule in two languages", i, en.Messages[i].RuleID, en.Messages[i].Title, cy.Messages[i].RuleID, cy.Messages[i].Title)
		}
	}
	single, _ := c.Evaluate(context.Background(), doc, Welsh)
	if len(single.Messages) != len(cy.Messages) || single.Messages[0].Body != cy.Messages[0].Body {
		t.Errorf("Evaluate(cy) and EvaluateBoth disagree")
	}
}

func TestOptionalVariablesUnwrap(t *testing.T) {
	t.Parallel()
	r := rule("OPT", "variables.ga.?charge.orValue(0.0) > 100.0", "variables.ga.charge")
	r = strings.Replace(r, "condition:", "variables:\n  - {name: ga, expr: 'calculation.?giftAid'}\ncondition:", 1)
	r = strings.ReplaceAll(r, "{calculation: {a: 2000}}", "{calculation: {giftAid: {charge: 2000}}}")
	r = strings.ReplaceAll(r, "{calculation: {a: 1}}", "{calculation: {}}")
	c, err := Load(testCatalogue(map[string]string{"r.yaml": r}))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range c.RunCases(context.Background()) {
		if res.Err != nil {
			t.Errorf("%s: %v", res.Case, res.Err)
		}
	}
}

// Variables are worked out when read: one the condition never reaches costs
// nothing and cannot fail the rule; one that reads itself is an error.
func TestVariablesAreLazy(t *testing.T) {
	t.Parallel()
	withVars := func(id, vars, cond string) string {
		r := rule(id, cond, "calculation.a")
		return strings.Replace(r, "condition:", "variables:\n"+vars+"condition:", 1)
	}
	c, err := Load(testCatalogue(map[string]string{
		"a.yaml": withVars("SHORT_CIRCUIT", "  - {name: boom, expr: 'calculation.a / 0'}\n", "calculation.a > 1000 && variables.boom > 1"),
		"b.yaml": withVars("SELF", "  - {name: me, expr: 'variables.me + 1.0'}\n", "variables.me > 1.0"),
		"c.yaml": withVars("CHAIN", "  - {name: x, expr: 'variables.y * 2.0'}\n  - {name: y, expr: calculation.a}\n", "variables.x > 3000.0"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	res := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":5}}`)
	var errs []string
	for _, e := range res.Errors {
		errs = append(errs, e.RuleID)
	}
	if got := strings.Join(errs, " "); got != "SELF" {
		t.Errorf("rule errors = %v, want only SELF", res.Errors)
	}
	if len(res.Messages) != 0 {
		t.Errorf("fired %v, want nothing", ruleIDs(res.Messages))
	}
	res = evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":2000}}`)
	if got := strings.Join(ruleIDs(res.Messages), " "); got != "CHAIN" {
		t.Errorf("fired %q, want CHAIN (a variable may read a later one)", got)
	}
}
