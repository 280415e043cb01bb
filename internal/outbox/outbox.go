// Package outbox delivers the records that prove a customer was shown or
// acknowledged a report: non-repudiation submissions and interaction events.
//
// A record is queued in the same database transaction as the report or
// acknowledgement it is about (Enqueue* take the caller's *sql.Tx), so one
// is never committed without the other, whatever crashes when. Delivery is
// at least once, by River (github.com/riverqueue/river) on SQLite or
// PostgreSQL: any number of processes may run workers, each job is held by
// one at a time, and a job whose process dies is taken up again after
// RescueAfter. Every attempt sends the same idempotency key so receivers can
// drop duplicates.
//
// Failures the receiver may recover from (5xx, 408, 429, transport errors)
// are retried with exponential back-off and jitter, honouring Retry-After,
// up to MaxAttempts (by default about 24 hours of trying); then the job is
// discarded, the dead-letter state, where List shows it and Retry revives it.
// Failures that will not recover (a 4xx: our record is wrong) are parked the
// same way at once (cancelled), never dropped.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/logging"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/tracing"
)

// Each receiver has its own River queue, and so its own workers, so that a
// slow or failing receiver does not hold back deliveries to the other.
const (
	queueNRS    = DestinationNRS
	queueEvents = DestinationEvents
	// legacyQueue is where every job went before the split. Workers stay
	// on it so that jobs queued by an older version, or by one still
	// running beside this one, are delivered.
	legacyQueue = "delivery"
)

// DefaultWorkers is how many deliveries to each receiver a process makes at
// once by default. A worker waits on the receiver, not on a CPU, so this
// is the receiver's latency times the rate wanted: 32 workers at 10ms an
// answer deliver up to 3,200 records/s to each.
const DefaultWorkers = 32

// fetchCooldown is the least time between two fetches of one queue. A
// fetch takes as many jobs as there are free workers, and a busy queue
// fetches again as soon as a worker is free, so River's default (100ms)
// capped a queue at MaxWorkers jobs per 100ms whatever the receiver did
// (40 records/s with 4 workers). On PostgreSQL, 5ms allows 200 fetches a
// second, which keeps 32 workers busy up to 6,400 records/s per queue, yet
// stops a busy replica fetching a job at a time in a tight loop. On SQLite
// every fetch takes the database's one write lock, which the API's
// transactions wait for, so fetches are fewer and larger: 25ms still lets
// 32 workers deliver 1,280 records/s per queue.
func fetchCooldown(dialect string) time.Duration {
	if dialect == "sqlite" {
		return 25 * time.Millisecond
	}
	return 5 * time.Millisecond
}

// NRSArgs is a queued non-repudiation submission.
type NRSArgs struct {
	Submission     nrs.Submission `json:"submission"`
	IdempotencyKey string         `json:"idempotencyKey"`
}

// Kind names the job type in the queue table.
func (NRSArgs) Kind() string { return "nrs_submission" }

// EventArgs is a queued interaction event.
type EventArgs struct {
	Event          events.Event `json:"event"`
	IdempotencyKey string       `json:"idempotencyKey"`
	CorrelationID  string       `json:"correlationId"`
}

// Kind names the job type in the queue table.
func (EventArgs) Kind() string { return "interaction_event" }

// Config sets up an Outbox.
type Config struct {
	// Dialect is "sqlite" or "postgres": the database db is.
	Dialect string
	// Schema is the PostgreSQL schema River's tables are in; "" uses the
	// connection's search path.
	Schema string
	// NRS and Events send records; nil turns that delivery off, and then
	// nothing of that kind is queued.
	NRS    *nrs.Client
	Events *events.Client
	// Workers is how many records this process delivers at once to each
	// receiver (NRS, events); 0 makes it queue records but deliver none.
	Workers int
	// MaxAttempts is how many attempts a job gets before it is discarded;
	// 0 means as many as fit in MaxAge.
	MaxAttempts int
	// MaxAge is how long a job is tried for when MaxAttempts is 0 (default
	// 24h); Retry-After is only honoured within it.
	MaxAge time.Duration
	// BackoffBase and BackoffCap shape the wait between attempts: base,
	// 2×base, 4×base... up to cap, each with up to half taken off at random
	// so that replicas do not retry in step. Defaults 1s and 10m.
	BackoffBase, BackoffCap time.Duration
	// JobTimeout bounds one attempt (default 1m). RescueAfter is how long a
	// job may look running before it is given to another worker (its
	// process is presumed dead); it must exceed JobTimeout (default 5m).
	JobTimeout, RescueAfter time.Duration
	// Heartbeat is how often a delivering process records that it is alive
	// (default 5s); a job held by one silent for three heartbeats is given
	// to another at once, without waiting for RescueAfter.
	Heartbeat time.Duration
	// PollInterval is how often idle workers look for due jobs (default 1s).
	PollInterval time.Duration
	// Tracing receives a span for each delivery attempt; nil: none.
	Tracing trace.TracerProvider
	// Retention is how long a delivered job, with its record (headers,
	// identity, payload), is kept before it is deleted (default 24h). Dead
	// jobs are kept until an operator retries them or deletes them.
	Retention time.Duration
	Logger    *slog.Logger
}

