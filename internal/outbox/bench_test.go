package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/testdb"
)

// BenchmarkDrain queues a backlog of reports (an NRS record and an event
// each, one transaction per report as the API makes them) and measures how
// fast the outbox delivers it to a fast local receiver: records/s. Run it
// with -benchtime=1x or a few x; each op drains benchReports×2 records.
//
//	go test ./internal/outbox -run '^$' -bench Drain -benchtime 3x
func BenchmarkDrain(b *testing.B) {
	for name, open := range benchDBs(b) {
		b.Run(name, func(b *testing.B) {
			db := open(b)
			if err := Migrate(context.Background(), db, name, ""); err != nil {
				b.Fatal(err)
			}
			var got atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.Add(1)
				w.WriteHeader(http.StatusAccepted)
				fmt.Fprintf(w, `{"nrSubmissionId":"x"}`)
			}))
			defer srv.Close()
			hc := delivery.NewHTTPClient(DefaultWorkers, time.Minute)
			var total, cpu time.Duration
			for i := range b.N {
				b.StopTimer()
				o := benchOutbox(b, db, name, srv.URL, hc)
				ctx := context.Background()
				for r := range benchReports {
					enqueueBench(b, db, o, fmt.Sprintf("bench-%d-%d", i, r))
				}
				got.Store(0)
				b.StartTimer()
				start, cpu0 := time.Now(), cpuTime()
				if err := o.Start(ctx); err != nil {
					b.Fatal(err)
				}
				for got.Load() < 2*benchReports {
					time.Sleep(time.Millisecond)
				}
				total += time.Since(start)
				cpu += cpuTime() - cpu0
				b.StopTimer()
				stop, cancel := context.WithTimeout(ctx, 10*time.Second)
				o.Stop(stop)
				cancel()
			}
			records := float64(2 * benchReports * b.N)
			b.ReportMetric(records/total.Seconds(), "records/s")
			// On a shared machine records/s says how much CPU was free;
			// CPU per record (this process's, receiver included) says
			// what 2 free cores would deliver: 2s / cpu-µs/record.
			b.ReportMetric(float64(cpu.Microseconds())/records, "cpu-µs/record")
		})
	}
}

const benchReports = 2000

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchDBs(b *testing.B) map[string]func(b *testing.B) *sql.DB {
	return map[string]func(b *testing.B) *sql.DB{
		"sqlite": func(b *testing.B) *sql.DB {
			db, err := sql.Open("sqlite", "file:"+b.TempDir()+"/outbox.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			db.SetMaxOpenConns(20)
			return db
		},
		"postgres": func(b *testing.B) *sql.DB {
			db, err := sql.Open("pgx", testdb.PostgresDSN(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			db.SetMaxOpenConns(20)
			return db
		},
	}
}

func benchOutbox(b *testing.B, db *sql.DB, dialect, url string, hc *http.Client) *Outbox {
	nc, err := nrs.NewClient(url, "key", hc)
	if err != nil {
		b.Fatal(err)
	}
	ec, err := events.NewClient(url, hc)
	if err != nil {
		b.Fatal(err)
	}
	o, err := New(db, Config{Dialect: dialect, NRS: nc, Events: ec, Workers: DefaultWorkers, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return o
}

func enqueueBench(b *testing.B, db *sql.DB, o *Outbox, reportID string) {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	if err := queueFor(b, db, o).InsertTx(ctx, tx, records(reportID)); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
