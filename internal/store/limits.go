package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DefaultMaxConns bounds the connections a process opens: well under
// PostgreSQL's default max_connections (100) with several replicas, and
// enough for the API and the outbox's workers. Requests beyond it wait for
// a connection (until their deadline) rather than open one more.
const DefaultMaxConns = 20

// limitPool bounds the pool the store and the outbox share to n
// connections, all of which may stay idle for reuse.
func (db *DB) limitPool(n int) {
	db.db.SetMaxOpenConns(n)
	db.db.SetMaxIdleConns(n)
	// Idle connections are closed in time, so a quiet replica gives its
	// share of the server back.
	db.db.SetConnMaxIdleTime(5 * time.Minute)
	db.db.SetConnMaxLifetime(time.Hour)
}

// Busy says whether err means the database is saturated (SQLite's write
// lock held past busy_timeout, PostgreSQL out of connections or other
// resources, a lock or serialisation conflict): worth trying again later,
// not a fault. The server answers it with 503 and Retry-After.
func Busy(err error) bool {
	if errors.Is(err, ErrQueueFull) {
		return true
	}
	var le *sqlite.Error
	if errors.As(err, &le) {
		switch le.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "53": // insufficient resources: too many connections, out of memory or disk
			return true
		case pe.Code == "57P03", pe.Code == "55P03", pe.Code == "40001", pe.Code == "40P01": // cannot connect now, lock not available, serialisation failure, deadlock
			return true
		}
	}
	return false
}

// prepareSQLite makes sure the database at path is readable by its owner
// only: it refuses a folder others may write to (they could replace the
// file or plant its -wal), creates a new file 0600 (SQLite gives the -wal
// and -shm files the database's permissions), and takes group and other
// permissions off an existing database and its -wal and -shm.
func prepareSQLite(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("store: database folder: %w", err)
	}
	if st.Mode().Perm()&0o002 != 0 {
		return fmt.Errorf("store: database folder %s is writable by every user; use a folder of its own (chmod o-w)", dir)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		f.Close()
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("store: create database: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("store: make %s private: %w", p, err)
			}
		}
	}
	return nil
}
