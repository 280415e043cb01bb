// Package testdb gives tests a PostgreSQL database of their own: a fresh
// schema on the server named by ASSIST_TEST_POSTGRES_DSN, dropped when the
// test ends. Without that variable a test is skipped, unless CI is set,
// when it fails: CI must not pass by running nothing.
package testdb

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// EnvDSN names the variable that points tests at a PostgreSQL server.
const EnvDSN = "ASSIST_TEST_POSTGRES_DSN"

var seq atomic.Int64

// PostgresDSN returns a postgres:// URL whose search_path is a new, empty
// schema, dropped (with everything in it) when tb ends.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvDSN)
	if base == "" {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is not set, and CI is: PostgreSQL tests must run", EnvDSN)
		}
		tb.Skipf("%s is not set: skipping the PostgreSQL variant", EnvDSN)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("open %s: %v", EnvDSN, err)
	}
	schema := fmt.Sprintf("t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, seq.Add(1))
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		tb.Fatalf("PostgreSQL at %s does not answer: %v", EnvDSN, err)
	}
	tb.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", EnvDSN, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return strings.Replace(u.String(), "postgresql://", "postgres://", 1)
}
