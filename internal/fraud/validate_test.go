package fraud

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	hmrcValid        = "All headers required for your connection method have been supplied and all appear to be valid. Validation is based on a single request. We have access to all requests and can draw additional conclusions."
	hmrcInvalid      = "At least 1 header is invalid"
	hmrcPotential    = "At least 1 header is potentially invalid"
	hmrcNoHeaders    = "No fraud prevention headers submitted. These are required by law. Check the specification."
	hmrcRequired     = "Header required"
	hmrcValueNeeded  = "Value required"
	hmrcUnknown      = "Unrecognised header. Check format and spelling"
	hmrcForwarded    = "At least 1 pair of IPs in Gov-Vendor-Forwarded must include Gov-Client-Public-IP in the 'for' field and Gov-Vendor-Public-IP in the 'by' field. Check all 3 headers are consistent."
	hmrcMFAMissing   = "Header missing. This may be correct for single factor authentication, for example username and password. If this is the case, you must contact us explaining why you cannot submit this header."
	hmrcMFAEmpty     = "Value is empty. This may be correct for single factor authentication, for example username and password. If this is the case, you must contact us explaining why you cannot submit this header."
	gccm             = "gov-client-connection-method"
	forwarded        = "gov-vendor-forwarded"
	clientIP         = "gov-client-public-ip"
	vendorIP         = "gov-vendor-public-ip"
	multiFactor      = "gov-client-multi-factor"
	licenceIDs       = "gov-vendor-license-ids"
	crossHeaderNames = "gov-vendor-forwarded,gov-vendor-public-ip,gov-client-public-ip"
)

// specMatrix is the specification's table of required headers (section 1),
// a row per header, a column per method in the order of Methods.
var specMatrix = []struct{ header, row string }{
	{"gov-client-connection-method", "11111111"},
	{"gov-client-browser-js-user-agent", "00100000"},
	{"gov-client-device-id", "11111111"},
	{"gov-client-local-ips", "11011111"},
	{"gov-client-local-ips-timestamp", "11011111"},
	{"gov-client-mac-addresses", "11000111"},
	{"gov-client-multi-factor", "11111011"},
	{"gov-client-public-ip", "01101001"},
	{"gov-client-public-ip-timestamp", "01101001"},
	{"gov-client-public-port", "01101001"},
	{"gov-client-screens", "11111000"},
	{"gov-client-timezone", "11111111"},
	{"gov-client-user-agent", "11011111"},
	{"gov-client-user-ids", "11111111"},
	{"gov-client-window-size", "11111000"},
	{"gov-vendor-forwarded", "01101001"},
	{"gov-vendor-license-ids", "11111111"},
	{"gov-vendor-product-name", "11111111"},
	{"gov-vendor-public-ip", "01101001"},
	{"gov-vendor-version", "11111111"},
}

