package calc

import (
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

// keysByLength says, for each key any table above names, which tables to
// look in, so that the decoder looks in none for most keys (a profile put a
// tenth of decoding in map lookups here). Keys are found by length, then
// compared: a handful of string comparisons costs less than hashing.
var keysByLength = func() [][]keySpec {
	kinds := map[string]keyKind{}
	for k := range renamedKeys {
		kinds[k] |= kindRenamed
	}
	for pk := range renamedInside {
		kinds[pk[1]] |= kindRenamedInside
	}
	for k := range enumKeys {
		kinds[k] |= kindEnum
	}
	kinds["name"] |= kindBandName
	var t [][]keySpec
	for k, kind := range kinds {
		for len(t) <= len(k) {
			t = append(t, nil)
		}
		t[len(k)] = append(t[len(k)], keySpec{k, kind})
	}
	return t
}()

type keySpec struct {
	key  string
	kind keyKind
}

func kindOf(k string) keyKind {
	if len(k) >= len(keysByLength) {
		return 0
	}
	for _, s := range keysByLength[len(k)] {
		if s.key == k {
			return s.kind
		}
	}
	return 0
}

type keyKind uint8

const (
	kindRenamed keyKind = 1 << iota
	kindRenamedInside
	kindEnum
	kindBandName
)

// normalKey is the MTD name of key k inside parent (the normalised key of
// the object k is in; "" at the top).
func normalKey(parent, k string) string {
	kind := kindOf(k)
	if kind == 0 {
		return k
	}
	if kind&kindRenamedInside != 0 {
		if r, ok := renamedInside[[2]string{parent, k}]; ok {
			return r
		}
	}
	if kind&kindRenamed != 0 {
		return renamedKeys[k]
	}
	return k
}

// isEnum tells whether a string under key name (in an object under parent)
// is an enum to normalise.
func isEnum(parent, name string) bool {
	kind := kindOf(name)
	return kind&kindEnum != 0 || (kind&kindBandName != 0 && bandLists[parent])
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
