package store

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/testdb"
)

// TestInsertSyntheticReports fills a store across several statements and
// transactions, and checks the rows, the acknowledgements and that a real
// report still goes in beside them.
func TestInsertSyntheticReports(t *testing.T) {
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		const n = bulkRows*2 + 7 // a partial last statement
		if err := db.InsertSyntheticReports(ctx, n, []byte(`{"reportId":"x"}`)); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			q    string
			want int
		}{
			{`SELECT COUNT(*) FROM reports`, n},
			{`SELECT COUNT(DISTINCT id) FROM reports`, n},
			{`SELECT COUNT(*) FROM acknowledgements`, (n + 1) / 2},
		} {
			var got int
			if err := db.queryRow(ctx, tc.q).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s = %d, want %d", tc.q, got, tc.want)
			}
		}
		if err := db.CreateReport(ctx, sampleReport("0b0a6f4e-2c1d-4e5f-8a6b-7c8d9e0f1a2b"), report.Proof{}); err != nil {
			t.Errorf("CreateReport after a bulk load: %v", err)
		}
	})
}

// TestScratchPostgres makes a database, uses it, and drops it.
func TestScratchPostgres(t *testing.T) {
	base := os.Getenv(testdb.EnvDSN)
	if base == "" {
		testdb.PostgresDSN(t) // skips, or fails under CI
	}
	ctx := context.Background()
	dsn, drop, err := ScratchPostgres(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dsn, "/assist_bench_") {
		t.Errorf("scratch DSN %q does not name an assist_bench_ database", dsn)
	}
	db, err := Open(ctx, dsn)
	if err != nil {
		drop(ctx)
		t.Fatal(err)
	}
	db.Close()
	if err := drop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenExisting(ctx, dsn); err == nil {
		t.Errorf("OpenExisting(%s) after drop = nil error, want the database gone", dsn)
	}
	if _, _, err := ScratchPostgres(ctx, "sqlite:x.db"); err == nil {
		t.Errorf("ScratchPostgres(sqlite:) = nil error")
	}
}
