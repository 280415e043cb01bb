package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/metrics"
	"github.com/open-assist/assist/internal/outbox"
)

// runWorker delivers queued records without serving HTTP, until ctx ends. It
// takes the same flags as serve; any number may run beside the servers.
func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.LoadFor("worker", args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if cfg.Workers == 0 {
		return errors.New("--workers is 0: a worker would deliver nothing")
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	tp, flush, err := startTracing(ctx, getenv, cfg, log)
	if err != nil {
		return err
	}
	defer flush()
	db, out, err := openExistingBackend(ctx, cfg, -1, log, tp)
	if err != nil {
		return err
	}
	defer db.Close()
	// /metrics on --admin-addr: the outbox's, as serve has them.
	reg := metrics.NewRegistry()
	if err := metrics.RegisterOutbox(reg, out, log); err != nil {
		return err
	}
	admin, err := startAdmin(ctx, cfg.AdminAddr, metrics.Handler(reg), log)
	if err != nil {
		return err
	}
	if err := out.Start(ctx); err != nil {
		return err
	}
	log.Info("worker started", slog.String("db", db.Dialect()), slog.Int("workers", cfg.Workers),
		slog.Bool("nrs", out.NRSEnabled()), slog.Bool("events", out.EventsEnabled()))
	<-ctx.Done()
	stopOutbox(out, log)
	return admin()
}

const outboxUsage = `usage:
  assist outbox list [--dead] [--limit N] [--db DSN]   records waiting, or (--dead) dead-lettered
  assist outbox retry [--db DSN] ID...                  revive dead records
`

// runOutbox is the operator's view of the outbox.
func runOutbox(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 1 && isHelp(args[0]) {
		fmt.Fprint(stdout, outboxUsage)
		return exitOK
	}
	if len(args) == 0 || (args[0] != "list" && args[0] != "retry") {
		fmt.Fprint(stderr, outboxUsage)
		return exitUsage
	}
	synopsis := "outbox list [--dead] [--limit N] [--db DSN]"
	if args[0] == "retry" {
		synopsis = "outbox retry [--db DSN] ID..."
	}
	fl := config.NewFlagSet("outbox "+args[0], synopsis)
	dsn := dbFlag(fl)
	dead, limit := new(bool), new(int)
	if args[0] == "list" {
		fl.BoolVar(dead, "dead", false, "list dead-lettered records")
		fl.IntVar(limit, "limit", 100, "list at most this many")
	}
	if err := config.Parse(fl, args[1:], stdout, stderr); err != nil {
		return parseExit(err, stderr, "assist outbox")
	}
	cfg, err := config.Load(dbArgs(*dsn), getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "assist outbox: configuration: %v\n", err)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, out, err := openExistingBackend(ctx, cfg, 0, log, nil)
	if err != nil {
		fmt.Fprintf(stderr, "assist outbox: %v\n", err)
		return exitFail
	}
	defer db.Close()

	if args[0] == "list" {
		if fl.NArg() > 0 || *limit < 1 {
			fmt.Fprint(stderr, outboxUsage)
			return exitUsage
		}
		jobs, err := out.List(ctx, *dead, *limit)
		if err != nil {
			fmt.Fprintf(stderr, "assist outbox: %v\n", err)
			return exitFail
		}
		printJobs(stdout, jobs)
		return exitOK
	}
	if fl.NArg() == 0 {
		fmt.Fprint(stderr, outboxUsage)
		return exitUsage
	}
	code := exitOK
	for _, a := range fl.Args() {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			fmt.Fprintf(stderr, "assist outbox retry: %q is not a job id\n", a)
			code = exitUsage
			continue
		}
		j, err := out.Retry(ctx, id)
		if err != nil {
			fmt.Fprintf(stderr, "assist outbox retry: %v\n", err)
			code = exitFail
			continue
		}
		fmt.Fprintf(stdout, "job %d (%s, report %s) is %s again: %d attempts left\n", j.ID, j.Kind, j.ReportID, j.State, j.MaxAttempts-j.Attempt)
	}
	return code
}

func printJobs(w io.Writer, jobs []outbox.Job) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPTS\tREPORT\tCREATED\tLAST ERROR")
	for _, j := range jobs {
		lastErr := strings.Join(strings.Fields(j.LastError), " ")
		if len(lastErr) > 80 {
			lastErr = lastErr[:77] + "..."
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", j.ID, j.Kind, j.State, j.Attempt, j.MaxAttempts, j.ReportID, j.CreatedAt.Format(time.RFC3339), lastErr)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d records\n", len(jobs))
}

// dbFlag adds --db, whose default is $ASSIST_DB, else sqlite:assist.db.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "", "database: sqlite:PATH or postgres://... (default $ASSIST_DB, else sqlite:assist.db)")
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// parseExit turns a flag parsing error into an exit status: 0 after help,
// 2 (with the error) otherwise.
func parseExit(err error, stderr io.Writer, prefix string) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
	return exitUsage
}

// dbArgs passes a --db given to an operator's command on to config.Load,
// which otherwise takes $ASSIST_DB.
func dbArgs(dsn string) []string {
	if dsn == "" {
		return nil
	}
	return []string{"--db", dsn}
}
