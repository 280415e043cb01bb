// Package simulate runs a rule catalogue over a folder of calculations and
// counts what each rule does: how many calculations it fires on and, against
// another catalogue (the one that ships now), which calculations gain or lose
// its message. It lets a content designer judge a rule change on real
// calculations before it ships (`assist rules simulate`).
//
// Only counts and a few sample file names are kept, never the results
// themselves, so memory does not grow with the number of calculations
// beyond one path name per file.
package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
)

const (
	// DefaultMaxBytes is the largest calculation file read when
	// Options.MaxBytes is 0: the largest calculation the service analyses,
	// so that the simulation sees what the service would.
	DefaultMaxBytes = report.DefaultMaxCalculationBytes
	// SampleSize is how many file names a rule's samples hold at most.
	SampleSize = 5
	// MaxUnreadableListed is how many unreadable files Report.UnreadableFiles
	// names at most; Report.Unreadable counts them all.
	MaxUnreadableListed = 100
)

var (
	// ErrNoCalculations means the paths held no calculation file at all.
	ErrNoCalculations = errors.New("no calculation files (*.json) found")
	// ErrPath is wrapped by the error for a path that cannot be read.
	ErrPath = errors.New("path cannot be read")
)

// Options says what to simulate.
type Options struct {
	// Catalogue is the catalogue under test. Required.
	Catalogue *rules.Catalogue
	// Against, when set, is the baseline: each rule's hits under
	// Catalogue are compared with its hits under Against.
	Against *rules.Catalogue
	// Paths are calculation files, or directories searched recursively
	// for *.json files. A file named here is read whatever its name.
	Paths []string
	// Progress, when set, is called as calculations are done, from one
	// goroutine at a time: first with (0, total), last with (total, total).
	Progress func(done, total int)
	// MaxBytes is the largest file read; a larger one is unreadable.
	// 0 means DefaultMaxBytes.
	MaxBytes int
	// Workers is how many calculations are evaluated at once; 0 means
	// runtime.NumCPU().
	Workers int
}

// Report is what a simulation found.
type Report struct {
	// RuleSetVersion is the catalogue under test's version;
	// BaselineRuleSetVersion the baseline's, when there is one.
	RuleSetVersion         string `json:"ruleSetVersion"`
	BaselineRuleSetVersion string `json:"baselineRuleSetVersion,omitempty"`
	// Files is how many files were found; Calculations how many of them
	// were read and evaluated; Unreadable how many were not.
	Files        int `json:"files"`
	Calculations int `json:"calculations"`
	Unreadable   int `json:"unreadable"`
	// UnreadableFiles names the first MaxUnreadableListed unreadable files
	// (by name) and why each could not be read.
	UnreadableFiles []Unreadable `json:"unreadableFiles"`
	// Rules has every rule of the catalogue under test and, with a
	// baseline, of the baseline too, by id.
	Rules []RuleReport `json:"rules"`
}

// Unreadable is a file that was not evaluated, and why.
type Unreadable struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// RuleReport is one rule's outcome.
type RuleReport struct {
	ID       string         `json:"id"`
	Severity rules.Severity `json:"severity"`
	// Hits is how many calculations the rule gave at least one message on
	// (a rule with forEach may give several on one calculation).
	Hits int `json:"hits"`
	// HitRate is Hits as a fraction of Report.Calculations (0 to 1).
	HitRate float64 `json:"hitRate"`
	// Errors is how many calculations the rule failed on at run time.
	Errors int `json:"errors"`
	// Comparison is set when there is a baseline; its fields appear in
	// the rule's JSON object.
	*Comparison
}

// Comparison is a rule's outcome under the catalogue under test beside the
// baseline's.
type Comparison struct {
	// Status is "new" (only under test), "removed" (only in the
	// baseline), "changed" (its YAML differs, severity included) or
	// "unchanged". An unchanged rule can still fire differently when
	// the thresholds it reads changed.
	Status         string `json:"status"`
	BaselineHits   int    `json:"baselineHits"`
	BaselineErrors int    `json:"baselineErrors"`
	// Gained is how many calculations get the rule's message under test
	// but not in the baseline; Lost the other way round.
	Gained int `json:"gained"`
	Lost   int `json:"lost"`
	// SampleGained and SampleLost are the first SampleSize such files by
	// name.
	SampleGained []string `json:"sampleGained"`
	SampleLost   []string `json:"sampleLost"`
}

// Changed reports whether the rule fires on a different set of
// calculations than in the baseline.
func (r RuleReport) Changed() bool {
	return r.Comparison != nil && (r.Gained > 0 || r.Lost > 0)
}

