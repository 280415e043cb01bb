// Package store keeps everything the service persists: reports and their
// acknowledgements, sandbox identities, agent authorisations, calculations
// and the sandbox's signing key. All SQL lives here. SQLite (pure Go, WAL)
// is the embedded default; queries are written with $N placeholders and
// dialect.go holds what differs between databases, so that a PostgreSQL
// implementation of Store can follow.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/open-assist/assist/internal/outbox"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned (wrapped) when a row does not exist.
var ErrNotFound = errors.New("store: not found")

// Relationship types of an agent with a client.
const (
	Main       = "main"
	Supporting = "supporting"
)

// Individual is a sandbox test user.
type Individual struct {
	NINO            string
	MTDITID         string
	MTDEnrolled     bool
	ConfidenceLevel int
	CreatedAt       time.Time
}

// Agent is a sandbox agent with an agent services account.
type Agent struct {
	ARN       string
	CreatedAt time.Time
}

// Authorisation is a client's authorisation of an agent.
type Authorisation struct {
	ARN, NINO string
	Type      string // Main or Supporting
	CreatedAt time.Time
}

//go:embed migrations
var migrations embed.FS

// DB is the store, on SQLite or PostgreSQL.
type DB struct {
	db      *sql.DB
	dialect dialect
	// queue puts the records that prove a write in the write's transaction.
	queue  *outbox.Queue
	writer *writer
	// Now is the clock for the timestamps the store sets itself.
	Now func() time.Time
}

// Option sets up a store at Open.
type Option func(*options)

type options struct {
	maxConns, writeQueue, deliveryAttempts int
}

// WithDeliveryAttempts sets how many delivery attempts the records queued
// with reports and acknowledgements get (default: the outbox's default).
func WithDeliveryAttempts(n int) Option { return func(o *options) { o.deliveryAttempts = n } }

// WithMaxConns bounds the connection pool the store and the outbox share
// (default DefaultMaxConns).
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// WithWriteQueue bounds the writes that may wait for a writer (default
// DefaultWriteQueue); more are refused with ErrQueueFull.
func WithWriteQueue(n int) Option { return func(o *options) { o.writeQueue = n } }

// Open connects to the database named by dsn ("sqlite:assist.db") and
// applies any migrations it has not had.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	return open(ctx, dsn, false, opts)
}

// ErrNoDatabase is returned (wrapped) by OpenExisting when the database has
// not been created.
var ErrNoDatabase = errors.New("store: no such database")

// OpenExisting is Open for the operator's commands: it refuses, with an
// error wrapping ErrNoDatabase, a SQLite file that does not exist or a
// PostgreSQL database the service has never migrated, so that a mistyped
// --db is reported rather than silently creating an empty database.
func OpenExisting(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	return open(ctx, dsn, true, opts)
}

func open(ctx context.Context, dsn string, mustExist bool, opts []Option) (*DB, error) {
	o := options{maxConns: DefaultMaxConns, writeQueue: DefaultWriteQueue, deliveryAttempts: outbox.Config{}.Attempts()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxConns < 2 || o.writeQueue < 1 {
		return nil, fmt.Errorf("store: need at least 2 connections and a write queue of 1, not %d and %d", o.maxConns, o.writeQueue)
	}
	d, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if mustExist && d.name == "sqlite" {
		if _, err := os.Stat(d.path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s (assist serve creates it)", ErrNoDatabase, d.path)
		} else if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		// Even if the file vanished since, SQLite must not create it.
		d.dataSource += "&mode=rw"
	}
	if d.path != "" {
		if err := prepareSQLite(d.path); err != nil {
			return nil, err
		}
	}
	sqlDB, err := sql.Open(d.driver, d.dataSource)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.name, err)
	}
	db := &DB{db: sqlDB, dialect: d, Now: time.Now}
	if mustExist && d.name == "postgres" {
		var table sql.NullString
		if err := sqlDB.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations')::text`).Scan(&table); err != nil {
			sqlDB.Close()
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		if !table.Valid {
			sqlDB.Close()
			return nil, fmt.Errorf("%w: the PostgreSQL database has no assist tables (assist serve creates them)", ErrNoDatabase)
		}
	}
	db.limitPool(o.maxConns)
	// The store's tables and the outbox's (River's) are migrated together,
	// one replica at a time.
	err = db.WithMigrationLock(ctx, func() error {
		if err := db.migrate(ctx); err != nil {
			return err
		}
		return outbox.Migrate(ctx, sqlDB, d.name, "")
	})
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	if db.queue, err = outbox.NewQueue(ctx, sqlDB, d.name, "", o.deliveryAttempts); err != nil {
		sqlDB.Close()
		return nil, err
	}
	if err := db.startWriter(ctx, o.writeQueue); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// SQL returns the connection pool, for the outbox, whose jobs join the
