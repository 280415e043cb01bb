package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Job is a queued record as an operator sees it.
type Job struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	Attempt     int       `json:"attempt"`
	MaxAttempts int       `json:"maxAttempts"`
	ReportID    string    `json:"reportId"`
	CreatedAt   time.Time `json:"createdAt"`
	LastError   string    `json:"lastError,omitempty"`
}

// DeadStates are the dead-letter states: tried MaxAttempts times
// (discarded), or refused by the receiver (cancelled).
var DeadStates = []rivertype.JobState{rivertype.JobStateDiscarded, rivertype.JobStateCancelled}

var pendingStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateRetryable, rivertype.JobStateRunning,
	rivertype.JobStateScheduled, rivertype.JobStatePending,
}

// List returns up to limit dead jobs, or (dead false) the jobs still to be
// delivered, oldest first.
func (o *Outbox) List(ctx context.Context, dead bool, limit int) ([]Job, error) {
	states := pendingStates
	if dead {
		states = DeadStates
	}
	res, err := o.client.JobList(ctx, river.NewJobListParams().States(states...).First(limit).OrderBy(river.JobListOrderByID, river.SortOrderAsc))
	if err != nil {
		return nil, fmt.Errorf("outbox: list: %w", err)
	}
	out := make([]Job, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		out = append(out, toJob(j))
	}
	return out, nil
}

func toJob(j *rivertype.JobRow) Job {
	job := Job{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, CreatedAt: j.CreatedAt.UTC()}
	if n := len(j.Errors); n > 0 {
		job.LastError = j.Errors[n-1].Error
	}
	var args struct {
		Submission struct {
			Metadata struct {
				SearchKeys struct {
					ReportID string `json:"reportId"`
				} `json:"searchKeys"`
			} `json:"metadata"`
		} `json:"submission"`
		Event struct {
			FeedbackID string `json:"feedbackId"`
		} `json:"event"`
	}
	if json.Unmarshal(j.EncodedArgs, &args) == nil {
		job.ReportID = args.Submission.Metadata.SearchKeys.ReportID + args.Event.FeedbackID
	}
	return job
}

// ErrNotDead is returned by Retry for a job that is not in a dead state.
var ErrNotDead = errors.New("outbox: job is not dead")

// Retry makes a dead job due again at once, with its attempts so far kept.
func (o *Outbox) Retry(ctx context.Context, id int64) (Job, error) {
	j, err := o.client.JobGet(ctx, id)
	if err != nil {
		return Job{}, fmt.Errorf("outbox: job %d: %w", id, err)
	}
	if j.State != rivertype.JobStateDiscarded && j.State != rivertype.JobStateCancelled {
		return toJob(j), fmt.Errorf("%w: job %d is %s", ErrNotDead, id, j.State)
	}
	// A fresh allowance of attempts, so a revived job gets the whole
	// schedule again rather than one more try.
	q := o.sql("UPDATE " + o.qualify("river_job") + " SET max_attempts = attempt + ?1 WHERE id = ?2")
	if _, err := o.db.ExecContext(ctx, q, o.cfg.MaxAttempts, id); err != nil {
		return Job{}, fmt.Errorf("outbox: job %d: %w", id, err)
	}
	j, err = o.client.JobRetry(ctx, id)
	if err != nil {
		return Job{}, fmt.Errorf("outbox: retry job %d: %w", id, err)
	}
	return toJob(j), nil
}

// Counts returns how many jobs are in each state but completed.
func (o *Outbox) Counts(ctx context.Context) (map[string]int, error) {
	byKind, err := o.countByKind(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for k, n := range byKind {
		out[k.state] += n
	}
	return out, nil
}

// kindState is a group of jobs counted together.
type kindState struct{ kind, state string }

// countedStates are the states counted: all but completed. Delivered jobs
// are kept for --delivery-retention, millions of them on a busy day;
// counting those at every scrape would cost more than the scrape is worth,
// and the delivery counters say the same. The query reads them through
// River's index on state.
const countedStates = "'available', 'scheduled', 'retryable', 'running', 'pending', 'discarded', 'cancelled'"

// countByKind counts the jobs in countedStates by kind and state, in one
// query.
func (o *Outbox) countByKind(ctx context.Context) (map[kindState]int, error) {
	rows, err := o.db.QueryContext(ctx, "SELECT kind, state, count(*) FROM "+o.qualify("river_job")+
		" WHERE state IN ("+countedStates+") GROUP BY kind, state")
	if err != nil {
		return nil, fmt.Errorf("outbox: count: %w", err)
	}
	defer rows.Close()
	out := map[kindState]int{}
	for rows.Next() {
		var k kindState
		var n int
		if err := rows.Scan(&k.kind, &k.state, &n); err != nil {
			return nil, fmt.Errorf("outbox: count: %w", err)
		}
		out[k] = n
	}
	return out, rows.Err()
}

// qualify names a table in the outbox's schema, when one is set.
func (o *Outbox) qualify(table string) string { return qualify(o.cfg.Schema, table) }

func qualify(schema, table string) string {
	if schema != "" {
		return schema + "." + table
	}
	return table
}

// sql turns a query written with SQLite's numbered parameters (?1, ?2...)
// into the dialect's ($1, $2... on PostgreSQL).
func (o *Outbox) sql(q string) string {
	if o.cfg.Dialect == "sqlite" {
		return q
	}
	return strings.ReplaceAll(q, "?", "$")
}

// execer is what a schema change needs of a database.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Destinations of records, as metrics name them.
const (
	DestinationNRS    = "nrs"
	DestinationEvents = "events"
)

// destination names where a job of kind goes.
func destination(kind string) string {
	if kind == (NRSArgs{}).Kind() {
		return DestinationNRS
	}
	return DestinationEvents
}

// Backlog is the state of one destination's deliveries.
type Backlog struct {
	// Depth is how many records wait: available, scheduled, retryable or
	// being attempted.
	Depth int
	// Dead is how many are dead-lettered.
	Dead int
	// OldestAge is how long the oldest waiting record has waited; 0 when
	// none waits.
	OldestAge time.Duration
}

// Stats returns how many jobs are in each state but completed (as Counts)
// and each destination's backlog, from one count of the waiting and dead
// jobs, never the delivered ones kept for Retention, so a scrape costs what
// the backlog holds, not what was delivered.
func (o *Outbox) Stats(ctx context.Context) (map[string]int, map[string]Backlog, error) {
	byKind, err := o.countByKind(ctx)
	if err != nil {
		return nil, nil, err
	}
	counts := map[string]int{}
	out := map[string]Backlog{DestinationNRS: {}, DestinationEvents: {}}
	for k, n := range byKind {
		counts[k.state] += n
		b := out[destination(k.kind)]
		switch rivertype.JobState(k.state) {
		case rivertype.JobStatePending: // not yet due to be delivered
			continue
		case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
			b.Dead += n
		default:
			b.Depth += n
		}
		out[destination(k.kind)] = b
	}
	for _, kind := range []string{(NRSArgs{}).Kind(), (EventArgs{}).Kind()} {
		b := out[destination(kind)]
		if b.Depth == 0 {
			continue
		}
		res, err := o.client.JobList(ctx, river.NewJobListParams().Kinds(kind).
			States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStateRunning).
			OrderBy(river.JobListOrderByID, river.SortOrderAsc).First(1))
		if err != nil {
			return nil, nil, fmt.Errorf("outbox: backlog: %w", err)
		}
		if len(res.Jobs) > 0 {
			b.OldestAge = max(0, time.Since(res.Jobs[0].CreatedAt))
		}
		out[destination(kind)] = b
	}
	return counts, out, nil
}