func (c *Config) defaults() error {
	if c.Dialect != "sqlite" && c.Dialect != "postgres" {
		return fmt.Errorf("outbox: unknown dialect %q", c.Dialect)
	}
	if c.Logger == nil {
		return errors.New("outbox: missing logger")
	}
	c.attemptDefaults()
	set(&c.JobTimeout, time.Minute)
	set(&c.RescueAfter, 5*time.Minute)
	set(&c.PollInterval, time.Second)
	set(&c.Heartbeat, 5*time.Second)
	set(&c.Retention, 24*time.Hour)
	if c.BackoffCap < c.BackoffBase {
		return errors.New("outbox: back-off cap is below its base")
	}
	if c.RescueAfter <= c.JobTimeout {
		return errors.New("outbox: rescue-after must exceed the job timeout")
	}
	return nil
}

func set(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// attemptDefaults sets what decides how many attempts a job gets.
func (c *Config) attemptDefaults() {
	set(&c.MaxAge, 24*time.Hour)
	set(&c.BackoffBase, time.Second)
	set(&c.BackoffCap, 10*time.Minute)
	if c.MaxAttempts <= 0 {
		// River keeps the allowance as a smallint on PostgreSQL.
		c.MaxAttempts = min(c.policy().AttemptsWithin(c.MaxAge), math.MaxInt16)
	}
}

// Attempts is how many attempts a job queued under c gets: MaxAttempts,
// or as many as fit in MaxAge. River keeps it on the job when it is
// queued, so whoever queues must know it (see NewQueue).
func (c Config) Attempts() int {
	c.attemptDefaults()
	return c.MaxAttempts
}

// policy is the delivery policy the back-off settings make.
func (c *Config) policy() delivery.Policy {
	return delivery.Policy{Base: c.BackoffBase, Cap: c.BackoffCap}
}

// Outbox queues and delivers records.
type Outbox struct {
	cfg     Config
	retry   delivery.Policy
	client  *river.Client[*sql.Tx]
	driver  riverdriver.Driver[*sql.Tx]
	db      *sql.DB
	log     *slog.Logger
	started bool // Start ran the workers
	// stopBeat ends the heartbeat, and beatDone closes when it has; nil
	// on SQLite, which has none.
	stopBeat context.CancelFunc
	beatDone chan struct{}
	sweeps   atomic.Int64 // heartbeats done, for tests to wait on
	recorder Recorder
	tracer   trace.Tracer
}

// Recorder learns the outcome of every delivery attempt: destination
// (DestinationNRS, DestinationEvents), outcome (OutcomeDelivered,
// OutcomeRetry, OutcomeRefused) and how long the attempt took.
type Recorder interface {
	Delivery(destination, outcome string, d time.Duration)
}

// Outcomes of a delivery attempt.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"   // failed, to be tried again
	OutcomeRefused   = "refused" // the receiver will never take it: dead-lettered
)

// SetRecorder makes r learn the outcome of every attempt. Call it before
// Start.
func (o *Outbox) SetRecorder(r Recorder) { o.recorder = r }

func driver(db *sql.DB, dialect string) riverdriver.Driver[*sql.Tx] {
	if dialect == "sqlite" {
		return riversqlite.New(db)
	}
	return riverdatabasesql.New(db)
}

