// Package rules is the guidance engine: a catalogue of rules, written as YAML
// data with conditions in CEL, that analyses one tax calculation and writes
// bilingual guidance about it.
//
// A catalogue is a directory (the default one is embedded from the top-level
// rules/ folder): catalogue.yaml names it and gives its human version, each
// other *.yaml file holds one rule (or a family under "rules:"), and
// thresholds/YYYY-YY.yaml holds one tax year's allowances and limits with the
// source of each. Load compiles every rule once; Evaluate is then safe to call
// from many goroutines.
package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/google/cel-go/cel"
	"go.yaml.in/yaml/v3"

	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/fraud"
)

// ErrCatalogue is wrapped by every error Load returns.
var ErrCatalogue = errors.New("rules: invalid catalogue")

// Rule is one rule as written in YAML.
type Rule struct {
	ID       string   `yaml:"id"`
	Version  int      `yaml:"version"`
	Severity Severity `yaml:"severity"`
	// Priority orders messages of the same severity: 1 is the most urgent,
	// 100 the least. The API shows only the first few messages, so it
	// decides which are seen.
	Priority int `yaml:"priority"`
	// Exclusive rules speak alone: when one fires, the other rules'
	// messages are dropped, since advice built on a calculation that cannot
	// be right would mislead. Exclusive rules run first, and when one
	// fires the others are not run (nor their errors reported).
	Exclusive   bool   `yaml:"exclusive"`
	Description string `yaml:"description"`
	// References name the rule's legal basis or GOV.UK manual pages.
	References []string       `yaml:"references"`
	TaxYears   TaxYears       `yaml:"taxYears"`
	ForEach    string         `yaml:"forEach"`
	Params     map[string]any `yaml:"params"`
	Variables  []Variable     `yaml:"variables"`
	Condition  string         `yaml:"condition"`
	Evidence   []Evidence     `yaml:"evidence"`
	Path       string         `yaml:"path"`
	EN         Content        `yaml:"en"`
	CY         Content        `yaml:"cy"`
	Links      []RuleLink     `yaml:"links"`
	Cases      []Case         `yaml:"cases"`

	file string // where it was read from, for errors
}

// TaxYears bounds the tax years a rule applies to; either end may be open.
type TaxYears struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// String writes the years as people read them: "2017-18 on", "2024-25
// only", "2020-21 to 2023-24", "up to 2023-24" or "all years".
func (t TaxYears) String() string {
	switch {
	case t.From == "" && t.To == "":
		return "all years"
	case t.From == t.To:
		return t.From + " only"
	case t.To == "":
		return t.From + " on"
	case t.From == "":
		return "up to " + t.To
	}
	return t.From + " to " + t.To
}

// Variable is a named CEL expression, evaluated in order before the
// condition and read as variables.NAME.
type Variable struct {
	Name string `yaml:"name"`
	Expr string `yaml:"expr"`
}

// Evidence is a value the rule reports and its templates can show as {name}.
// It is one expression, or, for words that differ by language (a sentence
// that depends on the year, a list of problems), one expression per
// language.
type Evidence struct {
	Name   string `yaml:"name"`
	Expr   string `yaml:"expr"`
	EN     string `yaml:"en"`
	CY     string `yaml:"cy"`
	Format Format `yaml:"format"`
}

// Content is a rule's text in one language.
type Content struct {
	Title  string `yaml:"title"`
	Body   string `yaml:"body"`
	Action string `yaml:"action"`
}

// RuleLink is a GOV.UK page with its title in each language.
type RuleLink struct {
	URL string `yaml:"url"`
	EN  string `yaml:"en"`
	CY  string `yaml:"cy"`
}