func TestValidateFullSets(t *testing.T) {
	t.Parallel()
	wantCount := map[Method]int{DesktopAppDirect: 14, DesktopAppViaServer: 19, WebAppViaServer: 16, MobileAppDirect: 13,
		MobileAppViaServer: 18, BatchProcessDirect: 11, OtherDirect: 12, OtherViaServer: 17}
	for col, m := range Methods {
		t.Run(string(m), func(t *testing.T) {
			t.Parallel()
			r := Validate(fullSet(t, m), now)
			if r.Code != ValidHeaders || r.Message != hmrcValid || r.Method != m {
				t.Errorf("Validate(full %s) = %s %q method %q, want %s, HMRC's message, %s", m, r.Code, r.Message, r.Method, ValidHeaders, m)
			}
			if len(r.Errors) != 0 || len(r.Warnings) != 0 {
				t.Errorf("Validate(full %s) errors %v warnings %v, want none", m, r.Errors, r.Warnings)
			}
			var want []string
			for _, row := range specMatrix {
				if row.row[col] == '1' {
					want = append(want, row.header)
				}
			}
			if got := names(r.Headers); !slices.Equal(got, want) {
				t.Errorf("Validate(full %s) headers = %v\nwant the specification's %v", m, got, want)
			}
			if len(r.Headers) != wantCount[m] || requiredCount(m) != wantCount[m] {
				t.Errorf("%s: %d headers, %d required in specs, want %d", m, len(r.Headers), requiredCount(m), wantCount[m])
			}
			for _, hd := range r.Headers {
				if hd.Code != CodeValidHeader || !hd.Present || hd.Errors == nil || hd.Warnings == nil {
					t.Errorf("%s: %+v, want a present VALID_HEADER with empty lists", m, hd)
				}
			}
			var wantCross []Cross
			if viaServer.has(m) {
				wantCross = []Cross{{Headers: strings.Split(crossHeaderNames, ","), Code: ValidHeaders, Errors: []string{}}}
			}
			if !reflect.DeepEqual(r.Cross, orNone(wantCross)) {
				t.Errorf("%s: Cross = %+v, want %+v", m, r.Cross, wantCross)
			}
			if r.DeviceID != "beec798b-b366-47fa-b1f8-92cede14a1ce" {
				t.Errorf("%s: DeviceID = %q", m, r.DeviceID)
			}
		})
	}
}

func orNone(cs []Cross) []Cross {
	if cs == nil {
		return []Cross{}
	}
	return cs
}

// TestValidateEachRequired removes, then empties, each header of each full
// set: that header alone is reported, as an error, or as a warning for the
// two HMRC only queries.
func TestValidateEachRequired(t *testing.T) {
	t.Parallel()
	for _, m := range Methods {
		for name := range fullSet(t, m) {
			lname := strings.ToLower(name)
			t.Run(string(m)+"/missing/"+lname, func(t *testing.T) {
				t.Parallel()
				h := fullSet(t, m)
				del(h, name)
				r := Validate(h, now)
				checkOnlyFinding(t, r, lname, CodeMissingHeader, map[string]string{multiFactor: hmrcMFAMissing, licenceIDs: hmrcRequired}, hmrcRequired)
				if hd := header(t, r, lname); hd.Present || hd.Value != "" {
					t.Errorf("missing %s: Present %v Value %q, want false and empty", lname, hd.Present, hd.Value)
				}
			})
			t.Run(string(m)+"/empty/"+lname, func(t *testing.T) {
				t.Parallel()
				h := fullSet(t, m)
				set(h, name, "  ")
				r := Validate(h, now)
				checkOnlyFinding(t, r, lname, CodeEmptyHeader, map[string]string{multiFactor: hmrcMFAEmpty, licenceIDs: hmrcValueNeeded}, hmrcValueNeeded)
				if hd := header(t, r, lname); !hd.Present {
					t.Errorf("empty %s: Present false, want true", lname)
				}
			})
		}
	}
}

// checkOnlyFinding: name has the one finding code, a warning with the
// message in advisory, else an error with msg; nothing else is said.
func checkOnlyFinding(t *testing.T, r *Result, name, code string, advisory map[string]string, msg string) {
	t.Helper()
	want := []Issue{{Code: code, Message: msg, Headers: []string{name}, Reason: ReasonMissing}}
	wantCode, gotIssues := InvalidHeaders, r.Errors
	if a, ok := advisory[name]; ok {
		want[0].Message, want[0].Reason = a, ""
		wantCode, gotIssues = PotentiallyInvalidHeaders, r.Warnings
		if len(r.Errors) != 0 {
			t.Errorf("errors = %+v, want none", r.Errors)
		}
	} else if len(r.Warnings) != 0 {
		t.Errorf("warnings = %+v, want none", r.Warnings)
	}
	if !reflect.DeepEqual(gotIssues, want) || r.Code != wantCode {
		t.Errorf("%s: code %s issues %+v, want %s %+v", name, r.Code, gotIssues, wantCode, want)
	}
	if hd := header(t, r, name); hd.Code != code {
		t.Errorf("%s: header code %s, want %s", name, hd.Code, code)
	}
	if name == gccm && r.Method != "" {
		t.Errorf("without a method: Method %q, want empty", r.Method)
	}
}

