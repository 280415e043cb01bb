package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/nrs"
)

// Record is one record to deliver, as the store queues it beside what it
// proves.
type Record struct {
	params river.InsertManyParams
}

// NRS is the record of a non-repudiation submission.
func NRS(s nrs.Submission) Record {
	key := s.Metadata.NotableEvent + ":" + s.Metadata.SearchKeys.ReportID
	return Record{river.InsertManyParams{Args: NRSArgs{Submission: s, IdempotencyKey: key}, InsertOpts: &river.InsertOpts{Queue: queueNRS}}}
}

// Event is the record of an interaction event; correlationID is
// the X-CorrelationId of the request that caused it.
func Event(e events.Event, correlationID string) Record {
	key := e.EventName + ":" + e.FeedbackID
	return Record{river.InsertManyParams{Args: EventArgs{Event: e, IdempotencyKey: key, CorrelationID: correlationID}, InsertOpts: &river.InsertOpts{Queue: queueEvents}}}
}

// Queue inserts records in a caller's transaction, so that a record commits
// with the report or acknowledgement it proves, or not at all. It delivers
// nothing: an Outbox's workers do, in this process or another.
type Queue struct {
	client *river.Client[*sql.Tx]
	// insert is SQLite's insert of one job, prepared once. River's own
	// (one statement for many jobs, through json_each) is parsed afresh on
	// every call, and on the store's one writer that parse was the largest
	// single cost of a write. It sets the columns River's insert sets for
	// a job with no options beyond its queue. nil on PostgreSQL, where
	// River's insert is used.
	insert      *sql.Stmt
	maxAttempts int
}

// sqliteInsert mirrors River's JobInsertFastManyNoReturning for SQLite
// (riversqlite v0.51) for jobs that are neither unique nor scheduled.
const sqliteInsert = `INSERT INTO river_job (args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags)
	VALUES (jsonb(?1), datetime('now', 'subsec'), ?2, ?3, jsonb('{}'), 1, ?4, datetime('now', 'subsec'), 'available', jsonb('[]'))`

// NewQueue returns a Queue over db, whose River tables Migrate has made.
// Each job gets maxAttempts attempts (Config.Attempts).
func NewQueue(ctx context.Context, db *sql.DB, dialect, schema string, maxAttempts int) (*Queue, error) {
	if maxAttempts < 1 {
		return nil, fmt.Errorf("outbox: a record needs at least one attempt, not %d", maxAttempts)
	}
	c, err := river.NewClient(driver(db, dialect), &river.Config{Schema: schema, MaxAttempts: maxAttempts})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	q := &Queue{client: c, maxAttempts: maxAttempts}
	if dialect == "sqlite" && schema == "" {
		if q.insert, err = db.PrepareContext(ctx, sqliteInsert); err != nil {
			return nil, fmt.Errorf("outbox: prepare insert: %w", err)
		}
	}
	return q, nil
}

// InsertTx queues records in tx.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, records []Record) error {
	if q.insert == nil || len(records) == 0 {
		return insertTx(ctx, q.client, tx, records...)
	}
	stmt := tx.StmtContext(ctx, q.insert)
	for _, r := range records {
		args, err := json.Marshal(r.params.Args)
		if err != nil {
			return fmt.Errorf("outbox: encode %s: %w", r.params.Args.Kind(), err)
		}
		if _, err := stmt.ExecContext(ctx, args, r.params.Args.Kind(), q.maxAttempts, r.params.InsertOpts.Queue); err != nil {
			return fmt.Errorf("outbox: queue %s: %w", r.params.Args.Kind(), err)
		}
	}
	return nil
}

func insertTx(ctx context.Context, client *river.Client[*sql.Tx], tx *sql.Tx, records ...Record) error {
	if len(records) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(records))
	for i, j := range records {
		params[i] = j.params
	}
	// The fast insert returns no rows: nothing here reads them back.
	if _, err := client.InsertManyFastTx(ctx, tx, params); err != nil {
		return fmt.Errorf("outbox: queue %d records: %w", len(records), err)
	}
	return nil
}