// Case is a calculation a rule must (or must not) fire on.
type Case struct {
	Name string `yaml:"name"`
	// Fires is how many messages the rule must give.
	Fires int `yaml:"fires"`
	// Evidence, when given, is what the first message's evidence must
	// show, as its templates would print it.
	Evidence map[string]string `yaml:"evidence"`
	// EvidenceCy is the same for Welsh, for evidence given per language.
	EvidenceCy map[string]string `yaml:"evidenceCy"`
	// Calculation is the document, written in YAML or JSON. Its metadata
	// may be partial or left out: the case's taxYear (default 2025-26) and
	// a fixed calculation id fill in what it lacks.
	Calculation map[string]any `yaml:"calculation"`
	TaxYear     string         `yaml:"taxYear"`
	// Fraud, when given, is what the request's fraud prevention headers
	// showed, as rules read it; without it, fraud is absent.
	Fraud *CaseFraud `yaml:"fraud"`
}

// CaseFraud is a case's fraud prevention assessment.
type CaseFraud struct {
	Score            int      `yaml:"score"`
	Reasons          []string `yaml:"reasons"` // reason codes
	ConnectionMethod string   `yaml:"connectionMethod"`
	Valid            bool     `yaml:"valid"`
	Code             string   `yaml:"code"`
}

// assessment is f as the engine is given it.
func (f *CaseFraud) assessment() *fraud.Assessment {
	if f == nil {
		return nil
	}
	a := &fraud.Assessment{Score: f.Score, ConnectionMethod: f.ConnectionMethod, Valid: f.Valid, Code: f.Code, Reasons: []fraud.Reason{}}
	for _, code := range f.Reasons {
		a.Reasons = append(a.Reasons, fraud.Reason{Code: code})
	}
	return a
}

// CatalogueInfo names a catalogue (catalogue.yaml).
type CatalogueInfo struct {
	Name    string `yaml:"name"`
	Version string `yaml:"version"`
}

// Threshold is one figure for one tax year, with where it comes from.
type Threshold struct {
	Value  float64 `yaml:"value"`
	Source string  `yaml:"source"`
}

type thresholdFile struct {
	TaxYear string               `yaml:"taxYear"`
	Values  map[string]Threshold `yaml:"values"`
}

// Catalogue is a compiled rule set.
type Catalogue struct {
	info CatalogueInfo
	// version is Version, made once at Load: every report and evaluation
	// asks for it.
	version  string
	rules    []*compiled // in message order: severity, priority, then id
	limits   map[string]map[string]float64
	messages map[string]MessageText
}

// MessageText is a short bilingual description of one of the calculation's
// own message ids (messages.yaml), used when a rule lists them.
type MessageText struct {
	EN string `yaml:"en"`
	CY string `yaml:"cy"`
}

type compiled struct {
	Rule
	from, to  int // first years of the first and last tax years; 0 when open
	forEach   cel.Program
	vars      []cel.Program
	varIndex  map[string]int // variable name → its position in vars
	condition cel.Program
	evidence  []cel.Program // expr, or en for evidence given per language
	welsh     []cel.Program // cy for evidence given per language, else nil
	params    map[string]any
	// metered rules run with CEL's cost limit and interrupt checks (see
	// Reviewed).
	metered bool
}

var idPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// LoadOption changes how Load compiles a catalogue.
type LoadOption func(*loadConfig)

type loadConfig struct {
	reviewed bool
}

// Reviewed says the catalogue is reviewed code built into the binary (the
// embedded one), so its expressions run without CEL's cost limit and
// interrupt checks, and with their constants folded at load. Those checks
// bound what any one expression may do, and were half of evaluation; the
// context is still checked between rules and between a rule's items. Never pass it for a catalogue read from
// --rules: that one keeps the limit, and an expression that exceeds it is
// reported as its rule's error.
func Reviewed() LoadOption {
	return func(c *loadConfig) { c.reviewed = true }
}

