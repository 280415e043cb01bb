package report

import (
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/rules"
)

// SandboxRuleSetVersion marks reports made by the sandbox's fixed outcomes
// rather than by the guidance engine.
const SandboxRuleSetVersion = "sandbox"

// sandboxOutcome is the fixed outcome of a sandbox request, if it has one:
// a Gov-Test-Scenario, or one of the calculation ids HMRC's sandbox
// documents. fixed is false when the engine should run.
func sandboxOutcome(req Request) (res *rules.Result, fixed bool, err error) {
	switch req.Scenario {
	case "":
	case hmrc.ScenarioNoMessages:
		return noMessages(), true, nil
	case hmrc.ScenarioCalculationNotFound:
		return nil, true, ErrCalculationNotFound
	default:
		return nil, true, ErrUnknownScenario
	}
	switch req.CalculationID {
	case hmrc.SandboxNoMessagesCalculationID:
		return noMessages(), true, nil
	case hmrc.SandboxNotFoundCalculationID:
		return nil, true, ErrCalculationNotFound
	}
	return nil, false, nil
}

// noMessages is the outcome of the NO_MESSAGES scenario: a 204.
func noMessages() *rules.Result {
	return &rules.Result{RuleSetVersion: SandboxRuleSetVersion}
}

// exampleResult is the report the sandbox returns for a calculation it does
// not have, with HMRC's sandbox's placeholder message.
func exampleResult() *rules.Result {
	return &rules.Result{
		RuleSetVersion: SandboxRuleSetVersion,
		Messages: []rules.Message{{
			RuleID:   "SANDBOX-EXAMPLE",
			Severity: rules.Info,
			Title:    "HMRC feedback: the title tells the user to review or check something in the return (placeholder title)",
			Body: "The body section is usually one to three sentences. This section lets the user know why they are getting the message or which tax rule is relevant. " +
				"For example, if you use something for both business and personal reasons you can only claim allowable expenses for the business costs. (placeholder body)",
			Action: "The action section is usually three to four sentences. It explains what the user can do to resolve the potential error. " +
				"In some messages this section may also warn users about consequences if they submit incorrect information. " +
				"For example, the user may be advised to make changes if needed to avoid interest and potential penalties. (placeholder action)",
			Links: []rules.Link{
				{Title: "Go to GOV.UK to learn more about income tax. (placeholder link example 1)", URL: "https://www.gov.uk/income-tax"},
				{Title: "You can also go to GOVUK to find out about expenses when you’re self-employed. (placeholder link example 2)", URL: "https://www.gov.uk/expenses-if-youre-self-employed"},
				{Title: "Usually no more than three links per message and the whole sentence should be used as the link text. (placeholder link guidance)", URL: "https://www.gov.uk/tax-help"},
			},
			Path: "/individuals/business/self-employment/[nino]/[businessId]/cumulative/[taxYear] (placeholder path)",
		}},
	}
}
