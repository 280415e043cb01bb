package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The simulate package's calculations: SE_EXPENSES_HIGH (expenses at least
// 80% of income) fires on 4 of the 8; lowered to 70% it also fires on
// se_75_percent.json.
const (
	simCalcs = "../../internal/simulate/testdata/calcs"
	simBad   = "../../internal/simulate/testdata/bad"
	simSE75  = simCalcs + "/se_75_percent.json"
)

// copyRules copies the repository's rules/ folder to a temporary one,
// replacing old by new in file (which must contain it).
func copyRules(t *testing.T, file, old, new string) string {
	t.Helper()
	dir := t.TempDir()
	src := os.DirFS("../../rules")
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if err == nil {
				err = os.MkdirAll(filepath.Join(dir, p), 0o755)
			}
			return err
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		if p == file {
			if !bytes.Contains(data, []byte(old)) {
				t.Fatalf("%s lacks %q; update the test", file, old)
			}
			data = bytes.Replace(data, []byte(old), []byte(new), 1)
		}
		return os.WriteFile(filepath.Join(dir, p), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func lowered(t *testing.T) string {
	return copyRules(t, "se_expenses_high.yaml", "  ratio: 0.8\n", "  ratio: 0.7\n")
}

// row finds the table row of rule id and returns its columns.
func row(t *testing.T, out, id string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + id + ` .*$`).FindString(out)
	if m == "" {
		t.Fatalf("no row for %s in\n%s", id, out)
	}
	return strings.Fields(m)
}

func TestSimulateText(t *testing.T) {
	t.Parallel()
	code, out, errOut := runArgs(t, "", "rules", "simulate", simCalcs)
	if code != exitOK || errOut != "" {
		t.Fatalf("rules simulate = %d, stderr %q; want 0 and nothing on stderr (no progress bar off a terminal)", code, errOut)
	}
	cat, err := loadCatalogue("")
	if err != nil {
		t.Fatal(err)
	}
	if want := "8 calculations, 0 unreadable; rules " + cat.Version() + "\n"; !strings.HasPrefix(out, want) {
		t.Errorf("header %q; want %q", strings.SplitN(out, "\n", 2)[0], want)
	}
	if got, want := row(t, out, "SE_EXPENSES_HIGH"), []string{"SE_EXPENSES_HIGH", "check", "4", "50.0%", "0"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("row %q; want %q", got, want)
	}
	if got, want := row(t, out, "HICBC_APPLIES"), []string{"HICBC_APPLIES", "info", "1", "12.5%", "0"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("row %q; want %q", got, want)
	}
	// A rule that never fires is listed too.
	if got := row(t, out, "WINTER_FUEL_PAYMENT_CHARGE"); got[2] != "0" || got[3] != "0.0%" {
		t.Errorf("row %q; want 0 hits", got)
	}
	if n := len(regexp.MustCompile(`(?m)^[A-Z][A-Z0-9_]+ +(block|check|opportunity|info) `).FindAllString(out, -1)); n != len(cat.Rules()) {
		t.Errorf("%d rule rows; want %d", n, len(cat.Rules()))
	}
}

func TestSimulateAgainstText(t *testing.T) {
	t.Parallel()
	code, out, errOut := runArgs(t, "", "rules", "simulate", "--rules", lowered(t), "--against", "../../rules", simCalcs, simBad)
	if code != exitOK || errOut != "" {
		t.Fatalf("rules simulate --against = %d, stderr %q", code, errOut)
	}
	if !regexp.MustCompile(`^8 calculations, 2 unreadable; rules \S+ against \S+\n`).MatchString(out) {
		t.Errorf("header %q", strings.SplitN(out, "\n", 2)[0])
	}
	want := []string{"SE_EXPENSES_HIGH", "check", "5", "62.5%", "4", "+1", "-0", "0", "changed"}
	if got := row(t, out, "SE_EXPENSES_HIGH"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("row %q; want %q", got, want)
	}
	want = []string{"HICBC_APPLIES", "info", "1", "12.5%", "1", "+0", "-0", "0", "unchanged"}
	if got := row(t, out, "HICBC_APPLIES"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("row %q; want %q", got, want)
	}
	for _, w := range []string{
		"\nSE_EXPENSES_HIGH (changed rule): hits 5, baseline 4, +1 -0\n  + " + simSE75 + "\n\n",
		"\n2 unreadable files:\n  " + simBad + "/not_a_calculation.json: not a tax calculation: metadata is missing",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Count(out, "  + ") != 1 || strings.Contains(out, "  - ") {
		t.Errorf("samples of rules that did not change:\n%s", out)
	}
}

func TestSimulateAgainstJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runArgs(t, "", "rules", "simulate", "--json", "--rules", lowered(t), "--against", "../../rules", simCalcs)
	if code != exitOK || errOut != "" {
		t.Fatalf("rules simulate --json = %d, stderr %q", code, errOut)
	}
	var rep struct {
		RuleSetVersion, BaselineRuleSetVersion string
		Files, Calculations, Unreadable        int
		UnreadableFiles                        []any
		Rules                                  []struct {
			ID, Severity, Status                     string
			Hits, Errors, BaselineHits, Gained, Lost int
			HitRate                                  float64
			SampleGained, SampleLost                 []string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Files != 8 || rep.Calculations != 8 || rep.Unreadable != 0 || rep.UnreadableFiles == nil ||
		rep.RuleSetVersion == "" || rep.BaselineRuleSetVersion == "" || rep.RuleSetVersion == rep.BaselineRuleSetVersion {
		t.Errorf("report %+v", rep)
	}
	changed := 0
	for _, r := range rep.Rules {
		if r.Gained+r.Lost == 0 {
			if r.Status != "unchanged" || r.Hits != r.BaselineHits || r.SampleGained == nil || r.SampleLost == nil {
				t.Errorf("%s: %+v; want unchanged, empty samples", r.ID, r)
			}
			continue
		}
		changed++
		if r.ID != "SE_EXPENSES_HIGH" || r.Status != "changed" || r.Hits != 5 || r.HitRate != 0.625 || r.BaselineHits != 4 ||
			r.Gained != 1 || r.Lost != 0 || len(r.SampleGained) != 1 || r.SampleGained[0] != simSE75 || len(r.SampleLost) != 0 {
			t.Errorf("%+v; want SE_EXPENSES_HIGH 5 hits (0.625), baseline 4, gained %s", r, simSE75)
		}
	}
	if changed != 1 {
		t.Errorf("%d rules changed; want 1", changed)
	}
}

func TestSimulateJSONWithoutBaseline(t *testing.T) {
	t.Parallel()
	code, out, _ := runArgs(t, "", "rules", "simulate", simCalcs, "--json")
	if code != exitOK || !strings.Contains(out, `"id": "SE_EXPENSES_HIGH",
      "severity": "check",
      "hits": 4,
      "hitRate": 0.5,
      "errors": 0
    }`) || strings.Contains(out, "gained") || strings.Contains(out, "baseline") {
		t.Errorf("rules simulate --json = %d:\n%s", code, out)
	}
}

func TestSimulateRejectsBadInput(t *testing.T) {
	t.Parallel()
	broken := copyRules(t, "se_expenses_high.yaml", "condition: year.complete", "condition: year.complete &&")
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want []string // on stderr
	}{
		{"no_path", nil, exitUsage, []string{"usage: assist rules simulate", "at least one calculation"}},
		{"bad_flag", []string{"--nope", simCalcs}, exitUsage, []string{"-nope"}},
		{"missing_rules", []string{"--rules", "no-such-dir", simCalcs}, exitUsage, []string{"--rules", "no-such-dir"}},
		{"broken_against", []string{"--against", broken, simCalcs}, exitUsage, []string{"--against", "se_expenses_high.yaml"}},
		{"missing_path", []string{simCalcs, "no-such-file.json"}, exitUsage, []string{"no-such-file.json"}},
		{"bad_max", []string{"--max-calculation-bytes", "0", simCalcs}, exitUsage, []string{"must be positive"}},
		{"empty_dir", []string{empty}, exitFail, []string{"no calculation files", empty}},
		{"all_unreadable", []string{simBad}, exitFail, []string{"none of the 2 files", "not_a_calculation.json: not a tax calculation", "truncated.json"}},
		{"all_too_large", []string{"--max-calculation-bytes", "100", "--json", simCalcs}, exitFail, []string{"none of the 8 files", "too large"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runArgs(t, "", append([]string{"rules", "simulate"}, tc.args...)...)
			if code != tc.code || out != "" {
				t.Errorf("rules simulate %q = %d, stdout %q; want %d and nothing on stdout", tc.args, code, out, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("rules simulate %q: stderr lacks %q:\n%s", tc.args, w, errOut)
				}
			}
		})
	}
}

func TestSimulateProgressBar(t *testing.T) {
	t.Parallel()
	if got, want := progressLine(512, 1000, 10), "[#####.....] 512/1000"; got != want {
		t.Errorf("progressLine = %q; want %q", got, want)
	}
	if got, want := progressLine(0, 0, 4), "[####] 0/0"; got != want {
		t.Errorf("progressLine = %q; want %q", got, want)
	}
	var buf bytes.Buffer
	b := &progressBar{w: &buf}
	for i := range 100 {
		b.update(i, 100) // within 100 ms: drawn once
	}
	b.update(100, 100) // the last is always drawn
	b.clear()
	want := "\r[..............................] 0/100" +
		"\r[##############################] 100/100" +
		"\r" + strings.Repeat(" ", len("[##############################] 100/100")) + "\r"
	if buf.String() != want {
		t.Errorf("bar wrote %q; want %q", buf.String(), want)
	}
}
