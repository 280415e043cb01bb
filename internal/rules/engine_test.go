package rules

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	rulefiles "github.com/open-assist/assist/rules"
)

// TestCostLimitAppliesToLoadedCatalogues pins that a catalogue loaded without
// Reviewed (one from --rules) keeps CEL's cost limit: an expression that
// exceeds it is that rule's error, and the other rules still run.
func TestCostLimitAppliesToLoadedCatalogues(t *testing.T) {
	t.Parallel()
	const expensive = "lists.range(int(calculation.a)).all(i, lists.range(int(calculation.a)).all(j, i + j >= 0))"
	c, err := Load(testCatalogue(map[string]string{
		"a.yaml": rule("EXPENSIVE", expensive, "1.0"),
		"b.yaml": rule("CHEAP", "calculation.a > 1000", "calculation.a"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	res := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":2000}}`)
	if got := strings.Join(ruleIDs(res.Messages), " "); got != "CHEAP" {
		t.Errorf("messages = %q, want CHEAP only", got)
	}
	if len(res.Errors) != 1 || res.Errors[0].RuleID != "EXPENSIVE" || !strings.Contains(res.Errors[0].Error, "cost limit") {
		t.Errorf("errors = %v, want EXPENSIVE's cost limit", res.Errors)
	}
}

// TestReviewedCatalogueGivesTheSameResults pins that running the built-in
// catalogue without cost tracking changes its speed only.
func TestReviewedCatalogueGivesTheSameResults(t *testing.T) {
	t.Parallel()
	metered, err := Load(rulefiles.FS)
	if err != nil {
		t.Fatal(err)
	}
	reviewed := loadDefault(t)
	files, _ := filepath.Glob("../../testdata/calculations/*.json")
	for _, f := range files {
		doc := decodeFile(t, filepath.Base(f))
		wantEN, wantCY, err := metered.EvaluateBoth(context.Background(), doc)
		if err != nil {
			t.Fatal(err)
		}
		gotEN, gotCY, err := reviewed.EvaluateBoth(context.Background(), doc)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantEN, gotEN); diff != "" {
			t.Errorf("%s: English differs (-metered +reviewed):\n%s", filepath.Base(f), diff)
		}
		if diff := cmp.Diff(wantCY, gotCY); diff != "" {
			t.Errorf("%s: Welsh differs (-metered +reviewed):\n%s", filepath.Base(f), diff)
		}
	}
}

// syntheticCatalogue is the test catalogue with n rules, in the proportions
// of the real one: most stop at a field the calculation lacks or a first
// test that fails, a few fire.
func syntheticCatalogue(tb testing.TB, n int, opts ...LoadOption) *Catalogue {
	tb.Helper()
	files := map[string]string{}
	for i := range n {
		id := fmt.Sprintf("RULE_%05d", i)
		var cond string
		switch i % 4 {
		case 0: // a field that is rarely there
			cond = fmt.Sprintf("calculation.rarelyThere%d.amount > 1000.0", i)
		case 1: // a cheap first test that fails
			cond = fmt.Sprintf(`'"NOT_A_MESSAGE_%d" in messageIds && calculation.a > 1000.0'`, i)
		case 2: // a comparison that does not hold
			cond = fmt.Sprintf("calculation.a > %d.0 * 1000.0", i+10)
		default: // fires
			cond = "calculation.a > 1000.0 && year.complete == year.complete"
		}
		files[fmt.Sprintf("r%05d.yaml", i)] = rule(id, cond, "calculation.a")
	}
	c, err := Load(testCatalogue(files), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkEvaluateRules shows how evaluation grows with the number of
// rules; ns/rule should stay flat.
func BenchmarkEvaluateRules(b *testing.B) {
	doc := decodeFile(b, "v9_TY2026-27_def4_mtd-output_full-fixture.json")
	doc.Section("calculation")["a"] = 2000.0
	doc.TaxYear = "2025-26" // the test catalogue's thresholds
	for _, n := range []int{50, 500, 5000} {
		c := syntheticCatalogue(b, n, Reviewed())
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Evaluate(context.Background(), doc, English); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/rule")
		})
	}
}

// TestExclusiveRuleStopsTheOthers pins that when an exclusive rule fires
// the other rules do not run: their messages would be dropped, and their
// errors are not reported. When it does not fire, they run as usual.
func TestExclusiveRuleStopsTheOthers(t *testing.T) {
	t.Parallel()
	exclusive := strings.Replace(rule("INCONSISTENT", "calculation.a < 0", "calculation.a"), "priority: 50\n", "priority: 90\nexclusive: true\n", 1)
	c, err := Load(testCatalogue(map[string]string{
		"a.yaml": exclusive,
		"b.yaml": rule("BROKEN", "calculation.a > 'text'", "calculation.a"),
	}), Reviewed())
	if err != nil {
		t.Fatal(err)
	}
	bad := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":-5}}`)
	if got := strings.Join(ruleIDs(bad.Messages), " "); got != "INCONSISTENT" || len(bad.Errors) != 0 {
		t.Errorf("inconsistent calculation gave %q and errors %v, want INCONSISTENT alone", got, bad.Errors)
	}
	good := evalDoc(t, c, `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":{"a":5}}`)
	if len(good.Messages) != 0 || len(good.Errors) != 1 || good.Errors[0].RuleID != "BROKEN" {
		t.Errorf("consistent calculation gave %v and errors %v, want BROKEN's error", ruleIDs(good.Messages), good.Errors)
	}
}

// placeholder is what a placeholder is, as a regular expression: the
// reference expand is checked against.
var placeholder = regexp.MustCompile(`\{([A-Za-z][A-Za-z0-9_]*)\}`)

// TestExpandMatchesPlaceholder pins that expand fills templates exactly as
// the placeholder expression would.
func TestExpandMatchesPlaceholder(t *testing.T) {
	t.Parallel()
	value := func(name string) string {
		if name == "empty" {
			return ""
		}
		return "<" + name + ">"
	}
	for _, tmpl := range []string{
		"", "plain", "{a}", "{empty}", "x{empty}y", "{a}{b_2}{C9}", "{", "}", "{}", "{1a}", "{a", "a}", "{{a}}",
		"{a-b}", "{a b}", "£{amount} in {taxYear}.", "/x/{nino}/{taxYear}/{calculationId}", "{_a}", "{a_}", "é{a}é{",
	} {
		want := placeholder.ReplaceAllStringFunc(tmpl, func(m string) string { return value(m[1 : len(m)-1]) })
		if got := expand(tmpl, value); got != want {
			t.Errorf("expand(%q) = %q, want %q", tmpl, got, want)
		}
	}
}
