package store

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// dialect is everything that differs between the SQL databases the store
// runs on. Queries are written once, with $N placeholders.
type dialect struct {
	name       string // "sqlite" or "postgres": the migrations folder
	driver     string // database/sql driver name
	rebind     func(query string) string
	dataSource string
	path       string // the SQLite file
}

var dollarParam = regexp.MustCompile(`\$([0-9]+)`)

// sqliteQueries holds queries already rebound: they are constants (or, in
// bulk loads, one per batch size), few, and some run for every request, on
// the one writer among others.
var sqliteQueries sync.Map

func sqliteRebind(q string) string {
	if b, ok := sqliteQueries.Load(q); ok {
		return b.(string)
	}
	b := dollarParam.ReplaceAllString(q, "?$1")
	sqliteQueries.Store(q, b)
	return b
}

// parseDSN picks the dialect from the --db value: "sqlite:PATH" (also
// "sqlite://PATH") for the embedded store, "postgres://..." (or
// "postgresql://...") for PostgreSQL through pgx, which many replicas can
// share.
func parseDSN(dsn string) (dialect, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if path == "" || path == ":memory:" || strings.Contains(path, "mode=memory") {
			return dialect{}, fmt.Errorf("store: sqlite needs a file, not %q", dsn)
		}
		return dialect{
			name:   "sqlite",
			driver: "sqlite",
			// SQLite numbers parameters ?NNN; $N would be a named parameter.
			rebind: sqliteRebind,
			// WAL lets readers run beside the single writer; writers wait
			// (busy_timeout) rather than fail, and take the write lock at
			// BEGIN (immediate) so that two transactions never deadlock on
			// upgrade. synchronous FULL makes a commit durable before the
			// response is sent, even across a power cut: an accepted
			// acknowledgement must never be lost.
			dataSource: "file:" + (&url.URL{Path: path}).EscapedPath() +
				"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate",
			path: path,
		}, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return dialect{}, fmt.Errorf("store: bad PostgreSQL URL: %w", err)
		}
		return dialect{
			name:       "postgres",
			driver:     "pgx",
			rebind:     func(q string) string { return q },
			dataSource: dsn,
		}, nil
	default:
		return dialect{}, fmt.Errorf("store: unknown database %q (want sqlite:PATH or postgres://...)", dsn)
	}
}

// timeLayout stores instants as fixed-width UTC text, so that they sort.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}
