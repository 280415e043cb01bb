package hmrc

import "net/http"

// Code is an error code as HMRC's API returns it in the "code" field.
type Code string

// Error is one entry of an error response: {"code":...,"message":...}.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Problem is an error the API returns: its status, and whether the body is
// a single object (as the API platform's own errors are) or an array (as the
// service's errors are).
type Problem struct {
	Status int
	Error  Error
	// Object is true when the body is one object rather than an array.
	Object bool
}

// Codes of the Self Assessment Assist API, and of this service's sandbox.
const (
	CodeAcceptHeaderInvalid         Code = "ACCEPT_HEADER_INVALID"
	CodeMissingCredentials          Code = "MISSING_CREDENTIALS"
	CodeInvalidCredentials          Code = "INVALID_CREDENTIALS"
	CodeInvalidScope                Code = "INVALID_SCOPE"
	CodeFormatNINO                  Code = "FORMAT_NINO"
	CodeFormatTaxYear               Code = "FORMAT_TAX_YEAR"
	CodeTaxYearRangeInvalid         Code = "RULE_TAX_YEAR_RANGE_INVALID"
	CodeTaxYearNotSupported         Code = "RULE_TAX_YEAR_NOT_SUPPORTED"
	CodeFormatCalcID                Code = "FORMAT_CALC_ID"
	CodeFormatReportID              Code = "FORMAT_REPORT_ID"
	CodeClientOrAgentNotAuthorised  Code = "CLIENT_OR_AGENT_NOT_AUTHORISED"
	CodeMatchingCalculationNotFound Code = "MATCHING_CALCULATION_ID_NOT_FOUND"
	CodeMatchingResourceNotFound    Code = "MATCHING_RESOURCE_NOT_FOUND"
	CodeCorrelationIDNotAuthorised  Code = "CORRELATION_ID_NOT_AUTHORISED"
	CodeIncorrectGovTestScenario    Code = "RULE_INCORRECT_GOV_TEST_SCENARIO"
	CodeMethodNotAllowed            Code = "METHOD_NOT_ALLOWED"
	CodeInternalServerError         Code = "INTERNAL_SERVER_ERROR"
	CodeInvalidRequest              Code = "INVALID_REQUEST"
	CodeInvalidCalculation          Code = "INVALID_CALCULATION"
	CodeAgentNotFound               Code = "AGENT_NOT_FOUND"
	CodeServiceUnavailable          Code = "SERVICE_UNAVAILABLE"
	CodeMessageThrottledOut         Code = "MESSAGE_THROTTLED_OUT"
	CodeCalculationTooLarge         Code = "RULE_CALCULATION_TOO_LARGE"
	CodeURITooLong                  Code = "URI_TOO_LONG"
)

