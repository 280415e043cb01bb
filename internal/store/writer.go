package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-assist/assist/internal/outbox"
	"github.com/open-assist/assist/internal/tracing"
	"github.com/prometheus/client_golang/prometheus"
)

// Group commit. Reports and acknowledgements are written by one writer
// goroutine that takes every write waiting in a bounded queue and commits
// them in one transaction: one fsync for many requests instead of one each.
// One writer, on PostgreSQL too: measured there, one writer made batches of
// 16 and 2,300 writes a second where four made batches of 3 and 1,300,
// since a commit costs about the same whatever it holds. A request waits
// until its batch has committed, so an answer still means the write is
// durable. When the queue is full the write is refused at once with
// ErrQueueFull (the server answers 503 with Retry-After) rather than left
// to wait on a lock.

// ErrQueueFull means more writes are waiting than the store accepts: try
// again shortly. Busy reports it.
var ErrQueueFull = errors.New("store: write queue full")

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store: closed")

// Defaults of the write path.
const (
	// DefaultWriteQueue is how many writes may wait for a writer: enough
	// for the API's requests in flight (server.DefaultMaxInFlight), few
	// enough that a full queue is met with 503 rather than a long wait.
	DefaultWriteQueue = 512
	// maxBatch bounds one transaction, so that one commit does not hold
	// the others' answers for long.
	maxBatch = 128
	// batchTimeout bounds one batch's transaction.
	batchTimeout = 30 * time.Second
)

// write is one request's work in a batch: apply runs in the batch's
// transaction and returns the records to queue with it; it may run twice
// (once in the batch, once alone if the batch failed), so it must set its
// results afresh each time.
type write struct {
	apply func(ctx context.Context, tx *Tx) ([]outbox.Record, error)
	done  chan error
}

type writer struct {
	queue chan write
	// records queues the records of the whole batch at its end, in one
	// call (one statement on PostgreSQL).
	records *outbox.Queue
	begin   func(ctx context.Context) (*sql.Tx, error)
	dialect dialect
	stop    chan struct{}
	// mu orders queueing against close: once closed is set under the write
	// lock, nothing more is queued, so the writer's last drain misses none.
	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
	// conn is SQLite's one write connection, kept for the writer, and
	// stmts its statements, prepared once.
	conn  *sql.Conn
	stmts *statements
	// begun counts transactions begun, so tests can tell when a batch is
	// closed to newcomers.
	begun atomic.Int64
	// committing is how many writes the writer holds: those of the batch
	// being committed. A stuck commit shows here, not in the queue.
	committing atomic.Int64

	batchSize     prometheus.Histogram
	commitSeconds prometheus.Histogram
	rejected      prometheus.Counter
}

func newWriterMetrics(w *writer) {
	w.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "assist_store_write_batch_size",
		Help:    "Reports and acknowledgements committed together in one transaction.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
	})
	w.commitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "assist_store_write_commit_seconds",
		Help:    "Time to write and commit one batch, from begin to commit.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	w.rejected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "assist_store_write_rejected_total",
		Help: "Writes refused because the write queue was full (answered 503).",
	})
}

// startWriter starts the group commit, on SQLite on a connection of its
// own (SQLite has one writer at a time anyway).
func (db *DB) startWriter(ctx context.Context, queueLen int) error {
	w := &writer{queue: make(chan write, queueLen), records: db.queue, dialect: db.dialect, stop: make(chan struct{})}
	newWriterMetrics(w)
	w.begin = func(ctx context.Context) (*sql.Tx, error) { return db.db.BeginTx(ctx, nil) }
	if db.dialect.name == "sqlite" {
		conn, err := db.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("store: writer connection: %w", err)
		}
		w.conn = conn
		w.stmts = &statements{db: db.db, m: map[string]*sql.Stmt{}}
		w.begin = func(ctx context.Context) (*sql.Tx, error) { return conn.BeginTx(ctx, nil) }
	}
	w.wg.Add(1)
	go w.run()
	db.writer = w
	return nil
}