// outcome is what one file gave.
type outcome struct {
	name       string
	unreadable string         // why it could not be evaluated, or ""
	hits       map[string]int // rule id → 1 hit, 2 error, under test
	base       map[string]int // the same in the baseline
}

const (
	hit     = 1
	ruleErr = 2
)

// Run evaluates every calculation in opts.Paths. A file that cannot be read
// or is not a calculation is counted in Report.Unreadable and the run goes
// on. It fails for a path that does not exist, when no file is found at all
// (ErrNoCalculations), or when ctx ends.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Catalogue == nil {
		return nil, errors.New("simulate: no catalogue")
	}
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	files, walkErrs, err := find(opts.Paths)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 && len(walkErrs) == 0 {
		return nil, ErrNoCalculations
	}

	agg := newAggregate(opts.Catalogue, opts.Against)
	agg.rep.Files = len(files) + len(walkErrs)
	for _, u := range walkErrs {
		agg.add(outcome{name: u.File, unreadable: u.Error})
	}
	total := len(files)
	if opts.Progress != nil {
		opts.Progress(0, total)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan string)
	results := make(chan outcome, workers)
	go func() {
		defer close(jobs)
		for _, f := range files {
			select {
			case jobs <- f:
			case <-ctx.Done():
				return
			}
		}
	}()
	done := make(chan struct{})
	for range min(workers, max(total, 1)) {
		go func() {
			defer func() { done <- struct{}{} }()
			for name := range jobs {
				o := evaluateFile(ctx, opts.Catalogue, opts.Against, name, maxBytes)
				select {
				case results <- o:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		for range min(workers, max(total, 1)) {
			<-done
		}
		close(results)
	}()
	n := 0
	for o := range results {
		agg.add(o)
		n++
		if opts.Progress != nil {
			opts.Progress(n, total)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return agg.report(), nil
}

// find lists the files under paths, sorted and without repeats, and the
// parts of directories that could not be read. A path that does not exist
// is an error.
func find(paths []string) (files []string, unreadable []Unreadable, err error) {
	seen := map[string]bool{}
	add := func(p string) {
		p = filepath.ToSlash(filepath.Clean(p))
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrPath, err)
		}
		if !st.IsDir() {
			add(root)
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root {
					return err
				}
				unreadable = append(unreadable, Unreadable{File: filepath.ToSlash(p), Error: oneLine(err)})
				return nil
			}
			if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".json") {
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrPath, err)
		}
	}
	sort.Strings(files)
	return files, unreadable, nil
}

// evaluateFile reads, decodes and evaluates one file under both catalogues.
// Nothing in a file can stop the run: a panic is caught and the file counted
// unreadable.
func evaluateFile(ctx context.Context, cat, against *rules.Catalogue, name string, maxBytes int) (o outcome) {
	o.name = name
	defer func() {
		if p := recover(); p != nil {
			o = outcome{name: name, unreadable: fmt.Sprintf("internal error: %v", p)}
		}
	}()
	data, err := readFile(name, maxBytes)
	if err != nil {
		o.unreadable = oneLine(err)
		return o
	}
	doc, err := calc.Decode(data)
	if err != nil {
		o.unreadable = oneLine(err)
		return o
	}
	if o.hits, err = evaluate(ctx, cat, doc); err != nil {
		return outcome{name: name, unreadable: oneLine(err)}
	}
	if against != nil {
		// The decoded tree is only read by the engine, so one decode serves
		// both catalogues.
		if o.base, err = evaluate(ctx, against, doc); err != nil {
			return outcome{name: name, unreadable: oneLine(err)}
		}
	}
	return o
}

// evaluate runs cat on doc as the service would (both languages: a message
// that cannot be rendered in both is given in neither) and returns each
// rule that fired or failed.
func evaluate(ctx context.Context, cat *rules.Catalogue, doc *calc.Calculation) (map[string]int, error) {
	en, _, err := cat.EvaluateBoth(ctx, doc)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(en.Messages)+len(en.Errors))
	for _, m := range en.Messages {
		out[m.RuleID] |= hit
	}
	for _, e := range en.Errors {
		out[e.RuleID] |= ruleErr
	}
	return out, nil
}

