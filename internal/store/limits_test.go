package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// The database, its -wal and its -shm are the owner's alone, whatever the
// umask; an existing world-readable database is made private.
func TestSQLiteFilesArePrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "assist.db")
	db, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PutCalculation(context.Background(), "TC663795B", "2025-26", "x", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(p), perm)
		}
	}

	old := filepath.Join(dir, "old.db")
	if err := os.WriteFile(old, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(old, 0o644); err != nil { // past the umask
		t.Fatal(err)
	}
	db2, err := Open(context.Background(), "sqlite:"+old)
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
	if st, _ := os.Stat(old); st.Mode().Perm() != 0o600 {
		t.Errorf("existing database has mode %o after Open, want 600", st.Mode().Perm())
	}
}

func TestSQLiteRefusesAWorldWritableFolder(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), "sqlite:"+filepath.Join(dir, "assist.db"))
	if err == nil || !strings.Contains(err.Error(), "writable by every user") {
		t.Errorf("Open(in a world-writable folder) = %v, want a refusal naming the folder", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "assist.db")); err == nil {
		t.Errorf("Open created the database anyway")
	}
}

func TestPoolIsBounded(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB, dsn string) {
		if got := db.SQL().Stats().MaxOpenConnections; got != DefaultMaxConns {
			t.Errorf("MaxOpenConnections = %d, want %d", got, DefaultMaxConns)
		}
		small, err := Open(context.Background(), dsn, WithMaxConns(3))
		if err != nil {
			t.Fatal(err)
		}
		defer small.Close()
		if got := small.SQL().Stats().MaxOpenConnections; got != 3 {
			t.Errorf("WithMaxConns(3): MaxOpenConnections = %d", got)
		}
		if _, err := Open(context.Background(), dsn, WithMaxConns(1)); err == nil {
			t.Error("Open(WithMaxConns(1)) succeeded; the writer and a reader need two")
		}
	})
}

// Busy recognises a real SQLite lock timeout and PostgreSQL's saturation
// codes, and nothing else.
func TestBusy(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "busy.db")
	db, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	holder, err := db.SQL().BeginTx(ctx, nil) // _txlock=immediate: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	impatient, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer impatient.Close()
	_, lockErr := impatient.BeginTx(ctx, nil)
	if lockErr == nil {
		t.Fatal("a second writer got the lock")
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"sqlite_locked", fmt.Errorf("store report: %w", lockErr), true},
		{"pg_too_many_clients", &pgconn.PgError{Code: "53300"}, true},
		{"pg_cannot_connect_now", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "57P03"}), true},
		{"pg_serialisation", &pgconn.PgError{Code: "40001"}, true},
		{"pg_unique_violation", &pgconn.PgError{Code: "23505"}, false},
		{"not_found", ErrNotFound, false},
		{"other", errors.New("boom"), false},
	}
	for _, tc := range tests {
		if got := Busy(tc.err); got != tc.want {
			t.Errorf("Busy(%s: %v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
