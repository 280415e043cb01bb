package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/riverqueue/river"

	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/nrs"
)

// Record is one record to deliver, as the store queues it beside what it
// proves. It is encoded when made, in the caller's goroutine, so that the
// one writer's transaction only executes SQL (an NRS submission carries
// the whole report, base64-encoded).
type Record struct {
	kind string
	args []byte
	err  error // from encoding, reported when the record is queued
}

// queue is the River queue of the record's destination.
func (r Record) queue() string { return destination(r.kind) }

func newRecord(args river.JobArgs) Record {
	b, err := json.Marshal(args)
	if err != nil {
		err = fmt.Errorf("outbox: encode %s: %w", args.Kind(), err)
	}
	return Record{kind: args.Kind(), args: b, err: err}
}

// NRS is the record of a non-repudiation submission.
func NRS(s nrs.Submission) Record {
	key := s.Metadata.NotableEvent + ":" + s.Metadata.SearchKeys.ReportID
	return newRecord(NRSArgs{Submission: s, IdempotencyKey: key})
}

// Event is the record of an interaction event; correlationID is
// the X-CorrelationId of the request that caused it.
func Event(e events.Event, correlationID string) Record {
	key := e.EventName + ":" + e.FeedbackID
	return newRecord(EventArgs{Event: e, IdempotencyKey: key, CorrelationID: correlationID})
}

// Queue inserts records in a caller's transaction, so that a record commits
// with the report or acknowledgement it proves, or not at all. It delivers
// nothing: an Outbox's workers do, in this process or another.
//
// It inserts with statements of its own (on SQLite one prepared once, on
// PostgreSQL one of many rows for a batch) that set the columns River's
// insert sets for a job with no options beyond its queue.
// Profiling assist bench showed River's own insert was the one writer's
// largest cost: on SQLite its statement is parsed afresh on every call, and
// on PostgreSQL (through database/sql) its array parameters are written as
// text and parsed again character by character, payloads included.
type Queue struct {
	// insert is SQLite's; on PostgreSQL (nil) a batch's records go in one
	// statement of many rows, as there each statement is a round trip.
	insert      *sql.Stmt
	maxAttempts int
	table       string
}

// The inserts mirror River's JobInsertFastManyNoReturning (v0.51) for jobs
// that are neither unique nor scheduled: state available, priority 1, no
// metadata or tags, created and scheduled now.
const (
	sqliteInsert = `INSERT INTO river_job (args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags)
	VALUES (jsonb(?1), datetime('now', 'subsec'), ?2, ?3, jsonb('{}'), 1, ?4, datetime('now', 'subsec'), 'available', jsonb('[]'))`
	postgresInsert = `INSERT INTO %sriver_job (args, created_at, kind, max_attempts, metadata, priority, queue, scheduled_at, state, tags) VALUES `
	postgresRow    = `($%d::jsonb, now(), $%d, $%d, '{}', 1, $%d, now(), 'available', '{}')`
)

// NewQueue returns a Queue over db, whose River tables Migrate has made in
// schema ("": the connection's search path). Each job gets maxAttempts
// attempts (Config.Attempts).
func NewQueue(ctx context.Context, db *sql.DB, dialect, schema string, maxAttempts int) (*Queue, error) {
	if maxAttempts < 1 || maxAttempts > math.MaxInt16 {
		return nil, fmt.Errorf("outbox: a record needs from 1 to %d attempts, not %d", math.MaxInt16, maxAttempts)
	}
	switch {
	case dialect == "sqlite" && schema == "":
		stmt, err := db.PrepareContext(ctx, sqliteInsert)
		if err != nil {
			return nil, fmt.Errorf("outbox: prepare insert: %w", err)
		}
		return &Queue{insert: stmt, maxAttempts: maxAttempts}, nil
	case dialect == "postgres" && schema == "":
		return &Queue{maxAttempts: maxAttempts}, nil
	case dialect == "postgres":
		return &Queue{table: `"` + strings.ReplaceAll(schema, `"`, `""`) + `".`, maxAttempts: maxAttempts}, nil
	default:
		return nil, fmt.Errorf("outbox: no queue for %s with schema %q", dialect, schema)
	}
}

// InsertTx queues records in tx.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, records []Record) error {
	if len(records) == 0 {
		return nil
	}
	if q.insert == nil {
		return q.insertRows(ctx, tx, records)
	}
	stmt := tx.StmtContext(ctx, q.insert)
	for _, r := range records {
		if r.err != nil {
			return r.err
		}
		if _, err := stmt.ExecContext(ctx, string(r.args), r.kind, q.maxAttempts, r.queue()); err != nil {
			return fmt.Errorf("outbox: queue %s: %w", r.kind, err)
		}
	}
	return nil
}

// insertRows queues records with one statement. Its text depends only on
// how many there are, so the driver's statement cache serves it.
func (q *Queue) insertRows(ctx context.Context, tx *sql.Tx, records []Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, postgresInsert, q.table)
	params := make([]any, 0, 4*len(records))
	for i, r := range records {
		if r.err != nil {
			return r.err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(params)
		fmt.Fprintf(&b, postgresRow, n+1, n+2, n+3, n+4)
		params = append(params, string(r.args), r.kind, q.maxAttempts, r.queue())
	}
	if _, err := tx.ExecContext(ctx, b.String(), params...); err != nil {
		return fmt.Errorf("outbox: queue %d records: %w", len(records), err)
	}
	return nil
}

// Close releases the prepared statement.
func (q *Queue) Close() error {
	if q.insert == nil {
		return nil
	}
	return q.insert.Close()
}