func TestValidateCross(t *testing.T) {
	t.Parallel()
	both := strings.Split(crossHeaderNames, ",")
	mismatch := Issue{Code: CodeInvalidHeaders, Message: hmrcForwarded, Headers: both, Reason: ReasonInconsistent}
	tests := []struct {
		name      string
		method    Method
		set       map[string]string
		del       []string
		wantCross []Cross
		wantErr   []Issue // INVALID_HEADERS issues
		wantWarn  *Issue  // the same-IP warning
	}{
		{name: "first_hop_matches", method: OtherViaServer,
			wantCross: []Cross{{Headers: both, Code: ValidHeaders, Errors: []string{}}}},
		{name: "ipv6_spelt_differently", method: OtherViaServer,
			set:       map[string]string{clientIP: "2001:4860:0:0::8888", forwarded: "by=203.0.113.6&for=2001%3A4860%3A%3A8888"},
			wantCross: []Cross{{Headers: both, Code: ValidHeaders, Errors: []string{}}}},
		{name: "by_is_not_vendor_ip", method: DesktopAppViaServer,
			set:       map[string]string{forwarded: "by=203.0.113.99&for=198.51.100.7"},
			wantCross: []Cross{{Headers: both, Code: InvalidHeaders, Errors: []string{hmrcForwarded}}},
			wantErr:   []Issue{mismatch}},
		{name: "for_is_not_client_ip", method: WebAppViaServer,
			set:       map[string]string{forwarded: "by=203.0.113.6&for=198.51.100.99"},
			wantCross: []Cross{{Headers: both, Code: InvalidHeaders, Errors: []string{hmrcForwarded}}},
			wantErr:   []Issue{mismatch}},
		{name: "match_on_second_hop_only", method: MobileAppViaServer,
			set:       map[string]string{forwarded: "by=198.51.100.20&for=203.0.113.50,by=203.0.113.6&for=198.51.100.7"},
			wantCross: []Cross{{Headers: both, Code: InvalidHeaders, Errors: []string{hmrcForwarded}}},
			wantErr:   []Issue{mismatch}},
		{name: "vendor_ip_missing", method: DesktopAppViaServer, del: []string{vendorIP},
			wantCross: []Cross{{Headers: both, Code: InvalidHeaders, Errors: []string{msgForwardedUnknown}}}},
		{name: "forwarded_broken", method: DesktopAppViaServer, set: map[string]string{forwarded: "by=203.0.113.6"},
			wantCross: []Cross{{Headers: both, Code: InvalidHeaders, Errors: []string{msgForwardedUnknown}}}},
		{name: "direct_method_has_none", method: DesktopAppDirect},
		{name: "client_ip_is_vendor_ip", method: OtherViaServer,
			set:       map[string]string{clientIP: "203.0.113.6", forwarded: "by=203.0.113.6&for=203.0.113.6"},
			wantCross: []Cross{{Headers: both, Code: ValidHeaders, Errors: []string{}}},
			wantWarn:  &Issue{Code: CodePotentiallyInvalid, Message: msgSameIP, Headers: []string{clientIP, vendorIP}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := fullSet(t, tc.method)
			for k, v := range tc.set {
				set(h, k, v)
			}
			for _, k := range tc.del {
				del(h, k)
			}
			r := Validate(h, now)
			if !reflect.DeepEqual(r.Cross, orNone(tc.wantCross)) {
				t.Errorf("Cross = %+v, want %+v", r.Cross, tc.wantCross)
			}
			var gotErr []Issue
			for _, is := range r.Errors {
				if is.Code == CodeInvalidHeaders {
					gotErr = append(gotErr, is)
				}
			}
			if !reflect.DeepEqual(gotErr, tc.wantErr) {
				t.Errorf("INVALID_HEADERS errors = %+v, want %+v", gotErr, tc.wantErr)
			}
			if tc.wantErr != nil && !reflect.DeepEqual(r.Errors[len(r.Errors)-1], tc.wantErr[0]) {
				t.Errorf("cross check error is not last: %+v", r.Errors)
			}
			if tc.wantWarn != nil {
				if !reflect.DeepEqual(r.Warnings, []Issue{*tc.wantWarn}) || r.Code != PotentiallyInvalidHeaders {
					t.Errorf("code %s warnings %+v, want %s and %+v", r.Code, r.Warnings, PotentiallyInvalidHeaders, *tc.wantWarn)
				}
				for _, name := range tc.wantWarn.Headers {
					if hd := header(t, r, name); hd.Code != CodePotentiallyInvalid || !slices.Equal(hd.Warnings, []string{msgSameIP}) {
						t.Errorf("%s: %s %q, want %s with the warning", name, hd.Code, hd.Warnings, CodePotentiallyInvalid)
					}
				}
			}
		})
	}
}

