package rules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/open-assist/assist/internal/calc"
)

// Problem is something wrong with a rule that Load does not already refuse.
type Problem struct {
	RuleID string
	Text   string
}

func (p Problem) String() string { return p.RuleID + ": " + p.Text }

var (
	limitRef = regexp.MustCompile(`\blimits\.\??([A-Za-z0-9_]+)`)
	// nameRef finds the names a rule reads from its own maps and from year.
	nameRef = regexp.MustCompile(`\b(variables|params|year)\.\??([A-Za-z0-9_]+)`)
)

// Check lints a loaded catalogue for what a content designer can get wrong:
// missing Welsh, text HMRC's contract would reject, placeholders that cannot
// resolve, links that are not https, thresholds missing for a tax year the
// rule covers, and rules without cases on both sides.
func (c *Catalogue) Check() []Problem {
	var ps []Problem
	for _, r := range c.rules {
		add := func(format string, args ...any) {
			ps = append(ps, Problem{RuleID: r.ID, Text: fmt.Sprintf(format, args...)})
		}
		known := map[string]bool{}
		for k := range builtinPlaceholders {
			known[k] = true
		}
		for _, e := range r.Evidence {
			known[e.Name] = true
		}
		if strings.TrimSpace(r.Description) == "" {
			add("description is missing")
		}
		if len(r.References) == 0 {
			add("references are missing: name the legal basis or GOV.UK manual page")
		}
		for i, ref := range r.References {
			if strings.TrimSpace(ref) == "" {
				add("references[%d] is empty", i)
			}
		}
		checkNames(r, add)
		if r.Path == "" {
			add("path is missing")
		}
		checkText(add, known, "path", r.Path, English)
		for _, lc := range []struct {
			lang    Lang
			content Content
		}{{English, r.EN}, {Welsh, r.CY}} {
			fields := map[string]string{"title": lc.content.Title, "body": lc.content.Body, "action": lc.content.Action}
			for _, f := range []string{"title", "body", "action"} {
				checkText(add, known, fmt.Sprintf("%s.%s", lc.lang, f), fields[f], lc.lang)
			}
		}
		if n := len(r.Links); n < 1 || n > 3 {
			add("has %d links, want 1 to 3", n)
		}
		for i, l := range r.Links {
			u, err := url.Parse(l.URL)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				add("links[%d]: %q is not an https URL", i, l.URL)
			}
			checkText(add, nil, fmt.Sprintf("links[%d].url", i), l.URL, English)
			checkText(add, nil, fmt.Sprintf("links[%d].en", i), l.EN, English)
			checkText(add, nil, fmt.Sprintf("links[%d].cy", i), l.CY, Welsh)
		}
		fires, quiet := false, false
		for _, cs := range r.Cases {
			if cs.Fires > 0 {
				fires = true
			} else {
				quiet = true
			}
		}
		if !fires || !quiet {
			add("needs at least one case it fires on and one it does not")
		}
		c.checkLimits(r, add)
	}
	for id, t := range c.messages {
		add := func(format string, args ...any) {
			ps = append(ps, Problem{RuleID: "messages.yaml", Text: fmt.Sprintf(format, args...)})
		}
		checkText(add, nil, id+".en", t.EN, English)
		checkText(add, nil, id+".cy", t.CY, Welsh)
	}
	return ps
}

// expressions lists every CEL expression of a rule.
func (r *compiled) expressions() []string {
	exprs := []string{r.ForEach, r.Condition}
	for _, v := range r.Variables {
		exprs = append(exprs, v.Expr)
	}
	for _, e := range r.Evidence {
		exprs = append(exprs, e.Expr, e.EN, e.CY)
	}
	return exprs
}

// checkNames finds reads of variables, params and year fields that do not
// exist: CEL only sees maps there, so a typo would read as an absent input
// and the rule would silently never fire.
func checkNames(r *compiled, add func(string, ...any)) {
	seen := map[string]bool{}
	for _, e := range r.expressions() {
		for _, m := range nameRef.FindAllStringSubmatch(e, -1) {
			ref := m[1] + "." + m[2]
			if seen[ref] {
				continue
			}
			seen[ref] = true
			switch m[1] {
			case varVariables:
				if _, ok := r.varIndex[m[2]]; !ok {
					add("reads %s, which is not one of its variables", ref)
				}
			case varParams:
				if _, ok := r.params[m[2]]; !ok {
					add("reads %s, which is not one of its params", ref)
				}
			case varYear:
				if !yearFields[m[2]] {
					add("reads %s, which is not a field of year", ref)
				}
			}
		}
	}
}

func (c *Catalogue) checkLimits(r *compiled, add func(string, ...any)) {
	used := map[string]bool{}
	for _, e := range r.expressions() {
		for _, m := range limitRef.FindAllStringSubmatch(e, -1) {
			used[m[1]] = true
		}
	}
	years := make([]string, 0, len(c.limits))
	for y := range c.limits {
		years = append(years, y)
	}
	sort.Strings(years)
	for _, y := range years {
		start, _ := calc.ParseTaxYear(y)
		if !r.appliesTo(start) {
			continue
		}
		for name := range used {
			if _, ok := c.limits[y][name]; !ok {
				add("reads limits.%s, which thresholds/%s.yaml does not give", name, y)
			}
		}
	}
}

// placeholders lists the names of s's placeholders, read as render reads
// them (expand).
func placeholders(s string) []string {
	var out []string
	expand(s, func(name string) string {
		out = append(out, name)
		return ""
	})
	return out
}

