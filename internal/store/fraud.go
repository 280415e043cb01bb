package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/outbox"
)

// RecordSeen keeps s as its owner's latest request to its endpoint with
// its connection method, replacing the one before, in the next batch of
// writes. It does not wait, and drops s (reporting false) when the write
// queue is more than half full: feedback is worth less than a report.
func (db *DB) RecordSeen(s fraud.Seen) bool {
	headers, err := json.Marshal(s.Headers)
	if err != nil {
		return false // a map of strings always encodes
	}
	const q = `INSERT INTO fraud_requests (owner, endpoint, connection_method, subject, method, path, received_at, headers, device_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (owner, endpoint, connection_method) DO UPDATE SET subject = excluded.subject,
			method = excluded.method, path = excluded.path, received_at = excluded.received_at,
			headers = excluded.headers, device_id = excluded.device_id
		WHERE excluded.received_at >= fraud_requests.received_at`
	return db.writer.offer(func(ctx context.Context, tx *Tx) ([]outbox.Record, error) {
		if _, err := tx.exec(ctx, q, s.Owner, s.Endpoint, s.ConnectionMethod, s.Subject, s.Method, s.Path,
			formatTime(s.ReceivedAt), string(headers), s.DeviceID); err != nil {
			return nil, fmt.Errorf("record request: %w", err)
		}
		return nil, nil
	})
}

// LastDeviceID is the device id of subject's latest request that sent a
// valid one, or "" when there is none.
func (db *DB) LastDeviceID(ctx context.Context, subject string) (string, error) {
	const q = `SELECT device_id FROM fraud_requests WHERE subject = $1 AND device_id <> ''
		ORDER BY received_at DESC LIMIT 1`
	var id string
	err := db.queryRow(ctx, q, subject).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("select last device id: %w", err)
	}
	return id, nil
}

// Seen returns owner's latest request to each endpoint, newest first; with
// connectionMethod, only requests sent with it.
func (db *DB) Seen(ctx context.Context, owner, connectionMethod string) ([]fraud.Seen, error) {
	q := `SELECT endpoint, connection_method, subject, method, path, received_at, headers, device_id
		FROM fraud_requests WHERE owner = $1`
	args := []any{owner}
	if connectionMethod != "" {
		q += ` AND connection_method = $2`
		args = append(args, connectionMethod)
	}
	rows, err := db.query(ctx, q+` ORDER BY received_at DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("select requests: %w", err)
	}
	defer rows.Close()
	var out []fraud.Seen
	endpoints := map[string]bool{}
	for rows.Next() {
		s := fraud.Seen{Owner: owner}
		var at, headers string
		if err := rows.Scan(&s.Endpoint, &s.ConnectionMethod, &s.Subject, &s.Method, &s.Path, &at, &headers, &s.DeviceID); err != nil {
			return nil, fmt.Errorf("scan request: %w", err)
		}
		if endpoints[s.Endpoint] {
			continue // an older request to the same endpoint, with another method
		}
		endpoints[s.Endpoint] = true
		if s.ReceivedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(headers), &s.Headers); err != nil {
			return nil, fmt.Errorf("decode headers: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
