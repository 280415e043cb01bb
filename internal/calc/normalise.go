package calc

import (
	"encoding/json"
	"strings"
	"unicode"
)

// renamedKeys maps downstream (IFS #1885) key names to the MTD names that
// rules use. Keys not listed pass through unchanged.
var renamedKeys = map[string]string{
	"intentToCrystallise":         "intentToSubmitFinalDeclaration",
	"crystallised":                "finalDeclaration",
	"crystallisationTimestamp":    "finalDeclarationTimestamp",
	"ascId":                       "bsasId",
	"partnershipUTR":              "partnershipUtr",
	"post-cessationTradeReceipts": "postCessationTradeReceipts",
}

// renamedInside maps a key to its MTD name only inside the named parent, where
// the same downstream name means something else elsewhere.
var renamedInside = map[[2]string]string{
	{"highIncomeChildBenefitCharge", "highIncomeChildBenefitCharge"}: "highIncomeBenefitCharge",
	{"incomeTax", "highIncomeChildBenefitCharge"}:                    "highIncomeBenefitCharge",
	// Only the inputs' list of CIS deductions is renamed: taxDeductedAtSource.cis
	// keeps its name in the MTD schema too.
	{"inputs", "cis"}: "constructionIndustryScheme",
}

// enumCodes maps downstream codes to MTD values, per key. Values not listed
// are put into kebab case (see kebab).
var enumCodes = map[string]map[string]string{
	"incomeSourceType": {
		"01": "self-employment", "02": "uk-property", "03": "foreign-property-fhl-eea",
		"04": "uk-property-fhl", "05": "employments", "06": "foreign-income",
		"07": "foreign-dividends", "09": "uk-savings-and-gains", "10": "uk-dividends",
		"11": "state-benefits", "12": "gains-on-life-policies", "13": "share-schemes",
		"14": "partner-income", "15": "foreign-property", "16": "foreign-savings-and-gains",
		"17": "other-dividends", "18": "uk-securities", "19": "other-income",
		"20": "foreign-pension", "21": "non-paye-income", "22": "capital-gains-tax",
		"98": "charitable-giving",
	},
	"calculationType": {
		"iy": "in-year", "if": "intent-to-finalise", "ia": "intent-to-amend",
		"df": "declare-finalisation", "ca": "confirm-amendment",
		"crystallisation": "final-declaration", "crystallization": "final-declaration",
	},
	"calculationReason": {
		// Downstream spellings whose acronyms kebab cannot split; matched as given.
		"HMRCrevenueAmendment":           "enquiry-amendment",
		"HMRCautoCorrection":             "auto-correction",
		"HMRCmanualCorrection":           "manual-correction",
		"customerRejectionOfaCorrection": "customer-rejection-of-a-correction",
		"national-insurance":             "class2-national-insurance",
	},
	"planType": {
		"01": "plan1", "02": "plan2", "03": "postgraduate", "04": "plan4", "05": "plan5",
		"plan-1": "plan1", "plan-2": "plan2", "plan-4": "plan4", "plan-5": "plan5",
	},
	"name": { // tax, NIC, CGT and pension band names
		"ssr": "savings-starter-rate", "zrt": "zero-rate", "brt": "basic-rate",
		"irt": "intermediate-rate", "hrt": "higher-rate", "avrt": "advanced-rate",
		"art": "additional-rate", "srt": "starter-rate",
	},
}

// enumKeys are the keys whose string values are enums in the MTD schema and
// so are normalised. "name" is an enum only inside band lists (bandLists).
var enumKeys = map[string]bool{
	"incomeSourceType": true, "calculationType": true, "calculationReason": true,
	"planType": true, "taxRegime": true, "requestedBy": true, "marriageAllowance": true,
	"claimType": true, "lossType": true, "calculationOutcome": true, "calculationTrigger": true,
	"typeOfDividend": true,
}

var bandLists = map[string]bool{
	"taxBands": true, "nic4Bands": true, "cgtTaxBands": true, "pensionBands": true,
}

// normalise returns v with numbers as float64, keys renamed and enums in MTD
// spelling. parent is the key v sits under ("" at the top; for list elements,
// the list's key).
func normalise(parent string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, child := range t {
			name := k
			if r, ok := renamedInside[[2]string{parent, k}]; ok {
				name = r
			} else if r, ok := renamedKeys[k]; ok {
				name = r
			}
			if s, ok := child.(string); ok && (enumKeys[name] || (name == "name" && bandLists[parent])) {
				out[name] = normaliseEnum(name, s)
				continue
			}
			out[name] = normalise(name, child)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, child := range t {
			out[i] = normalise(parent, child)
		}
		return out
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			// Out of float64 range: keep the literal so nothing is silently
			// changed; rules treat it as a string and do not fire.
			return t.String()
		}
		return f
	default:
		return v
	}
}

func normaliseEnum(key, s string) string {
	k := kebab(s)
	if codes, ok := enumCodes[key]; ok {
		if v, ok := codes[k]; ok {
			return v
		}
		if v, ok := codes[s]; ok {
			return v
		}
	}
	return k
}

// kebab turns camelCase, PascalCase, UPPER_SNAKE and "Space Separated" into
// kebab-case: "ukProperty", "UK_PROPERTY" and "UKProperty" all become
// "uk-property".
func kebab(s string) string {
	rs := []rune(strings.TrimSpace(s))
	var b strings.Builder
	b.Grow(len(s) + 4)
	dash := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	for i, r := range rs {
		switch {
		case r == '_' || r == ' ' || r == '-':
			dash()
		case unicode.IsUpper(r):
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			acronymEnd := i > 0 && unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || acronymEnd {
				dash()
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
