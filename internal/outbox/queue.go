package outbox

import (
	"context"
	"database/sql"
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
}

// NewQueue returns a Queue over db, whose River tables Migrate has made.
func NewQueue(db *sql.DB, dialect, schema string) (*Queue, error) {
	c, err := river.NewClient(driver(db, dialect), &river.Config{Schema: schema})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Queue{client: c}, nil
}

// InsertTx queues records in tx, in one statement per kind where the database
// allows.
func (q *Queue) InsertTx(ctx context.Context, tx *sql.Tx, records []Record) error {
	return insertTx(ctx, q.client, tx, records...)
}

func (o *Outbox) insertTx(ctx context.Context, tx *sql.Tx, records ...Record) error {
	return insertTx(ctx, o.client, tx, records...)
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