// The problems the API returns. Their codes and messages are HMRC's, to the
// character; integrating software matches on them.
var (
	ErrAcceptHeaderInvalid = Problem{http.StatusNotAcceptable, Error{CodeAcceptHeaderInvalid, "The accept header is missing or invalid"}, true}
	ErrMissingCredentials  = Problem{http.StatusUnauthorized, Error{CodeMissingCredentials, "Authentication information is not provided"}, true}
	ErrInvalidCredentials  = Problem{http.StatusUnauthorized, Error{CodeInvalidCredentials, "Invalid Authentication information provided"}, true}
	ErrInvalidScope        = Problem{http.StatusUnauthorized, Error{CodeInvalidScope, "Cannot access the required resource. Ensure this token has all the required scopes."}, true}

	ErrFormatNINO          = Problem{http.StatusBadRequest, Error{CodeFormatNINO, "The provided NINO is invalid"}, false}
	ErrFormatTaxYear       = Problem{http.StatusBadRequest, Error{CodeFormatTaxYear, "The provided tax year is invalid"}, false}
	ErrTaxYearRangeInvalid = Problem{http.StatusBadRequest, Error{CodeTaxYearRangeInvalid, "Tax year range invalid. A tax year range of one year is required."}, false}
	ErrTaxYearNotSupported = Problem{http.StatusBadRequest, Error{CodeTaxYearNotSupported, "The tax year specified does not lie within the supported range"}, false}
	ErrFormatCalcID        = Problem{http.StatusBadRequest, Error{CodeFormatCalcID, "The provided Calculation ID is invalid"}, false}
	ErrFormatReportID      = Problem{http.StatusBadRequest, Error{CodeFormatReportID, "The provided Report ID is invalid"}, false}

	ErrClientOrAgentNotAuthorised  = Problem{http.StatusForbidden, Error{CodeClientOrAgentNotAuthorised, "The client and/or agent is not authorised."}, false}
	ErrMatchingCalculationNotFound = Problem{http.StatusNotFound, Error{CodeMatchingCalculationNotFound, "The Calculation ID was not found at this time. You can try again later."}, false}
	ErrReportNotFound              = Problem{http.StatusNotFound, Error{CodeMatchingResourceNotFound, "A resource with the name in the request can not be found in the API"}, false}
	ErrCorrelationIDNotAuthorised  = Problem{http.StatusForbidden, Error{CodeCorrelationIDNotAuthorised, "The Correlation ID is not the expected value for this report"}, false}
	ErrIncorrectGovTestScenario    = Problem{http.StatusBadRequest, Error{CodeIncorrectGovTestScenario, "The Gov-Test-Scenario was not found"}, false}
	ErrInternalServerError         = Problem{http.StatusInternalServerError, Error{CodeInternalServerError, "An internal server error occurred"}, false}

	// ErrNotFound is the answer to a path the API does not have.
	ErrNotFound         = Problem{http.StatusNotFound, Error{CodeMatchingResourceNotFound, "A resource with the name in the request can not be found in the API"}, true}
	ErrMethodNotAllowed = Problem{http.StatusMethodNotAllowed, Error{CodeMethodNotAllowed, "The request method is not supported for this resource"}, true}
	// ErrNotReady is the answer of the readiness check when the store does not answer.
	ErrNotReady = Problem{http.StatusServiceUnavailable, Error{CodeServiceUnavailable, "The service is not ready"}, true}

	// ErrThrottled is the API platform's answer to a client over its rate
	// limit, to the character.
	ErrThrottled = Problem{http.StatusTooManyRequests, Error{CodeMessageThrottledOut, "The application has reached its maximum rate limit"}, true}
	// ErrBusy is the answer when the service is saturated: too many
	// requests at once, or a database that cannot take more.
	ErrBusy = Problem{http.StatusServiceUnavailable, Error{CodeServiceUnavailable, "The service is busy; try again later"}, true}
	// ErrCalculationTooLarge refuses a calculation larger than the service
	// analyses.
	ErrCalculationTooLarge = Problem{http.StatusBadRequest, Error{CodeCalculationTooLarge, "The calculation is larger than this service analyses"}, false}
	// ErrURITooLong refuses a request line longer than any real path.
	ErrURITooLong = Problem{http.StatusRequestURITooLong, Error{CodeURITooLong, "The request URI is too long"}, true}

	// Sandbox test support. The message is replaced by the specific reason.
	ErrInvalidRequest     = Problem{http.StatusBadRequest, Error{CodeInvalidRequest, "The request body is invalid"}, true}
	ErrInvalidCalculation = Problem{http.StatusBadRequest, Error{CodeInvalidCalculation, "The body is not a tax calculation"}, true}
	ErrAgentNotFound      = Problem{http.StatusNotFound, Error{CodeAgentNotFound, "No agent with that ARN has been created"}, true}
)

// WithMessage returns p with its message replaced, for the sandbox's errors
// that say what exactly was wrong.
func (p Problem) WithMessage(msg string) Problem {
	p.Error.Message = msg
	return p
}
