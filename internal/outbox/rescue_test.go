package outbox

import (
	"context"
	"database/sql"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver"

	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/nrs"
)

// hold takes a due job of queue as client id would (River marks it running,
// attempted by id), and returns its id: a worker that then dies, or one
// that lives on.
func hold(t *testing.T, o *Outbox, id, queue string) int64 {
	t.Helper()
	res, err := o.driver.GetExecutor().JobGetAvailable(context.Background(), &riverdriver.JobGetAvailableParams{
		ClientID: id, MaxAttemptedBy: 100, MaxToLock: 1, Queue: queue, Schema: o.cfg.Schema,
	})
	if err != nil || len(res.Jobs) != 1 {
		t.Fatalf("hold a %s job for %s: %v, %v", queue, id, res, err)
	}
	return res.Jobs[0].ID
}

// beatAs records a heartbeat for client id at time at, as a live process
// would.
func beatAs(t *testing.T, o *Outbox, id string, at time.Time) {
	t.Helper()
	q := o.sql("INSERT INTO " + o.qualify(heartbeatTable) + " (client_id, beat_at) VALUES (?1, ?2) ON CONFLICT (client_id) DO UPDATE SET beat_at = excluded.beat_at")
	if _, err := o.db.Exec(q, id, at.UnixMilli()); err != nil {
		t.Fatal(err)
	}
}

// rescueOutbox is an outbox whose River rescuer would wait an hour: only
// the heartbeat can give a dead process's job back within the test.
func rescueOutbox(t *testing.T, db *sql.DB, dialect, nrsURL, eventsURL string) *Outbox {
	t.Helper()
	if err := Migrate(context.Background(), db, dialect, ""); err != nil {
		t.Fatal(err)
	}
	nc, _ := nrs.NewClient(nrsURL, "key", nil)
	ec, _ := events.NewClient(eventsURL, nil)
	o, err := New(db, Config{Dialect: dialect, NRS: nc, Events: ec, Workers: 2, MaxAttempts: 5,
		JobTimeout: time.Minute, RescueAfter: time.Hour, PollInterval: 20 * time.Millisecond, Heartbeat: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
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

// TestDeadProcessJobsRetriedAtOnce: on PostgreSQL, where replicas share
// the queue, a job held by a process that stopped beating is delivered
// without waiting for RescueAfter, and a job held by a process still
// beating is left to it. (On SQLite a starting process takes every running
// job: TestSQLiteStartTakesRunningJobs.)
func TestDeadProcessJobsRetriedAtOnce(t *testing.T) {
	t.Parallel()
	for name, open := range testDBs(t) {
		if name == "sqlite" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, _ := open(t)
			nrsRecv, nrsSrv := newReceiver()
			defer nrsSrv.Close()
			evRecv, evSrv := newReceiver()
			defer evSrv.Close()
			o := rescueOutbox(t, db, name, nrsSrv.URL, evSrv.URL)
			ctx := context.Background()
			enqueue(t, db, o, "dead", true)
			enqueue(t, db, o, "alive", true)
			// The live worker's beat is dated after the test, as if it
			// beat throughout; the dead one's last beat is now.
			beatAs(t, o, "alive-worker", time.Now().Add(time.Hour))
			beatAs(t, o, "dead-worker", time.Now())
			deadJob := hold(t, o, "dead-worker", queueNRS)
			aliveJob := hold(t, o, "alive-worker", queueNRS)
			if err := o.Start(ctx); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the dead worker's record delivered", func() bool {
				_, ok := nrsRecv.delivered()["saa-report-acknowledged:dead"]
				j, err := o.client.JobGet(ctx, deadJob)
				return ok && err == nil && j.State == "completed"
			})
			waitFor(t, "the events delivered", func() bool { return len(evRecv.delivered()) == 2 })
			// Several sweeps later, the live worker's job is still its own.
			swept := o.sweeps.Load()
			waitFor(t, "three more sweeps", func() bool { return o.sweeps.Load() >= swept+3 })
			j, err := o.client.JobGet(ctx, aliveJob)
			if err != nil || j.State != "running" || j.AttemptedBy[len(j.AttemptedBy)-1] != "alive-worker" {
				t.Errorf("live worker's job = %+v, %v; want it running, held by alive-worker", j, err)
			}
			if _, ok := nrsRecv.delivered()["saa-report-acknowledged:alive"]; ok {
				t.Error("the live worker's record was delivered by another")
			}
			if j, err := o.client.JobGet(ctx, deadJob); err != nil || len(j.Errors) != 1 {
				t.Errorf("dead worker's job = %+v, %v; want its cut-short attempt recorded", j, err)
			}
		})
	}
}

// TestSQLiteStartTakesRunningJobs: on SQLite one process delivers, so a
// job found running at start was left by a dead one, however recent its
// heartbeat (a crash and a quick restart).
func TestSQLiteStartTakesRunningJobs(t *testing.T) {
	t.Parallel()
	db, _ := testDBs(t)["sqlite"](t)
	nrsRecv, nrsSrv := newReceiver()
	defer nrsSrv.Close()
	_, evSrv := newReceiver()
	defer evSrv.Close()
	o := rescueOutbox(t, db, "sqlite", nrsSrv.URL, evSrv.URL)
	enqueue(t, db, o, "r1", true)
	beatAs(t, o, "crashed", time.Now())
	hold(t, o, "crashed", queueNRS)
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the crashed process's record delivered", func() bool { return len(nrsRecv.delivered()) == 1 })
}
