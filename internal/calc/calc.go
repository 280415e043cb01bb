// Package calc reads the JSON that the Individual Calculations API returns for
// "retrieve a self assessment tax calculation" into a form the guidance engine
// can analyse.
//
// The calculation's schema changes every tax year (four generations so far) and
// HMRC's own examples mix MTD and downstream (IFS #1885) spellings, so Decode
// keeps the document as a tree rather than a fixed struct: unknown fields stay,
// absent fields stay absent (never zero), and known enums and renamed keys are
// normalised to the MTD spelling so that rules need only one.
//
// Numbers become float64. Calculation amounts have at most two decimal places
// and at most 13 significant digits (HMRC's limit is 99,999,999,999.99), well
// inside float64's 15, so every amount read here prints back to the penny
// exactly; see FormatMoney in package rules, which rounds to the penny.
package calc

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every error Decode returns for a document that is
// not a calculation. Callers turn it into a 400 or an exit status of 2.
var ErrInvalid = errors.New("not a tax calculation")

// Generation is the tax-year schema generation ("def") of a calculation.
type Generation int

// The schema generations, chosen by tax year as the Individual Calculations API does.
const (
	Def1 Generation = 1 // up to 2023-24
	Def2 Generation = 2 // 2024-25
	Def3 Generation = 3 // 2025-26
	Def4 Generation = 4 // 2026-27 onwards
)

// Calculation is one decoded calculation.
type Calculation struct {
	// TaxYear is the MTD form, "2025-26", even when the document used the
	// downstream integer form.
	TaxYear string
	// CalculationID is metadata.calculationId as given.
	CalculationID string
	// NINO is inputs.personalInformation.identifier, or "" when absent.
	NINO       string
	Generation Generation
	// Doc is the whole normalised document: "metadata", "inputs",
	// "calculation" and "messages" hold map[string]any when present. Values
	// are map[string]any, []any, string, float64, bool or nil.
	Doc map[string]any
}

// Section returns the named top-level object, or nil when it is absent.
func (c *Calculation) Section(name string) map[string]any {
	m, _ := c.Doc[name].(map[string]any)
	return m
}

// MessageIDs lists the ids of the calculation's own info, warning and error
// messages, in document order.
func (c *Calculation) MessageIDs() []string {
	var ids []string
	msgs := c.Section("messages")
	for _, kind := range []string{"info", "warnings", "errors"} {
		list, _ := msgs[kind].([]any)
		for _, m := range list {
			if obj, ok := m.(map[string]any); ok {
				if id, ok := obj["id"].(string); ok {
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}

// StartYear returns the first calendar year of the tax year (2025 for "2025-26").
func (c *Calculation) StartYear() int {
	y, _ := strconv.Atoi(c.TaxYear[:4])
	return y
}

var (
	taxYearPattern = regexp.MustCompile(`^(\d{4})-(\d{2})$`)
	calcIDPattern  = regexp.MustCompile(`^([0-9]{8}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)
)

// ParseTaxYear checks a tax year in the MTD form "2025-26": two consecutive
// years. It returns the first year.
func ParseTaxYear(s string) (int, error) {
	m := taxYearPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("tax year %q is not of the form YYYY-YY", s)
	}
	start, _ := strconv.Atoi(m[1])
	end, _ := strconv.Atoi(m[2])
	if (start+1)%100 != end {
		return 0, fmt.Errorf("tax year %q does not span one year", s)
	}
	return start, nil
}

// GenerationOf returns the schema generation used for a tax year's first year.
func GenerationOf(startYear int) Generation {
	switch {
	case startYear <= 2023:
		return Def1
	case startYear == 2024:
		return Def2
	case startYear == 2025:
		return Def3
	default:
		return Def4
	}
}

// Decode reads one calculation. Errors wrap ErrInvalid and name what is wrong
// in one line.
func Decode(data []byte) (*Calculation, error) {
	dec, root, err := decodeTree(data)
	switch {
	case errors.Is(err, errMoreThanOne):
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	case err != nil:
		return nil, fmt.Errorf("%w: not valid JSON: %s", ErrInvalid, oneLine(err.Error()))
	}
	doc, ok := root.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the top level must be a JSON object", ErrInvalid)
	}
	meta, ok := doc["metadata"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: metadata is missing or not an object", ErrInvalid)
	}
	for _, name := range []string{"inputs", "calculation", "messages"} {
		if v, present := doc[name]; present {
			if _, ok := v.(map[string]any); !ok {
				return nil, fmt.Errorf("%w: %s is not an object", ErrInvalid, name)
			}
		}
	}
	delete(doc, "internal") // downstream-only, never part of the MTD response

	taxYear, err := metadataTaxYear(meta["taxYear"], dec.yearLiteral)
	if err != nil {
		return nil, fmt.Errorf("%w: metadata.taxYear: %v", ErrInvalid, err)
	}
	meta["taxYear"] = taxYear
	id, ok := meta["calculationId"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: metadata.calculationId is missing or not a string", ErrInvalid)
	}
	if !calcIDPattern.MatchString(id) {
		return nil, fmt.Errorf("%w: metadata.calculationId %q is neither a UUID nor 8 digits", ErrInvalid, id)
	}
	if err := checkMessages(doc["messages"]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}

	start, _ := ParseTaxYear(taxYear)
	c := &Calculation{
		TaxYear:       taxYear,
		CalculationID: id,
		Generation:    GenerationOf(start),
		Doc:           doc,
	}
	if pi, ok := c.Section("inputs")["personalInformation"].(map[string]any); ok {
		c.NINO, _ = pi["identifier"].(string)
	}
	return c, nil
}

// metadataTaxYear accepts the MTD form ("2026-27") and the downstream form
// (the year the tax year ends, 2027). literal is the number as written.
func metadataTaxYear(v any, literal string) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", errors.New("missing")
	case string:
		if _, err := ParseTaxYear(t); err != nil {
			return "", err
		}
		return t, nil
	case float64:
		end, err := strconv.Atoi(literal)
		if err != nil || end < 1000 || end > 9999 {
			return "", fmt.Errorf("%s is not a year", literal)
		}
		return fmt.Sprintf("%d-%02d", end-1, end%100), nil
	default:
		return "", fmt.Errorf("must be a string such as \"2025-26\"")
	}
}

func checkMessages(v any) error {
	msgs, _ := v.(map[string]any)
	for _, kind := range []string{"info", "warnings", "errors"} {
		raw, present := msgs[kind]
		if !present {
			continue
		}
		list, ok := raw.([]any)
		if !ok {
			return fmt.Errorf("messages.%s is not a list", kind)
		}
		for i, m := range list {
			obj, ok := m.(map[string]any)
			if !ok {
				return fmt.Errorf("messages.%s[%d] is not an object", kind, i)
			}
			if _, ok := obj["id"].(string); !ok {
				return fmt.Errorf("messages.%s[%d].id is missing or not a string", kind, i)
			}
		}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