// store's transactions.
func (db *DB) SQL() *sql.DB { return db.db }

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect.name }

// migrationLock is the PostgreSQL advisory lock replicas take to migrate one
// at a time (any fixed number will do; this one spells "assist").
const migrationLock = 0x617373697374

// WithMigrationLock runs f while holding the database's migration lock, so
// that replicas starting together do not migrate at once. SQLite has one
// writer already.
func (db *DB) WithMigrationLock(ctx context.Context, f func() error) error {
	if db.dialect.name != "postgres" {
		return f()
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLock)
	return f()
}

// Close commits the writes already queued and closes the database.
func (db *DB) Close() error {
	db.writer.close()
	db.queue.Close()
	return db.db.Close()
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Tx is a transaction with the dialect's placeholders.
type Tx struct {
	tx *sql.Tx
	d  dialect
	// stmts, when set, gives statements prepared once (see statements).
	stmts *statements
}

func (t *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = t.d.rebind(q)
	if stmt := t.stmts.get(ctx, q); stmt != nil {
		return t.tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

// statements are the writer's statements on SQLite, prepared once: the
// driver parses a statement on every call otherwise, which profiling showed
// costing more than executing the short inserts of a report. Statements
// prepared on the pool are prepared again on a transaction's connection
// once, then kept there (database/sql does that), and the writer always
// uses the same connection. Only the writer's goroutine uses them.
type statements struct {
	db *sql.DB
	m  map[string]*sql.Stmt
}

// maxStatements bounds the cache: the writer's statements are a handful of
// fixed strings, so more means something builds SQL, which is not cached.
const maxStatements = 32

// get returns q prepared, or nil to run it unprepared.
func (s *statements) get(ctx context.Context, q string) *sql.Stmt {
	if s == nil {
		return nil
	}
	if stmt, ok := s.m[q]; ok {
		return stmt
	}
	if len(s.m) >= maxStatements {
		return nil
	}
	stmt, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the unprepared statement will report the error
	}
	s.m[q] = stmt
	return stmt
}

func (s *statements) close() {
	if s == nil {
		return
	}
	for _, stmt := range s.m {
		stmt.Close()
	}
}

func (t *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.rebind(q), args...)
}

// InTx runs f in a transaction, committing when it returns nil and rolling
// back otherwise.
func (db *DB) InTx(ctx context.Context, f func(tx *Tx) error) error {
	return runTx(ctx, func(ctx context.Context) (*sql.Tx, error) { return db.db.BeginTx(ctx, nil) }, db.dialect, nil, f)
}

// runTx runs f in a transaction begun by begin, committing when it returns
// nil and rolling back otherwise.
func runTx(ctx context.Context, begin func(context.Context) (*sql.Tx, error), d dialect, stmts *statements, f func(tx *Tx) error) error {
	sqlTx, err := begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := f(&Tx{tx: sqlTx, d: d, stmts: stmts}); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil {
			return fmt.Errorf("rolling back transaction: %v (original error: %w)", rbErr, err)
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.db.ExecContext(ctx, db.dialect.rebind(q), args...)
}

func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.db.QueryContext(ctx, db.dialect.rebind(q), args...)
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.db.QueryRowContext(ctx, db.dialect.rebind(q), args...)
}

// migrate applies, in order and each in its own transaction, the embedded
// migrations not yet recorded in schema_migrations.
func (db *DB) migrate(ctx context.Context) error {
	const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`
	if _, err := db.exec(ctx, createTable); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	dir := path.Join("migrations", db.dialect.name)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		script, err := fs.ReadFile(migrations, path.Join(dir, name))
		if err != nil {
			return fmt.Errorf("read migration %s: %w", name, err)
		}
		err = db.InTx(ctx, func(tx *Tx) error {
			var n int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return fmt.Errorf("check migration %s: %w", version, err)
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, string(script)); err != nil {
				return fmt.Errorf("apply migration %s: %w", version, err)
			}
			if _, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				version, formatTime(db.Now())); err != nil {
				return fmt.Errorf("record migration %s: %w", version, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
