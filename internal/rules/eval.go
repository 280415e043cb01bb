package rules

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/interpreter"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/tracing"
)

// finding is a rule that fired on one calculation (and one item of its
// forEach list), before its content is rendered in a language.
type finding struct {
	rule     *compiled
	item     int
	evidence map[string]any // name → Go value (float64, int64, string, bool, []string)
	welsh    map[string]any // the Welsh value of evidence given per language
}

// value is the evidence named name as lang's text shows it.
func (f finding) value(name string, lang Lang) any {
	if cy, ok := f.welsh[name]; ok && lang == Welsh {
		return cy
	}
	return f.evidence[name]
}

// Evaluate runs every rule that applies to the calculation's tax year and
// renders what fires in lang. A rule whose inputs are absent does not fire; a
// rule that fails is reported in Result.Errors and the others still run.
// The only error is ctx's.
func (c *Catalogue) Evaluate(ctx context.Context, doc *calc.Calculation, lang Lang) (*Result, error) {
	rs, err := c.evaluateIn(ctx, doc, nil, lang)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// EvaluateBoth evaluates once and renders what fires in English and in Welsh.
// The two results hold the same messages in the same order, so en.Messages[i]
// and cy.Messages[i] are one message in two languages.
func (c *Catalogue) EvaluateBoth(ctx context.Context, doc *calc.Calculation) (en, cy *Result, err error) {
	return c.Analyze(ctx, doc, nil)
}

// Analyze is EvaluateBoth for a report asked for over the API (it makes a
// Catalogue the report service's Analyzer): f, the assessment of the
// request's fraud prevention headers, is what rules read as fraud (absent
// when f is nil).
func (c *Catalogue) Analyze(ctx context.Context, doc *calc.Calculation, f *fraud.Assessment) (en, cy *Result, err error) {
	rs, err := c.evaluateIn(ctx, doc, f, English, Welsh)
	if err != nil {
		return nil, nil, err
	}
	return rs[0], rs[1], nil
}

func (c *Catalogue) evaluateIn(ctx context.Context, doc *calc.Calculation, f *fraud.Assessment, langs ...Lang) (_ []*Result, err error) {
	// The span joins the trace of the request the calculation came with.
	ctx, end := tracing.Start(ctx, nil, "rules.evaluate", attribute.String("assist.rule_set_version", c.Version()))
	defer end(&err)
	findings, ruleErrs, err := c.evaluate(ctx, doc, f, c.rules, slices.Contains(langs, Welsh))
	if err != nil {
		return nil, err
	}
	out := make([]*Result, len(langs))
	for i := range langs {
		out[i] = &Result{
			RuleSetVersion: c.Version(),
			TaxYear:        doc.TaxYear,
			Messages:       make([]Message, 0, len(findings)),
			Errors:         append([]RuleError{}, ruleErrs...),
		}
	}
findings:
	for _, f := range findings {
		ms := make([]Message, len(langs))
		for i, lang := range langs {
			m, err := c.render(f, doc, lang)
			if err != nil {
				// A message that cannot be shown in every language is not
				// shown in any, so the languages stay in step.
				for _, r := range out {
					r.Errors = append(r.Errors, RuleError{RuleID: f.rule.ID, Error: fmt.Sprintf("%s: %v", lang, err)})
				}
				continue findings
			}
			ms[i] = m
		}
		for i, r := range out {
			r.Messages = append(r.Messages, ms[i])
		}
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.Int("assist.messages", len(out[0].Messages)), attribute.Int("assist.rule_errors", len(out[0].Errors)))
	}
	return out, nil
}

