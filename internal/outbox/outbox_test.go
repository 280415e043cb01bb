package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	_ "modernc.org/sqlite"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/testdb"
)

// testDBs opens an empty database of each dialect: SQLite always,
// PostgreSQL as package testdb provides it.
func testDBs(t *testing.T) map[string]func(t *testing.T) (*sql.DB, string) {
	return map[string]func(t *testing.T) (*sql.DB, string){
		"sqlite": func(t *testing.T) (*sql.DB, string) {
			path := filepath.Join(t.TempDir(), "outbox.db")
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db, ""
		},
		"postgres": func(t *testing.T) (*sql.DB, string) {
			db, err := sql.Open("pgx", testdb.PostgresDSN(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			// River's tables go in the schema the connection's search_path names.
			return db, ""
		},
	}
}

// receiver is a fake NRS and event endpoint. It answers with the statuses
// in plan, in turn, then 202; it dedupes by idempotency key.
type receiver struct {
	mu       sync.Mutex
	plan     []int
	attempts map[string]int
	bodies   map[string][]byte
}

func newReceiver(plan ...int) (*receiver, *httptest.Server) {
	r := &receiver{plan: plan, attempts: map[string]int{}, bodies: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		key := req.Header.Get("Idempotency-Key")
		r.mu.Lock()
		r.attempts[key]++
		status := http.StatusAccepted
		if len(r.plan) > 0 {
			status, r.plan = r.plan[0], r.plan[1:]
		}
		if status < 300 {
			r.bodies[key] = body
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		if status < 300 {
			fmt.Fprintf(w, `{"nrSubmissionId":"%s"}`, key)
		}
	}))
	return r, srv
}

func (r *receiver) delivered() map[string][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range r.bodies {
		out[k] = v
	}
	return out
}

func newOutbox(t *testing.T, db *sql.DB, dialect, schema string, nrsURL, eventsURL string, maxAttempts int) *Outbox {
	t.Helper()
	ctx := context.Background()
	if err := Migrate(ctx, db, dialect, schema); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Dialect: dialect, Schema: schema, Workers: 4, MaxAttempts: maxAttempts,
		BackoffBase: 10 * time.Millisecond, BackoffCap: 50 * time.Millisecond,
		PollInterval: 20 * time.Millisecond, JobTimeout: 5 * time.Second, RescueAfter: 10 * time.Second,
		Logger: slog.New(slog.DiscardHandler),
	}
	var err error
	if nrsURL != "" {
		if cfg.NRS, err = nrs.NewClient(nrsURL, "key", nil); err != nil {
			t.Fatal(err)
		}
	}
	if eventsURL != "" {
		if cfg.Events, err = events.NewClient(eventsURL, nil); err != nil {
			t.Fatal(err)
		}
	}
	o, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		o.Stop(ctx)
	})
	return o
}

func enqueue(t *testing.T, db *sql.DB, o *Outbox, reportID string, commit bool) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := queueFor(t, db, o).InsertTx(ctx, tx, records(reportID)); err != nil {
		t.Fatal(err)
	}
	if commit {
		err = tx.Commit()
	} else {
		err = tx.Rollback()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// completed counts delivered jobs, which Counts leaves out.
func completed(t *testing.T, db *sql.DB, schema string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + qualify(schema, "river_job") + " WHERE state = 'completed'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// records are an acknowledgement's NRS submission and event.
func records(reportID string) []Record {
	s := nrs.NewSubmission(nrs.EventReportAcknowledged, nrs.AcknowledgementPayload(reportID), time.Now(), identity.Party{AffinityGroup: identity.Individual, NINO: "AA123456A"}, nil, reportID)
	return []Record{NRS(s), Event(events.AcknowledgeReport(reportID, time.Now(), events.Meta{NINO: "AA123456A"}), "corr")}
}

// queueFor is the queue the store would use beside o.
func queueFor(tb testing.TB, db *sql.DB, o *Outbox) *Queue {
	tb.Helper()
	q, err := NewQueue(context.Background(), db, o.cfg.Dialect, o.cfg.Schema, o.cfg.MaxAttempts)
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeliversAfterOutageOnlyWhatCommitted(t *testing.T) {
	t.Parallel()
	for name, open := range testDBs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, schema := open(t)
			nrsRecv, nrsSrv := newReceiver(503, 503, 500, 408, 429)
			defer nrsSrv.Close()
			evRecv, evSrv := newReceiver(503)
			defer evSrv.Close()
			o := newOutbox(t, db, name, schema, nrsSrv.URL, evSrv.URL, 25)
			if err := o.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				enqueue(t, db, o, fmt.Sprintf("report-%d", i), true)
			}
			enqueue(t, db, o, "rolled-back", false)
			waitFor(t, "all records delivered", func() bool {
				return len(nrsRecv.delivered()) == 5 && len(evRecv.delivered()) == 5
			})
			for key, body := range nrsRecv.delivered() {
				var s nrs.Submission
				if err := json.Unmarshal(body, &s); err != nil || key != "saa-report-acknowledged:"+s.Metadata.SearchKeys.ReportID {
					t.Errorf("delivered %s: %s (%v)", key, body, err)
				}
			}
			if _, ok := nrsRecv.delivered()["saa-report-acknowledged:rolled-back"]; ok {
				t.Error("a record whose transaction rolled back was delivered")
			}
			dead, err := o.List(context.Background(), true, 100)
			if err != nil || len(dead) != 0 {
				t.Errorf("dead jobs = %v, %v; want none", dead, err)
			}
		})
	}
}

