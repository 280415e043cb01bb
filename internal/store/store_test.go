package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/insight"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/testdb"
)

// eachDB runs f on a fresh store of each dialect: SQLite always, PostgreSQL
// when the machine has one (see package testdb).
func eachDB(t *testing.T, f func(t *testing.T, db *DB, dsn string)) {
	t.Helper()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db, dsn := openTest(t, dialect)
			f(t, db, dsn)
		})
	}
}

// openTest opens a store on a fresh SQLite file or PostgreSQL schema.
func openTest(tb testing.TB, dialect string) (*DB, string) {
	tb.Helper()
	dsn := "sqlite:" + filepath.Join(tb.TempDir(), "assist.db")
	if dialect == "postgres" {
		dsn = testdb.PostgresDSN(tb)
	}
	db, err := Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("Open(%s) = %v", dsn, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, dsn
}

func TestOpen(t *testing.T) {
	t.Parallel()
	db, dsn := openTest(t, "sqlite")
	ctx := context.Background()
	var mode string
	if err := db.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := db.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	// Migrations apply once: a second open of the same file finds them done.
	db2, err := Open(ctx, dsn)
	if err != nil {
		t.Fatalf("second Open() = %v", err)
	}
	defer db2.Close()
	files, err := fs.Glob(migrations, "migrations/sqlite/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded sqlite migrations: %v, %v", files, err)
	}
	var n int
	if err := db2.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != len(files) {
		t.Errorf("schema_migrations has %d rows, %v; want %d", n, err, len(files))
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping() = %v", err)
	}
}

func TestParseDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dsn     string
		wantErr bool
	}{
		{"sqlite:assist.db", false},
		{"sqlite:///tmp/assist.db", false},
		{"sqlite::memory:", true},
		{"sqlite:", true},
		{"postgres://localhost/assist", false},
		{"postgresql://u@localhost:5432/assist?sslmode=disable", false},
		{"assist.db", true},
	}
	for _, tc := range tests {
		if _, err := parseDSN(tc.dsn); (err != nil) != tc.wantErr {
			t.Errorf("parseDSN(%q) = %v, want error %v", tc.dsn, err, tc.wantErr)
		}
	}
	d, _ := parseDSN("sqlite:x.db")
	if got := d.rebind("a = $1 AND b = $12"); got != "a = ?1 AND b = ?12" {
		t.Errorf("rebind() = %q", got)
	}
}

func sampleReport(id string) *report.Report {
	return &report.Report{
		ID:             id,
		NINO:           "TC663795B",
		TaxYear:        "2025-26",
		CalculationID:  "f2fb30e5-4ab6-4a29-b3c1-c7264259ff1c",
		CorrelationID:  "BD5A1B594995A197D528ECCF4BC6EA793C869B2F75333902F043E35561B927C4",
		RuleSetVersion: "2026.11.0+abc",
		Language:       rules.Welsh,
		CreatedAt:      time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC),
		Messages: []rules.Message{{
			RuleID: "SE_EXPENSES_HIGH", Severity: rules.Check, Title: "t", Body: "b", Action: "a", Path: "p",
			Links: []rules.Link{{Title: "l", URL: "https://www.gov.uk"}},
		}, {
			// Applied, but past the report's cap: kept for rule authors.
			RuleID: "HICBC_APPLIES", Severity: rules.Info, Title: "t2", Body: "b2", Action: "a2", Path: "p2",
			Links: []rules.Link{{Title: "l2", URL: "https://www.gov.uk/child-benefit-tax-charge"}},
		}},
		Shown: 1,
		Translation: []rules.Message{{
			RuleID: "SE_EXPENSES_HIGH", Severity: rules.Check, Title: "t en", Body: "b en", Action: "a en", Path: "p",
			Links: []rules.Link{{Title: "l en", URL: "https://www.gov.uk"}},
		}, {
			RuleID: "HICBC_APPLIES", Severity: rules.Info, Title: "t2 en", Body: "b2 en", Action: "a2 en", Path: "p2", Links: []rules.Link{},
		}},
		RuleErrors:  []rules.RuleError{{RuleID: "X", Error: "boom"}},
		RequestedBy: identity.Party{AffinityGroup: identity.Agent, ARN: "AARN1234567"},
		RequestID:   "0b7e4e8c-5f43-4f8e-9d7b-3d2c1a0f9e8d",
		Body:        []byte(`{"reportId":"x"}`),
		Fraud: &fraud.Assessment{ConnectionMethod: "OTHER_DIRECT", Code: fraud.InvalidHeaders, Score: 35,
			Reasons: []fraud.Reason{{Code: fraud.ReasonMissing, Points: 20, Detail: "gov-client-multi-factor"}, {Code: fraud.ReasonPrivateAddress, Points: 15}}},
	}
}

