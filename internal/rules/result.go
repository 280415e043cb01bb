package rules

// Lang is the language of the content a catalogue renders.
type Lang string

// The languages every rule is written in.
const (
	English Lang = "en"
	Welsh   Lang = "cy"
)

// ParseLang accepts "en" or "cy" (any case).
func ParseLang(s string) (Lang, bool) {
	switch s {
	case "en", "EN", "En":
		return English, true
	case "cy", "CY", "Cy":
		return Welsh, true
	}
	return "", false
}

// Severity ranks a message: messages are returned most severe first.
type Severity string

// The severities, most severe first.
const (
	Block       Severity = "block"       // stops the return being finalised
	Check       Severity = "check"       // probably a mistake
	Opportunity Severity = "opportunity" // may save tax
	Info        Severity = "info"
)

func (s Severity) rank() int {
	switch s {
	case Block:
		return 0
	case Check:
		return 1
	case Opportunity:
		return 2
	case Info:
		return 3
	}
	return 4
}

// Result is the outcome of evaluating a catalogue against one calculation.
type Result struct {
	RuleSetVersion string      `json:"ruleSetVersion"`
	TaxYear        string      `json:"taxYear"`
	Messages       []Message   `json:"messages"`
	Errors         []RuleError `json:"errors"`
}

// Message is one piece of guidance, rendered in one language.
type Message struct {
	RuleID   string   `json:"ruleId"`
	Severity Severity `json:"severity"`
	Priority int      `json:"priority"`
	Title    string   `json:"title"`
	Body     string   `json:"body"`
	Action   string   `json:"action"`
	Links    []Link   `json:"links"`
	Path     string   `json:"path"`
	// Evidence holds the values behind the message, by name. Amounts are
	// json.Number so they print exactly (two decimal places).
	Evidence map[string]any `json:"evidence"`
	// Item is the position of the list element the message is about (for a
	// rule with forEach), or 0.
	Item int `json:"-"`
}

// Link is a GOV.UK page that helps with a message.
type Link struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// RuleError reports a rule that failed at run time. The other rules still ran.
type RuleError struct {
	RuleID string `json:"ruleId"`
	Error  string `json:"error"`
}
