package calc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeRejectsWhatIsNotACalculation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"not_json", `nope`, "not valid JSON"},
		{"empty", ``, "not valid JSON"},
		{"array", `[1,2]`, "top level must be a JSON object"},
		{"two_values", `{"metadata":{}} {}`, "more than one JSON value"},
		{"no_metadata", `{"calculation":{}}`, "metadata is missing"},
		{"metadata_not_object", `{"metadata":[]}`, "metadata is missing or not an object"},
		{"no_tax_year", `{"metadata":{"calculationId":"12345678"}}`, "metadata.taxYear: missing"},
		{"bad_tax_year", `{"metadata":{"taxYear":"2025-27","calculationId":"12345678"}}`, "does not span one year"},
		{"tax_year_form", `{"metadata":{"taxYear":"25-26","calculationId":"12345678"}}`, "not of the form YYYY-YY"},
		{"tax_year_type", `{"metadata":{"taxYear":true,"calculationId":"12345678"}}`, "must be a string"},
		{"no_calc_id", `{"metadata":{"taxYear":"2025-26"}}`, "calculationId is missing"},
		{"bad_calc_id", `{"metadata":{"taxYear":"2025-26","calculationId":"abc"}}`, "neither a UUID nor 8 digits"},
		{"calculation_not_object", `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"calculation":[]}`, "calculation is not an object"},
		{"messages_not_list", `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"messages":{"errors":{}}}`, "messages.errors is not a list"},
		{"message_without_id", `{"metadata":{"taxYear":"2025-26","calculationId":"12345678"},"messages":{"info":[{"text":"x"}]}}`, "messages.info[0].id is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tc.in))
			if err == nil {
				t.Fatalf("Decode(%q) = nil error, want %q", tc.in, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Decode(%q) error %v does not wrap ErrInvalid", tc.in, err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Decode(%q) error = %q, want one line containing %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestDecodeTaxYearAndGeneration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		taxYear string
		want    string
		gen     Generation
	}{
		{`"2017-18"`, "2017-18", Def1},
		{`"2023-24"`, "2023-24", Def1},
		{`"2024-25"`, "2024-25", Def2},
		{`"2025-26"`, "2025-26", Def3},
		{`"2026-27"`, "2026-27", Def4},
		{`"2030-31"`, "2030-31", Def4},
		{`2027`, "2026-27", Def4}, // downstream: the year the tax year ends
		{`2025`, "2024-25", Def2},
	}
	for _, tc := range tests {
		c, err := Decode([]byte(`{"metadata":{"calculationId":"12345678","taxYear":` + tc.taxYear + `}}`))
		if err != nil {
			t.Fatalf("Decode(taxYear %s): %v", tc.taxYear, err)
		}
		if c.TaxYear != tc.want || c.Generation != tc.gen {
			t.Errorf("Decode(taxYear %s) = %s def%d, want %s def%d", tc.taxYear, c.TaxYear, c.Generation, tc.want, tc.gen)
		}
		if got := c.Section("metadata")["taxYear"]; got != tc.want {
			t.Errorf("metadata.taxYear = %v, want %s", got, tc.want)
		}
	}
}

func TestDecodeKeepsAbsentApartFromZeroAndUnknownFields(t *testing.T) {
	t.Parallel()
	c, err := Decode([]byte(`{
		"metadata":{"calculationId":"12345678","taxYear":"2025-26"},
		"calculation":{"giftAid":{"grossGiftAidPayments":0,"futureField":{"x":1.5}}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	ga := c.Section("calculation")["giftAid"].(map[string]any)
	if v, ok := ga["grossGiftAidPayments"]; !ok || v != 0.0 {
		t.Errorf("grossGiftAidPayments = %v, %v; want 0 present", v, ok)
	}
	if _, ok := ga["giftAidTax"]; ok {
		t.Errorf("giftAidTax is present, want absent")
	}
	if got := ga["futureField"].(map[string]any)["x"]; got != 1.5 {
		t.Errorf("unknown field futureField.x = %v, want 1.5", got)
	}
	if c.Section("inputs") != nil {
		t.Errorf("inputs section present, want nil")
	}
}

func TestDecodeNormalisesEnumsAndDownstreamNames(t *testing.T) {
	t.Parallel()
	c, err := Decode([]byte(`{
		"metadata":{"calculationId":"12345678","taxYear":2026,"calculationType":"crystallisation",
			"calculationReason":"HMRCautoCorrection","intentToCrystallise":true,"crystallised":true},
		"inputs":{"personalInformation":{"identifier":"AA123456A","taxRegime":"UK","studentLoanPlan":[{"planType":"02"},{"planType":"PLAN_4"}]},
			"cis":[{"contractorName":"x"}]},
		"calculation":{
			"businessProfitAndLoss":[{"incomeSourceType":"01"},{"incomeSourceType":"ukProperty"},{"incomeSourceType":"FOREIGN_PROPERTY"},{"incomeSourceType":"self-employment"}],
			"taxDeductedAtSource":{"cis":250.5},
			"taxCalculation":{"incomeTax":{"highIncomeChildBenefitCharge":12.5,
				"payPensionsProfit":{"taxBands":[{"name":"BRT"},{"name":"higherRate"},{"name":"ART"}]}}},
			"highIncomeChildBenefitCharge":{"highIncomeChildBenefitCharge":99}
		},
		"internal":{"secret":1}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	meta := c.Section("metadata")
	in := c.Section("inputs")
	calc := c.Section("calculation")
	pi := in["personalInformation"].(map[string]any)
	bpl := calc["businessProfitAndLoss"].([]any)
	it := calc["taxCalculation"].(map[string]any)["incomeTax"].(map[string]any)
	bands := it["payPensionsProfit"].(map[string]any)["taxBands"].([]any)
	checks := []struct {
		what string
		got  any
		want any
	}{
		{"calculationType", meta["calculationType"], "final-declaration"},
		{"calculationReason", meta["calculationReason"], "auto-correction"},
		{"finalDeclaration", meta["finalDeclaration"], true},
		{"intentToSubmitFinalDeclaration", meta["intentToSubmitFinalDeclaration"], true},
		{"taxRegime", pi["taxRegime"], "uk"},
		{"planType 02", pi["studentLoanPlan"].([]any)[0].(map[string]any)["planType"], "plan2"},
		{"planType PLAN_4", pi["studentLoanPlan"].([]any)[1].(map[string]any)["planType"], "plan4"},
		{"cis", in["constructionIndustryScheme"] != nil, true},
		{"taxDeductedAtSource.cis kept", calc["taxDeductedAtSource"].(map[string]any)["cis"], 250.5},
		{"source 01", bpl[0].(map[string]any)["incomeSourceType"], "self-employment"},
		{"source camel", bpl[1].(map[string]any)["incomeSourceType"], "uk-property"},
		{"source upper", bpl[2].(map[string]any)["incomeSourceType"], "foreign-property"},
		{"source kebab", bpl[3].(map[string]any)["incomeSourceType"], "self-employment"},
		{"band BRT", bands[0].(map[string]any)["name"], "basic-rate"},
		{"band camel", bands[1].(map[string]any)["name"], "higher-rate"},
		{"band ART", bands[2].(map[string]any)["name"], "additional-rate"},
		{"incomeTax HICBC", it["highIncomeBenefitCharge"], 12.5},
		{"HICBC object", calc["highIncomeChildBenefitCharge"].(map[string]any)["highIncomeBenefitCharge"], 99.0},
		{"internal dropped", c.Doc["internal"] == nil, true},
		{"nino", c.NINO, "AA123456A"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.what, ck.got, ck.want)
		}
	}
}

func TestKebab(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"ukProperty": "uk-property", "UK_PROPERTY": "uk-property", "UKProperty": "uk-property",
		"uk-property": "uk-property", "selfEmployment": "self-employment", "class2NICEvent": "class2-nic-event",
		"Self Employment": "self-employment", "plan1": "plan1", "customerRequest": "customer-request",
	}
	for in, want := range tests {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDecodeExamples decodes every example calculation of every schema
// generation, MTD and downstream.
func TestDecodeExamples(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../testdata/calculations/*.json")
	if len(files) < 7 {
		t.Fatalf("found %d example calculations, want at least 7", len(files))
	}
	gens := map[Generation]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Decode(data)
		if err != nil {
			t.Errorf("Decode(%s): %v", filepath.Base(f), err)
			continue
		}
		gens[c.Generation] = true
	}
	for _, g := range []Generation{Def1, Def2, Def3, Def4} {
		if !gens[g] {
			t.Errorf("no example of def%d", g)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	data, err := os.ReadFile("../../testdata/calculations/v9_TY2026-27_def4_mtd-output_full-fixture.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}