// Load reads and compiles the catalogue in fsys. Any problem in any file
// fails the whole load: a service must not start on half a catalogue.
func Load(fsys fs.FS, opts ...LoadOption) (*Catalogue, error) {
	var cfg loadConfig
	for _, o := range opts {
		o(&cfg)
	}
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("rules: cel environment: %w", err)
	}
	folder, err := cel.NewConstantFoldingOptimizer()
	if err != nil {
		return nil, fmt.Errorf("rules: cel constant folding: %w", err)
	}
	opt, err := cel.NewStaticOptimizer(folder)
	if err != nil {
		return nil, fmt.Errorf("rules: cel optimizer: %w", err)
	}
	c := &Catalogue{
		limits:   map[string]map[string]float64{},
		messages: map[string]MessageText{},
	}
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCatalogue, err)
	}
	yearFiles, _ := fs.Glob(fsys, "thresholds/*.yaml")
	all := append(slices.Clone(files), yearFiles...)
	sort.Strings(all)
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no *.yaml files", ErrCatalogue)
	}

	h := sha256.New()
	var problems []error
	seen := map[string]string{}
	for _, name := range all {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCatalogue, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(data))
		h.Write(data)

		switch {
		case name == "catalogue.yaml":
			if err := decodeStrict(data, &c.info); err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", name, err))
			}
		case name == "messages.yaml":
			if err := decodeStrict(data, &c.messages); err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", name, err))
			}
		case strings.HasPrefix(name, "thresholds/"):
			if err := c.addThresholds(name, data); err != nil {
				problems = append(problems, err)
			}
		default:
			rules, err := decodeRules(data)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %w", name, err))
				continue
			}
			for _, r := range rules {
				r.file = name
				if prev, dup := seen[r.ID]; dup {
					problems = append(problems, fmt.Errorf("%s: rule %s is already defined in %s", name, r.ID, prev))
					continue
				}
				seen[r.ID] = name
				cr, errs := compileRule(env, opt, r, !cfg.reviewed)
				problems = append(problems, errs...)
				if cr != nil {
					c.rules = append(c.rules, cr)
				}
			}
		}
	}
	if c.info.Version == "" {
		problems = append(problems, errors.New("catalogue.yaml: version is missing"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w:\n%w", ErrCatalogue, errors.Join(problems...))
	}
	c.version = c.info.Version + "+" + hex.EncodeToString(h.Sum(nil))[:12]
	sort.Slice(c.rules, func(i, j int) bool {
		a, b := c.rules[i], c.rules[j]
		if a.Severity.rank() != b.Severity.rank() {
			return a.Severity.rank() < b.Severity.rank()
		}
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.ID < b.ID
	})
	return c, nil
}

// Version is the human version from catalogue.yaml and a hash of every file's
// content: two catalogues with the same Version give the same results.
func (c *Catalogue) Version() string { return c.version }

// Rules returns the rules in message order: severity, priority, then id.
func (c *Catalogue) Rules() []Rule {
	out := make([]Rule, len(c.rules))
	for i, r := range c.rules {
		out[i] = r.Rule
	}
	return out
}

func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// decodeRules reads a file holding one rule, or a family under "rules:".
func decodeRules(data []byte) ([]Rule, error) {
	var probe map[string]any
	if err := yaml.Unmarshal(data, &probe); err != nil {
		return nil, err
	}
	if _, family := probe["rules"]; family {
		var f struct {
			Rules []Rule `yaml:"rules"`
		}
		if err := decodeStrict(data, &f); err != nil {
			return nil, err
		}
		return f.Rules, nil
	}
	var r Rule
	if err := decodeStrict(data, &r); err != nil {
		return nil, err
	}
	return []Rule{r}, nil
}

func (c *Catalogue) addThresholds(name string, data []byte) error {
	var f thresholdFile
	if err := decodeStrict(data, &f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	want := strings.TrimSuffix(path.Base(name), ".yaml")
	if f.TaxYear != want {
		return fmt.Errorf("%s: taxYear %q does not match the file name", name, f.TaxYear)
	}
	if _, err := calc.ParseTaxYear(f.TaxYear); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	limits := map[string]float64{}
	for k, t := range f.Values {
		if !strings.HasPrefix(t.Source, "https://") {
			return fmt.Errorf("%s: %s has no https source", name, k)
		}
		limits[k] = t.Value
	}
	c.limits[f.TaxYear] = limits
	return nil
}

func compileRule(env *cel.Env, opt *cel.StaticOptimizer, r Rule, metered bool) (*compiled, []error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", r.file, r.ID, fmt.Sprintf(format, args...)))
	}
	if !idPattern.MatchString(r.ID) {
		bad("id must be UPPER_SNAKE")
	}
	if r.Severity.rank() > 3 {
		bad("severity %q is not one of block, check, opportunity, info", r.Severity)
	}
	if r.Priority < MinPriority || r.Priority > MaxPriority {
		bad("priority must be a whole number from %d (most urgent) to %d, not %d", MinPriority, MaxPriority, r.Priority)
	}
	cr := &compiled{Rule: r, params: map[string]any{}, metered: metered}
	var err error
	if cr.from, err = yearBound(r.TaxYears.From); err != nil {
		bad("taxYears.from: %v", err)
	}
	if cr.to, err = yearBound(r.TaxYears.To); err != nil {
		bad("taxYears.to: %v", err)
	}
	for k, v := range r.Params {
		switch n := v.(type) {
		case int:
			cr.params[k] = float64(n)
		case float64, string, bool:
			cr.params[k] = n
		default:
			bad("params.%s must be a number, a string or a boolean", k)
		}
	}
	prog := func(what, expr string) cel.Program {
		if strings.TrimSpace(expr) == "" {
			bad("%s is empty", what)
			return nil
		}
		ast, iss := env.Compile(expr)
		if iss.Err() != nil {
			bad("%s: %v", what, iss.Err())
			return nil
		}
		// Literal lists and maps (a rule's field names, its words) are
		// built once here rather than on every evaluation. Folding runs
		// CEL without a cost limit, so only reviewed catalogues are folded.
		if !metered {
			if ast, iss = opt.Optimize(env, ast); iss.Err() != nil {
				bad("%s: %v", what, iss.Err())
				return nil
			}
		}
		opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
		if metered {
			opts = append(opts, cel.CostLimit(costLimit), cel.InterruptCheckFrequency(100))
		}
		p, err := env.Program(ast, opts...)
		if err != nil {
			bad("%s: %v", what, err)
			return nil
		}
		return p
	}
	if r.ForEach != "" {
		cr.forEach = prog("forEach", r.ForEach)
	}
	cr.varIndex = map[string]int{}
	for i, v := range r.Variables {
		if _, dup := cr.varIndex[v.Name]; v.Name == "" || dup {
			bad("variables[%d] needs a unique name", i)
		}
		cr.varIndex[v.Name] = i
		cr.vars = append(cr.vars, prog("variables."+v.Name, v.Expr))
	}
	names := map[string]bool{}
	cr.condition = prog("condition", r.Condition)
	for i, e := range r.Evidence {
		if e.Name == "" || names[e.Name] || builtinPlaceholders[e.Name] {
			bad("evidence[%d] needs a unique name that is not nino, taxYear or calculationId", i)
		}
		names[e.Name] = true
		if !e.Format.valid() {
			bad("evidence %s: unknown format %q", e.Name, e.Format)
		}
		switch {
		case e.Expr != "" && (e.EN != "" || e.CY != ""):
			bad("evidence %s: give expr, or en and cy, not both", e.Name)
		case e.Expr == "" && (e.EN != "" || e.CY != ""):
			cr.evidence = append(cr.evidence, prog("evidence."+e.Name+".en", e.EN))
			cr.welsh = append(cr.welsh, prog("evidence."+e.Name+".cy", e.CY))
		default:
			cr.evidence = append(cr.evidence, prog("evidence."+e.Name, e.Expr))
			cr.welsh = append(cr.welsh, nil)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cr, nil
}

// The priority scale: 1 is the most urgent message of its severity.
const (
	MinPriority = 1
	MaxPriority = 100
)

// costLimit bounds one expression's work: far above what any rule over a real
// calculation needs, far below what would stall a request.
const costLimit = 1_000_000

func yearBound(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	return calc.ParseTaxYear(s)
}

func (r *compiled) appliesTo(startYear int) bool {
	return (r.from == 0 || startYear >= r.from) && (r.to == 0 || startYear <= r.to)
}