func TestReports(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		want := sampleReport("3f2c1a0e-9d8b-4c7a-b6e5-d4c3b2a1f0e9")
		if err := db.CreateReport(ctx, want, report.Proof{}); err != nil {
			t.Fatalf("CreateReport() = %v", err)
		}
		if err := db.CreateReport(ctx, want, report.Proof{}); err == nil {
			t.Errorf("CreateReport(same id) = nil, want an error")
		}
		got, ack, err := db.Report(ctx, want.ID)
		if err != nil {
			t.Fatalf("Report() = %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Report() (-want +got):\n%s", diff)
		}
		if ack != nil {
			t.Errorf("acknowledgement = %+v, want nil", ack)
		}
		if _, _, err := db.Report(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, report.ErrNotFound) {
			t.Errorf("Report(unknown) = %v, want report.ErrNotFound", err)
		}
		key, err := db.ReportKey(ctx, want.ID)
		wantKey := &report.Key{ID: want.ID, NINO: want.NINO, TaxYear: want.TaxYear, CalculationID: want.CalculationID, CorrelationID: want.CorrelationID}
		if err != nil || *key != *wantKey {
			t.Errorf("ReportKey() = %+v, %v; want %+v", key, err, wantKey)
		}
		if _, err := db.ReportKey(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, report.ErrNotFound) {
			t.Errorf("ReportKey(unknown) = %v, want report.ErrNotFound", err)
		}

		// A report with no messages keeps a NULL body; one made without
		// checking its headers has no assessment.
		empty := sampleReport("4f2c1a0e-9d8b-4c7a-b6e5-d4c3b2a1f0e9")
		empty.Messages, empty.Body, empty.RuleErrors, empty.Fraud, empty.Translation = nil, nil, nil, nil, nil
		if err := db.CreateReport(ctx, empty, report.Proof{}); err != nil {
			t.Fatal(err)
		}
		got, _, err = db.Report(ctx, empty.ID)
		if err != nil || got.Body != nil || len(got.Messages) != 0 || got.Fraud != nil || got.Translation != nil {
			t.Errorf("Report(empty) = %+v, %v; want no body and no messages", got, err)
		}
		ids, err := db.ReportIDs(ctx, want.NINO, want.TaxYear, want.CalculationID)
		if err != nil || len(ids) != 2 {
			t.Errorf("ReportIDs() = %v, %v; want 2", ids, err)
		}

		// The first acknowledgement is kept; a repeat records nothing.
		first := &report.Acknowledgement{ReportID: want.ID, AcknowledgedAt: time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC),
			By: identity.Party{AffinityGroup: identity.Individual, NINO: "TC663795B"}, RequestID: "r1"}
		if created, err := db.Acknowledge(ctx, first, report.Proof{}); err != nil || !created {
			t.Fatalf("Acknowledge() = %v, %v; want true, nil", created, err)
		}
		second := *first
		second.AcknowledgedAt = first.AcknowledgedAt.Add(time.Hour)
		second.RequestID = "r2"
		if created, err := db.Acknowledge(ctx, &second, report.Proof{}); err != nil || created {
			t.Fatalf("Acknowledge(repeat) = %v, %v; want false, nil", created, err)
		}
		_, ack, err = db.Report(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, ack); diff != "" {
			t.Errorf("acknowledgement (-want +got):\n%s", diff)
		}
		// An acknowledgement needs a report.
		if _, err := db.Acknowledge(ctx, &report.Acknowledgement{ReportID: "nope", By: identity.Party{AffinityGroup: identity.Individual}}, report.Proof{}); err == nil {
			t.Errorf("Acknowledge(unknown report) = nil, want a foreign key error")
		}
	})
}