// Migrate creates or updates River's tables. On PostgreSQL the caller holds
// the migration lock so replicas starting together do not race.
func Migrate(ctx context.Context, db *sql.DB, dialect, schema string) error {
	m, err := rivermigrate.New(driver(db, dialect), &rivermigrate.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("outbox: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("outbox: migrate: %w", err)
	}
	return migrateHeartbeat(ctx, db, schema)
}

// New builds an Outbox over db, whose River tables Migrate has made.
func New(db *sql.DB, cfg Config) (*Outbox, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if cfg.Tracing == nil {
		cfg.Tracing = noop.NewTracerProvider()
	}
	o := &Outbox{cfg: cfg, retry: cfg.policy(), driver: driver(db, cfg.Dialect), db: db, log: cfg.Logger, tracer: cfg.Tracing.Tracer(tracing.Scope)}
	rc := &river.Config{
		ID:     clientID(),
		Schema: cfg.Schema,
		// River reports routine work at info; an operator needs its warnings.
		Logger:               slog.New(minLevel{cfg.Logger.Handler(), slog.LevelWarn}).With(slog.String("component", "river")),
		MaxAttempts:          cfg.MaxAttempts,
		RetryPolicy:          riverRetry{o.retry},
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        min(fetchCooldown(cfg.Dialect), cfg.PollInterval),
		// Delivered jobs are deleted after Retention, so the records'
		// personal data does not outlive its use; dead ones are never
		// removed by River (the operator decides).
		CompletedJobRetentionPeriod: cfg.Retention,
		DiscardedJobRetentionPeriod: -1,
		CancelledJobRetentionPeriod: -1,
	}
	if cfg.Workers > 0 {
		workers := river.NewWorkers()
		river.AddWorker(workers, &nrsWorker{o: o})
		river.AddWorker(workers, &eventWorker{o: o})
		rc.Workers = workers
		// A receiver that is off has no queue worked: its records wait,
		// without using up attempts, until it is on again.
		rc.Queues = map[string]river.QueueConfig{legacyQueue: {MaxWorkers: cfg.Workers}}
		if cfg.NRS != nil {
			rc.Queues[queueNRS] = river.QueueConfig{MaxWorkers: cfg.Workers}
		}
		if cfg.Events != nil {
			rc.Queues[queueEvents] = river.QueueConfig{MaxWorkers: cfg.Workers}
		}
	}
	c, err := river.NewClient(o.driver, rc)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	o.client = c
	return o, nil
}

// Start runs the workers until Stop or ctx ends, first making due again
// the jobs that a dead process left mid-attempt. Without workers it does
// nothing.
func (o *Outbox) Start(ctx context.Context) error {
	if o.cfg.Workers == 0 {
		return nil
	}
	// On SQLite one process delivers: taking every running job at start is
	// the whole rescue, and a heartbeat would only take the write lock from
	// the writer every few seconds for nothing.
	shared := o.cfg.Dialect != "sqlite"
	if shared {
		if err := o.beat(ctx); err != nil {
			return err
		}
	}
	if err := o.rescue(ctx, !shared); err != nil {
		return err
	}
	if err := o.client.Start(ctx); err != nil {
		return fmt.Errorf("outbox: start: %w", err)
	}
	o.started = true
	if shared {
		beatCtx, stop := context.WithCancel(ctx)
		o.stopBeat, o.beatDone = stop, make(chan struct{})
		go func() { defer close(o.beatDone); o.heartbeat(beatCtx) }()
	}
	return nil
}

// Stop lets running attempts finish (until ctx ends) and stops the workers.
// An attempt cut short is retried later: nothing is lost.
func (o *Outbox) Stop(ctx context.Context) error {
	if o.cfg.Workers == 0 || !o.started {
		return nil
	}
	err := o.client.Stop(ctx)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("outbox: stop: %w", err)
	}
	if o.stopBeat == nil {
		return nil // no heartbeat to end or forget (SQLite)
	}
	o.stopBeat()
	<-o.beatDone
	// Forgotten even when ctx has ended: it is one quick write.
	forgetCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return o.forget(forgetCtx)
}

// NRSEnabled and EventsEnabled say which deliveries are on.
func (o *Outbox) NRSEnabled() bool    { return o.cfg.NRS != nil }
func (o *Outbox) EventsEnabled() bool { return o.cfg.Events != nil }

type nrsWorker struct {
	river.WorkerDefaults[NRSArgs]
	o *Outbox
}