// evaluate returns findings in rule order (the catalogue's: severity,
// priority, then id) and, within a rule, item order. Welsh evidence is
// worked out only when welsh is set.
//
// Exclusive rules run first: when one fires, the other rules' messages
// would be dropped (see Rule.Exclusive), so they are not run at all, and
// their errors are not reported. Otherwise every rule runs, in order.
func (c *Catalogue) evaluate(ctx context.Context, doc *calc.Calculation, f *fraud.Assessment, rules []*compiled, welsh bool) ([]finding, []RuleError, error) {
	start := doc.StartYear()
	// One activation and one variables map serve every rule and item in
	// turn: rules run one at a time, and nothing a rule keeps (its
	// evidence) refers to them.
	act := &activation{in: c.inputs(doc, f), vars: &lazyVars{}, welsh: welsh}
	act.vars.act = act
	type outcome struct {
		findings []finding
		err      error
	}
	run := func(r *compiled) (outcome, error) {
		if err := ctx.Err(); err != nil {
			return outcome{}, err
		}
		fs, err := r.run(ctx, act)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return outcome{}, ctxErr
			}
		}
		return outcome{fs, err}, nil
	}

	var out []finding
	ruleErrs := []RuleError{}
	exclusiveRan := map[*compiled]outcome{}
	for _, r := range rules {
		if !r.Exclusive || !r.appliesTo(start) {
			continue
		}
		o, err := run(r)
		if err != nil {
			return nil, nil, err
		}
		exclusiveRan[r] = o
		if o.err != nil {
			ruleErrs = append(ruleErrs, RuleError{RuleID: r.ID, Error: o.err.Error()})
		}
		out = append(out, o.findings...)
	}
	if len(out) > 0 {
		return out, ruleErrs, nil
	}

	ruleErrs = ruleErrs[:0]
	for _, r := range rules {
		if !r.appliesTo(start) {
			continue
		}
		o, ran := exclusiveRan[r]
		if !ran {
			var err error
			if o, err = run(r); err != nil {
				return nil, nil, err
			}
		}
		if o.err != nil {
			ruleErrs = append(ruleErrs, RuleError{RuleID: r.ID, Error: o.err.Error()})
			continue
		}
		out = append(out, o.findings...)
	}
	return out, ruleErrs, nil
}

var emptyMap = map[string]any{}

// inputs are the values every rule reads, worked out once per calculation.
type inputs struct {
	metadata, inputs, calculation, messages map[string]any
	messageIDs                              ref.Val
	taxYear, nino                           ref.Val
	isFinal                                 ref.Val
	limits                                  ref.Val
	year                                    map[string]any
	fraud                                   map[string]any // nil: absent
}

func (c *Catalogue) inputs(doc *calc.Calculation, f *fraud.Assessment) *inputs {
	section := func(name string) map[string]any {
		if m := doc.Section(name); m != nil {
			return m
		}
		return emptyMap
	}
	ids := doc.MessageIDs()
	if ids == nil {
		ids = []string{}
	}
	limits := c.limits[doc.TaxYear]
	if limits == nil {
		limits = map[string]float64{}
	}
	meta := section("metadata")
	final := isFinal(doc.Generation, meta)
	// The calculation's sections stay Go maps: CEL reads a path through
	// map[string]any without converting each step. The small values are
	// converted once here rather than on every read.
	return &inputs{
		metadata:    meta,
		inputs:      section("inputs"),
		calculation: section("calculation"),
		messages:    section("messages"),
		messageIDs:  types.NewStringList(types.DefaultTypeAdapter, ids),
		taxYear:     types.String(doc.TaxYear),
		nino:        types.String(doc.NINO),
		isFinal:     types.Bool(final),
		limits:      types.DefaultTypeAdapter.NativeToValue(limits),
		year:        yearOf(doc, final, meta),
		fraud:       fraudOf(f),
	}
}

// fraudOf is f as rules read it: reasons as their codes, so that a rule
// can ask whether one is there without reading the scoring's details.
func fraudOf(f *fraud.Assessment) map[string]any {
	if f == nil {
		return nil
	}
	reasons := make([]string, len(f.Reasons))
	for i, r := range f.Reasons {
		reasons[i] = r.Code
	}
	return map[string]any{"score": int64(f.Score), "reasons": reasons, "connectionMethod": f.ConnectionMethod,
		"valid": f.Valid, "code": f.Code}
}