func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := sampleReport(time.Now().Format("150405.000000000") + string(rune('a'+i%26)) + string(rune('a'+i/26)))
				errs <- db.CreateReport(ctx, r, report.Proof{})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("CreateReport() = %v", err)
			}
		}
	})
}

func TestSandboxData(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()

		if _, err := db.Calculation(ctx, "TC663795B", "2025-26", "x"); !errors.Is(err, report.ErrCalculationNotFound) {
			t.Errorf("Calculation(unknown) = %v, want ErrCalculationNotFound", err)
		}
		for _, body := range []string{`{"v":1}`, `{"v":2}`} {
			if err := db.PutCalculation(ctx, "TC663795B", "2025-26", "x", []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := db.Calculation(ctx, "TC663795B", "2025-26", "x"); err != nil || string(got) != `{"v":2}` {
			t.Errorf("Calculation() = %s, %v; want the replacement", got, err)
		}
		if _, err := db.Calculation(ctx, "AB123456C", "2025-26", "x"); !errors.Is(err, report.ErrCalculationNotFound) {
			t.Errorf("Calculation(other NINO) = %v, want ErrCalculationNotFound", err)
		}

		in := &Individual{NINO: "TC663795B", MTDITID: "XAIT00000000001", MTDEnrolled: true, ConfidenceLevel: 250, CreatedAt: time.Now()}
		if err := db.PutIndividual(ctx, in); err != nil {
			t.Fatal(err)
		}
		if err := db.PutIndividual(ctx, in); err != nil {
			t.Errorf("PutIndividual(again) = %v", err)
		}

		if _, err := db.Agent(ctx, "AARN1234567"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Agent(unknown) = %v, want ErrNotFound", err)
		}
		if err := db.PutAgent(ctx, &Agent{ARN: "AARN1234567", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if a, err := db.Agent(ctx, "AARN1234567"); err != nil || a.ARN != "AARN1234567" {
			t.Errorf("Agent() = %+v, %v", a, err)
		}
		if _, err := db.Relationship(ctx, "AARN1234567", "TC663795B"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Relationship(none) = %v, want ErrNotFound", err)
		}
		for _, kind := range []string{Main, Supporting} {
			if err := db.PutRelationship(ctx, "AARN1234567", "TC663795B", kind); err != nil {
				t.Fatal(err)
			}
			if got, err := db.Relationship(ctx, "AARN1234567", "TC663795B"); err != nil || got != kind {
				t.Errorf("Relationship() = %q, %v; want %q", got, err, kind)
			}
		}
		if err := db.PutRelationship(ctx, "AARN1234567", "TC663795B", "other"); err == nil {
			t.Errorf("PutRelationship(other) = nil, want an error")
		}
		// Production agents have no sandbox agents row: the operator's
		// authorisation stands on its own.
		if err := db.PutRelationship(ctx, "BARN1234567", "TC663795B", Main); err != nil {
			t.Errorf("PutRelationship(agent without a sandbox row) = %v", err)
		}
		if err := db.DeleteRelationship(ctx, "AARN1234567", "TC663795B"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Relationship(ctx, "AARN1234567", "TC663795B"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Relationship(deleted) = %v, want ErrNotFound", err)
		}
	})
}

func TestSandboxDataFound(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		if got, err := db.SandboxData(ctx); err != nil || len(got) != 0 {
			t.Fatalf("SandboxData(fresh database) = %q, %v; want none", got, err)
		}
		// An agent authorisation is production data too (assist agents
		// authorise writes it): on its own it is not sandbox data.
		if err := db.PutRelationship(ctx, "AARN7654321", "AA123456A", Main); err != nil {
			t.Fatal(err)
		}
		if got, err := db.SandboxData(ctx); err != nil || len(got) != 0 {
			t.Fatalf("SandboxData(an authorisation only) = %q, %v; want none", got, err)
		}
		steps := []struct {
			name  string
			put   func() error
			count int
			want  string
		}{
			{"signing_key", func() error {
				_, err := db.SigningKey(ctx, "k", func() ([]byte, error) { return []byte("{}"), nil })
				return err
			}, 1, "1 sandbox token signing key"},
			{"individual", func() error {
				return db.PutIndividual(ctx, &Individual{NINO: "TC663795B", MTDITID: "XAIT00000000001", CreatedAt: time.Now()})
			}, 2, "1 sandbox test user"},
			{"agent", func() error { return db.PutAgent(ctx, &Agent{ARN: "AARN1234567", CreatedAt: time.Now()}) }, 3, "1 sandbox test agent"},
			{"calculation", func() error { return db.PutCalculation(ctx, "TC663795B", "2025-26", "x", []byte("{}")) }, 4, "1 calculation"},
		}
		for _, st := range steps {
			if err := st.put(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			got, err := db.SandboxData(ctx)
			if err != nil || len(got) != st.count || !strings.Contains(strings.Join(got, "; "), st.want) {
				t.Errorf("SandboxData() after %s = %q, %v; want %d items, one %q", st.name, got, err, st.count, st.want)
			}
		}
	})
}

func TestSigningKey(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		calls := 0
		maker := func(v string) func() ([]byte, error) {
			return func() ([]byte, error) { calls++; return []byte(v), nil }
		}
		first, err := db.SigningKey(ctx, "k", maker("one"))
		if err != nil || string(first) != "one" {
			t.Fatalf("SigningKey() = %s, %v; want one", first, err)
		}
		again, err := db.SigningKey(ctx, "k", maker("two"))
		if err != nil || string(again) != "one" || calls != 1 {
			t.Errorf("SigningKey(again) = %s, %v after %d makes; want the stored key, made once", again, err, calls)
		}
		if _, err := db.SigningKey(ctx, "j", func() ([]byte, error) { return nil, errors.New("no entropy") }); err == nil {
			t.Errorf("SigningKey(failing make) = nil, want an error")
		}
	})
}

