package hmrc

// Header names, the media type and the OAuth scopes of the API.
const (
	// MediaTypeV1 is the only Accept value the API serves.
	MediaTypeV1 = "application/vnd.hmrc.1.0+json"
	// ContentTypeJSON is the Content-Type of every JSON response, without a
	// charset, as HMRC sends it.
	ContentTypeJSON = "application/json"

	HeaderCorrelationID   = "X-CorrelationId"
	HeaderGovTestScenario = "Gov-Test-Scenario"

	// ScopeRead lets a token produce reports; ScopeWrite lets it acknowledge them.
	ScopeRead  = "read:self-assessment-assist"
	ScopeWrite = "write:self-assessment-assist"

	// Context is where the API platform publishes the API.
	Context = "individuals/self-assessment/assist"
	// PathPrefix is Context as a path prefix. The service also answers without it.
	PathPrefix = "/" + Context
)

// Gov-Test-Scenario values the sandbox understands.
const (
	ScenarioNoMessages          = "NO_MESSAGES"
	ScenarioCalculationNotFound = "CALCULATION_NOT_FOUND"
)

// Sandbox calculation ids with a fixed outcome, as in HMRC's sandbox.
const (
	SandboxNoMessagesCalculationID = "620490b4-06e3-4fef-a555-6fd0877dc7ca"
	SandboxNotFoundCalculationID   = "640490b4-06e3-4fef-a555-6fd0877dc7ca"
)

// Report is the body of a 200 from "produce a report". The field order is
// the contract's; the exact bytes are kept as the non-repudiation payload.
type Report struct {
	ReportID      string    `json:"reportId"`
	Messages      []Message `json:"messages"`
	NINO          string    `json:"nino"`
	TaxYear       string    `json:"taxYear"`
	CalculationID string    `json:"calculationId"`
	CorrelationID string    `json:"correlationId"`
}

// Message is one message of a report.
type Message struct {
	Title  string `json:"title"`
	Body   string `json:"body"`
	Action string `json:"action"`
	Links  []Link `json:"links"`
	Path   string `json:"path"`
}

// Link is a link of a message.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// Definition is the body of GET /api/definition.
type Definition struct {
	API DefinitionAPI `json:"api"`
}

// DefinitionAPI describes the API to the API platform.
type DefinitionAPI struct {
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Context     string              `json:"context"`
	Categories  []string            `json:"categories"`
	Versions    []DefinitionVersion `json:"versions"`
}

// DefinitionVersion is one version of the API.
type DefinitionVersion struct {
	Version          string `json:"version"`
	Status           string `json:"status"`
	EndpointsEnabled bool   `json:"endpointsEnabled"`
}

// NewDefinition returns the API definition with the given version status
// (ALPHA, BETA, STABLE, DEPRECATED or RETIRED).
func NewDefinition(status string) Definition {
	return Definition{API: DefinitionAPI{
		Name:        "Self Assessment Assist (MTD)",
		Description: "Allows you to read your self assessment report and acknowledge it.",
		Context:     Context,
		Categories:  []string{"INCOME_TAX_MTD"},
		Versions:    []DefinitionVersion{{Version: "1.0", Status: status, EndpointsEnabled: true}},
	}}
}

// ValidStatus reports whether s is a version status the API platform accepts.
func ValidStatus(s string) bool {
	switch s {
	case "ALPHA", "BETA", "STABLE", "DEPRECATED", "RETIRED":
		return true
	}
	return false
}
