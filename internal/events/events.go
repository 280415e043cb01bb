// Package events builds and sends the interaction events HMRC Assist records
// in HMRC's integration layer: GenerateReport when a report is produced and
// AcknowledgeReport when it is acknowledged. The body keeps the shape of
// HMRC's own "store interactions" message, with our rule id as the
// messageId. Sending is one attempt; the outbox retries.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/rules"
)

// ServiceRegime names this service in every event.
const ServiceRegime = "self-assessment-assist"

// The event names.
const (
	NameGenerateReport    = "GenerateReport"
	NameAcknowledgeReport = "AcknowledgeReport"
)

// Event is one interaction.
type Event struct {
	ServiceRegime  string              `json:"serviceRegime"`
	EventName      string              `json:"eventName"`
	EventTimestamp string              `json:"eventTimestamp"`
	FeedbackID     string              `json:"feedbackId"`
	MetaData       []map[string]string `json:"metaData"`
	Payload        *Payload            `json:"payload,omitempty"`
}

// Payload carries a report's messages.
type Payload struct {
	Messages []Message `json:"messages"`
}

// Message is one message of a report in both languages.
type Message struct {
	MessageID     string `json:"messageId"`
	EnglishAction Action `json:"englishAction"`
	WelshAction   Action `json:"welshAction"`
}

// Action is a message in one language.
type Action struct {
	Title   string `json:"title"`
	Message string `json:"message"`
	Action  string `json:"action"`
	Path    string `json:"path"`
	Links   []Link `json:"links,omitempty"`
}

// Link is a help link.
type Link struct {
	LinkTitle string `json:"linkTitle"`
	LinkURL   string `json:"linkUrl"`
}

// Meta says whose report it is and who asked.
type Meta struct {
	NINO          string
	TaxYear       string
	CalculationID string
	By            identity.Party
}

// metaData lists the fields as single-key objects in a fixed order, as
// HMRC's integration layer expects; agentReferenceNumber only for agents.
func (m Meta) metaData() []map[string]string {
	customer := identity.Individual
	if m.By.IsAgent() {
		customer = identity.Agent
	}
	out := []map[string]string{
		{"nino": m.NINO}, {"taxYear": m.TaxYear}, {"calculationId": m.CalculationID}, {"customerType": string(customer)},
	}
	if m.By.IsAgent() {
		out = append(out, map[string]string{"agentReferenceNumber": m.By.ARN})
	}
	return out
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// GenerateReport is the event for a produced report. en and cy are the
// messages shown, in English and in Welsh, in the same order.
func GenerateReport(reportID string, at time.Time, meta Meta, en, cy []rules.Message) (Event, error) {
	if len(en) != len(cy) {
		return Event{}, fmt.Errorf("events: %d English and %d Welsh messages", len(en), len(cy))
	}
	msgs := make([]Message, len(en))
	for i := range en {
		if en[i].RuleID != cy[i].RuleID {
			return Event{}, fmt.Errorf("events: message %d is %s in English and %s in Welsh", i, en[i].RuleID, cy[i].RuleID)
		}
		msgs[i] = Message{MessageID: en[i].RuleID, EnglishAction: action(en[i]), WelshAction: action(cy[i])}
	}
	return Event{
		ServiceRegime:  ServiceRegime,
		EventName:      NameGenerateReport,
		EventTimestamp: timestamp(at),
		FeedbackID:     reportID,
		MetaData:       meta.metaData(),
		Payload:        &Payload{Messages: msgs},
	}, nil
}

// AcknowledgeReport is the event for an acknowledgement.
func AcknowledgeReport(reportID string, at time.Time, meta Meta) Event {
	return Event{
		ServiceRegime:  ServiceRegime,
		EventName:      NameAcknowledgeReport,
		EventTimestamp: timestamp(at),
		FeedbackID:     reportID,
		MetaData:       meta.metaData(),
	}
}

func action(m rules.Message) Action {
	a := Action{Title: m.Title, Message: m.Body, Action: m.Action, Path: m.Path}
	for _, l := range m.Links {
		a.Links = append(a.Links, Link{LinkTitle: l.Title, LinkURL: l.URL})
	}
	return a
}

// Client posts events.
type Client struct {
	url  string
	http *http.Client
}

// NewClient posts to url.
func NewClient(url string, hc *http.Client) (*Client, error) {
	if url == "" {
		return nil, errors.New("events: no URL")
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{url: url, http: hc}, nil
}

// Send makes one attempt. correlationID is the X-CorrelationId of the
// request that caused the event. Failures wrap *delivery.Error.
func (c *Client) Send(ctx context.Context, e Event, idempotencyKey, correlationID string) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	h := http.Header{}
	h.Set(delivery.IdempotencyHeader, idempotencyKey)
	if correlationID != "" {
		h.Set("CorrelationId", correlationID)
	}
	if _, err := delivery.PostJSON(ctx, c.http, c.url, h, body); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return nil
}
