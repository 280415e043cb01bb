package outbox

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// A job whose process died mid-attempt stays "running" in River's table.
// River's own rescuer gives it back only after RescueAfter (5m by default),
// since it cannot tell a dead process from a slow attempt. The outbox can,
// and gives it back at once:
//
//   - on SQLite one process delivers (the database is a local file), so a
//     job found running when a process starts delivering was left by a
//     dead one;
//   - on PostgreSQL, replicas share the queue, so each writes a heartbeat
//     (its River client id and the time) to a small table every Heartbeat,
//     and a job running under a client whose heartbeat is older than
//     3×Heartbeat is its dead process's. River has no such record of live
//     clients in its open-source tables (its producer table is River Pro's),
//     and a row per process is all that is needed.
//
// RescueAfter stays as the backstop for an attempt that hangs in a live
// process.

// heartbeatTable is the outbox's own table of live delivering processes.
const heartbeatTable = "outbox_heartbeat"

// staleBeats is how many heartbeats a process may miss before its jobs are
// taken: one slow write is not a death.
const staleBeats = 3

// migrateHeartbeat creates the heartbeat table. beat_at is Unix
// milliseconds from the writer's clock, the same type on both databases;
// replicas' clocks are NTP-close, far within 3×Heartbeat.
func migrateHeartbeat(ctx context.Context, db execer, schema string) error {
	_, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+qualify(schema, heartbeatTable)+" (client_id TEXT PRIMARY KEY, beat_at BIGINT NOT NULL)")
	if err != nil {
		return fmt.Errorf("outbox: migrate heartbeat: %w", err)
	}
	return nil
}

// clientID names this process's River client uniquely: host and a random
// part, so that two processes started at once on one host differ.
func clientID() string {
	host, _ := os.Hostname()
	host = strings.ReplaceAll(host, ".", "_")
	if len(host) > 60 {
		host = host[:60]
	}
	return host + "_" + rand.Text()
}

// beat records that this process is alive.
func (o *Outbox) beat(ctx context.Context) error {
	q := o.sql("INSERT INTO " + o.qualify(heartbeatTable) + " (client_id, beat_at) VALUES (?1, ?2) ON CONFLICT (client_id) DO UPDATE SET beat_at = excluded.beat_at")
	if _, err := o.db.ExecContext(ctx, q, o.client.ID(), time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("outbox: heartbeat: %w", err)
	}
	return nil
}

// forget removes this process's heartbeat when it stops: a job it leaves
// running (its attempt cut short) is then taken up at once by the others.
func (o *Outbox) forget(ctx context.Context) error {
	if _, err := o.db.ExecContext(ctx, o.sql("DELETE FROM "+o.qualify(heartbeatTable)+" WHERE client_id = ?1"), o.client.ID()); err != nil {
		return fmt.Errorf("outbox: heartbeat: %w", err)
	}
	return nil
}

// live returns the clients that beat within staleBeats heartbeats, and
// deletes the rows of those long gone.
func (o *Outbox) live(ctx context.Context) (map[string]bool, error) {
	now := time.Now()
	if _, err := o.db.ExecContext(ctx, o.sql("DELETE FROM "+o.qualify(heartbeatTable)+" WHERE beat_at < ?1"), now.Add(-time.Hour).UnixMilli()); err != nil {
		return nil, fmt.Errorf("outbox: heartbeat: %w", err)
	}
	rows, err := o.db.QueryContext(ctx, o.sql("SELECT client_id FROM "+o.qualify(heartbeatTable)+" WHERE beat_at >= ?1"), now.Add(-staleBeats*o.cfg.Heartbeat).UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("outbox: heartbeat: %w", err)
	}
	defer rows.Close()
	live := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("outbox: heartbeat: %w", err)
		}
		live[id] = true
	}
	return live, rows.Err()
}

// rescue makes due again the jobs held by dead processes: every running
// job not this process's when everyOther (SQLite, at start), else those of
// clients without a recent heartbeat.
func (o *Outbox) rescue(ctx context.Context, everyOther bool) error {
	// Only jobs attempted before now are taken: one fetched again by a
	// live worker meanwhile is left alone.
	horizon := time.Now()
	res, err := o.client.JobList(ctx, river.NewJobListParams().States(rivertype.JobStateRunning).First(1000))
	if err != nil {
		return fmt.Errorf("outbox: rescue: %w", err)
	}
	if len(res.Jobs) == 0 {
		return nil
	}
	live := map[string]bool{}
	if !everyOther {
		if live, err = o.live(ctx); err != nil {
			return err
		}
	}
	live[o.client.ID()] = true
	p := &riverdriver.JobRescueManyParams{Schema: o.cfg.Schema, StuckHorizon: horizon}
	for _, j := range res.Jobs {
		if n := len(j.AttemptedBy); n > 0 && live[j.AttemptedBy[n-1]] {
			continue
		}
		// Due at once, with the cut-short attempt on record; its attempt
		// still counts, as the receiver may have had it.
		msg, _ := json.Marshal(rivertype.AttemptError{At: horizon, Attempt: j.Attempt, Error: "the process delivering it stopped mid-attempt"})
		p.ID = append(p.ID, j.ID)
		p.Error = append(p.Error, msg)
		p.FinalizedAt = append(p.FinalizedAt, nil)
		p.ScheduledAt = append(p.ScheduledAt, horizon)
		p.State = append(p.State, string(rivertype.JobStateAvailable))
	}
	if len(p.ID) == 0 {
		return nil
	}
	if _, err := o.driver.GetExecutor().JobRescueMany(ctx, p); err != nil {
		return fmt.Errorf("outbox: rescue: %w", err)
	}
	o.log.WarnContext(ctx, "records left mid-attempt by a stopped process are due again", slog.Int("jobs", len(p.ID)))
	return nil
}

// heartbeat beats and rescues every Heartbeat until ctx ends.
func (o *Outbox) heartbeat(ctx context.Context) {
	t := time.NewTicker(o.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := o.beat(ctx); err != nil && ctx.Err() == nil {
			o.log.WarnContext(ctx, "outbox heartbeat", slog.Any("err", err))
		}
		if err := o.rescue(ctx, false); err != nil && ctx.Err() == nil {
			o.log.WarnContext(ctx, "outbox rescue", slog.Any("err", err))
		}
		o.sweeps.Add(1)
	}
}