// activation is what one rule's expressions read: the calculation's inputs,
// the rule's params and variables, and the item a forEach rule is at.
type activation struct {
	in     *inputs
	params map[string]any
	vars   *lazyVars
	item   ref.Val // nil outside a forEach
	welsh  bool    // whether to work out Welsh evidence
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case varMetadata:
		return a.in.metadata, true
	case varInputs:
		return a.in.inputs, true
	case varCalculation:
		return a.in.calculation, true
	case varMessages:
		return a.in.messages, true
	case varMessageIDs:
		return a.in.messageIDs, true
	case varTaxYear:
		return a.in.taxYear, true
	case varIsFinal:
		return a.in.isFinal, true
	case varNINO:
		return a.in.nino, true
	case varLimits:
		return a.in.limits, true
	case varYear:
		return a.in.year, true
	case varFraud:
		return a.in.fraud, a.in.fraud != nil
	case varParams:
		return a.params, true
	case varVariables:
		return a.vars, true
	case varItem:
		return a.item, a.item != nil
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// isFinal tells whether the calculation is the one a return is finalised (or
// amended) on: the point where guidance matters most.
func isFinal(g calc.Generation, meta map[string]any) bool {
	t, _ := meta["calculationType"].(string)
	if g <= calc.Def2 {
		return t == "final-declaration"
	}
	switch t {
	case "intent-to-finalise", "declare-finalisation", "intent-to-amend", "confirm-amendment":
		return true
	}
	return false
}

// run evaluates one rule with the shared activation.
func (r *compiled) run(ctx context.Context, act *activation) ([]finding, error) {
	act.params = r.params
	act.item = nil
	act.vars.reset(ctx, r)
	if r.forEach == nil {
		f, ok, err := r.runItem(ctx, act, 0)
		if err != nil || !ok {
			return nil, err
		}
		return []finding{f}, nil
	}
	list, err := r.eval(ctx, r.forEach, act)
	if err != nil {
		return nil, absentOr("forEach", err)
	}
	lister, ok := list.(traits.Lister)
	if !ok {
		return nil, fmt.Errorf("forEach: got %s, want a list", list.Type().TypeName())
	}
	var out []finding
	i := 0
	for it := lister.Iterator(); it.HasNext() == types.True; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		act.item = it.Next()
		act.vars.reset(ctx, r)
		f, ok, err := r.runItem(ctx, act, i)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// runItem evaluates the condition, then evidence, for one item (or the
// whole calculation outside a forEach); variables are worked out as they
// are read. Absent inputs give (_, false, nil).
func (r *compiled) runItem(ctx context.Context, act *activation, index int) (finding, bool, error) {
	v, err := r.eval(ctx, r.condition, act)
	if err != nil {
		return finding{}, false, absentOr("condition", err)
	}
	fired, ok := v.(types.Bool)
	if !ok {
		return finding{}, false, fmt.Errorf("condition: got %s, want a bool", v.Type().TypeName())
	}
	if !fired {
		return finding{}, false, nil
	}
	f := finding{rule: r, item: index, evidence: make(map[string]any, len(r.evidence))}
	for i, p := range r.evidence {
		name := r.Evidence[i].Name
		v, err := r.evidenceValue(ctx, p, act)
		if err != nil {
			return finding{}, false, fmt.Errorf("evidence.%s: %w", name, err)
		}
		f.evidence[name] = v
		if r.welsh[i] == nil || !act.welsh {
			continue
		}
		if f.welsh == nil {
			f.welsh = map[string]any{}
		}
		if f.welsh[name], err = r.evidenceValue(ctx, r.welsh[i], act); err != nil {
			return finding{}, false, fmt.Errorf("evidence.%s.cy: %w", name, err)
		}
	}
	return f, true, nil
}

func (r *compiled) evidenceValue(ctx context.Context, p cel.Program, act interpreter.Activation) (any, error) {
	v, err := r.eval(ctx, p, act)
	if err != nil {
		// The condition held, so evidence it depends on must be there.
		return nil, err
	}
	return native(v)
}

// eval runs one of r's programs. A metered rule runs with the context, so
// that its interrupt checks can stop it; a reviewed one runs without, which
// saves a context and a goroutine-safe flag per expression.
func (r *compiled) eval(ctx context.Context, p cel.Program, act interpreter.Activation) (ref.Val, error) {
	if r.metered {
		v, _, err := p.ContextEval(ctx, act)
		return v, err
	}
	v, _, err := p.Eval(act)
	return v, err
}

// absentOr hides errors that only mean an input is absent.
func absentOr(what string, err error) error {
	if isAbsent(err) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isAbsent tells whether a CEL error only says that a field, key or list
// element the expression read is not in the calculation. cel-go does not
// export a type for these (interpreter.resolutionError is unexported), so its
// messages are the only signal; TestAbsentInputsDoNotFire pins them.
func isAbsent(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "no such key") ||
		strings.HasPrefix(msg, "no such attribute") ||
		strings.HasPrefix(msg, "index out of bounds")
}

// native converts a CEL value to the plain Go values evidence holds.
func native(v ref.Val) (any, error) {
	switch t := v.(type) {
	case types.Double:
		return float64(t), nil
	case types.Int:
		return int64(t), nil
	case types.Uint:
		return int64(t), nil
	case types.String:
		return string(t), nil
	case types.Bool:
		return bool(t), nil
	case traits.Lister:
		var out []string
		for it := t.Iterator(); it.HasNext() == types.True; {
			s, ok := it.Next().(types.String)
			if !ok {
				return nil, errors.New("lists in evidence must hold strings")
			}
			out = append(out, string(s))
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot report a %s", v.Type().TypeName())
}
