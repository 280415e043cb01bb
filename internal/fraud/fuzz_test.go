package fraud

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzValidate feeds header blocks ("Name: value" lines) to Validate and
// Assess: they must not panic, and what they return must hang together.
func FuzzValidate(f *testing.F) {
	for _, m := range Methods {
		b, err := os.ReadFile(filepath.Join("testdata", string(m)+".txt"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("Gov-Client-Connection-Method: WEB_APP_VIA_SERVER\nGov-Vendor-Forwarded: by=%3A%3A1&for=,,by=&&for==\n")
	f.Add("gov-client-screens: width=%zz&width=1,=,&\nGov-Test-Scenario: x\nGov-: \n")
	f.Fuzz(func(t *testing.T, block string) {
		r := Validate(parseBlock(block), now)
		switch {
		case r.Code == NoHeaders:
			if len(r.Errors)+len(r.Warnings)+len(r.Headers)+len(r.Cross) != 0 {
				t.Fatalf("NO_HEADERS with findings: %+v", r)
			}
		case (r.Code == InvalidHeaders) != (len(r.Errors) > 0),
			r.Code == PotentiallyInvalidHeaders && (len(r.Errors) > 0 || len(r.Warnings) == 0),
			r.Code == ValidHeaders && len(r.Errors)+len(r.Warnings) > 0,
			!slices.Contains([]string{ValidHeaders, InvalidHeaders, PotentiallyInvalidHeaders}, r.Code):
			t.Fatalf("code %s with errors %+v warnings %+v", r.Code, r.Errors, r.Warnings)
		}
		if r.Method != "" && methodBit(r.Method) == 0 {
			t.Fatalf("method %q is not one of Methods", r.Method)
		}
		if r.DeviceID != "" && !isUUID(r.DeviceID) {
			t.Fatalf("DeviceID %q is not a UUID", r.DeviceID)
		}
		for _, is := range slices.Concat(r.Errors, r.Warnings) {
			if is.Code == "" || is.Message == "" || len(is.Headers) == 0 {
				t.Fatalf("incomplete issue %+v", is)
			}
			for _, h := range is.Headers {
				if h != strings.ToLower(h) {
					t.Fatalf("header name %q is not lower-case", h)
				}
			}
		}
		for _, hd := range r.Headers {
			if hd.Code == "" || hd.Name != strings.ToLower(hd.Name) || len(hd.Value) > maxValueLen {
				t.Fatalf("header %+v", hd)
			}
		}
		a := Assess(r, "beec798b-b366-47fa-b1f8-92cede14a1ce")
		if a.Score < 0 || a.Score > 100 || (a.Score == 0) != (len(a.Reasons) == 0) || a.Valid != (len(r.Errors) == 0 && r.Code != NoHeaders) {
			t.Fatalf("assessment %+v of %+v", a, r)
		}
		if !slices.IsSortedFunc(a.Reasons, func(x, y Reason) int { return y.Points - x.Points }) {
			t.Fatalf("reasons not sorted: %+v", a.Reasons)
		}
	})
}
