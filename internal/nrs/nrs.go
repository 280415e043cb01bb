// Package nrs builds and sends records to HMRC's non-repudiation store (NRS):
// proof that a customer was shown a report, or acknowledged it.
//
// The wire contract is the one HMRC's own Self Assessment Assist uses
// (a JSON POST with an X-API-Key header), with two deliberate
// differences: no bearer token is ever copied into a record (HMRC's copies
// the Authorization header into userAuthToken and headerData; headerData
// here keeps an allow-list of headers, each capped), and the timestamp is
// real UTC. Sending is one attempt: retrying, and keeping the
// record until it is delivered, is the outbox's job. Submit says whether a
// failure is worth retrying.
package nrs

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/identity"
)

// The notable events this service records.
const (
	EventReportGenerated    = "saa-report-generated"
	EventReportAcknowledged = "saa-report-acknowledged"
)

// BusinessID identifies Self Assessment Assist to NRS.
const BusinessID = "saa"

// Submission is the body NRS takes.
type Submission struct {
	Payload  string   `json:"payload"`
	Metadata Metadata `json:"metadata"`
}

// Metadata describes the payload.
type Metadata struct {
	BusinessID              string            `json:"businessId"`
	NotableEvent            string            `json:"notableEvent"`
	PayloadContentType      string            `json:"payloadContentType"`
	PayloadSha256Checksum   string            `json:"payloadSha256Checksum"`
	UserSubmissionTimestamp string            `json:"userSubmissionTimestamp"`
	IdentityData            Identity          `json:"identityData"`
	HeaderData              map[string]string `json:"headerData"`
	SearchKeys              SearchKeys        `json:"searchKeys"`
}

// Identity is who made the request, as NRS takes it.
type Identity struct {
	AffinityGroup   string   `json:"affinityGroup"` // Individual or Agent
	NINO            string   `json:"nino,omitempty"`
	ARN             string   `json:"agentReferenceNumber,omitempty"`
	Enrolments      []string `json:"enrolments"`
	ConfidenceLevel int      `json:"confidenceLevel,omitempty"`
}

// SearchKeys let a record be found again.
type SearchKeys struct {
	ReportID string `json:"reportId"`
}

// Limits of headerData. HMRC's fraud prevention headers are about twenty,
// each well under a kilobyte; a value over the cap is dropped, not cut,
// since a record is evidence and must hold only what the client sent.
const (
	MaxHeaderValue = 1 << 10
	MaxHeaders     = 40
)

// recordedHeaders are the headers a record keeps besides the fraud
// prevention headers (Gov-Client-*, Gov-Vendor-*).
var recordedHeaders = map[string]bool{
	"user-agent": true, "accept": true, "accept-language": true,
	"x-correlationid": true, "gov-test-scenario": true,
}

// recorded says whether a header belongs in a record: an allow-list, so
// that credentials under any name (X-Auth-Token, Api-Key, ...) never do.
func recorded(name string) bool {
	n := strings.ToLower(name)
	return recordedHeaders[n] || strings.HasPrefix(n, "gov-client-") || strings.HasPrefix(n, "gov-vendor-")
}

// HeaderData keeps the first value of each allow-listed request header: the
// fraud prevention headers, User-Agent, Accept, Accept-Language,
// X-CorrelationId and Gov-Test-Scenario. A value longer than MaxHeaderValue
// is dropped, and at most MaxHeaders are kept (the first by name).
func HeaderData(h http.Header) map[string]string {
	names := make([]string, 0, len(h))
	for name, values := range h {
		if recorded(name) && len(values) > 0 && len(values[0]) <= MaxHeaderValue {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := make(map[string]string, min(len(names), MaxHeaders))
	for _, name := range names[:min(len(names), MaxHeaders)] {
		out[name] = h[name][0]
	}
	return out
}

// NewSubmission builds the record for one event. payload is the exact bytes
// the customer was sent (for an acknowledgement, {"reportId":...});
// headerData is the request's headers as HeaderData keeps them.
func NewSubmission(event string, payload []byte, at time.Time, by identity.Party, headerData map[string]string, reportID string) Submission {
	sum := sha256.Sum256(payload)
	who := Identity{AffinityGroup: string(by.AffinityGroup), NINO: by.NINO, ARN: by.ARN, Enrolments: by.Enrolments, ConfidenceLevel: by.ConfidenceLevel}
	if who.Enrolments == nil {
		who.Enrolments = []string{}
	}
	if headerData == nil {
		headerData = map[string]string{}
	}
	return Submission{
		Payload: base64.StdEncoding.EncodeToString(payload),
		Metadata: Metadata{
			BusinessID:              BusinessID,
			NotableEvent:            event,
			PayloadContentType:      "application/json",
			PayloadSha256Checksum:   hex.EncodeToString(sum[:]),
			UserSubmissionTimestamp: at.UTC().Format("2006-01-02T15:04:05Z"),
			IdentityData:            who,
			HeaderData:              headerData,
			SearchKeys:              SearchKeys{ReportID: reportID},
		},
	}
}

// AcknowledgementPayload is the payload recorded when a report is acknowledged.
func AcknowledgementPayload(reportID string) []byte {
	b, _ := json.Marshal(struct {
		ReportID string `json:"reportId"`
	}{reportID})
	return b
}

// Client sends submissions.
type Client struct {
	url    string // where submissions are posted, as configured
	apiKey string
	http   *http.Client
}

// NewClient posts submissions to url (HMRC's is {host}/submission) with the
// given API key.
func NewClient(url, apiKey string, hc *http.Client) (*Client, error) {
	if url == "" {
		return nil, errors.New("nrs: no URL")
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{url: url, apiKey: apiKey, http: hc}, nil
}

// Submit makes one attempt and returns NRS's submission id. Failures are
// *delivery.Error, which say whether another attempt is worthwhile.
func (c *Client) Submit(ctx context.Context, s Submission, idempotencyKey string) (string, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("nrs: %w", err)
	}
	h := http.Header{}
	h.Set("X-API-Key", c.apiKey)
	h.Set(delivery.IdempotencyHeader, idempotencyKey)
	data, err := delivery.PostJSON(ctx, c.http, c.url, h, body)
	if err != nil {
		return "", fmt.Errorf("nrs: %w", err)
	}
	var ok struct {
		NRSubmissionID string `json:"nrSubmissionId"`
	}
	if err := json.Unmarshal(data, &ok); err != nil || ok.NRSubmissionID == "" {
		// Accepted but unreadable: the record may be stored, so retrying
		// is safe (the idempotency key dedupes) and losing it is not.
		return "", fmt.Errorf("nrs: %w", &delivery.Error{Retryable: true, Err: errors.New("response has no nrSubmissionId")})
	}
	return ok.NRSubmissionID, nil
}