func TestAuthorisations(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		if got, err := db.Authorisations(ctx, "", ""); err != nil || len(got) != 0 {
			t.Fatalf("Authorisations(empty store) = %v, %v; want none", got, err)
		}
		for _, a := range []struct{ arn, nino, kind string }{
			{"BARN1234567", "TC663795B", Supporting},
			{"AARN1234567", "TC663795B", Main},
			{"AARN1234567", "AA123456A", Supporting},
		} {
			if err := db.PutRelationship(ctx, a.arn, a.nino, a.kind); err != nil {
				t.Fatal(err)
			}
		}
		key := func(as []Authorisation) []string {
			var out []string
			for _, a := range as {
				if a.CreatedAt.IsZero() {
					t.Errorf("authorisation %+v has no time", a)
				}
				out = append(out, a.ARN+"/"+a.NINO+"/"+a.Type)
			}
			return out
		}
		cases := []struct {
			name, arn, nino string
			want            []string
		}{
			{"all", "", "", []string{"AARN1234567/AA123456A/supporting", "AARN1234567/TC663795B/main", "BARN1234567/TC663795B/supporting"}},
			{"by_agent", "AARN1234567", "", []string{"AARN1234567/AA123456A/supporting", "AARN1234567/TC663795B/main"}},
			{"by_client", "", "TC663795B", []string{"AARN1234567/TC663795B/main", "BARN1234567/TC663795B/supporting"}},
			{"both", "BARN1234567", "TC663795B", []string{"BARN1234567/TC663795B/supporting"}},
			{"none", "CARN1234567", "", nil},
		}
		for _, tc := range cases {
			got, err := db.Authorisations(ctx, tc.arn, tc.nino)
			if err != nil {
				t.Fatalf("%s: Authorisations() = %v", tc.name, err)
			}
			if diff := cmp.Diff(tc.want, key(got)); diff != "" {
				t.Errorf("%s: Authorisations(%q, %q) diff (-want +got):\n%s", tc.name, tc.arn, tc.nino, diff)
			}
		}
	})
}

