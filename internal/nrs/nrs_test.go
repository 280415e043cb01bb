package nrs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/identity"
)

// The payloads and checksums HMRC's own service pins in its tests.
func TestNewSubmissionMatchesHMRCChecksums(t *testing.T) {
	t.Parallel()
	tests := []struct {
		payload, checksum string
	}{
		{
			`{"reportId":"db741dff-4054-478e-88d2-5993e925c7ab","messages":[{"title":"Turnover and cost of sales","body":"Your cost of sales is greater than income","action":"Please read our guidance","links":[{"title":"Our guidance","url":"https://www.gov.uk/expenses-if-youre-self-employed"}],"path":"general/total_declared_turnover"}],"nino":"nino","taxYear":"2021-22","calculationId":"99d758f6-c4be-4339-804e-f79cf0610d4f","correlationId":"e43264c5-5301-4ece-b3d3-1e8a8dd93b4b"}`,
			"346b1569969634b9cf0cba5317394fb08bfe7efef6f2b69f0a240b776794cb19",
		},
		{string(AcknowledgementPayload("12345")), "eb6b96e57239c4605bd34ab5ea3dec01707ae960794d647ca50818efcebe6429"},
	}
	at := time.Date(2026, 11, 25, 10, 11, 12, 999, time.FixedZone("BST", 3600))
	for _, tc := range tests {
		s := NewSubmission(EventReportGenerated, []byte(tc.payload), at, identity.Party{AffinityGroup: identity.Individual, NINO: "AA123456A"}, nil, "r1")
		if s.Metadata.PayloadSha256Checksum != tc.checksum {
			t.Errorf("checksum = %s, want %s", s.Metadata.PayloadSha256Checksum, tc.checksum)
		}
		if got, _ := base64.StdEncoding.DecodeString(s.Payload); string(got) != tc.payload {
			t.Errorf("payload round trip = %s", got)
		}
		if s.Metadata.UserSubmissionTimestamp != "2026-11-25T09:11:12Z" {
			t.Errorf("timestamp = %s, want UTC to the second", s.Metadata.UserSubmissionTimestamp)
		}
	}
	if got := base64.StdEncoding.EncodeToString(AcknowledgementPayload("12345")); got != "eyJyZXBvcnRJZCI6IjEyMzQ1In0=" {
		t.Errorf("acknowledgement payload = %s", got)
	}
}

func TestHeaderDataKeepsOnlyTheAllowList(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("Authorization", "Bearer secret")
	h["authorization"] = []string{"Bearer secret2"}
	h.Set("Cookie", "a=b")
	h.Set("X-Api-Key", "k")
	h.Set("X-Auth-Token", "secret3")
	h.Set("Api-Key", "secret4")
	h.Set("X-Original-Authorization", "secret5")
	h.Set("X-Junk", strings.Repeat("j", 100))
	h.Set("Gov-Client-Device-ID", "dev")
	h.Set("Gov-Vendor-Version", "app=1.0")
	h.Set("Gov-Client-User-Agent", strings.Repeat("u", MaxHeaderValue+1)) // over the cap: dropped
	h.Add("Accept", "application/vnd.hmrc.1.0+json")
	h.Add("Accept", "second")
	h.Set("User-Agent", "mtd-cli/1")
	got := HeaderData(h)
	want := map[string]string{
		"Accept":               "application/vnd.hmrc.1.0+json",
		"Gov-Client-Device-Id": "dev",
		"Gov-Vendor-Version":   "app=1.0",
		"User-Agent":           "mtd-cli/1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HeaderData() diff (-want +got):\n%s", diff)
	}
}

func TestHeaderDataCapsTheCount(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	for i := range 3 * MaxHeaders {
		h.Set(fmt.Sprintf("Gov-Client-X%03d", i), "v")
	}
	got := HeaderData(h)
	if len(got) != MaxHeaders {
		t.Errorf("HeaderData() kept %d headers, want %d", len(got), MaxHeaders)
	}
	if _, ok := got["Gov-Client-X000"]; !ok {
		t.Errorf("HeaderData() did not keep the first header by name")
	}
}

func TestSubmit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		wantID     string
		retryable  bool
		wantWait   time.Duration
	}{
		{"accepted", 202, `{"nrSubmissionId":"abc"}`, "", "abc", false, 0},
		{"server_error", 503, `down`, "7", "", true, 7 * time.Second},
		{"timeout", 408, ``, "", "", true, 0},
		{"throttled", 429, ``, "2", "", true, 2 * time.Second},
		{"bad_request", 400, `bad`, "", "", false, 0},
		{"unauthorised", 401, ``, "", "", false, 0},
		{"accepted_without_id", 200, `{}`, "", "", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var gotKey, gotAPIKey, gotPath string
			var gotBody Submission
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotKey, gotAPIKey, gotPath = r.Header.Get(delivery.IdempotencyHeader), r.Header.Get("X-API-Key"), r.URL.Path
				_ = json.NewDecoder(r.Body).Decode(&gotBody)
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := NewClient(srv.URL+"/submission", "key-1", srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			s := NewSubmission(EventReportAcknowledged, AcknowledgementPayload("r1"), time.Now(), identity.Party{AffinityGroup: identity.Agent, ARN: "AARN1234567"}, nil, "r1")
			id, err := c.Submit(context.Background(), s, "idem-1")
			if gotKey != "idem-1" || gotAPIKey != "key-1" || gotPath != "/submission" || gotBody.Metadata.NotableEvent != EventReportAcknowledged {
				t.Errorf("request: key %q api key %q path %q event %q", gotKey, gotAPIKey, gotPath, gotBody.Metadata.NotableEvent)
			}
			if id != tc.wantID {
				t.Errorf("Submit() id = %q, want %q", id, tc.wantID)
			}
			if tc.wantID != "" {
				if err != nil {
					t.Errorf("Submit() error = %v", err)
				}
				return
			}
			var e *delivery.Error
			if !errors.As(err, &e) || e.Retryable != tc.retryable || e.RetryAfter != tc.wantWait || delivery.Retryable(err) != tc.retryable {
				t.Errorf("Submit() error = %#v, want retryable %v after %v", err, tc.retryable, tc.wantWait)
			}
		})
	}
}

func TestSubmitTransportFailureIsRetryable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	c, _ := NewClient(srv.URL, "k", nil)
	_, err := c.Submit(context.Background(), Submission{}, "k")
	var e *delivery.Error
	if !errors.As(err, &e) || !e.Retryable || e.Status != 0 {
		t.Errorf("Submit(closed server) = %v, want a retryable transport error", err)
	}
}
