// Package fraud checks the fraud prevention headers MTD software must send
// with every call (HMRC's specification 3.3) and turns what it finds into an
// explained risk score the analysis can read. Headers never block a report:
// the result is advice for the developer and an input to the rules.
package fraud

// SpecVersion is the version of HMRC's specification the checks follow.
const SpecVersion = "3.3"

// Method is a Gov-Client-Connection-Method value.
type Method string

// The connection methods.
const (
	DesktopAppDirect    Method = "DESKTOP_APP_DIRECT"
	DesktopAppViaServer Method = "DESKTOP_APP_VIA_SERVER"
	WebAppViaServer     Method = "WEB_APP_VIA_SERVER"
	MobileAppDirect     Method = "MOBILE_APP_DIRECT"
	MobileAppViaServer  Method = "MOBILE_APP_VIA_SERVER"
	BatchProcessDirect  Method = "BATCH_PROCESS_DIRECT"
	OtherDirect         Method = "OTHER_DIRECT"
	OtherViaServer      Method = "OTHER_VIA_SERVER"
)

// Methods are the connection methods, in the specification's order.
var Methods = []Method{DesktopAppDirect, DesktopAppViaServer, WebAppViaServer, MobileAppDirect,
	MobileAppViaServer, BatchProcessDirect, OtherDirect, OtherViaServer}

// Overall outcomes of a request's headers.
const (
	ValidHeaders              = "VALID_HEADERS"
	InvalidHeaders            = "INVALID_HEADERS"
	PotentiallyInvalidHeaders = "POTENTIALLY_INVALID_HEADERS"
	NoHeaders                 = "NO_HEADERS" // no fraud prevention header at all
)

// Codes of single findings, and of one header's state.
const (
	CodeValidHeader        = "VALID_HEADER"
	CodeInvalidHeader      = "INVALID_HEADER"
	CodeInvalidHeaders     = "INVALID_HEADERS" // a check across headers failed
	CodeMissingHeader      = "MISSING_HEADER"
	CodeEmptyHeader        = "EMPTY_HEADER"
	CodePotentiallyInvalid = "POTENTIALLY_INVALID_HEADER"
	CodeUnexpectedHeader   = "UNEXPECTED_HEADER"
	CodeTestScenarioHeader = "TEST_SCENARIO_HEADER"
)

// Issue is one error or warning, as the validate endpoint lists them.
type Issue struct {
	Code    string
	Message string
	Headers []string // lower-case header names
	// Reason is the Reason* code Assess counts this finding under, "" when it
	// adds nothing to the score. Not part of HMRC's answer.
	Reason string
}

// Header is what was found about one header: every header the connection
// method requires, and every Gov-* header sent.
type Header struct {
	Name     string // lower-case
	Value    string // as sent (repeated fields joined by commas, cut to 4096 bytes); "" when missing
	Present  bool
	Code     string // CodeValidHeader, CodeInvalidHeader, CodePotentiallyInvalid, CodeMissingHeader, CodeEmptyHeader, CodeUnexpectedHeader or CodeTestScenarioHeader
	Errors   []string
	Warnings []string
}

// Cross is the outcome of one check across headers.
type Cross struct {
	Headers []string // lower-case
	Code    string   // ValidHeaders or InvalidHeaders
	Errors  []string
}

// Result is the validation of one request's headers. Its slices, and those
// of its Headers and Cross entries, are empty rather than nil.
type Result struct {
	Method   Method // "" when Gov-Client-Connection-Method is missing or not one of Methods
	Code     string // ValidHeaders, InvalidHeaders, PotentiallyInvalidHeaders or NoHeaders
	Message  string // HMRC's overall message for Code
	Errors   []Issue
	Warnings []Issue
	Headers  []Header // in a stable order: the specification's, then unknown ones by name
	Cross    []Cross
	DeviceID string // Gov-Client-Device-ID when it is a UUID, else ""
}

// Reason is one contribution to a risk score.
type Reason struct {
	Code   string `json:"code"`   // one of the Reason* constants
	Points int    `json:"points"` // what it added to the score
	Detail string `json:"detail"` // for people: which headers, never their values
}

// Reason codes.
const (
	ReasonNoHeaders       = "NO_HEADERS"       // no fraud prevention header at all
	ReasonMissing         = "MISSING_HEADERS"  // required headers missing or empty
	ReasonMalformed       = "MALFORMED_VALUES" // values that break the format
	ReasonInconsistent    = "INCONSISTENT"     // headers that disagree with each other
	ReasonPrivateAddress  = "PRIVATE_ADDRESS"  // a private, loopback or link-local address where a public one is required
	ReasonFutureTimestamp = "FUTURE_TIMESTAMP" // a timestamp later than the request
	ReasonStaleTimestamp  = "STALE_TIMESTAMP"  // a collection timestamp far older than the request
	ReasonDeviceChanged   = "DEVICE_CHANGED"   // a different device id from the same user's last call
)

// Assessment is what the analysis sees of a request's headers and is
// stored with the report.
type Assessment struct {
	ConnectionMethod string   `json:"connectionMethod"` // "" when none was sent or it is not one of Methods
	Code             string   `json:"code"`             // the Result's overall code
	Valid            bool     `json:"valid"`            // no errors (warnings allowed)
	Score            int      `json:"score"`            // 0 (no sign of risk) to 100
	Reasons          []Reason `json:"reasons"`          // what made the score, largest first; empty when 0
}