func (w *nrsWorker) Work(ctx context.Context, job *river.Job[NRSArgs]) error {
	if w.o.cfg.NRS == nil {
		// Queued while delivery was on: keep it until it is on again.
		return errors.New("nrs delivery is off (no --nrs-url)")
	}
	reportID := job.Args.Submission.Metadata.SearchKeys.ReportID
	return w.o.attempt(ctx, DestinationNRS, job.JobRow, reportID, func(ctx context.Context) error {
		id, err := w.o.cfg.NRS.Submit(ctx, job.Args.Submission, job.Args.IdempotencyKey)
		if err == nil {
			w.o.log.InfoContext(ctx, "nrs record delivered", slog.Int64("job_id", job.ID), slog.String("report_id", reportID), slog.String("nr_submission_id", id))
		}
		return err
	})
}

type eventWorker struct {
	river.WorkerDefaults[EventArgs]
	o *Outbox
}

func (w *eventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	if w.o.cfg.Events == nil {
		return errors.New("event delivery is off (no --events-url)")
	}
	return w.o.attempt(ctx, DestinationEvents, job.JobRow, job.Args.Event.FeedbackID, func(ctx context.Context) error {
		err := w.o.cfg.Events.Send(ctx, job.Args.Event, job.Args.IdempotencyKey, job.Args.CorrelationID)
		if err == nil {
			w.o.log.InfoContext(ctx, "event delivered", slog.Int64("job_id", job.ID), slog.String("report_id", job.Args.Event.FeedbackID), slog.String("event", job.Args.Event.EventName))
		}
		return err
	}, attribute.String("assist.correlation_id", job.Args.CorrelationID))
}

// attempt makes one delivery attempt with send, in its span, records how
// it went, and tells River what to do next.
func (o *Outbox) attempt(ctx context.Context, dest string, job *rivertype.JobRow, reportID string, send func(context.Context) error, attrs ...attribute.KeyValue) error {
	start := time.Now()
	ctx, end := o.startDelivery(ctx, dest, job, reportID, attrs...)
	err := send(ctx)
	end(&err)
	o.record(dest, start, err)
	return o.outcome(ctx, job, err)
}

// record tells the recorder how an attempt begun at start went.
func (o *Outbox) record(destination string, start time.Time, err error) {
	if o.recorder == nil {
		return
	}
	outcome := OutcomeDelivered
	if err != nil {
		outcome = OutcomeRetry
		if !delivery.Retryable(err) {
			outcome = OutcomeRefused
		}
	}
	o.recorder.Delivery(destination, outcome, time.Since(start))
}

// startDelivery starts the span of one delivery attempt. A job has no
// parent span (it outlives the request that queued it): each attempt is a
// trace of its own, found by its report id.
func (o *Outbox) startDelivery(ctx context.Context, dest string, job *rivertype.JobRow, reportID string, attrs ...attribute.KeyValue) (context.Context, func(*error)) {
	attrs = append(attrs, attribute.String("assist.destination", dest), attribute.Int64("assist.job_id", job.ID),
		attribute.Int("assist.attempt", job.Attempt), attribute.String("assist.report_id", reportID))
	return tracing.Start(ctx, o.tracer, "outbox.deliver", attrs...)
}

// outcome turns a delivery result into what River should do next, by the
// delivery policy.
func (o *Outbox) outcome(ctx context.Context, job *rivertype.JobRow, err error) error {
	if err == nil {
		return nil
	}
	attrs := []any{slog.Int64("job_id", job.ID), slog.String("kind", job.Kind), slog.Int("attempt", job.Attempt), slog.Any("err", err)}
	wait, retry, asked := o.retry.Next(job.Attempt, err)
	if !retry {
		o.log.ErrorContext(ctx, "delivery refused, job parked for an operator", attrs...)
		return river.JobCancel(err)
	}
	// The receiver's Retry-After is obeyed while the job is within its
	// time; River's own retry (NextRetry) is the back-off.
	if asked && time.Since(job.CreatedAt) < o.cfg.MaxAge {
		o.log.WarnContext(ctx, "delivery failed, retrying when asked", append(attrs, logging.Duration("retry_after", wait))...)
		return river.JobSnooze(wait)
	}
	o.log.WarnContext(ctx, "delivery failed, will retry", attrs...)
	return err
}

// riverRetry is the delivery policy as River's retry policy.
type riverRetry struct{ delivery.Policy }

// NextRetry implements river.ClientRetryPolicy.
func (r riverRetry) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(r.Backoff(job.Attempt))
}

// minLevel drops records below its level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.level && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(as), m.level}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{m.Handler.WithGroup(name), m.level}
}
