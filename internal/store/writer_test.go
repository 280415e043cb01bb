package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/outbox"
	"github.com/open-assist/assist/internal/report"
)

func proofOf(reportID string) report.Proof {
	by := identity.Party{AffinityGroup: identity.Individual, NINO: "TC663795B"}
	s := nrs.NewSubmission(nrs.EventReportGenerated, []byte(`{"reportId":"`+reportID+`"}`), time.Now(), by, nil, reportID)
	e := events.AcknowledgeReport(reportID, time.Now(), events.Meta{NINO: "TC663795B", By: by})
	return report.Proof{NRS: &s, Event: &e, RequestID: "req-" + reportID}
}

// queued counts the outbox's records (each test has a database of its own).
func queued(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.queryRow(context.Background(), `SELECT COUNT(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A report and its proof commit together; so do an acknowledgement and
// its proof, and a repeated acknowledgement queues nothing more.
func TestProofCommitsWithItsWrite(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		r := sampleReport("5f2c1a0e-9d8b-4c7a-b6e5-d4c3b2a1f0e9")
		if err := db.CreateReport(ctx, r, proofOf(r.ID)); err != nil {
			t.Fatal(err)
		}
		if n := queued(t, db); n != 2 {
			t.Fatalf("%d records queued with the report, want 2", n)
		}
		// Each record gets the outbox's allowance of attempts.
		var attempts int
		if err := db.queryRow(ctx, `SELECT MIN(max_attempts) FROM river_job`).Scan(&attempts); err != nil || attempts != (outbox.Config{}).Attempts() {
			t.Errorf("max_attempts = %d, %v; want %d", attempts, err, (outbox.Config{}).Attempts())
		}
		// The same id again fails, and its proof is not queued either.
		if err := db.CreateReport(ctx, r, proofOf(r.ID)); err == nil {
			t.Fatal("CreateReport(same id) = nil")
		}
		if n := queued(t, db); n != 2 {
			t.Errorf("a failed write queued records: %d", n)
		}
		a := &report.Acknowledgement{ReportID: r.ID, AcknowledgedAt: time.Now(), By: r.RequestedBy, RequestID: "ack"}
		for range 2 {
			if _, err := db.Acknowledge(ctx, a, proofOf(r.ID)); err != nil {
				t.Fatal(err)
			}
		}
		if n := queued(t, db); n != 4 {
			t.Errorf("%d records queued, want 4: the report's and one acknowledgement's", n)
		}
	})
}

// holdWriteLock takes SQLite's write lock from another connection, so
// that the store's writer waits, and returns its release.
func holdWriteLock(t *testing.T, path string) func() {
	t.Helper()
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := other.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			tx.Rollback()
			other.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// awaitBegun waits until the writer has begun n batches.
func awaitBegun(t *testing.T, db *DB, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for db.writer.begun.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d batches begun, want %d", db.writer.begun.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// awaitQueued waits until n writes wait for the writer.
func awaitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(db.writer.queue) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(db.writer.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func histogram(t *testing.T, c prometheus.Collector) *dto.Histogram {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram()
}

// Writes that arrive while a commit is under way are committed together
// in the next transaction, and one bad write in a batch fails only its
// own request.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "assist.db")
	db, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	dup := sampleReport("00000000-0000-4000-8000-000000000001")
	if err := db.CreateReport(ctx, dup, report.Proof{}); err != nil {
		t.Fatal(err)
	}
	release := holdWriteLock(t, path)

	const n = 20
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	write := func(i int, r *report.Report) {
		defer wg.Done()
		errs[i] = db.CreateReport(ctx, r, proofOf(r.ID))
	}
	// The first write is taken by the writer, which waits for the lock...
	wg.Add(1)
	go write(0, sampleReport(fmt.Sprintf("00000000-0000-4000-8000-%012d", 100)))
	awaitBegun(t, db, 2)
	// ...while the others queue behind it, one of them a duplicate.
	for i := 1; i <= n; i++ {
		r := sampleReport(fmt.Sprintf("00000000-0000-4000-8000-%012d", 100+i))
		if i == n/2 {
			r = sampleReport(dup.ID)
		}
		wg.Add(1)
		go write(i, r)
	}
	awaitQueued(t, db, n)
	release()
	wg.Wait()

	for i, err := range errs {
		if (err != nil) != (i == n/2) {
			t.Errorf("write %d = %v", i, err)
		}
	}
	for i := 1; i <= n; i++ {
		if i == n/2 {
			continue
		}
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", 100+i)
		if _, _, err := db.Report(ctx, id); err != nil {
			t.Errorf("report %d: %v", i, err)
		}
	}
	if got := queued(t, db); got != 2*n {
		t.Errorf("%d records queued, want 2 for each of the %d reports stored", got, n)
	}
	// Transactions: the setup write, the one that waited for the lock, the
	// 20 queued behind it together (failing on the duplicate), then those
	// 20 alone.
	h := histogram(t, db.writer.batchSize)
	if h.GetSampleCount() != 3+n || h.GetSampleSum() != float64(2+n+n) {
		t.Errorf("%d transactions of %v writes in all, want %d of %d", h.GetSampleCount(), h.GetSampleSum(), 3+n, 2+n+n)
	}
}

// When the write queue is full a write is refused at once, as busy, and
// changes nothing.
func TestFullWriteQueueRefuses(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "assist.db")
	db, err := Open(context.Background(), "sqlite:"+path, WithWriteQueue(2))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	release := holdWriteLock(t, path)
	wait := writeBehindLock(t, db, 3) // one with the writer, two queued
	refused := sampleReport("00000000-0000-4000-8000-000000000099")
	err = db.CreateReport(ctx, refused, proofOf(refused.ID))
	if !errors.Is(err, ErrQueueFull) || !Busy(err) {
		t.Errorf("CreateReport(queue full) = %v, want ErrQueueFull, busy", err)
	}
	release()
	wait()
	if _, _, err := db.Report(ctx, refused.ID); !errors.Is(err, report.ErrNotFound) {
		t.Errorf("the refused report was stored: %v", err)
	}
	if n := queued(t, db); n != 0 {
		t.Errorf("the refused report queued %d records", n)
	}
	var m dto.Metric
	ch := make(chan prometheus.Metric, 1)
	db.writer.rejected.Collect(ch)
	(<-ch).Write(&m)
	if m.GetCounter().GetValue() != 1 {
		t.Errorf("rejected = %v, want 1", m.GetCounter().GetValue())
	}
}

// writeBehindLock starts n writes while the writer waits for a lock held
// elsewhere: the first is the writer's, the others wait in the queue. wait
// waits for them all to succeed.
func writeBehindLock(t *testing.T, db *DB, n int) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := db.CreateReport(context.Background(), sampleReport(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)), report.Proof{}); err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		})
		if i == 0 {
			awaitBegun(t, db, 1)
		}
	}
	awaitQueued(t, db, n-1)
	return wg.Wait
}

// Close commits what was queued before it, and refuses writes after.
func TestCloseCommitsQueuedWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "assist.db")
	db, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	release := holdWriteLock(t, path)
	wait := writeBehindLock(t, db, 5)
	closed := make(chan error)
	go func() { closed <- db.Close() }()
	release()
	wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := db.CreateReport(ctx, sampleReport("00000000-0000-4000-8000-000000000098"), report.Proof{}); !errors.Is(err, ErrClosed) {
		t.Errorf("CreateReport after Close = %v, want ErrClosed", err)
	}
	again, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	for i := range 5 {
		if _, _, err := again.Report(ctx, fmt.Sprintf("00000000-0000-4000-8000-%012d", i)); err != nil {
			t.Errorf("write %d lost at Close: %v", i, err)
		}
	}
}
