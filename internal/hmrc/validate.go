package hmrc

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MinTaxYear is the first tax year the API supports (2017-18).
const MinTaxYear = 2017

var (
	ninoPattern     = regexp.MustCompile(`^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$`)
	taxYearPattern  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}$`)
	calcIDPattern   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	reportIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	arnPattern      = regexp.MustCompile(`^[A-Z]ARN[0-9]{7}$`)
)

// ValidNINO reports whether s is a National Insurance number: two letters,
// six digits and a suffix A to D, upper case, no spaces. The first letter is
// not D, F, I, Q, U or V; the second is not those or O; the prefixes BG, GB,
// NK, KN, TN, NT and ZZ are never issued.
func ValidNINO(s string) bool {
	if !ninoPattern.MatchString(s) {
		return false
	}
	switch s[:2] {
	case "BG", "GB", "NK", "KN", "TN", "NT", "ZZ":
		return false
	}
	return true
}

// ValidCalculationID reports whether s is a lower-case RFC 4122 UUID of
// version 1 to 5.
func ValidCalculationID(s string) bool { return calcIDPattern.MatchString(s) }

// ValidReportID reports whether s is a UUID in either case.
func ValidReportID(s string) bool { return reportIDPattern.MatchString(s) }

// ValidARN reports whether s is an agent reference number such as AARN1234567.
func ValidARN(s string) bool { return arnPattern.MatchString(s) }

// CurrentTaxYear returns the first calendar year of the UK tax year that
// contains t; tax years begin on 6 April (UK time, taken here as UTC).
func CurrentTaxYear(t time.Time) int {
	t = t.UTC()
	y := t.Year()
	if t.Month() < time.April || (t.Month() == time.April && t.Day() < 6) {
		return y - 1
	}
	return y
}

// CheckTaxYear returns the problem with a tax year path parameter, or nil.
// Supported years run from 2017-18 to the tax year containing now.
func CheckTaxYear(s string, now time.Time) *Problem {
	if !taxYearPattern.MatchString(s) {
		return &ErrFormatTaxYear
	}
	start, _ := strconv.Atoi(s[:4])
	end, _ := strconv.Atoi(s[5:])
	if (start+1)%100 != end {
		return &ErrTaxYearRangeInvalid
	}
	if start < MinTaxYear || start > CurrentTaxYear(now) {
		return &ErrTaxYearNotSupported
	}
	return nil
}

// CheckProduce returns the problems with the path parameters of "produce a
// report", in the contract's order, or nil.
func CheckProduce(nino, taxYear, calculationID string, now time.Time) []Problem {
	var ps []Problem
	if !ValidNINO(nino) {
		ps = append(ps, ErrFormatNINO)
	}
	if p := CheckTaxYear(taxYear, now); p != nil {
		ps = append(ps, *p)
	}
	if !ValidCalculationID(calculationID) {
		ps = append(ps, ErrFormatCalcID)
	}
	return ps
}

// CheckAcknowledge returns the problems with the path parameters of
// "acknowledge a report", in the contract's order, or nil.
func CheckAcknowledge(nino, reportID string) []Problem {
	var ps []Problem
	if !ValidNINO(nino) {
		ps = append(ps, ErrFormatNINO)
	}
	if !ValidReportID(reportID) {
		ps = append(ps, ErrFormatReportID)
	}
	return ps
}

// AcceptsV1 reports whether the Accept header values ask for version 1.0:
// exactly one value, exactly the media type.
func AcceptsV1(values []string) bool {
	return len(values) == 1 && strings.TrimSpace(values[0]) == MediaTypeV1
}
