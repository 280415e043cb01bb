package record

import (
	"context"
	"database/sql"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/outbox"
	"github.com/open-assist/assist/internal/report"
)

func newRecorder(t *testing.T, withEvents bool) (*Recorder, *outbox.Outbox, *sql.DB) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "r.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if err := outbox.Migrate(ctx, db, "sqlite", ""); err != nil {
		t.Fatal(err)
	}
	cfg := outbox.Config{Dialect: "sqlite", Logger: slog.New(slog.DiscardHandler)}
	if cfg.NRS, err = nrs.NewClient("http://127.0.0.1:1/submission", "k", nil); err != nil {
		t.Fatal(err)
	}
	if withEvents {
		if cfg.Events, err = events.NewClient("http://127.0.0.1:1/events", nil); err != nil {
			t.Fatal(err)
		}
	}
	out, err := outbox.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := New(out)
	if err != nil {
		t.Fatal(err)
	}
	return rec, out, db
}

func inTx(t *testing.T, db *sql.DB, f func(tx *sql.Tx) error) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func sample() *report.Report {
	msg := func(title string) []report.Message {
		return []report.Message{{RuleID: "HICBC_APPLIES", Title: title, Body: "b", Action: "a", Path: "/p", Links: []report.Link{{Title: "l", URL: "https://www.gov.uk/x"}}}}
	}
	return &report.Report{
		ID: "r-1", NINO: "AA123456A", TaxYear: "2025-26", CalculationID: "c-1", RequestID: "req-1",
		CreatedAt:   time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC),
		RequestedBy: report.Party{AffinityGroup: report.Agent, ARN: "AARN1234567", Enrolments: []string{"HMRC-AS-AGENT"}},
		Body:        []byte(`{"reportId":"r-1"}`),
		English:     msg("English title"), Welsh: msg("Teitl Cymraeg"),
		Headers: map[string]string{"Gov-Client-Device-ID": "d"},
	}
}

func TestReportCreatedQueuesBothRecords(t *testing.T) {
	t.Parallel()
	rec, out, db := newRecorder(t, true)
	ctx := context.Background()
	inTx(t, db, func(tx *sql.Tx) error { return rec.ReportCreated(ctx, tx, sample()) })
	jobs, err := out.List(ctx, false, 10)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("List() = %v, %v; want an NRS submission and an event", jobs, err)
	}
	for _, j := range jobs {
		if j.ReportID != "r-1" {
			t.Errorf("job %+v is not about report r-1", j)
		}
	}
	// A 204 showed the customer nothing: nothing to prove.
	noBody := sample()
	noBody.ID, noBody.Body, noBody.English, noBody.Welsh = "r-2", nil, nil, nil
	inTx(t, db, func(tx *sql.Tx) error { return rec.ReportCreated(ctx, tx, noBody) })
	if jobs, _ := out.List(ctx, false, 10); len(jobs) != 2 {
		t.Errorf("a report with no messages queued records: %d jobs", len(jobs))
	}
}

func TestRecordsRollBackWithTheirTransaction(t *testing.T) {
	t.Parallel()
	rec, out, db := newRecorder(t, true)
	ctx := context.Background()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.ReportCreated(ctx, tx, sample()); err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	if jobs, _ := out.List(ctx, false, 10); len(jobs) != 0 {
		t.Errorf("%d records survived a rolled-back transaction", len(jobs))
	}
}

func TestAcknowledgedWithEventsOff(t *testing.T) {
	t.Parallel()
	rec, out, db := newRecorder(t, false)
	ctx := context.Background()
	a := &report.Acknowledgement{ReportID: "r-1", AcknowledgedAt: time.Now(), By: report.Party{AffinityGroup: report.Individual, NINO: "AA123456A"}, Report: sample(), RequestID: "req-2"}
	inTx(t, db, func(tx *sql.Tx) error { return rec.Acknowledged(ctx, tx, a) })
	jobs, err := out.List(ctx, false, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Kind != (outbox.NRSArgs{}).Kind() {
		t.Fatalf("List() = %+v, %v; want only the NRS submission (events are off)", jobs, err)
	}
	if err := rec.Acknowledged(ctx, nil, &report.Acknowledgement{ReportID: "x"}); err == nil {
		t.Error("Acknowledged without its report succeeded")
	}
}

func TestSubmissionContent(t *testing.T) {
	t.Parallel()
	r := sample()
	s := nrs.NewSubmission(nrs.EventReportGenerated, r.Body, r.CreatedAt, identity(r.RequestedBy), nil, r.ID)
	if got, _ := base64.StdEncoding.DecodeString(s.Payload); string(got) != string(r.Body) {
		t.Errorf("payload = %s, want the exact body returned", got)
	}
	if s.Metadata.IdentityData.ARN != "AARN1234567" || s.Metadata.IdentityData.AffinityGroup != "Agent" || len(s.Metadata.IdentityData.Enrolments) != 1 {
		t.Errorf("identity = %+v", s.Metadata.IdentityData)
	}
	e, err := events.GenerateReport(r.ID, r.CreatedAt, meta(r, r.RequestedBy), texts(r.English), texts(r.Welsh))
	if err != nil {
		t.Fatal(err)
	}
	m := e.Payload.Messages[0]
	if m.MessageID != "HICBC_APPLIES" || m.EnglishAction.Title != "English title" || m.WelshAction.Title != "Teitl Cymraeg" || len(m.WelshAction.Links) != 1 {
		t.Errorf("event message = %+v", m)
	}
	if e.MetaData[3]["customerType"] != "Agent" || e.MetaData[4]["agentReferenceNumber"] != "AARN1234567" {
		t.Errorf("event metaData = %v", e.MetaData)
	}
}
