package hmrc

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "update golden files")

// TestGolden pins the wire shapes: field names and order of a report, the
// API definition, and the two error-body shapes.
func TestGolden(t *testing.T) {
	t.Parallel()
	report := Report{
		ReportID: "db741dff-4054-478e-88d2-5993e925c7ab",
		Messages: []Message{{
			Title:  "Turnover and cost of sales",
			Body:   "Your cost of sales is greater than income",
			Action: "Please read our guidance",
			Links:  []Link{{Title: "Our guidance", URL: "https://www.gov.uk/expenses-if-youre-self-employed"}},
			Path:   "general/total_declared_turnover",
		}},
		NINO:          "nino",
		TaxYear:       "2021-22",
		CalculationID: "99d758f6-c4be-4339-804e-f79cf0610d4f",
		CorrelationID: "e43264c5-5301-4ece-b3d3-1e8a8dd93b4b",
	}
	tests := []struct {
		file string
		v    any
	}{
		{"report.json", report},
		{"definition.json", NewDefinition("BETA")},
		{"error_object.json", ErrAcceptHeaderInvalid.Error},
		{"error_array.json", []Error{ErrFormatNINO.Error, ErrFormatTaxYear.Error}},
	}
	for _, tc := range tests {
		got, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		path := "testdata/" + tc.file
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read golden file (run with -update): %v", err)
		}
		if diff := cmp.Diff(string(bytes.TrimSpace(want)), string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.file, diff)
		}
	}
}

// TestReportChecksum pins the golden report's bytes to the SHA-256 that
// HMRC's reference service computes for the same report's non-repudiation
// payload: our compact JSON is byte for byte theirs.
func TestReportChecksum(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	const want = "346b1569969634b9cf0cba5317394fb08bfe7efef6f2b69f0a240b776794cb19"
	if got := fmt.Sprintf("%x", sha256.Sum256(bytes.TrimSpace(data))); got != want {
		t.Errorf("sha256(report.json) = %s, want %s", got, want)
	}
}

// TestReportRoundTrip checks that the golden report decodes with no field
// left over.
func TestReportRoundTrip(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("Decode() = %v", err)
	}
	again, _ := json.Marshal(r)
	if string(again) != string(bytes.TrimSpace(data)) {
		t.Errorf("round trip = %s, want %s", again, data)
	}
}
