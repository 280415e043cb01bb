package rules

import (
	"fmt"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
)

// The variables every rule expression can read. Amounts from the calculation
// are CEL doubles (pounds): write thresholds as 1000.0 in arithmetic, or read
// them from limits or params, which are doubles too.
const (
	varMetadata    = "metadata"    // the calculation's metadata object
	varInputs      = "inputs"      // the calculation's inputs object ({} when absent)
	varCalculation = "calculation" // the calculation's calculation object ({} when absent)
	varMessages    = "messages"    // the calculation's messages object ({} when absent)
	varMessageIDs  = "messageIds"  // ids of all info, warning and error messages
	varTaxYear     = "taxYear"     // "2025-26"
	varIsFinal     = "isFinal"     // a final declaration, or a calculation made to finalise or amend
	varNINO        = "nino"
	varLimits      = "limits"    // the tax year's thresholds, from thresholds/YYYY-YY.yaml
	varParams      = "params"    // the rule's own tuning values
	varVariables   = "variables" // the rule's named variables, in order
	varItem        = "item"      // the list element a forEach rule is looking at
	varYear        = "year"      // the point in the tax year (see year.go)
	// varFraud is what the request's fraud prevention headers showed:
	// score (0-100), reasons (codes), connectionMethod, valid and code.
	// Absent when the report was not asked for over the API (rule cases
	// without it, simulations), so rules reading it stay quiet there.
	varFraud = "fraud"
)

// newEnv builds the one CEL environment every rule compiles in.
func newEnv() (*cel.Env, error) {
	dynMap := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.Variable(varMetadata, dynMap),
		cel.Variable(varInputs, dynMap),
		cel.Variable(varCalculation, dynMap),
		cel.Variable(varMessages, dynMap),
		cel.Variable(varMessageIDs, cel.ListType(cel.StringType)),
		cel.Variable(varTaxYear, cel.StringType),
		cel.Variable(varIsFinal, cel.BoolType),
		cel.Variable(varNINO, cel.StringType),
		cel.Variable(varLimits, cel.MapType(cel.StringType, cel.DoubleType)),
		cel.Variable(varParams, dynMap),
		cel.Variable(varVariables, dynMap),
		cel.Variable(varItem, cel.DynType),
		cel.Variable(varYear, dynMap),
		cel.Variable(varFraud, dynMap),
		cel.OptionalTypes(),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
		ext.Math(),
		ext.Lists(),
		cel.Lib(assistLib{}),
	)
}

// assistLib adds the few functions rules need that CEL lacks.
type assistLib struct{}

func (assistLib) CompileOptions() []cel.EnvOption {
	return []cel.EnvOption{
		// sum(list) adds up a list of amounts; an empty list sums to 0.0.
		cel.Function("sum",
			cel.Overload("sum_list", []*cel.Type{cel.ListType(cel.DynType)}, cel.DoubleType,
				cel.UnaryBinding(sumList))),
		// num(x) is x as a double, for amounts that may be whole numbers in
		// params written without a decimal point.
		cel.Function("num",
			cel.Overload("num_dyn", []*cel.Type{cel.DynType}, cel.DoubleType,
				cel.UnaryBinding(toDouble))),
		// money(x) writes an amount as the text does (£1,234.56), for
		// evidence built of sentences.
		cel.Function("money",
			cel.Overload("money_dyn", []*cel.Type{cel.DynType}, cel.StringType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					d := toDouble(v)
					if types.IsError(d) {
						return d
					}
					return types.String(FormatMoneyGOVUK(float64(d.(types.Double))))
				}))),
		// date(iso, lang) writes "2026-04-05" as "5 April 2026" ("en") or
		// "5 Ebrill 2026" ("cy"), for evidence built of sentences.
		cel.Function("date",
			cel.Overload("date_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.StringType,
				cel.BinaryBinding(func(iso, lang ref.Val) ref.Val {
					s, _ := iso.(types.String)
					l, ok := ParseLang(fmt.Sprint(lang.Value()))
					d, err := time.Parse(isoDate, string(s))
					if err != nil || !ok {
						return types.NewErr("date(%v, %v): want a YYYY-MM-DD date and en or cy", iso.Value(), lang.Value())
					}
					return types.String(formatDate(d, l))
				}))),
	}
}

func (assistLib) ProgramOptions() []cel.ProgramOption { return nil }

func sumList(v ref.Val) ref.Val {
	l, ok := v.(traits.Lister)
	if !ok {
		return types.NoSuchOverloadErr()
	}
	total := 0.0
	it := l.Iterator()
	for it.HasNext() == types.True {
		d := toDouble(it.Next())
		if types.IsError(d) {
			return d
		}
		total += float64(d.(types.Double))
	}
	return types.Double(total)
}

func toDouble(v ref.Val) ref.Val {
	switch n := v.(type) {
	case types.Double:
		return n
	case types.Int:
		return types.Double(n)
	case types.Uint:
		return types.Double(n)
	case *types.Err:
		return n
	}
	return types.NewErr("not a number: %s", fmt.Sprint(v.Value()))
}