func TestOpenExisting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("sqlite_missing", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "typo.db")
		if db, err := OpenExisting(ctx, "sqlite:"+path); !errors.Is(err, ErrNoDatabase) {
			if db != nil {
				db.Close()
			}
			t.Errorf("OpenExisting(missing file) = %v, want ErrNoDatabase", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after OpenExisting, stat(%s) = %v; want no file left behind", path, err)
		}
	})
	t.Run("postgres_empty", func(t *testing.T) {
		t.Parallel()
		dsn := testdb.PostgresDSN(t)
		if db, err := OpenExisting(ctx, dsn); !errors.Is(err, ErrNoDatabase) {
			if db != nil {
				db.Close()
			}
			t.Errorf("OpenExisting(unmigrated schema) = %v, want ErrNoDatabase", err)
		}
	})
	eachDB(t, func(t *testing.T, _ *DB, dsn string) {
		db, err := OpenExisting(ctx, dsn)
		if err != nil {
			t.Fatalf("OpenExisting(created database) = %v", err)
		}
		defer db.Close()
		if err := db.PutRelationship(ctx, "AARN1234567", "TC663795B", Main); err != nil {
			t.Errorf("write through OpenExisting: %v", err)
		}
	})
}

// The latest request to each endpoint is kept per owner and connection
// method, and the latest valid device id per user.
func TestSeen(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		seen := func(endpoint, method, device string, minutes int) fraud.Seen {
			return fraud.Seen{Owner: "app-1", Endpoint: endpoint, ConnectionMethod: method, Subject: "TC663795B",
				Method: "POST", Path: "/p/" + endpoint, ReceivedAt: at.Add(time.Duration(minutes) * time.Minute),
				Headers: map[string]string{"gov-client-device-id": device}, DeviceID: device}
		}
		for _, s := range []fraud.Seen{
			seen("produce", "DESKTOP_APP_DIRECT", "d1", 0),
			seen("produce", "DESKTOP_APP_DIRECT", "d2", 1), // replaces the one before
			seen("produce", "OTHER_DIRECT", "", 2),
			seen("produce", "DESKTOP_APP_DIRECT", "d0", -1), // older than what is kept: ignored
			seen("acknowledge", "DESKTOP_APP_DIRECT", "d2", 3),
		} {
			if !db.RecordSeen(s) {
				t.Fatalf("RecordSeen(%+v) = false with an idle writer", s)
			}
		}
		// RecordSeen does not wait: the writes land in order, the
		// acknowledgement last.
		var got []fraud.Seen
		deadline := time.Now().Add(10 * time.Second)
		for len(got) < 2 || got[0].Endpoint != "acknowledge" {
			if time.Now().After(deadline) {
				t.Fatalf("Seen() = %+v, never both endpoints", got)
			}
			time.Sleep(5 * time.Millisecond)
			var err error
			if got, err = db.Seen(ctx, "app-1", ""); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff([]fraud.Seen{seen("acknowledge", "DESKTOP_APP_DIRECT", "d2", 3), seen("produce", "OTHER_DIRECT", "", 2)}, got); diff != "" {
			t.Errorf("Seen(all) (-want +got):\n%s", diff)
		}
		got, err := db.Seen(ctx, "app-1", "DESKTOP_APP_DIRECT")
		if err != nil || len(got) != 2 || got[1].Endpoint != "produce" || got[1].DeviceID != "d2" {
			t.Errorf("Seen(DESKTOP_APP_DIRECT) = %+v, %v; want acknowledge, then produce with d2", got, err)
		}
		if got, err := db.Seen(ctx, "app-2", ""); err != nil || len(got) != 0 {
			t.Errorf("Seen(another owner) = %+v, %v; want none", got, err)
		}
		if id, err := db.LastDeviceID(ctx, "TC663795B"); err != nil || id != "d2" {
			t.Errorf("LastDeviceID() = %q, %v; want d2 (the latest non-empty)", id, err)
		}
		if id, err := db.LastDeviceID(ctx, "nobody"); err != nil || id != "" {
			t.Errorf("LastDeviceID(nobody) = %q, %v; want none", id, err)
		}
	})
}