func TestDeadLetterAndRetry(t *testing.T) {
	t.Parallel()
	for name, open := range testDBs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, schema := open(t)
			// Three failures exhaust three attempts; a 400 is refused outright.
			nrsRecv, nrsSrv := newReceiver(503, 503, 503)
			defer nrsSrv.Close()
			evRecv, evSrv := newReceiver(400)
			defer evSrv.Close()
			o := newOutbox(t, db, name, schema, nrsSrv.URL, evSrv.URL, 3)
			if err := o.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			enqueue(t, db, o, "r1", true)
			var dead []Job
			waitFor(t, "two dead jobs", func() bool {
				var err error
				dead, err = o.List(context.Background(), true, 100)
				return err == nil && len(dead) == 2
			})
			states := map[string]string{}
			for _, j := range dead {
				states[j.Kind] = j.State
				if j.ReportID != "r1" || j.LastError == "" {
					t.Errorf("dead job %+v: want report r1 and its last error", j)
				}
			}
			if states["nrs_submission"] != "discarded" || states["interaction_event"] != "cancelled" {
				t.Errorf("dead states = %v", states)
			}
			if n := nrsRecv.attempts["saa-report-acknowledged:r1"]; n != 3 {
				t.Errorf("nrs attempts = %d, want 3", n)
			}
			counts, err := o.Counts(context.Background())
			if err != nil || counts["discarded"] != 1 || counts["cancelled"] != 1 {
				t.Errorf("Counts() = %v, %v", counts, err)
			}
			for _, j := range dead {
				if _, err := o.Retry(context.Background(), j.ID); err != nil {
					t.Fatalf("Retry(%d): %v", j.ID, err)
				}
			}
			waitFor(t, "revived jobs delivered", func() bool {
				return len(nrsRecv.delivered()) == 1 && len(evRecv.delivered()) == 1
			})
			if _, err := o.Retry(context.Background(), dead[0].ID); err == nil {
				t.Error("Retry of a delivered job succeeded, want ErrNotDead")
			}
		})
	}
}

// Records queued by a Queue carry the outbox's allowance of attempts and
// go to their destination's queue.
func TestQueuedRecords(t *testing.T) {
	t.Parallel()
	for name, open := range testDBs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, schema := open(t)
			o := newOutbox(t, db, name, schema, "", "", 7)
			enqueue(t, db, o, "r1", true)
			rows, err := db.Query(`SELECT kind, queue, max_attempts, state FROM river_job ORDER BY kind`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got []string
			for rows.Next() {
				var kind, queue, state string
				var attempts int
				if err := rows.Scan(&kind, &queue, &attempts, &state); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s %s %d %s", kind, queue, attempts, state))
			}
			want := []string{"interaction_event events 7 available", "nrs_submission nrs 7 available"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("queued %v, want %v", got, want)
			}
		})
	}
}

func TestRiverRetry(t *testing.T) {
	t.Parallel()
	r := riverRetry{delivery.Policy{Base: time.Second, Cap: time.Minute}}
	for range 100 {
		d := time.Until(r.NextRetry(&rivertype.JobRow{Attempt: 3}))
		if d < 1900*time.Millisecond || d > 4100*time.Millisecond {
			t.Fatalf("NextRetry(attempt 3) in %v, want 2s to 4s", d)
		}
	}
}

