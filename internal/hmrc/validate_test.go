package hmrc

import (
	"testing"
	"time"
)

func TestValidNINO(t *testing.T) {
	t.Parallel()
	tests := []struct {
		nino string
		want bool
	}{
		{"AB123456C", true},
		{"TC663795B", true},
		{"AA123456D", true},
		{"AB123456E", false}, // suffix A-D only
		{"AB123456", false},  // suffix mandatory
		{"AB 12 34 56 C", false},
		{"ab123456c", false},
		{"AO123456C", false}, // O not second
		{"DA123456A", false}, // D not first
		{"FA123456A", false},
		{"IA123456A", false},
		{"QA123456A", false},
		{"UA123456A", false},
		{"VA123456A", false},
		{"AD123456A", false},
		{"AV123456A", false},
		{"OA123456A", true},  // O may be first
		{"BG123456A", false}, // never issued
		{"GB123456A", false},
		{"NK123456A", false},
		{"KN123456A", false},
		{"TN123456A", false},
		{"NT123456A", false},
		{"ZZ123456A", false},
		{"AB12345C", false},
		{"AB1234567C", false},
		{"A123456C", false},
		{"ABC123456C", false},
		{" AB123456C", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := ValidNINO(tc.nino); got != tc.want {
			t.Errorf("ValidNINO(%q) = %v, want %v", tc.nino, got, tc.want)
		}
	}
}

func TestCheckTaxYear(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		taxYear string
		want    Code
	}{
		{"2017-18", ""},
		{"2025-26", ""},
		{"2026-27", ""},
		{"2027-28", CodeTaxYearNotSupported},
		{"2016-17", CodeTaxYearNotSupported},
		// One-year ranges across a century (HMRC's reference calls these
		// range errors, by two-digit arithmetic), outside the supported years.
		{"1999-00", CodeTaxYearNotSupported},
		{"2099-00", CodeTaxYearNotSupported},
		{"2018-20", CodeTaxYearRangeInvalid},
		{"2020-25", CodeTaxYearRangeInvalid},
		{"20156", CodeFormatTaxYear},
		{"200-1", CodeFormatTaxYear},
		{"2025-2026", CodeFormatTaxYear},
		{"sjdhakjd", CodeFormatTaxYear},
		{"", CodeFormatTaxYear},
	}
	for _, tc := range tests {
		var got Code
		if p := CheckTaxYear(tc.taxYear, now); p != nil {
			got = p.Error.Code
		}
		if got != tc.want {
			t.Errorf("CheckTaxYear(%q) = %q, want %q", tc.taxYear, got, tc.want)
		}
	}
}

func TestCurrentTaxYear(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    time.Time
		want int
	}{
		{time.Date(2026, 4, 5, 23, 59, 59, 0, time.UTC), 2025},
		{time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC), 2026},
		{time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), 2026},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), 2026},
	}
	for _, tc := range tests {
		if got := CurrentTaxYear(tc.t); got != tc.want {
			t.Errorf("CurrentTaxYear(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
}

func TestIDs(t *testing.T) {
	t.Parallel()
	calc := []struct {
		id   string
		want bool
	}{
		{"f2fb30e5-4ab6-4a29-b3c1-c7264259ff1c", true},
		{"620490b4-06e3-4fef-a555-6fd0877dc7ca", true},
		{"f2fb30e5-4ab6-1a29-b3c1-c7264259ff1c", true},
		{"F2FB30E5-4AB6-4A29-B3C1-C7264259FF1C", false},
		{"f2fb30e5-4ab6-6a29-b3c1-c7264259ff1c", false}, // version 6
		{"f2fb30e5-4ab6-4a29-c3c1-c7264259ff1c", false}, // variant
		{"00000000-0000-0000-0000-000000000001", false},
		{"f2fb30e5#4ab6#4a29#b3c1#c7264259ff1c", false},
		{"f2fb30e5-4ab6-4a29-b3c1-c0004rf", false},
		{"12345678", false},
	}
	for _, tc := range calc {
		if got := ValidCalculationID(tc.id); got != tc.want {
			t.Errorf("ValidCalculationID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
	report := []struct {
		id   string
		want bool
	}{
		{"579800fe-e047-cd40-b3e4-0e14b1f183a8", true},
		{"579800FE-E047-CD40-B3E4-0E14B1F183A8", true},
		{"fb30e5-4ab6-4a29-b3c1-c00000000", false},
		{"579800fe-e047-cd40-b3e4-0e14b1f183a", false},
	}
	for _, tc := range report {
		if got := ValidReportID(tc.id); got != tc.want {
			t.Errorf("ValidReportID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestAcceptsV1(t *testing.T) {
	t.Parallel()
	tests := []struct {
		values []string
		want   bool
	}{
		{[]string{"application/vnd.hmrc.1.0+json"}, true},
		{nil, false},
		{[]string{""}, false},
		{[]string{"application/vnd.hmrc.2.0+json"}, false},
		{[]string{"application/vnd.hmrc.1x0+json"}, false},
		{[]string{"application/json"}, false},
		{[]string{"application/vnd.hmrc.1.0+json, */*"}, false},
		{[]string{"application/vnd.hmrc.1.0+json", "application/json"}, false},
	}
	for _, tc := range tests {
		if got := AcceptsV1(tc.values); got != tc.want {
			t.Errorf("AcceptsV1(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}

func TestCheckOrder(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	ps := CheckProduce("X", "2018-20", "y", now)
	want := []Code{CodeFormatNINO, CodeTaxYearRangeInvalid, CodeFormatCalcID}
	if len(ps) != len(want) {
		t.Fatalf("CheckProduce() = %v, want %v", ps, want)
	}
	for i, p := range ps {
		if p.Error.Code != want[i] || p.Status != 400 || p.Object {
			t.Errorf("CheckProduce()[%d] = %+v, want %s, 400, array", i, p, want[i])
		}
	}
	if ps := CheckAcknowledge("AB123456C", "579800fe-e047-cd40-b3e4-0e14b1f183a8"); ps != nil {
		t.Errorf("CheckAcknowledge(valid) = %v, want nil", ps)
	}
}