// LatestReports gives each client's latest report of each tax year, and
// whether it was acknowledged.
func TestLatestReports(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		mk := func(id, nino, year string, minutes int) *report.Report {
			r := sampleReport(id)
			r.NINO, r.TaxYear, r.CreatedAt = nino, year, at.Add(time.Duration(minutes)*time.Minute)
			if err := db.CreateReport(ctx, r, report.Proof{}); err != nil {
				t.Fatal(err)
			}
			return r
		}
		mk("00000000-0000-4000-8000-000000000001", "TC663795B", "2025-26", 0)
		newest := mk("00000000-0000-4000-8000-000000000002", "TC663795B", "2025-26", 5)
		older := mk("00000000-0000-4000-8000-000000000003", "TC663795B", "2024-25", 1)
		other := mk("00000000-0000-4000-8000-000000000004", "AA123456A", "2025-26", 2)
		mk("00000000-0000-4000-8000-000000000005", "ZZ999999Z", "2025-26", 2) // not asked for
		if _, err := db.Acknowledge(ctx, &report.Acknowledgement{ReportID: older.ID, AcknowledgedAt: at.Add(time.Hour),
			By: identity.Party{AffinityGroup: identity.Agent, ARN: "AARN1234567"}}, report.Proof{}); err != nil {
			t.Fatal(err)
		}
		got, err := db.LatestReports(ctx, []string{"TC663795B", "AA123456A"})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range got {
			ids = append(ids, s.ID)
		}
		if want := []string{other.ID, newest.ID, older.ID}; !slices.Equal(ids, want) {
			t.Fatalf("LatestReports() = %v, want %v (by NINO, latest year first)", ids, want)
		}
		if got[1].Shown != 1 || got[1].AcknowledgedAt != nil || got[2].AcknowledgedAt == nil || !got[2].AcknowledgedAt.Equal(at.Add(time.Hour)) {
			t.Errorf("summaries = %+v, want 1 shown, the 2024-25 one acknowledged", got)
		}
		if none, err := db.LatestReports(ctx, nil); err != nil || len(none) != 0 {
			t.Errorf("LatestReports(none) = %v, %v", none, err)
		}
	})
}

// Every rule that fired in a report is kept for the dashboard, once per
// report, with whether it was shown, and the reports that follow it.
func TestRuleHits(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		first := sampleReport("00000000-0000-4000-8000-00000000000a")
		first.Messages[0].Evidence = map[string]any{"share": "80%"}
		// A forEach rule firing twice, once shown and once hidden: one row, shown.
		first.Messages = append([]rules.Message{first.Messages[0]}, rules.Message{RuleID: "SE_EXPENSES_HIGH", Title: "again", Links: []rules.Link{}},
			first.Messages[1])
		first.Translation = nil
		first.CreatedAt = at
		if err := db.CreateReport(ctx, first, report.Proof{}); err != nil {
			t.Fatal(err)
		}
		later := sampleReport("00000000-0000-4000-8000-00000000000b")
		later.CalculationID, later.CreatedAt, later.Messages, later.Shown, later.Translation = "another", at.Add(time.Hour), nil, 0, nil
		if err := db.CreateReport(ctx, later, report.Proof{}); err != nil {
			t.Fatal(err)
		}
		hits, err := db.RuleHits(ctx, at.Add(-time.Minute), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 2 {
			t.Fatalf("hits = %+v, want SE_EXPENSES_HIGH (shown) and HICBC_APPLIES (hidden)", hits)
		}
		byRule := map[string]insight.Hit{}
		for _, h := range hits {
			byRule[h.RuleID] = h
		}
		if h := byRule["SE_EXPENSES_HIGH"]; !h.Shown || h.ReportID != first.ID || !h.CreatedAt.Equal(at) || h.NINO != first.NINO {
			t.Errorf("SE_EXPENSES_HIGH hit = %+v", h)
		}
		if h := byRule["HICBC_APPLIES"]; h.Shown {
			t.Errorf("HICBC_APPLIES hit = %+v, want hidden", h)
		}
		follow, err := db.FollowUps(ctx, at.Add(-time.Minute), "")
		if err != nil || len(follow) != 2 || follow[1].ID != later.ID || follow[1].CalculationID != "another" {
			t.Errorf("FollowUps() = %+v, %v; want both reports, the later one last", follow, err)
		}
		ev, err := db.RecentEvidence(ctx, "SE_EXPENSES_HIGH", 5)
		if err != nil || len(ev) != 1 || ev[0].Values["share"] != "80%" {
			t.Errorf("RecentEvidence() = %+v, %v", ev, err)
		}
		if hits, err := db.RuleHits(ctx, at.Add(time.Minute), ""); err != nil || len(hits) != 0 {
			t.Errorf("RuleHits(after) = %+v, %v; want none", hits, err)
		}
	})
}
