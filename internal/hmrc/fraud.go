package hmrc

import "net/http"

// The Test Fraud Prevention Headers API's paths. Validation feedback names
// the API whose requests it is about: this one, by the name the issue gives
// it and by HMRC's own name for it.
const (
	PathFraudValidate = "/test/fraud-prevention-headers/validate"
	PathFraudFeedback = "/test/fraud-prevention-headers/{api}/validation-feedback"
)

// FraudFeedbackAPIs are the {api} names validation feedback answers for.
var FraudFeedbackAPIs = []string{"self-assessment-assist", "self-assessment-assist-mtd"}

// FraudValidation is the answer to validate. Errors and Warnings are left
// out when empty, as HMRC's are.
type FraudValidation struct {
	SpecVersion string       `json:"specVersion"`
	Code        string       `json:"code"` // VALID_HEADERS, INVALID_HEADERS or POTENTIALLY_INVALID_HEADERS
	Message     string       `json:"message"`
	Errors      []FraudIssue `json:"errors,omitempty"`
	Warnings    []FraudIssue `json:"warnings,omitempty"`
}

// FraudIssue is one error or warning of a validation.
type FraudIssue struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Headers []string `json:"headers"` // lower-case
}

// FraudFeedback is the answer to validation feedback: the latest request
// to each endpoint. It has no specVersion, as HMRC's has none.
type FraudFeedback struct {
	Requests []FraudRequest `json:"requests"`
}

// FraudRequest is what one request's headers showed.
type FraudRequest struct {
	Path             string        `json:"path"`
	Method           string        `json:"method"`
	RequestTimestamp string        `json:"requestTimestamp"` // yyyy-MM-ddTHH:mm:ss.SSSZ
	Code             string        `json:"code"`             // as FraudValidation's, or NO_HEADERS
	Headers          []FraudHeader `json:"headers"`
	CrossValidation  []FraudCross  `json:"crossValidation"`
}

// FraudHeader is one header of a request; Errors and Warnings are plain
// strings here and always present.
type FraudHeader struct {
	Header   string   `json:"header"`
	Value    *string  `json:"value,omitempty"` // absent for a missing header
	Code     string   `json:"code"`
	Errors   []string `json:"errors"`
	Warnings []string `json:"warnings"`
}

// FraudCross is one check across headers.
type FraudCross struct {
	Headers []string `json:"headers"`
	Code    string   `json:"code"` // VALID_HEADERS or INVALID_HEADERS
	Errors  []string `json:"errors"`
}

// Problems of the Test Fraud Prevention Headers API.
var (
	ErrNoFraudFeedback = Problem{http.StatusNotFound, Error{CodeMatchingResourceNotFound,
		"No request to this API with fraud prevention headers has been received from this application yet"}, true}
	ErrFraudFeedbackAPI = Problem{http.StatusNotFound, Error{CodeMatchingResourceNotFound,
		"Validation feedback is only available for self-assessment-assist"}, true}
	ErrFormatConnectionMethod = Problem{http.StatusBadRequest, Error{CodeInvalidRequest,
		"connectionMethod must be one of DESKTOP_APP_DIRECT, DESKTOP_APP_VIA_SERVER, WEB_APP_VIA_SERVER, MOBILE_APP_DIRECT, MOBILE_APP_VIA_SERVER, BATCH_PROCESS_DIRECT, OTHER_DIRECT, OTHER_VIA_SERVER"}, true}
)