func TestValidateNoHeaders(t *testing.T) {
	t.Parallel()
	tests := map[string]http.Header{
		"nothing":               {},
		"nil":                   nil,
		"other_headers":         {"Accept": {"application/vnd.hmrc.1.0+json"}, "Authorization": {"Bearer x"}, "Government": {"x"}},
		"test_scenario_only":    {"Gov-Test-Scenario": {"DEFAULT"}},
		"unknown_gov_only":      {"Gov-Something": {"x"}},
		"prefix_without_suffix": {"Gov-Client": {"x"}, "Gov-Vendor": {"y"}},
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := Validate(h, now)
			want := &Result{Code: NoHeaders, Message: hmrcNoHeaders, Errors: []Issue{}, Warnings: []Issue{}, Headers: []Header{}, Cross: []Cross{}}
			if !reflect.DeepEqual(r, want) {
				t.Errorf("Validate(%v) = %+v, want %+v", h, r, want)
			}
		})
	}
}

func TestValidateOverall(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		method   Method
		set      map[string]string
		wantCode string
		wantMsg  string
	}{
		{name: "valid", method: WebAppViaServer, wantCode: ValidHeaders, wantMsg: hmrcValid},
		{name: "warning_only", method: WebAppViaServer, set: map[string]string{"Gov-Client-User-IDs": "os=alice"},
			wantCode: PotentiallyInvalidHeaders, wantMsg: hmrcPotential},
		{name: "error_and_warning", method: WebAppViaServer,
			set:      map[string]string{"Gov-Client-User-IDs": "os=alice", "Gov-Client-Timezone": "BST"},
			wantCode: InvalidHeaders, wantMsg: hmrcInvalid},
		{name: "unknown_header_warns", method: DesktopAppDirect, set: map[string]string{"Gov-Client-Timezones": "UTC+00:00"},
			wantCode: PotentiallyInvalidHeaders, wantMsg: hmrcPotential},
		{name: "test_scenario_is_no_issue", method: DesktopAppDirect, set: map[string]string{"Gov-Test-Scenario": "DEFAULT"},
			wantCode: ValidHeaders, wantMsg: hmrcValid},
		{name: "unneeded_headers_are_no_issue", method: WebAppViaServer,
			set: map[string]string{"Gov-Client-Browser-Do-Not-Track": "false", "Gov-Client-Browser-Plugins": "Chromium%20PDF%20Viewer",
				"Gov-Client-Local-IPs": "10.1.2.3", "Gov-Client-MAC-Addresses": "", "Gov-Client-User-Agent": "os-family=Windows&os-version=10&device-manufacturer=Dell&device-model=XPS"},
			wantCode: ValidHeaders, wantMsg: hmrcValid},
		{name: "unneeded_but_broken", method: WebAppViaServer, set: map[string]string{"Gov-Client-Browser-Do-Not-Track": "1"},
			wantCode: InvalidHeaders, wantMsg: hmrcInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := fullSet(t, tc.method)
			for k, v := range tc.set {
				set(h, k, v)
			}
			r := Validate(h, now)
			if r.Code != tc.wantCode || r.Message != tc.wantMsg {
				t.Errorf("Validate() = %s %q, want %s %q (errors %+v, warnings %+v)", r.Code, r.Message, tc.wantCode, tc.wantMsg, r.Errors, r.Warnings)
			}
		})
	}
}

