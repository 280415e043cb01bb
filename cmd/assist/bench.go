package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/open-assist/assist/internal/bench"
	"github.com/open-assist/assist/internal/config"
)

// runBench measures the service under load beside the machine's limit:
// see package bench and the README's "Load benchmark".
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := config.NewFlagSet("bench", "bench [--duration 20s] [--clients 32] [--db postgres://...] [--json FILE] [flags]")
	cfg := bench.Config{}
	fl.IntVar(&cfg.Clients, "clients", 32, "concurrent clients (closed loop); at half load, the most journeys under way")
	fl.DurationVar(&cfg.Duration, "duration", 20*time.Second, "load at saturation; half load lasts half as long")
	fl.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "load before measuring, not measured")
	fl.StringVar(&cfg.DB, "db", "", "a PostgreSQL server (postgres://...) to make a fresh database on, dropped at the end (default: a new SQLite file)")
	fl.BoolVar(&cfg.Delivery, "delivery", true, "deliver NRS records and events to local receivers, and time their arrival")
	fl.DurationVar(&cfg.DrainTimeout, "drain-timeout", 2*time.Minute, "longest wait for every record after load stops")
	fl.IntVar(&cfg.Stored, "stored", 0, "reports to store before the service starts, to show the cost of a long history")
	fl.IntVar(&cfg.Individuals, "individuals", 8, "test users, each with every calculation")
	fl.IntVar(&cfg.Agents, "agents", 4, "agents, each authorised by two test users")
	fl.Func("serve-flag", "a flag for assist serve, such as --serve-flag=--workers=8 (repeatable)", func(s string) error {
		cfg.ServeFlags = append(cfg.ServeFlags, s)
		return nil
	})
	jsonOut := fl.String("json", "", "also write the results as JSON to this file (-: standard output, and the table to standard error)")
	if err := config.Parse(fl, args, stdout, stderr); err != nil {
		return parseExit(err, stderr, "assist bench")
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "assist bench: unexpected arguments %q\n", fl.Args())
		return exitUsage
	}
	if cfg.Clients < 1 || cfg.Clients > 10_000 || cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.Stored < 0 || cfg.Individuals < 1 || cfg.Agents < 0 || cfg.DrainTimeout <= 0 {
		fmt.Fprintln(stderr, "assist bench: --clients must be 1 to 10000, --duration, --drain-timeout and --individuals positive, --warmup, --stored and --agents not negative")
		return exitUsage
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "assist bench: %v\n", err)
		return exitFail
	}
	cfg.Executable = exe
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	res, err := bench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "assist bench: %v\n", err)
		return exitFail
	}
	table := stdout
	if *jsonOut == "-" {
		table = stderr
	}
	if err := bench.WriteText(table, res); err != nil {
		fmt.Fprintf(stderr, "assist bench: %v\n", err)
		return exitFail
	}
	if *jsonOut != "" {
		if err := writeBenchJSON(*jsonOut, stdout, res); err != nil {
			fmt.Fprintf(stderr, "assist bench: %v\n", err)
			return exitFail
		}
	}
	// A record not delivered is a failed run, whatever the rates: a script
	// running the bench must not take it for a pass.
	if res.Drain != nil && !res.Drain.Complete {
		fmt.Fprintf(stderr, "assist bench: not every record was delivered within --drain-timeout\n")
		return exitFail
	}
	return exitOK
}

func writeBenchJSON(name string, stdout io.Writer, res *bench.Result) error {
	if name == "-" {
		return bench.WriteJSON(stdout, res)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := bench.WriteJSON(f, res); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