// readFile reads a regular file of at most max bytes.
func readFile(name string, max int) ([]byte, error) {
	st, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > int64(max) {
		return nil, fmt.Errorf("too large: %d bytes, more than %d", st.Size(), max)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > max {
		return nil, fmt.Errorf("too large: more than %d bytes", max)
	}
	return data, nil
}

// oneLine is err's text on one line, without the file name that an
// *fs.PathError repeats.
func oneLine(err error) string {
	var pe *fs.PathError
	s := err.Error()
	if errors.As(err, &pe) && pe.Err != nil {
		s = pe.Op + ": " + pe.Err.Error()
	}
	return strings.Join(strings.Fields(s), " ")
}

// aggregate counts outcomes as they come.
type aggregate struct {
	rep   *Report
	ids   []string // every rule id, sorted
	rules map[string]*RuleReport
	// listed keeps the first MaxUnreadableListed unreadable files by name.
	listed []Unreadable
}

func newAggregate(cat, against *rules.Catalogue) *aggregate {
	a := &aggregate{rep: &Report{RuleSetVersion: cat.Version()}, rules: map[string]*RuleReport{}}
	var baseline map[string]rules.Rule
	if against != nil {
		a.rep.BaselineRuleSetVersion = against.Version()
		baseline = map[string]rules.Rule{}
		for _, r := range against.Rules() {
			baseline[r.ID] = r
		}
	}
	for _, r := range cat.Rules() {
		rr := &RuleReport{ID: r.ID, Severity: r.Severity}
		if against != nil {
			rr.Comparison = &Comparison{Status: "new", SampleGained: []string{}, SampleLost: []string{}}
			if b, ok := baseline[r.ID]; ok {
				rr.Status = "unchanged"
				if !sameContent(r, b) {
					rr.Status = "changed"
				}
			}
		}
		a.rules[r.ID] = rr
	}
	for id, b := range baseline {
		if _, ok := a.rules[id]; !ok {
			a.rules[id] = &RuleReport{ID: id, Severity: b.Severity, Comparison: &Comparison{Status: "removed", SampleGained: []string{}, SampleLost: []string{}}}
		}
	}
	for id := range a.rules {
		a.ids = append(a.ids, id)
	}
	sort.Strings(a.ids)
	return a
}

// sameContent reports whether two rules are written the same, as far as
// can be told from what Load read.
func sameContent(a, b rules.Rule) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

func (a *aggregate) add(o outcome) {
	if o.unreadable != "" {
		a.rep.Unreadable++
		a.listed = keepFirst(a.listed, Unreadable{File: o.name, Error: o.unreadable}, MaxUnreadableListed,
			func(x, y Unreadable) int { return strings.Compare(x.File, y.File) })
		return
	}
	a.rep.Calculations++
	// A rule that the other catalogue does not have is simply absent from
	// its map; a rule id that neither catalogue declares cannot occur.
	for id, v := range o.hits {
		r := a.rules[id]
		if r == nil {
			continue
		}
		if v&hit != 0 {
			r.Hits++
		}
		if v&ruleErr != 0 {
			r.Errors++
		}
	}
	for id, v := range o.base {
		r := a.rules[id]
		if r == nil || r.Comparison == nil {
			continue
		}
		if v&hit != 0 {
			r.BaselineHits++
		}
		if v&ruleErr != 0 {
			r.BaselineErrors++
		}
	}
	if a.rep.BaselineRuleSetVersion == "" {
		return
	}
	byName := strings.Compare
	for id, v := range o.hits {
		if v&hit != 0 && o.base[id]&hit == 0 {
			if r := a.rules[id]; r != nil && r.Comparison != nil {
				r.Gained++
				r.SampleGained = keepFirst(r.SampleGained, o.name, SampleSize, byName)
			}
		}
	}
	for id, v := range o.base {
		if v&hit != 0 && o.hits[id]&hit == 0 {
			if r := a.rules[id]; r != nil && r.Comparison != nil {
				r.Lost++
				r.SampleLost = keepFirst(r.SampleLost, o.name, SampleSize, byName)
			}
		}
	}
}

// keepFirst inserts v into the sorted list s, keeping only its first n
// elements: the sample does not depend on the order files finish in.
func keepFirst[T any](s []T, v T, n int, cmp func(a, b T) int) []T {
	i, _ := slices.BinarySearchFunc(s, v, cmp)
	if i >= n {
		return s
	}
	s = slices.Insert(s, i, v)
	if len(s) > n {
		s = s[:n]
	}
	return s
}

func (a *aggregate) report() *Report {
	rep := a.rep
	rep.UnreadableFiles = append([]Unreadable{}, a.listed...)
	rep.Rules = make([]RuleReport, 0, len(a.ids))
	for _, id := range a.ids {
		r := a.rules[id]
		if rep.Calculations > 0 {
			r.HitRate = float64(r.Hits) / float64(rep.Calculations)
		}
		rep.Rules = append(rep.Rules, *r)
	}
	return rep
}