// do queues apply for the next batch and waits for its commit. A full
// queue refuses at once. If ctx ends first the caller gets its error, and
// the write may still commit: as with any write whose answer was lost.
func (w *writer) do(ctx context.Context, name string, apply func(ctx context.Context, tx *Tx) ([]outbox.Record, error)) (err error) {
	// The span covers the wait in the queue and for the batch's commit:
	// what the request spends on the write.
	ctx, end := tracing.Start(ctx, nil, name)
	defer end(&err)
	op := write{apply: apply, done: make(chan error, 1)}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrClosed
	}
	select {
	case w.queue <- op:
		w.mu.RUnlock()
	default:
		w.mu.RUnlock()
		w.rejected.Inc()
		return ErrQueueFull
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("store: waiting for commit: %w", ctx.Err())
	}
}

// offer queues apply without waiting for its commit, and only while the
// queue is at most half full: a write nobody waits for must not take room
// from those a client is waiting on. It reports whether apply was queued;
// its outcome is not reported.
func (w *writer) offer(apply func(ctx context.Context, tx *Tx) ([]outbox.Record, error)) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed || len(w.queue) >= cap(w.queue)/2 {
		return false
	}
	select {
	case w.queue <- write{apply: apply, done: make(chan error, 1)}:
		return true
	default:
		return false
	}
}

func (w *writer) run() {
	defer w.wg.Done()
	batch := make([]write, 0, maxBatch)
	for {
		var first write
		select {
		case first = <-w.queue:
		case <-w.stop:
			// Writes queued before Close still get their commit, in
			// batches as ever; the writer stops once none is left.
			select {
			case first = <-w.queue:
			default:
				return
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case op := <-w.queue:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		w.commit(batch)
	}
}

// commit writes a batch in one transaction and answers each write. If the
// batch fails, each write is tried alone, so that one bad write (or a
// conflict) fails only its own request.
func (w *writer) commit(batch []write) {
	w.committing.Store(int64(len(batch)))
	defer w.committing.Store(0)
	err := w.inTx(batch)
	if err == nil || len(batch) == 1 {
		for _, op := range batch {
			op.done <- err
		}
		return
	}
	for _, op := range batch {
		op.done <- w.inTx([]write{op})
	}
}

func (w *writer) inTx(batch []write) error {
	w.begun.Add(1)
	start := time.Now()
	defer func() {
		w.commitSeconds.Observe(time.Since(start).Seconds())
		w.batchSize.Observe(float64(len(batch)))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	return runTx(ctx, w.begin, w.dialect, w.stmts, func(tx *Tx) error {
		var records []outbox.Record
		for _, op := range batch {
			rs, err := op.apply(ctx, tx)
			if err != nil {
				return err
			}
			records = append(records, rs...)
		}
		if err := w.records.InsertTx(ctx, tx.tx, records); err != nil {
			return fmt.Errorf("queue proof: %w", err)
		}
		return nil
	})
}

// close stops the writer once the writes already queued are committed.
func (w *writer) close() {
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if !already {
		close(w.stop)
	}
	w.wg.Wait()
	w.stmts.close()
	if w.conn != nil {
		w.conn.Close()
	}
}

// Collectors are the write path's metrics: batch size, commit latency,
// queue depth and writes refused, for the caller's registry.
func (db *DB) Collectors() []prometheus.Collector {
	w := db.writer
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "assist_store_write_queue_depth",
		Help: "Reports and acknowledgements waiting for a writer.",
	}, func() float64 { return float64(len(w.queue)) })
	capacity := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "assist_store_write_queue_capacity",
		Help: "Writes that may wait before more are refused with 503.",
	}, func() float64 { return float64(cap(w.queue)) })
	committing := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "assist_store_write_committing",
		Help: "Writes in the batch being committed now; one that stays up is a stuck commit.",
	}, func() float64 { return float64(w.committing.Load()) })
	return []prometheus.Collector{w.batchSize, w.commitSeconds, w.rejected, depth, capacity, committing}
}
