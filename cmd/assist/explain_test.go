package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-assist/assist/internal/rules"
	rulefiles "github.com/open-assist/assist/rules"
)

func runArgs(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(string) string { return "" })
	return code, out.String(), errOut.String()
}

func TestExplainEveryExample(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../testdata/calculations/*.json")
	if len(files) == 0 {
		t.Fatal("no example calculations")
	}
	for _, f := range files {
		for _, lang := range []string{"en", "cy"} {
			code, out, errOut := runArgs(t, "", "explain", "--lang", lang, f)
			if code != exitOK {
				t.Fatalf("explain --lang %s %s = %d, stderr %s", lang, filepath.Base(f), code, errOut)
			}
			var res struct {
				RuleSetVersion string `json:"ruleSetVersion"`
				TaxYear        string `json:"taxYear"`
				Messages       []struct {
					RuleID, Severity, Title, Body, Action, Path string
					Links                                       []struct{ Title, URL string }
					Evidence                                    map[string]any
				} `json:"messages"`
				Errors []any `json:"errors"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("explain %s output is not JSON: %v", filepath.Base(f), err)
			}
			if res.RuleSetVersion == "" || res.TaxYear == "" || res.Messages == nil || res.Errors == nil || len(res.Errors) != 0 {
				t.Errorf("explain %s = version %q year %q messages %v errors %v", filepath.Base(f), res.RuleSetVersion, res.TaxYear, res.Messages, res.Errors)
			}
			for _, m := range res.Messages {
				if m.RuleID == "" || m.Title == "" || m.Body == "" || m.Path == "" || len(m.Links) == 0 {
					t.Errorf("explain %s: incomplete message %+v", filepath.Base(f), m)
				}
			}
		}
	}
}

func TestExplainFromStdin(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../testdata/calculations/clean_TY2025-26_in-year.json")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := runArgs(t, string(data), "explain", "-")
	if code != exitOK || !strings.Contains(out, `"messages": []`) {
		t.Errorf("explain - (clean) = %d, %s; want no messages", code, out)
	}
}

func TestExplainRejectsBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"not_json", "hello", []string{"explain", "-"}, "not valid JSON"},
		{"not_a_calculation", `{"a":1}`, []string{"explain", "-"}, "metadata is missing"},
		{"json_array", `[]`, []string{"explain", "-"}, "top level must be a JSON object"},
		{"missing_file", "", []string{"explain", "no-such-file.json"}, "no-such-file.json"},
		{"bad_lang", "", []string{"explain", "--lang", "fr", "-"}, "--lang must be en or cy"},
		{"no_file", "", []string{"explain"}, "usage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runArgs(t, tc.stdin, tc.args...)
			if code != exitUsage || out != "" {
				t.Errorf("%v = exit %d, stdout %q; want exit 2 and nothing on stdout", tc.args, code, out)
			}
			if !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 && tc.name != "no_file" {
				t.Errorf("%v stderr = %q, want one line containing %q", tc.args, errOut, tc.want)
			}
		})
	}
}

func TestRulesCheckAndTest(t *testing.T) {
	t.Parallel()
	code, out, errOut := runArgs(t, "", "rules", "check")
	if code != exitOK || !strings.HasPrefix(out, "ok: ") {
		t.Errorf("rules check = %d, %s %s", code, out, errOut)
	}
	code, out, errOut = runArgs(t, "", "rules", "test")
	if code != exitOK || !strings.HasSuffix(out, " passed, 0 failed\n") {
		t.Errorf("rules test = %d, %s %s", code, out, errOut)
	}
}

// writeCatalogue makes a catalogue folder of one rule file; write adds or
// replaces files in it.
func writeCatalogue(t *testing.T, rule string) (dir string, write func(name, body string)) {
	t.Helper()
	dir = t.TempDir()
	write = func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("catalogue.yaml", "name: t\nversion: 0.1.0\n")
	write("r.yaml", rule)
	return dir, write
}

func TestRulesCommandsFailOnABrokenCatalogue(t *testing.T) {
	t.Parallel()
	dir, write := writeCatalogue(t, `
id: NO_WELSH
severity: info
priority: 50
references: [Test Act 2000 s1]
description: a rule with no Welsh and a case that is wrong
condition: calculation.a > 1
path: /x
en: {title: T, body: B, action: A}
links: [{url: "https://www.gov.uk/x", en: L, cy: D}]
cases:
  - {name: wrong, fires: 1, calculation: {calculation: {a: 0}}}
`)
	code, out, _ := runArgs(t, "", "rules", "check", dir)
	if code != exitFail || !strings.Contains(out, "cy.title is missing") {
		t.Errorf("rules check (no Welsh) = %d, %q", code, out)
	}
	code, out, _ = runArgs(t, "", "rules", "test", dir)
	if code != exitFail || !strings.Contains(out, "0 passed, 1 failed") {
		t.Errorf("rules test (wrong case) = %d, %q", code, out)
	}
	write("dup.yaml", "rules:\n  - {id: NO_WELSH, severity: info, priority: 50, condition: 'true'}\n")
	code, _, errOut := runArgs(t, "", "rules", "check", dir)
	if code != exitFail || !strings.Contains(errOut, "already defined") {
		t.Errorf("rules check (duplicate id) = %d, %q", code, errOut)
	}
}

// rules list prints one line per rule in message order, with what a rule
// author needs to see at a glance; --long adds each rule's references.
func TestRulesList(t *testing.T) {
	t.Parallel()
	code, out, errOut := runArgs(t, "", "rules", "list")
	if code != exitOK {
		t.Fatalf("rules list = %d, %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "ID SEVERITY PRIORITY TAX YEARS VERSION" {
		t.Errorf("header = %q", lines[0])
	}
	rows := lines[1 : len(lines)-1]
	if !strings.HasSuffix(lines[len(lines)-1], "rules, version "+mustCatalogue(t).Version()) {
		t.Errorf("last line = %q, want the count and version", lines[len(lines)-1])
	}
	if len(rows) != len(mustCatalogue(t).Rules()) {
		t.Errorf("%d rows for %d rules", len(rows), len(mustCatalogue(t).Rules()))
	}
	for i, r := range mustCatalogue(t).Rules() {
		f := strings.Fields(rows[i])
		if f[0] != r.ID || f[1] != string(r.Severity) || f[2] != fmt.Sprint(r.Priority) || f[len(f)-1] != fmt.Sprintf("v%d", r.Version) {
			t.Errorf("row %d = %q, want %s %s %d ... v%d", i, rows[i], r.ID, r.Severity, r.Priority, r.Version)
		}
	}

	code, out, _ = runArgs(t, "", "rules", "list", "--long")
	if code != exitOK {
		t.Fatalf("rules list --long = %d", code)
	}
	refs := strings.Count(out, "\n    reference: ")
	want := 0
	for _, r := range mustCatalogue(t).Rules() {
		want += len(r.References)
	}
	if refs == 0 || refs != want {
		t.Errorf("rules list --long shows %d references, want all %d", refs, want)
	}
	if code, _, errOut := runArgs(t, "", "rules", "check", "--long"); code != exitUsage || !strings.Contains(errOut, "-long") {
		t.Errorf("rules check --long = %d, %q; want a usage error", code, errOut)
	}
}

func mustCatalogue(t *testing.T) *rules.Catalogue {
	t.Helper()
	c, err := loadCatalogue("")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// brokenCatalogue writes a catalogue that loads but fails its checks and
// its own case.
func brokenCatalogue(t *testing.T) string {
	t.Helper()
	dir, _ := writeCatalogue(t, `
id: TYPO
severity: info
priority: 50
description: reads a variable that does not exist, so it could never fire
references: [Test Act 2000 s1]
variables:
  - {name: income, expr: calculation.a}
condition: variables.incme > 1.0
path: /x
en: {title: T, body: B, action: A}
cy: {title: T, body: B, action: A}
links: [{url: "https://www.gov.uk/x", en: L, cy: D}]
cases:
  - {name: fires, fires: 1, calculation: {calculation: {a: 5}}}
  - {name: quiet, fires: 0, calculation: {calculation: {a: 0}}}
`)
	return dir
}

func TestRulesCheckFindsUnknownNames(t *testing.T) {
	t.Parallel()
	dir := brokenCatalogue(t)
	code, out, _ := runArgs(t, "", "rules", "check", "--rules", dir)
	if code != exitFail || !strings.Contains(out, "variables.incme") {
		t.Errorf("rules check = %d, %q; want a failure naming variables.incme", code, out)
	}
}

// serve refuses to start on a catalogue that fails rules check or its own
// cases, before it opens a database or a port.
func TestServeRefusesAFailingCatalogue(t *testing.T) {
	t.Parallel()
	dir := brokenCatalogue(t)
	dbPath := filepath.Join(t.TempDir(), "assist.db")
	env := map[string]string{"ASSIST_DB": "sqlite:" + dbPath}
	var stderr bytes.Buffer
	err := runServe(context.Background(), []string{"--addr", "127.0.0.1:0", "--rules", dir}, io.Discard, &stderr, func(k string) string { return env[k] })
	if !errors.Is(err, rules.ErrUnfit) || !strings.Contains(err.Error(), "variables.incme") || !strings.Contains(err.Error(), "TYPO / fires") {
		t.Errorf("runServe(failing catalogue) = %v, want rules.ErrUnfit naming the bad read and the failing case", err)
	}
	if _, statErr := os.Stat(dbPath); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("the database was created (%v): a refused start must change nothing", statErr)
	}
}

// A calculation whose figures cannot all be true gets CALC_INCONSISTENT
// alone, in both languages: the advice the other rules would build on it is
// held back (the same calculation without that rule gets plenty).
func TestExplainInconsistentCalculation(t *testing.T) {
	t.Parallel()
	const file = "../../testdata/calculations/inconsistent_TY2025-26.json"
	for _, lang := range []string{"en", "cy"} {
		code, out, errOut := runArgs(t, "", "explain", "--lang", lang, file)
		if code != exitOK {
			t.Fatalf("explain --lang %s = %d, %s", lang, code, errOut)
		}
		var res struct {
			Messages []struct {
				RuleID, Severity, Body string
			} `json:"messages"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Messages) != 1 || res.Messages[0].RuleID != "CALC_INCONSISTENT" || res.Messages[0].Severity != "block" {
			t.Fatalf("explain --lang %s gave %+v, want CALC_INCONSISTENT alone", lang, res.Messages)
		}
		want := map[string]string{"en": "but it cannot be less than zero", "cy": "ond ni all fod yn llai na sero"}[lang]
		if !strings.Contains(res.Messages[0].Body, want) {
			t.Errorf("explain --lang %s body %q does not say what is wrong (%q)", lang, res.Messages[0].Body, want)
		}
	}

	// The same calculation on the catalogue without CALC_INCONSISTENT.
	dir := t.TempDir()
	if err := os.CopyFS(dir, rulefiles.FS); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "calc_inconsistent.yaml")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runArgs(t, "", "explain", "--rules", dir, file)
	if code != exitOK {
		t.Fatalf("explain --rules (without CALC_INCONSISTENT) = %d, %s", code, errOut)
	}
	if n := strings.Count(out, `"ruleId"`); n < 2 {
		t.Errorf("without CALC_INCONSISTENT the calculation gives %d messages, want the advice it was holding back", n)
	}
}
