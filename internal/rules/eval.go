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

	"github.com/open-assist/assist/internal/calc"
)

// finding is a rule that fired on one calculation (and one item of its
// forEach list), before its content is rendered in a language.
type finding struct {
	rule     *compiled
	item     int
	evidence map[string]any // name → Go value (float64, int64, string, bool, []string)
	welsh    map[string]any // the Welsh value of evidence given per language
}

// Evaluate runs every rule that applies to the calculation's tax year and
// renders what fires in lang. A rule whose inputs are absent does not fire; a
// rule that fails is reported in Result.Errors and the others still run.
// The only error is ctx's.
func (c *Catalogue) Evaluate(ctx context.Context, doc *calc.Calculation, lang Lang) (*Result, error) {
	rs, err := c.evaluateIn(ctx, doc, lang)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// EvaluateBoth evaluates once and renders what fires in English and in Welsh.
// The two results hold the same messages in the same order, so en.Messages[i]
// and cy.Messages[i] are one message in two languages.
func (c *Catalogue) EvaluateBoth(ctx context.Context, doc *calc.Calculation) (en, cy *Result, err error) {
	rs, err := c.evaluateIn(ctx, doc, English, Welsh)
	if err != nil {
		return nil, nil, err
	}
	return rs[0], rs[1], nil
}

func (c *Catalogue) evaluateIn(ctx context.Context, doc *calc.Calculation, langs ...Lang) ([]*Result, error) {
	findings, ruleErrs, err := c.evaluate(ctx, doc, c.rules)
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
	return out, nil
}

// evaluate returns findings in rule order (the catalogue's: severity,
// priority, then id) and, within a rule, item order.
func (c *Catalogue) evaluate(ctx context.Context, doc *calc.Calculation, rules []*compiled) ([]finding, []RuleError, error) {
	base, err := c.activation(doc)
	if err != nil {
		return nil, nil, err
	}
	start := doc.StartYear()
	var out []finding
	ruleErrs := []RuleError{}
	for _, r := range rules {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if !r.appliesTo(start) {
			continue
		}
		fs, err := r.run(ctx, base)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, nil, ctxErr
			}
			ruleErrs = append(ruleErrs, RuleError{RuleID: r.ID, Error: err.Error()})
			continue
		}
		out = append(out, fs...)
	}
	return exclusive(out), ruleErrs, nil
}

// exclusive keeps only the findings of exclusive rules when there are any.
func exclusive(fs []finding) []finding {
	if !slices.ContainsFunc(fs, func(f finding) bool { return f.rule.Exclusive }) {
		return fs
	}
	return slices.DeleteFunc(fs, func(f finding) bool { return !f.rule.Exclusive })
}

var emptyMap = map[string]any{}

func (c *Catalogue) activation(doc *calc.Calculation) (interpreter.Activation, error) {
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
	return interpreter.NewActivation(map[string]any{
		varMetadata:    meta,
		varInputs:      section("inputs"),
		varCalculation: section("calculation"),
		varMessages:    section("messages"),
		varMessageIDs:  ids,
		varTaxYear:     doc.TaxYear,
		varIsFinal:     final,
		varNINO:        doc.NINO,
		varLimits:      limits,
		varYear:        yearOf(doc, final, meta),
	})
}

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

// run evaluates one rule against the shared activation.
func (r *compiled) run(ctx context.Context, base interpreter.Activation) ([]finding, error) {
	ruleAct, err := interpreter.NewActivation(map[string]any{varParams: r.params})
	if err != nil {
		return nil, err
	}
	act := interpreter.NewHierarchicalActivation(base, ruleAct)
	if r.forEach == nil {
		f, ok, err := r.runItem(ctx, act, nil, 0)
		if err != nil || !ok {
			return nil, err
		}
		return []finding{f}, nil
	}
	list, err := eval(ctx, r.forEach, act)
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
		f, ok, err := r.runItem(ctx, act, it.Next(), i)
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
// whole calculation when item is nil); variables are worked out as they are
// read. Absent inputs give (_, false, nil).
func (r *compiled) runItem(ctx context.Context, parent interpreter.Activation, item ref.Val, index int) (finding, bool, error) {
	vars := newLazyVars(ctx, r)
	bindings := map[string]any{varVariables: vars}
	if item != nil {
		bindings[varItem] = item
	}
	act, err := interpreter.NewActivation(bindings)
	if err != nil {
		return finding{}, false, err
	}
	act = interpreter.NewHierarchicalActivation(parent, act)
	vars.act = act
	v, err := eval(ctx, r.condition, act)
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
		v, err := evidenceValue(ctx, p, act)
		if err != nil {
			return finding{}, false, fmt.Errorf("evidence.%s: %w", name, err)
		}
		f.evidence[name] = v
		if r.welsh[i] == nil {
			continue
		}
		if f.welsh == nil {
			f.welsh = map[string]any{}
		}
		if f.welsh[name], err = evidenceValue(ctx, r.welsh[i], act); err != nil {
			return finding{}, false, fmt.Errorf("evidence.%s.cy: %w", name, err)
		}
	}
	return f, true, nil
}

func evidenceValue(ctx context.Context, p cel.Program, act interpreter.Activation) (any, error) {
	v, err := eval(ctx, p, act)
	if err != nil {
		// The condition held, so evidence it depends on must be there.
		return nil, err
	}
	return native(v)
}

func eval(ctx context.Context, p cel.Program, act interpreter.Activation) (ref.Val, error) {
	v, _, err := p.ContextEval(ctx, act)
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