func TestValidateHeaderStates(t *testing.T) {
	t.Parallel()
	h := fullSet(t, WebAppViaServer)
	set(h, "Gov-Test-Scenario", "DEFAULT")
	set(h, "gov-client-timezones", "UTC+00:00")
	set(h, "Gov-Client-Browser-Do-Not-Track", "false")
	set(h, "Gov-Client-Local-IPs", "10.1.2.3")
	set(h, "Gov-Client-User-Agent", "os-family=Windows&device-manufacturer=Dell&device-model=XPS")
	r := Validate(h, now)
	want := map[string]string{
		"gov-test-scenario":               CodeTestScenarioHeader,
		"gov-client-timezones":            CodeUnexpectedHeader,
		"gov-client-browser-do-not-track": CodeUnexpectedHeader,
		"gov-client-local-ips":            CodeUnexpectedHeader,
		"gov-client-user-agent":           CodeInvalidHeader, // unneeded, but its format still counts
	}
	for name, code := range want {
		if hd := header(t, r, name); hd.Code != code {
			t.Errorf("%s: code %s, want %s", name, hd.Code, code)
		}
	}
	wantWarn := []Issue{{Code: CodeUnexpectedHeader, Message: hmrcUnknown, Headers: []string{"gov-client-timezones"}}}
	if !reflect.DeepEqual(r.Warnings, wantWarn) {
		t.Errorf("warnings = %+v, want only the unknown header's %+v", r.Warnings, wantWarn)
	}
	// The table's order, then what is not in it by name.
	wantOrder := []string{"gov-client-connection-method", "gov-client-browser-do-not-track", "gov-client-browser-js-user-agent",
		"gov-client-device-id", "gov-client-local-ips", "gov-client-multi-factor", "gov-client-public-ip",
		"gov-client-public-ip-timestamp", "gov-client-public-port", "gov-client-screens", "gov-client-timezone",
		"gov-client-user-agent", "gov-client-user-ids", "gov-client-window-size", "gov-vendor-forwarded",
		"gov-vendor-license-ids", "gov-vendor-product-name", "gov-vendor-public-ip", "gov-vendor-version",
		"gov-client-timezones", "gov-test-scenario"}
	if got := names(r.Headers); !slices.Equal(got, wantOrder) {
		t.Errorf("header order\n got %v\nwant %v", got, wantOrder)
	}
}

func TestValidateWithoutMethod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string // "" removes the header
		want   []Issue
	}{
		{name: "missing", want: []Issue{
			{Code: CodeMissingHeader, Message: hmrcRequired, Headers: []string{gccm}, Reason: ReasonMissing},
			{Code: CodeInvalidHeader, Message: hmrcTimezone, Headers: []string{"gov-client-timezone"}, Reason: ReasonMalformed},
			{Code: CodeEmptyHeader, Message: hmrcValueNeeded, Headers: []string{"gov-client-user-agent"}, Reason: ReasonMissing}}},
		{name: "not_a_method", method: "DESKTOP", want: []Issue{
			{Code: CodeInvalidHeader, Message: msgMethod, Headers: []string{gccm}, Reason: ReasonMalformed},
			{Code: CodeInvalidHeader, Message: hmrcTimezone, Headers: []string{"gov-client-timezone"}, Reason: ReasonMalformed},
			{Code: CodeEmptyHeader, Message: hmrcValueNeeded, Headers: []string{"gov-client-user-agent"}, Reason: ReasonMissing}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{
				"Gov-Client-Timezone":   {"UTC+1"},
				"Gov-Client-User-Agent": {""},
				"Gov-Client-User-IDs":   {"os=alice"},       // whether os belongs depends on the method
				"Gov-Vendor-Version":    {"my-tax-app=1.0"}, // and whether 1 pair is enough
				"Gov-Vendor-Forwarded":  {"by=203.0.113.6&for=198.51.100.8"},
				"Gov-Client-Public-IP":  {"198.51.100.7"},
			}
			if tc.method != "" {
				h.Set(gccm, tc.method)
			}
			r := Validate(h, now)
			if !reflect.DeepEqual(r.Errors, tc.want) || len(r.Warnings) != 0 || len(r.Cross) != 0 || r.Method != "" {
				t.Errorf("Validate() method %q errors %+v warnings %+v cross %+v\nwant errors %+v and nothing else",
					r.Method, r.Errors, r.Warnings, r.Cross, tc.want)
			}
			if hd := header(t, r, "gov-client-public-ip"); hd.Code != CodeValidHeader {
				t.Errorf("public ip code %s, want %s", hd.Code, CodeValidHeader)
			}
		})
	}
}

