package events

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/rules"
)

func TestGenerateReportShape(t *testing.T) {
	t.Parallel()
	en := []rules.Message{{RuleID: "R1", Title: "T", Body: "B", Action: "A", Path: "/p", Links: []rules.Link{{Title: "L", URL: "https://www.gov.uk/x"}}}}
	cy := []rules.Message{{RuleID: "R1", Title: "Teitl", Body: "Corff", Action: "Gweithred", Path: "/p", Links: []rules.Link{{Title: "Dolen", URL: "https://www.gov.uk/x"}}}}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ev, err := GenerateReport("rep-1", at, Meta{NINO: "AA123456A", TaxYear: "2025-26", CalculationID: "c1", By: identity.Party{AffinityGroup: identity.Agent, ARN: "AARN1234567"}}, en, cy)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(ev)
	want := `{"serviceRegime":"self-assessment-assist","eventName":"GenerateReport","eventTimestamp":"2026-11-25T12:00:00Z","feedbackId":"rep-1",` +
		`"metaData":[{"nino":"AA123456A"},{"taxYear":"2025-26"},{"calculationId":"c1"},{"customerType":"Agent"},{"agentReferenceNumber":"AARN1234567"}],` +
		`"payload":{"messages":[{"messageId":"R1","englishAction":{"title":"T","message":"B","action":"A","path":"/p","links":[{"linkTitle":"L","linkUrl":"https://www.gov.uk/x"}]},` +
		`"welshAction":{"title":"Teitl","message":"Corff","action":"Gweithred","path":"/p","links":[{"linkTitle":"Dolen","linkUrl":"https://www.gov.uk/x"}]}}]}}`
	if string(got) != want {
		t.Errorf("GenerateReport JSON =\n%s\nwant\n%s", got, want)
	}
	if _, err := GenerateReport("r", at, Meta{}, en, nil); err == nil {
		t.Error("GenerateReport with unpaired languages succeeded")
	}
	ack, _ := json.Marshal(AcknowledgeReport("rep-1", at, Meta{NINO: "AA123456A", TaxYear: "2025-26", CalculationID: "c1"}))
	wantAck := `{"serviceRegime":"self-assessment-assist","eventName":"AcknowledgeReport","eventTimestamp":"2026-11-25T12:00:00Z","feedbackId":"rep-1",` +
		`"metaData":[{"nino":"AA123456A"},{"taxYear":"2025-26"},{"calculationId":"c1"},{"customerType":"Individual"}]}`
	if string(ack) != wantAck {
		t.Errorf("AcknowledgeReport JSON =\n%s\nwant\n%s", ack, wantAck)
	}
}

func TestSend(t *testing.T) {
	t.Parallel()
	status := http.StatusNoContent
	var gotKey, gotCorrelation string
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey, gotCorrelation = r.Header.Get(delivery.IdempotencyHeader), r.Header.Get("CorrelationId")
		gotBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ev := AcknowledgeReport("rep-1", time.Now(), Meta{})
	if err := c.Send(context.Background(), ev, "k1", "corr-1"); err != nil {
		t.Fatalf("Send() = %v", err)
	}
	if gotKey != "k1" || gotCorrelation != "corr-1" || len(gotBody) == 0 {
		t.Errorf("request key %q correlation %q body %s", gotKey, gotCorrelation, gotBody)
	}
	status = http.StatusServiceUnavailable
	if err := c.Send(context.Background(), ev, "k1", ""); !delivery.Retryable(err) {
		t.Errorf("Send() on 503 = %v, want retryable", err)
	}
	status = http.StatusBadRequest
	if err := c.Send(context.Background(), ev, "k1", ""); err == nil || delivery.Retryable(err) {
		t.Errorf("Send() on 400 = %v, want permanent", err)
	}
}
