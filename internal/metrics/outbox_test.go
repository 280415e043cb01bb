package metrics

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	_ "modernc.org/sqlite"

	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/outbox"
)

// TestOutboxMetrics runs a real outbox on SQLite against receivers that
// accept NRS records and refuse events, and gathers its metrics from a real
// registry.
func TestOutboxMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := outbox.Migrate(ctx, db, "sqlite", ""); err != nil {
		t.Fatal(err)
	}
	accept := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, `{"nrSubmissionId":"x"}`)
	}))
	defer accept.Close()
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) }))
	defer refuse.Close()
	nc, _ := nrs.NewClient(accept.URL, "key", nil)
	ec, _ := events.NewClient(refuse.URL, nil)
	out, err := outbox.New(db, outbox.Config{Dialect: "sqlite", NRS: nc, Events: ec, Workers: 2, PollInterval: 20 * time.Millisecond,
		JobTimeout: 5 * time.Second, RescueAfter: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	q, err := outbox.NewQueue(ctx, db, "sqlite", "", 5)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := RegisterOutbox(reg, out, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("r%d", i)
		recs := []outbox.Record{
			outbox.NRS(nrs.NewSubmission(nrs.EventReportAcknowledged, nrs.AcknowledgementPayload(id), time.Now(), identity.Party{AffinityGroup: identity.Individual}, nil, id)),
			outbox.Event(events.AcknowledgeReport(id, time.Now(), events.Meta{}), "c"),
		}
		if err := q.InsertTx(ctx, tx, recs); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// Before delivery: three records wait for each destination.
	m := gather(t, reg)
	if m[`assist_outbox_queue_depth{destination="nrs"}`] != 3 || m[`assist_outbox_queue_depth{destination="events"}`] != 3 ||
		m[`assist_outbox_oldest_job_age_seconds{destination="nrs"}`] <= 0 {
		t.Errorf("before delivery: %v", m)
	}
	if err := out.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		out.Stop(ctx)
	}()
	deadline := time.Now().Add(20 * time.Second)
	// The collectors of one scrape read the table at slightly different
	// moments: wait until both views have every dead letter.
	for m = gather(t, reg); m[`assist_outbox_dead_letters{destination="events"}`] != 3 || m[`assist_outbox_dead_jobs`] != 3 ||
		m[`assist_outbox_queue_depth{destination="nrs"}`] != 0; m = gather(t, reg) {
		if time.Now().After(deadline) {
			t.Fatalf("records not delivered or dead-lettered: %v", m)
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := map[string]float64{
		`assist_outbox_deliveries_total{destination="nrs",outcome="delivered"}`:    3,
		`assist_outbox_deliveries_total{destination="events",outcome="refused"}`:   3,
		`assist_outbox_deliveries_total{destination="events",outcome="delivered"}`: 0,
		`assist_outbox_delivery_duration_seconds_count{destination="nrs"}`:         3,
		`assist_outbox_dead_letters{destination="nrs"}`:                            0,
		`assist_outbox_queue_depth{destination="events"}`:                          0,
		`assist_outbox_oldest_job_age_seconds{destination="events"}`:               0,
		`assist_outbox_dead_jobs`:                                                  3,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
}

// gather reads every series of reg as name{labels} → value (a histogram as
// its _count).
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name, labels := mf.GetName(), ""
			for i, l := range m.GetLabel() {
				if i > 0 {
					labels += ","
				}
				labels += fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
			}
			if labels != "" {
				labels = "{" + labels + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_HISTOGRAM:
				out[name+"_count"+labels] = float64(m.GetHistogram().GetSampleCount())
			case dto.MetricType_COUNTER:
				out[name+labels] = m.GetCounter().GetValue()
			default:
				out[name+labels] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}