func TestValidateNamesAndRepeats(t *testing.T) {
	t.Parallel()
	h := fullSet(t, DesktopAppDirect)
	set(h, "gov-client-timezone", "UTC+00:00") // lower-case key, as in a hand-built map
	set(h, "GOV-CLIENT-LOCAL-IPS", "10.1.2.3")
	h["Gov-Client-Local-Ips"] = []string{"192.168.1.4"} // a second spelling: one header sent twice
	h["Gov-Client-Screens"] = []string{"width=1920&height=1080&scaling-factor=1&colour-depth=24", "width=375&height=812&scaling-factor=3&colour-depth=32"}
	r := Validate(h, now)
	if r.Code != ValidHeaders {
		t.Fatalf("Validate() = %s %+v, want lists joined and any case accepted", r.Code, r.Errors)
	}
	if hd := header(t, r, "gov-client-local-ips"); hd.Value != "10.1.2.3,192.168.1.4" {
		t.Errorf("local ips value %q, want both spellings joined in name order", hd.Value)
	}
	set(h, "Gov-Client-Device-ID", "beec798b-b366-47fa-b1f8-92cede14a1ce")
	h["Gov-Client-Device-Id"] = []string{"beec798b-b366-47fa-b1f8-92cede14a1ce"}
	r = Validate(h, now)
	if got := header(t, r, "gov-client-device-id").Errors; !slices.Equal(got, []string{msgUUID}) || r.DeviceID != "" {
		t.Errorf("a device id sent twice: errors %q DeviceID %q, want %q and none", got, r.DeviceID, msgUUID)
	}
}

func TestValidateBounds(t *testing.T) {
	t.Parallel()
	h := fullSet(t, OtherDirect)
	long := strings.Repeat("x", 100_000)
	set(h, "Gov-Vendor-Product-Name", long)
	h["Gov-Client-Timezone"] = slices.Repeat([]string{"UTC+00:00"}, 10_000)
	r := Validate(h, now)
	hd := header(t, r, "gov-vendor-product-name")
	if !slices.Equal(hd.Errors, []string{msgTooLong}) || len(hd.Value) != maxValueLen {
		t.Errorf("product name: errors %q, %d bytes kept, want %q and %d", hd.Errors, len(hd.Value), msgTooLong, maxValueLen)
	}
	tz := header(t, r, "gov-client-timezone")
	if !slices.Equal(tz.Errors, []string{msgTooLong}) || len(tz.Value) > maxValueLen {
		t.Errorf("timezone sent 10000 times: errors %q, %d bytes kept", tz.Errors, len(tz.Value))
	}
}

