package fraud

import (
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Bounds on the work one request can cause: HMRC's values are short, and a
// device with more than 50 addresses or screens is not one to check in full.
const (
	maxValueLen   = 4096
	maxListLength = 50
)

// Overall messages, as HMRC's validator words them.
const (
	msgValid     = "All headers required for your connection method have been supplied and all appear to be valid. Validation is based on a single request. We have access to all requests and can draw additional conclusions."
	msgInvalid   = "At least 1 header is invalid"
	msgPotential = "At least 1 header is potentially invalid"
	msgNoHeaders = "No fraud prevention headers submitted. These are required by law. Check the specification."
)

// Messages about a header as a whole. None of them quotes the value: results
// end up in logs, and the values are other people's personal data.
const (
	msgRequired         = "Header required"
	msgValueRequired    = "Value required"
	msgUnknown          = "Unrecognised header. Check format and spelling"
	msgTooLong          = "Value is too long"
	msgNotASCII         = "Value must be printable US-ASCII; percent encode any other character"
	msgPlaceholder      = "Value must not be a placeholder such as null or undefined; if the data cannot be collected, contact HMRC and omit the header"
	msgBadPercent       = "Value has a % that does not start a percent encoding (% and 2 hex digits)"
	msgNotEncoded       = "Value must be percent encoded; characters such as spaces must be sent as %XX"
	msgTooMany          = "Value has more than 50 entries; only the first 50 were checked"
	msgForwarded        = "At least 1 pair of IPs in Gov-Vendor-Forwarded must include Gov-Client-Public-IP in the 'for' field and Gov-Vendor-Public-IP in the 'by' field. Check all 3 headers are consistent."
	msgForwardedUnknown = "Cannot be checked until Gov-Vendor-Forwarded, Gov-Vendor-Public-IP and Gov-Client-Public-IP are all valid"
	msgSameIP           = "Gov-Client-Public-IP is the same as Gov-Vendor-Public-IP; send the public IP of the user's device, not of your server"
)

// forwardedCross are the headers of the one cross check, in HMRC's order.
var forwardedCross = []string{"gov-vendor-forwarded", "gov-vendor-public-ip", "gov-client-public-ip"}

// state is what the checks share across headers of one request.
type state struct {
	method   Method // "" when unknown
	now      time.Time
	deviceID string
	// The addresses the cross checks compare; invalid when absent or malformed.
	clientIP, vendorIP netip.Addr
	hopBy, hopFor      netip.Addr // Gov-Vendor-Forwarded's first hop
}

// finding is one error or warning about a header, before it becomes an Issue.
type finding struct {
	code, message, reason string
}

// field collects the findings about one header's value.
type field struct {
	*state
	strict           bool // the method is in the spec's strict set
	errors, warnings []finding
}

// fail reports a broken format; failFor one the score counts otherwise.
func (f *field) fail(msg string) { f.failFor(ReasonMalformed, msg) }

func (f *field) failFor(reason, msg string) {
	f.errors = add(f.errors, CodeInvalidHeader, msg, reason)
}

func (f *field) failCode(code, msg, reason string) { f.errors = add(f.errors, code, msg, reason) }

// warn reports a doubtful value; warnFor one the score counts.
func (f *field) warn(msg string) { f.warnFor("", msg) }

func (f *field) warnFor(reason, msg string) {
	f.warnings = add(f.warnings, CodePotentiallyInvalid, msg, reason)
}

func (f *field) warnCode(code, msg string) { f.warnings = add(f.warnings, code, msg, "") }

// add appends a finding unless the same message is there: "At least 1 ..."
// is said once however many entries break the rule.
func add(fs []finding, code, msg, reason string) []finding {
	for _, x := range fs {
		if x.message == msg {
			return fs
		}
	}
	return append(fs, finding{code: code, message: msg, reason: reason})
}

// Validate checks the fraud prevention headers of one request, sent at now,
// against HMRC's specification 3.3, as HMRC's test validator would.
// It looks only at headers whose name starts with Gov-, never fails and
// never quotes a header's value in a message.
func Validate(h http.Header, now time.Time) *Result { return ValidateSent(Collect(h), now) }

// ValidateSent is Validate of headers already collected: a request's, or
// one kept for validation feedback.
func ValidateSent(s Sent, now time.Time) *Result {
	r := &Result{Errors: []Issue{}, Warnings: []Issue{}, Headers: []Header{}, Cross: []Cross{}}
	sent, names := s.Values, s.Names
	if !slices.ContainsFunc(names, isFraudHeader) {
		r.Code, r.Message = NoHeaders, msgNoHeaders
		return r
	}
	st := &state{now: now}
	if m := Method(strings.TrimSpace(sent[connectionMethod])); methodBit(m) != 0 {
		st.method = m
	}
	r.Method = st.method

	fields := make(map[string]*field, len(names)) // the findings behind each of r.Headers
	for i := range specs {
		s := &specs[i]
		name := strings.ToLower(s.name)
		v, present := sent[name]
		need := s.required.has(st.method)
		if st.method == "" {
			// The method decides what is required; without one, report only
			// the method itself missing, and hold what was sent to its format.
			need = s.required != 0
			if !present && name != connectionMethod {
				continue
			}
		}
		if !present && !need {
			continue
		}
		f := &field{state: st, strict: s.strict.has(st.method)}
		fields[name] = f
		f.examine(s, v, present, need)
		code := headerCode(f, present && !need)
		r.Headers = append(r.Headers, newHeader(name, v, present, code, f))
	}
	for _, name := range names {
		if _, known := fields[name]; known { // every table header sent is there
			continue
		}
		f := &field{state: st}
		code := CodeTestScenarioHeader
		if name != testScenario {
			f.warnCode(CodeUnexpectedHeader, msgUnknown)
			code = CodeUnexpectedHeader
		}
		fields[name] = f
		r.Headers = append(r.Headers, newHeader(name, sent[name], true, code, f))
	}
	for _, hd := range r.Headers {
		r.Errors = appendIssues(r.Errors, hd.Name, fields[hd.Name].errors)
		r.Warnings = appendIssues(r.Warnings, hd.Name, fields[hd.Name].warnings)
	}
	crossCheck(r, st)
	switch {
	case len(r.Errors) > 0:
		r.Code, r.Message = InvalidHeaders, msgInvalid
	case len(r.Warnings) > 0:
		r.Code, r.Message = PotentiallyInvalidHeaders, msgPotential
	default:
		r.Code, r.Message = ValidHeaders, msgValid
	}
	r.DeviceID = st.deviceID
	return r
}

// Sent are a request's Gov-* headers: their values by lower-case name, and
// the names, sorted.
type Sent struct {
	Values map[string]string
	Names  []string
}

// SentFrom is the Sent of values (as Sent.Values holds them).
func SentFrom(values map[string]string) Sent {
	return Sent{Values: values, Names: slices.Sorted(maps.Keys(values))}
}

// Collect gathers the Gov-* headers by lower-case name, whatever case they
// were sent in. Repeated headers are joined with commas, as HTTP allows for
// lists (RFC 9110 §5.3); for a single value that makes it invalid, rightly.
// Names are sorted, so the result does not depend on map order.
func Collect(h http.Header) Sent {
	keys := make([]string, 0, len(h))
	for k := range h {
		if len(k) >= 4 && strings.EqualFold(k[:4], "gov-") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	sent := make(map[string]string, len(keys))
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		name := strings.ToLower(k)
		old, seen := sent[name]
		if !seen {
			names = append(names, name)
		}
		for _, v := range h[k] {
			switch {
			case !seen:
				old, seen = v, true
			case len(old) <= maxValueLen: // past the limit it is rejected anyway
				old += "," + v
			}
		}
		sent[name] = old // "" for a name with no values: sent, empty
	}
	slices.Sort(names)
	return Sent{Values: sent, Names: names}
}

func isFraudHeader(name string) bool {
	return strings.HasPrefix(name, "gov-client-") || strings.HasPrefix(name, "gov-vendor-")
}

// examine records the findings about one table header.
func (f *field) examine(s *spec, v string, present, need bool) {
	tv := strings.TrimSpace(v)
	switch {
	case !present && s.advisory:
		f.warnCode(CodeMissingHeader, s.missingMsg)
	case !present:
		f.failCode(CodeMissingHeader, msgRequired, ReasonMissing)
	case tv == "" && !need:
		// Sent empty and not needed: nothing to say.
	case tv == "" && s.advisory:
		f.warnCode(CodeEmptyHeader, s.emptyMsg)
	case tv == "":
		f.failCode(CodeEmptyHeader, msgValueRequired, ReasonMissing)
	case len(v) > maxValueLen:
		f.fail(msgTooLong)
	case !printableASCII(tv):
		f.fail(msgNotASCII)
	case isPlaceholder(tv):
		f.fail(msgPlaceholder)
	case s.encoded && !wellEncoded(tv):
		f.fail(msgBadPercent)
	default:
		if s.encoded && strings.ContainsAny(tv, " \"<>\\^`{|}") {
			f.fail(msgNotEncoded)
		}
		if s.check != nil {
			s.check(f, tv)
		}
	}
}

// headerCode is a header's state: its first error, else its first warning,
// else whether the method needs it.
func headerCode(f *field, unexpected bool) string {
	switch {
	case len(f.errors) > 0:
		return f.errors[0].code
	case len(f.warnings) > 0:
		return f.warnings[0].code
	case unexpected:
		// Sending a header the method does not need "is not an issue" (the
		// specification), so this is said here but is no warning.
		return CodeUnexpectedHeader
	}
	return CodeValidHeader
}

func newHeader(name, v string, present bool, code string, f *field) Header {
	if len(v) > maxValueLen {
		v = v[:maxValueLen]
	}
	hd := Header{Name: name, Value: v, Present: present, Code: code, Errors: []string{}, Warnings: []string{}}
	for _, x := range f.errors {
		hd.Errors = append(hd.Errors, x.message)
	}
	for _, x := range f.warnings {
		hd.Warnings = append(hd.Warnings, x.message)
	}
	return hd
}

func appendIssues(is []Issue, name string, fs []finding) []Issue {
	for _, x := range fs {
		is = append(is, Issue{Code: x.code, Message: x.message, Headers: []string{name}, Reason: x.reason})
	}
	return is
}

// crossCheck compares headers with each other, once each has been checked.
func crossCheck(r *Result, st *state) {
	if viaServer.has(st.method) {
		c := Cross{Headers: slices.Clone(forwardedCross), Code: ValidHeaders, Errors: []string{}}
		switch {
		case !st.hopBy.IsValid() || !st.clientIP.IsValid() || !st.vendorIP.IsValid():
			// A header involved is missing or broken and already has its error;
			// the check is not passed, but it is not a second finding either.
			c.Code, c.Errors = InvalidHeaders, []string{msgForwardedUnknown}
		case st.hopBy != st.vendorIP || st.hopFor != st.clientIP:
			c.Code, c.Errors = InvalidHeaders, []string{msgForwarded}
			r.Errors = append(r.Errors, Issue{Code: CodeInvalidHeaders, Message: msgForwarded,
				Headers: slices.Clone(forwardedCross), Reason: ReasonInconsistent})
		}
		r.Cross = append(r.Cross, c)
	}
	if st.clientIP.IsValid() && st.clientIP == st.vendorIP {
		// The validator passes this, but HMRC's manual review rejects it: the
		// client address was taken from the wrong side of the server.
		both := []string{"gov-client-public-ip", "gov-vendor-public-ip"}
		r.Warnings = append(r.Warnings, Issue{Code: CodePotentiallyInvalid, Message: msgSameIP, Headers: both})
		for i := range r.Headers {
			hd := &r.Headers[i]
			if slices.Contains(both, hd.Name) {
				hd.Warnings = append(hd.Warnings, msgSameIP)
				if hd.Code == CodeValidHeader || hd.Code == CodeUnexpectedHeader {
					hd.Code = CodePotentiallyInvalid
				}
			}
		}
	}
}
