package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

func TestRulesCommandsFailOnABrokenCatalogue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("catalogue.yaml", "name: t\nversion: 0.1.0\n")
	write("r.yaml", `
id: NO_WELSH
severity: info
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
	write("dup.yaml", "rules:\n  - {id: NO_WELSH, severity: info, condition: 'true'}\n")
	code, _, errOut := runArgs(t, "", "rules", "check", dir)
	if code != exitFail || !strings.Contains(errOut, "already defined") {
		t.Errorf("rules check (duplicate id) = %d, %q", code, errOut)
	}
}
