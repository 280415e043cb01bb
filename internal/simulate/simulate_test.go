package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/open-assist/assist/internal/rules"
	rulefiles "github.com/open-assist/assist/rules"
)

// The calculations in testdata/calcs, and which of them the built-in
// SE_EXPENSES_HIGH (expenses at least 80% of income) fires on: the ones at
// 85, 90 and 95% (in a subfolder) and the one with two businesses at 90%,
// which gives two messages but counts once. README.txt is not read.
const (
	calcs        = "testdata/calcs"
	nCalcs       = 8
	se75         = "testdata/calcs/se_75_percent.json"
	se85         = "testdata/calcs/se_85_percent.json"
	se90         = "testdata/calcs/se_90_percent.json"
	se95         = "testdata/calcs/more/se_95_percent.json"
	seTwo        = "testdata/calcs/se_two_businesses_90_percent.json"
	expensesRule = "SE_EXPENSES_HIGH"
)

// loadBuiltin loads the built-in catalogue once; a catalogue is safe to
// share between goroutines.
var loadBuiltin = sync.OnceValues(func() (*rules.Catalogue, error) {
	return rules.Load(rulefiles.FS, rules.Reviewed())
})

func builtin(t *testing.T) *rules.Catalogue {
	t.Helper()
	cat, err := loadBuiltin()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// edited is a copy of the built-in catalogue with edit applied to each file:
// it returns the new content, or nil to leave the file out. extra files are
// added.
func edited(t *testing.T, edit func(name string, data []byte) []byte, extra map[string]string) *rules.Catalogue {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(rulefiles.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(rulefiles.FS, p)
		if err != nil {
			return err
		}
		if edit != nil {
			if data = edit(p, data); data == nil {
				return nil
			}
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := rules.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// withRatio is the built-in catalogue with SE_EXPENSES_HIGH's threshold
// changed from 0.8.
func withRatio(t *testing.T, ratio string) *rules.Catalogue {
	t.Helper()
	return edited(t, func(name string, data []byte) []byte {
		if name != "se_expenses_high.yaml" {
			return data
		}
		out := strings.Replace(string(data), "  ratio: 0.8\n", "  ratio: "+ratio+"\n", 1)
		if out == string(data) {
			t.Fatal("se_expenses_high.yaml no longer has ratio: 0.8; update the test")
		}
		return []byte(out)
	}, nil)
}

func ruleOf(t *testing.T, rep *Report, id string) RuleReport {
	t.Helper()
	for _, r := range rep.Rules {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %s in the report", id)
	return RuleReport{}
}

func TestHitRates(t *testing.T) {
	t.Parallel()
	rep, err := Run(context.Background(), Options{Catalogue: builtin(t), Paths: []string{calcs}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != nCalcs || rep.Calculations != nCalcs || rep.Unreadable != 0 || len(rep.UnreadableFiles) != 0 {
		t.Errorf("files %d, calculations %d, unreadable %d %v; want %d, %d, 0", rep.Files, rep.Calculations, rep.Unreadable, rep.UnreadableFiles, nCalcs, nCalcs)
	}
	if len(rep.Rules) != len(builtin(t).Rules()) {
		t.Errorf("%d rules reported, want every rule of the catalogue (%d), those that never fire too", len(rep.Rules), len(builtin(t).Rules()))
	}
	r := ruleOf(t, rep, expensesRule)
	if r.Hits != 4 || r.HitRate != 0.5 || r.Errors != 0 || r.Severity != rules.Check || r.Comparison != nil {
		t.Errorf("%s = %+v; want 4 hits (rate 0.5), no errors, severity check, no comparison", expensesRule, r)
	}
	if r := ruleOf(t, rep, "HICBC_APPLIES"); r.Hits != 1 || r.HitRate != 1.0/nCalcs {
		t.Errorf("HICBC_APPLIES = %+v; want 1 hit", r)
	}
	for i, r := range rep.Rules {
		if i > 0 && rep.Rules[i-1].ID >= r.ID {
			t.Errorf("rules not sorted by id: %s before %s", rep.Rules[i-1].ID, r.ID)
		}
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "gained") || strings.Contains(string(data), "baselineRuleSetVersion") {
		t.Errorf("JSON without a baseline has comparison fields: %s", data)
	}
}

func TestAgainst(t *testing.T) {
	t.Parallel()
	base := builtin(t)
	tests := []struct {
		name   string
		cat    *rules.Catalogue
		status string
		hits   int
		gained []string
		lost   []string
	}{
		{"threshold_lowered", withRatio(t, "0.7"), "changed", 5, []string{se75}, nil},
		{"threshold_raised", withRatio(t, "0.88"), "changed", 3, nil, []string{se85}},
		{"threshold_raised_past_all", withRatio(t, "0.96"), "changed", 0, nil, []string{se95, se85, se90, seTwo}},
		{"rule_deleted", edited(t, func(name string, data []byte) []byte {
			if name == "se_expenses_high.yaml" {
				return nil
			}
			return data
		}, nil), "removed", 0, nil, []string{se95, se85, se90, seTwo}},
		{"same_content", edited(t, nil, nil), "unchanged", 4, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep, err := Run(context.Background(), Options{Catalogue: tc.cat, Against: base, Paths: []string{calcs}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.BaselineRuleSetVersion != base.Version() || rep.RuleSetVersion != tc.cat.Version() {
				t.Errorf("versions %s against %s; want %s against %s", rep.RuleSetVersion, rep.BaselineRuleSetVersion, tc.cat.Version(), base.Version())
			}
			r := ruleOf(t, rep, expensesRule)
			if r.Comparison == nil {
				t.Fatalf("%s has no comparison", expensesRule)
			}
			if r.Status != tc.status || r.Hits != tc.hits || r.BaselineHits != 4 || r.Gained != len(tc.gained) || r.Lost != len(tc.lost) {
				t.Errorf("%s: status %q hits %d baseline %d +%d -%d; want %q %d 4 +%d -%d",
					expensesRule, r.Status, r.Hits, r.BaselineHits, r.Gained, r.Lost, tc.status, tc.hits, len(tc.gained), len(tc.lost))
			}
			if !reflect.DeepEqual(r.SampleGained, orEmpty(tc.gained)) || !reflect.DeepEqual(r.SampleLost, orEmpty(tc.lost)) {
				t.Errorf("%s samples +%q -%q; want +%q -%q", expensesRule, r.SampleGained, r.SampleLost, tc.gained, tc.lost)
			}
			if r.Changed() != (len(tc.gained)+len(tc.lost) > 0) {
				t.Errorf("%s Changed() = %v", expensesRule, r.Changed())
			}
			// Every other rule is as it was.
			for _, o := range rep.Rules {
				if o.ID == expensesRule {
					continue
				}
				if o.Comparison == nil || o.Status != "unchanged" || o.Hits != o.BaselineHits || o.Gained != 0 || o.Lost != 0 || o.Changed() {
					t.Errorf("untouched rule %s: %+v %+v", o.ID, o, o.Comparison)
				}
			}
			if len(rep.Rules) != len(base.Rules()) {
				t.Errorf("%d rules reported, want the %d of the baseline (a removed rule too)", len(rep.Rules), len(base.Rules()))
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// boomRule is new: it fires on the six calculations with one business and
// fails at run time (integer division by zero) on the two with two.
const boomRule = `
id: BOOM
severity: info
priority: 90
references: [Test Act 2000 s1]
description: a rule that fails
condition: calculation.businessProfitAndLoss.size() / (calculation.businessProfitAndLoss.size() - 2) < 0
path: /x
en: {title: T, body: B, action: A}
cy: {title: T, body: B, action: A}
links: [{url: "https://www.gov.uk/x", en: L, cy: D}]
`

func TestNewRuleAndRuntimeErrors(t *testing.T) {
	t.Parallel()
	cat := edited(t, nil, map[string]string{"boom.yaml": boomRule})
	rep, err := Run(context.Background(), Options{Catalogue: cat, Against: builtin(t), Paths: []string{calcs}})
	if err != nil {
		t.Fatal(err)
	}
	r := ruleOf(t, rep, "BOOM")
	sample := []string{"testdata/calcs/clean_in_year.json", se95, "testdata/calcs/se_50_percent.json", se75, se85}
	if r.Status != "new" || r.Hits != 6 || r.Errors != 2 || r.BaselineHits != 0 || r.BaselineErrors != 0 ||
		r.Gained != 6 || r.Lost != 0 || !reflect.DeepEqual(r.SampleGained, sample) || !r.Changed() {
		t.Errorf("BOOM = %+v %+v; want new, 6 hits, 2 errors, all 6 gained, sample %q", r, r.Comparison, sample)
	}
	if r := ruleOf(t, rep, expensesRule); r.Hits != 4 || r.Status != "unchanged" {
		t.Errorf("%s = %+v %+v; want 4 hits, unchanged", expensesRule, r, r.Comparison)
	}
}

func TestUnreadableFilesDoNotStopTheRun(t *testing.T) {
	t.Parallel()
	rep, err := Run(context.Background(), Options{Catalogue: builtin(t), Paths: []string{calcs, "testdata/bad", "testdata/calcs/README.txt"}})
	if err != nil {
		t.Fatal(err)
	}
	// A file named on the command line is read whatever its name.
	want := []Unreadable{
		{"testdata/bad/not_a_calculation.json", "not a tax calculation: metadata is missing or not an object"},
		{"testdata/bad/truncated.json", "not a tax calculation: not valid JSON: unexpected end of JSON input"},
		{"testdata/calcs/README.txt", "not a tax calculation: not valid JSON"},
	}
	if rep.Files != nCalcs+3 || rep.Calculations != nCalcs || rep.Unreadable != 3 || len(rep.UnreadableFiles) != len(want) {
		t.Fatalf("files %d calculations %d unreadable %d %q; want %d, %d, 3 %q", rep.Files, rep.Calculations, rep.Unreadable, rep.UnreadableFiles, nCalcs+3, nCalcs, want)
	}
	for i, u := range rep.UnreadableFiles {
		if u.File != want[i].File || !strings.HasPrefix(u.Error, want[i].Error) {
			t.Errorf("unreadable %d = %q; want %q", i, u, want[i])
		}
	}
	if r := ruleOf(t, rep, expensesRule); r.Hits != 4 || r.HitRate != 0.5 {
		t.Errorf("%s = %+v; want 4 hits of %d calculations", expensesRule, r, nCalcs)
	}
}

func TestTooLarge(t *testing.T) {
	t.Parallel()
	// clean_in_year.json (6 KB) and synthetic.json (8 KB) are over 2,000 bytes.
	rep, err := Run(context.Background(), Options{Catalogue: builtin(t), Paths: []string{calcs}, MaxBytes: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Calculations != nCalcs-2 || rep.Unreadable != 2 {
		t.Fatalf("calculations %d unreadable %d; want %d, 2", rep.Calculations, rep.Unreadable, nCalcs-2)
	}
	for _, u := range rep.UnreadableFiles {
		if !strings.HasPrefix(u.Error, "too large") {
			t.Errorf("%s: %s; want too large", u.File, u.Error)
		}
	}
}

func TestPathErrors(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	onlyText := t.TempDir()
	if err := os.WriteFile(filepath.Join(onlyText, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		paths []string
		want  error
	}{
		{"empty_directory", []string{empty}, ErrNoCalculations},
		{"no_json_files", []string{onlyText}, ErrNoCalculations},
		{"no_paths", nil, ErrNoCalculations},
		{"missing_path", []string{calcs, "testdata/no-such-folder"}, ErrPath},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep, err := Run(context.Background(), Options{Catalogue: builtin(t), Paths: tc.paths})
			if !errors.Is(err, tc.want) || rep != nil {
				t.Errorf("Run(%q) = %v, %v; want %v", tc.paths, rep, err, tc.want)
			}
		})
	}
}

// TestDeterministic: the report does not depend on the number of workers
// (the order files finish in), and a file given twice counts once.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	cat, base := withRatio(t, "0.7"), builtin(t)
	var reports []*Report
	for _, w := range []int{1, 2, 8} {
		rep, err := Run(context.Background(), Options{Catalogue: cat, Against: base, Workers: w, Paths: []string{calcs, "testdata/bad", se90, "./" + calcs + "/"}})
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, rep)
	}
	for i := 1; i < len(reports); i++ {
		if !reflect.DeepEqual(reports[0], reports[i]) {
			t.Errorf("report %d differs from report 0", i)
		}
	}
	if reports[0].Calculations != nCalcs {
		t.Errorf("%d calculations; want %d, each file once", reports[0].Calculations, nCalcs)
	}
}

// TestSampleIsFirstFiveByName: more changes than the sample holds keep the
// first five names, counted in full.
func TestSampleIsFirstFiveByName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data, err := os.ReadFile(se90)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 9; i >= 1; i-- {
		name := filepath.Join(dir, fmt.Sprintf("c%d.json", i))
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if i <= SampleSize {
			want = append([]string{filepath.ToSlash(name)}, want...)
		}
	}
	rep, err := Run(context.Background(), Options{Catalogue: withRatio(t, "0.96"), Against: builtin(t), Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	r := ruleOf(t, rep, expensesRule)
	if r.Lost != 9 || r.Gained != 0 || !reflect.DeepEqual(r.SampleLost, want) {
		t.Errorf("lost %d gained %d sample %q; want 9, 0, %q", r.Lost, r.Gained, r.SampleLost, want)
	}
}

func TestProgress(t *testing.T) {
	t.Parallel()
	var calls [][2]int
	_, err := Run(context.Background(), Options{Catalogue: builtin(t), Paths: []string{calcs}, Progress: func(done, total int) {
		calls = append(calls, [2]int{done, total})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != nCalcs+1 || calls[0] != [2]int{0, nCalcs} || calls[len(calls)-1] != [2]int{nCalcs, nCalcs} {
		t.Fatalf("progress calls %v; want (0, %d) through (%d, %d)", calls, nCalcs, nCalcs, nCalcs)
	}
	for i, c := range calls {
		if c[0] != i {
			t.Errorf("call %d: done %d", i, c[0])
		}
	}
}

func TestCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rep, err := Run(ctx, Options{Catalogue: builtin(t), Paths: []string{calcs}}); !errors.Is(err, context.Canceled) || rep != nil {
		t.Errorf("Run on a cancelled context = %v, %v; want context.Canceled", rep, err)
	}
}