func TestValidateOrder(t *testing.T) {
	t.Parallel()
	h := fullSet(t, DesktopAppViaServer)
	set(h, "Gov-Vendor-Version", "")
	set(h, "Gov-Client-Timezone", "UTC")
	set(h, "Gov-Client-Device-ID", "x")
	set(h, "Gov-Vendor-Forwarded", "by=203.0.113.7&for=198.51.100.7")
	set(h, "Gov-Client-Zzz", "1")
	set(h, "Gov-Client-Aaa", "1")
	del(h, "Gov-Client-Multi-Factor")
	r := Validate(h, now)
	var got []string
	for _, is := range r.Errors {
		got = append(got, is.Code+" "+strings.Join(is.Headers, ","))
	}
	want := []string{"INVALID_HEADER gov-client-device-id", "INVALID_HEADER gov-client-timezone",
		"EMPTY_HEADER gov-vendor-version", "INVALID_HEADERS " + crossHeaderNames}
	if !slices.Equal(got, want) {
		t.Errorf("errors in order %q, want %q", got, want)
	}
	got = nil
	for _, is := range r.Warnings {
		got = append(got, is.Code+" "+strings.Join(is.Headers, ","))
	}
	want = []string{"MISSING_HEADER gov-client-multi-factor", "UNEXPECTED_HEADER gov-client-aaa", "UNEXPECTED_HEADER gov-client-zzz"}
	if !slices.Equal(got, want) {
		t.Errorf("warnings in order %q, want %q", got, want)
	}
	if again := Validate(h, now); !reflect.DeepEqual(again, r) {
		t.Error("Validate gave a different result for the same headers")
	}
}

// TestValidateMTDCLI is what libmtdac (mtd-cli) sends for OTHER_DIRECT:
// 10 headers, no Multi-Factor or License-IDs, the loopback interface's
// all-zero MAC and loopback and link-local addresses. HMRC queries these;
// they are not errors.
func TestValidateMTDCLI(t *testing.T) {
	t.Parallel()
	h := parseBlock(`
Gov-Client-Connection-Method: OTHER_DIRECT
Gov-Client-Device-ID: 3c8f9a0e-5b7d-4e2a-9c1f-7d6e5b4a3f21
Gov-Client-User-IDs: os=andrew
Gov-Client-Timezone: UTC+00:00
Gov-Client-Local-IPs: 127.0.0.1,192.168.1.10,%3A%3A1,fe80%3A%3A1
Gov-Client-Local-IPs-Timestamp: 2026-02-14T20:41:59.000Z
Gov-Client-MAC-Addresses: 00%3A00%3A00%3A00%3A00%3A00,3c%3A52%3A82%3A1a%3Ab4%3A0e
Gov-Client-User-Agent: os-family=Linux&os-version=6.8.9-300.fc40.x86_64&device-manufacturer=GenuineIntel&device-model=Intel%28R%29%20Core%28TM%29%20i7-8565U
Gov-Vendor-Version: libmtdac=0.50.0&mtd-cli=0.60.0
Gov-Vendor-Product-Name: mtd-cli
`)
	r := Validate(h, now)
	want := []Issue{
		{Code: CodePotentiallyInvalid, Message: msgLocalIP, Headers: []string{"gov-client-local-ips"}},
		{Code: CodePotentiallyInvalid, Message: msgZeroMAC, Headers: []string{"gov-client-mac-addresses"}},
		{Code: CodeMissingHeader, Message: hmrcMFAMissing, Headers: []string{multiFactor}},
		{Code: CodeMissingHeader, Message: hmrcRequired, Headers: []string{licenceIDs}},
	}
	if r.Code != PotentiallyInvalidHeaders || len(r.Errors) != 0 || !reflect.DeepEqual(r.Warnings, want) {
		t.Errorf("Validate(mtd-cli) = %s errors %+v warnings %+v\nwant %s, no errors, warnings %+v",
			r.Code, r.Errors, r.Warnings, PotentiallyInvalidHeaders, want)
	}
	if a := Assess(r, ""); a.Score != 0 || !a.Valid {
		t.Errorf("Assess(mtd-cli) = score %d valid %v, want 0 and valid: queries are no risk", a.Score, a.Valid)
	}
}