// TestDeliveredJobsArePurged: delivered jobs, with the personal data in
// their records, are deleted after the retention period; dead ones stay
// for the operator.
func TestDeliveredJobsArePurged(t *testing.T) {
	t.Parallel()
	for name, open := range testDBs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, schema := open(t)
			nrsRecv, nrsSrv := newReceiver()
			defer nrsSrv.Close()
			evRecv, evSrv := newReceiver(400) // refused: the first event is dead at once
			defer evSrv.Close()
			first := newOutbox(t, db, name, schema, nrsSrv.URL, evSrv.URL, 5)
			if err := first.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				enqueue(t, db, first, fmt.Sprintf("report-%d", i), true)
			}
			ctx := context.Background()
			waitFor(t, "every record delivered or dead", func() bool {
				c, err := first.Counts(ctx)
				return err == nil && completed(t, db, schema) == 5 && c["cancelled"] == 1
			})
			if len(nrsRecv.delivered()) != 3 || len(evRecv.delivered()) != 2 {
				t.Fatalf("delivered %d NRS records and %d events, want 3 and 2", len(nrsRecv.delivered()), len(evRecv.delivered()))
			}
			stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			first.Stop(stopCtx)
			cancel()

			// A process with a short retention cleans up when it starts.
			o, err := New(db, Config{Dialect: name, Schema: schema, Workers: 1, Retention: time.Millisecond,
				JobTimeout: 5 * time.Second, RescueAfter: 10 * time.Second, PollInterval: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if err := o.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				o.Stop(ctx)
			})
			waitFor(t, "delivered jobs purged", func() bool { return completed(t, db, schema) == 0 })
			if c, err := o.Counts(ctx); err != nil || c["cancelled"] != 1 {
				t.Errorf("after the purge: counts %v, %v; want the dead job kept", c, err)
			}
		})
	}
}

// TestSlowReceiverHoldsBackOnlyItself: NRS hangs with every worker of its
// queue busy, and events are delivered all the same; jobs still in the
// queue every delivery went to before the split are delivered too.
func TestSlowReceiverHoldsBackOnlyItself(t *testing.T) {
	t.Parallel()
	for name, open := range testDBs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, schema := open(t)
			release := make(chan struct{})
			var hung sync.Once
			nrsRecv, nrsSrv := newReceiver()
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				<-release
				nrsSrv.Config.Handler.ServeHTTP(w, r)
			}))
			defer slow.Close()
			defer nrsSrv.Close()
			defer hung.Do(func() { close(release) })
			evRecv, evSrv := newReceiver()
			defer evSrv.Close()
			o := newOutbox(t, db, name, schema, slow.URL, evSrv.URL, 5) // 4 workers a queue
			for i := range 6 {
				enqueue(t, db, o, fmt.Sprintf("report-%d", i), true)
			}
			// A job an older version queued.
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			old := EventArgs{Event: events.AcknowledgeReport("old", time.Now(), events.Meta{NINO: "AA123456A"}), IdempotencyKey: "AcknowledgeReport:old"}
			if _, err := o.client.InsertTx(context.Background(), tx, old, &river.InsertOpts{Queue: legacyQueue}); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := o.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "events delivered while NRS hangs", func() bool { return len(evRecv.delivered()) == 7 })
			if n := len(nrsRecv.delivered()); n != 0 {
				t.Fatalf("%d NRS records delivered while NRS hung", n)
			}
			hung.Do(func() { close(release) })
			waitFor(t, "NRS records delivered once it answers", func() bool { return len(nrsRecv.delivered()) == 6 })
		})
	}
}

// Each delivery attempt is a span, with its destination, attempt and
// report; a failed attempt is marked an error.
func TestDeliverySpans(t *testing.T) {
	t.Parallel()
	db, _ := testDBs(t)["sqlite"](t)
	ctx := context.Background()
	if err := Migrate(ctx, db, "sqlite", ""); err != nil {
		t.Fatal(err)
	}
	recv, srv := newReceiver(503)
	defer srv.Close()
	rec := tracetest.NewSpanRecorder()
	cfg := Config{
		Dialect: "sqlite", Workers: 2, BackoffBase: 10 * time.Millisecond, BackoffCap: 20 * time.Millisecond,
		PollInterval: 20 * time.Millisecond, JobTimeout: 5 * time.Second, RescueAfter: 10 * time.Second,
		Logger: slog.New(slog.DiscardHandler), Tracing: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)),
	}
	cfg.NRS, _ = nrs.NewClient(srv.URL, "key", nil)
	o, err := New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Stop(ctx)
	enqueue(t, db, o, "r1", true)
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the NRS record", func() bool { return len(recv.delivered()) == 1 })
	waitFor(t, "two spans", func() bool { return len(rec.Ended()) >= 2 })
	var statuses []string
	for _, sp := range rec.Ended()[:2] {
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range sp.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		if sp.Name() != "outbox.deliver" || attrs["assist.destination"].AsString() != DestinationNRS || attrs["assist.report_id"].AsString() != "r1" {
			t.Errorf("span %s %v", sp.Name(), attrs)
		}
		statuses = append(statuses, fmt.Sprintf("%d:%v", attrs["assist.attempt"].AsInt64(), sp.Status().Code))
	}
	if want := fmt.Sprint([]string{"1:" + fmt.Sprint(codes.Error), "2:" + fmt.Sprint(codes.Unset)}); fmt.Sprint(statuses) != want {
		t.Errorf("attempts %v, want %s", statuses, want)
	}
}
