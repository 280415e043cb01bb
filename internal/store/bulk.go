package store

// Bulk loading and scratch databases for `assist bench`: a store with a
// long history, and a PostgreSQL database of its own for each run. Kept in
// this file, apart from the request path, on purpose.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// bulkRows is the rows per INSERT statement: 500 rows of 15 columns stay
// well under SQLite's 32,766 parameters and PostgreSQL's 65,535.
const bulkRows = 500

// bulkTxRows is the rows per transaction: large enough that a million rows
// is a few hundred commits, small enough not to hold SQLite's write lock
// for long.
const bulkTxRows = 20_000

// InsertSyntheticReports stores n made-up reports, each with body as its
// bytes and every other one acknowledged, so that a benchmark can show what
// a long history costs. The reports belong to made-up NINOs and
// calculations that no request will name. It uses multi-row INSERTs in
// batches, much faster than n calls of CreateReport, and queues no outbox
// records.
func (db *DB) InsertSyntheticReports(ctx context.Context, n int, body []byte) error {
	const reportCols = `INSERT INTO reports (id, nino, tax_year, calculation_id, correlation_id, rule_set_version,
		language, messages, rule_errors, body, requested_by_group, requested_by_nino, requested_by_arn,
		request_id, created_at) VALUES `
	const ackCols = `INSERT INTO acknowledgements (report_id, acknowledged_at, affinity_group, nino, arn, request_id) VALUES `
	start := db.Now().Add(-time.Duration(n) * time.Second)
	for done := 0; done < n; {
		txRows := min(bulkTxRows, n-done)
		err := db.InTx(ctx, func(tx *Tx) error {
			for off := 0; off < txRows; off += bulkRows {
				rows := min(bulkRows, txRows-off)
				var rq, aq strings.Builder
				rq.WriteString(reportCols)
				aq.WriteString(ackCols)
				rArgs := make([]any, 0, rows*15)
				aArgs := make([]any, 0, rows*6)
				for i := range rows {
					seq := done + off + i
					id, nino := uuid.NewString(), syntheticNINO(seq)
					at := formatTime(start.Add(time.Duration(seq) * time.Second))
					if i > 0 {
						rq.WriteString(", ")
					}
					rq.WriteString(placeholders(len(rArgs), 15))
					rArgs = append(rArgs, id, nino, "2025-26", uuid.NewString(), randomHex(32), "synthetic",
						"en", "[]", "[]", body, "Individual", nino, nil, uuid.NewString(), at)
					if seq%2 == 0 {
						if len(aArgs) > 0 {
							aq.WriteString(", ")
						}
						aq.WriteString(placeholders(len(aArgs), 6))
						aArgs = append(aArgs, id, at, "Individual", nino, nil, uuid.NewString())
					}
				}
				if _, err := tx.exec(ctx, rq.String(), rArgs...); err != nil {
					return fmt.Errorf("insert synthetic reports: %w", err)
				}
				if len(aArgs) > 0 {
					if _, err := tx.exec(ctx, aq.String(), aArgs...); err != nil {
						return fmt.Errorf("insert synthetic acknowledgements: %w", err)
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		done += txRows
	}
	return nil
}

// placeholders returns "($from+1, ..., $from+n)".
func placeholders(from, n int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i+1)
	}
	b.WriteByte(')')
	return b.String()
}

// syntheticNINO is a valid-looking NINO from a prefix ("ZZ") no real one
// has, so that synthetic reports never share a NINO with a test user.
func syntheticNINO(seq int) string {
	return fmt.Sprintf("ZZ%06dA", seq%1_000_000)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// ScratchPostgres creates an empty database (assist_bench_<random>) on the
// PostgreSQL server that dsn points at, and returns its URL and a function
// that drops it. Runs that each get one never see each other's rows.
func ScratchPostgres(ctx context.Context, dsn string) (scratch string, drop func(context.Context) error, err error) {
	d, err := parseDSN(dsn)
	if err != nil {
		return "", nil, err
	}
	if d.name != "postgres" {
		return "", nil, fmt.Errorf("store: a scratch database needs postgres://, not %q", d.name)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("store: bad PostgreSQL URL: %w", err)
	}
	admin, err := sql.Open(d.driver, d.dataSource)
	if err != nil {
		return "", nil, fmt.Errorf("open postgres: %w", err)
	}
	// A fixed prefix and hex digits: safe to put in the statement, which
	// cannot take the name as a parameter.
	name := "assist_bench_" + strings.ToLower(randomHex(6))
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	drop = func(ctx context.Context) error {
		defer admin.Close()
		// WITH (FORCE) ends sessions a killed service may have left.
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	return u.String(), drop, nil
}