// checkText checks one template: present, resolvable, and within HMRC's
// characters once its placeholders are filled.
func checkText(add func(string, ...any), known map[string]bool, where, text string, lang Lang) {
	if strings.TrimSpace(text) == "" {
		add("%s is missing", where)
		return
	}
	if known != nil {
		for _, name := range placeholders(text) {
			if !known[name] {
				add("%s: placeholder {%s} is not evidence or a built-in", where, name)
			}
		}
	}
	filled := expand(text, func(string) string { return "x" })
	if bad := badCharacters(filled, lang); len(bad) > 0 {
		add("%s: characters HMRC's API does not allow: %q", where, string(bad))
	}
	if len(filled) > maxTextLen {
		add("%s: longer than %d characters", where, maxTextLen)
	}
}

// CaseResult is the outcome of one rule case.
type CaseResult struct {
	RuleID string
	Case   string
	// Err is nil when the case passed.
	Err error
}

// caseCalculationID fills in metadata for cases that leave it out.
const caseCalculationID = "00000000-0000-4000-8000-000000000000"

// RunCases runs every rule's own cases: each calculation is decoded as a real
// one would be, the rule is evaluated on it alone, and the number of messages,
// the evidence asked for, and the rendering in both languages are checked.
func (c *Catalogue) RunCases(ctx context.Context) []CaseResult {
	var out []CaseResult
	for _, r := range c.rules {
		for i, cs := range r.Cases {
			name := cs.Name
			if name == "" {
				name = fmt.Sprintf("case %d", i+1)
			}
			out = append(out, CaseResult{RuleID: r.ID, Case: name, Err: c.runCase(ctx, r, cs)})
		}
	}
	return out
}

func (c *Catalogue) runCase(ctx context.Context, r *compiled, cs Case) error {
	doc := map[string]any{}
	for k, v := range cs.Calculation {
		doc[k] = v
	}
	// A case may give only the metadata it is about (calculationType,
	// periodTo...); the tax year and id are filled in.
	meta := map[string]any{}
	if given, ok := doc["metadata"].(map[string]any); ok {
		maps.Copy(meta, given)
	}
	if _, ok := meta["taxYear"]; !ok {
		meta["taxYear"] = cs.TaxYear
		if cs.TaxYear == "" {
			meta["taxYear"] = "2025-26"
		}
	}
	if _, ok := meta["calculationId"]; !ok {
		meta["calculationId"] = caseCalculationID
	}
	doc["metadata"] = meta
	data, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("calculation: %w", err)
	}
	calculation, err := calc.Decode(data)
	if err != nil {
		return err
	}
	findings, ruleErrs, err := c.evaluate(ctx, calculation, cs.Fraud.assessment(), []*compiled{r}, true)
	if err != nil {
		return err
	}
	if len(ruleErrs) > 0 {
		return fmt.Errorf("rule failed: %s", ruleErrs[0].Error)
	}
	if len(findings) != cs.Fires {
		return fmt.Errorf("fired %d times, want %d", len(findings), cs.Fires)
	}
	for _, lang := range []Lang{English, Welsh} {
		for _, f := range findings {
			m, err := c.render(f, calculation, lang)
			if err != nil {
				return fmt.Errorf("%s: %w", lang, err)
			}
			for _, text := range append([]string{m.Title, m.Body, m.Action, m.Path}, linkTitles(m.Links)...) {
				if bad := badCharacters(text, lang); len(bad) > 0 {
					return fmt.Errorf("%s: rendered text has characters HMRC's API does not allow: %q in %q", lang, string(bad), text)
				}
			}
		}
	}
	for _, pins := range []struct {
		lang Lang
		want map[string]string
	}{{English, cs.Evidence}, {Welsh, cs.EvidenceCy}} {
		if err := c.checkEvidence(r, findings, pins.lang, pins.want); err != nil {
			return err
		}
	}
	return nil
}

// checkEvidence compares the first finding's evidence, as lang's text would
// print it, with what a case pins.
func (c *Catalogue) checkEvidence(r *compiled, findings []finding, lang Lang, want map[string]string) error {
	if len(want) == 0 {
		return nil
	}
	if len(findings) == 0 {
		return fmt.Errorf("evidence given but the case does not fire")
	}
	for name, w := range want {
		var e *Evidence
		for i := range r.Evidence {
			if r.Evidence[i].Name == name {
				e = &r.Evidence[i]
			}
		}
		if e == nil {
			return fmt.Errorf("evidence %s is not one the rule reports", name)
		}
		got, _, err := c.format(e.Format, findings[0].value(name, lang), lang)
		if err != nil {
			return fmt.Errorf("evidence %s: %w", name, err)
		}
		if got != w {
			return fmt.Errorf("%s evidence %s = %q, want %q", lang, name, got, w)
		}
	}
	return nil
}

func linkTitles(ls []Link) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Title
	}
	return out
}

// ErrUnfit is wrapped by Verify's error: the catalogue loads, but fails its
// checks or its own cases, so no service should run on it.
var ErrUnfit = errors.New("rules: catalogue fails its checks")

// Verify runs Check and every rule's cases, and reports all that fail in one
// error wrapping ErrUnfit. It is what `rules check` and `rules test` say
// together, for a service to refuse a catalogue at start.
func (c *Catalogue) Verify(ctx context.Context) error {
	var lines []string
	for _, p := range c.Check() {
		lines = append(lines, p.String())
	}
	for _, r := range c.RunCases(ctx) {
		if r.Err != nil {
			lines = append(lines, fmt.Sprintf("%s / %s: %v", r.RuleID, r.Case, r.Err))
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(lines) > 0 {
		return fmt.Errorf("%w (%d problems):\n%s", ErrUnfit, len(lines), strings.Join(lines, "\n"))
	}
	return nil
}
