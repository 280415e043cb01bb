package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/logging"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/outbox"
	"github.com/open-assist/assist/internal/server"
	"github.com/open-assist/assist/internal/store"
	"github.com/open-assist/assist/internal/tracing"
	"go.opentelemetry.io/otel/trace"
)

// newLogger is the logger serve and worker write to standard error.
func newLogger(w io.Writer, level slog.Level, format config.LogFormat) *slog.Logger {
	return slog.New(server.NewLogHandler(logging.NewHandler(w, level, string(format))))
}

// openBackend opens the store (which migrates its tables and the outbox's,
// one replica at a time) and the outbox that delivers what the store
// queues. workers overrides cfg.Workers when not negative; tp receives the
// spans of deliveries (nil: none).
func openBackend(ctx context.Context, cfg *config.Config, workers int, log *slog.Logger, tp trace.TracerProvider) (*store.DB, *outbox.Outbox, error) {
	return openBackendWith(ctx, store.Open, cfg, workers, log, tp)
}

// openExistingBackend is openBackend for the commands that must not create
// a database (worker, outbox): a mistyped --db is an error, not a new file.
func openExistingBackend(ctx context.Context, cfg *config.Config, workers int, log *slog.Logger, tp trace.TracerProvider) (*store.DB, *outbox.Outbox, error) {
	return openBackendWith(ctx, store.OpenExisting, cfg, workers, log, tp)
}

func openBackendWith(ctx context.Context, open func(context.Context, string, ...store.Option) (*store.DB, error), cfg *config.Config, workers int, log *slog.Logger, tp trace.TracerProvider) (*store.DB, *outbox.Outbox, error) {
	ocfg, err := outboxConfig(cfg, workers, log)
	ocfg.Tracing = tp
	if err != nil {
		return nil, nil, err
	}
	// The store queues the records; River keeps each one's allowance of
	// attempts from then on.
	db, err := open(ctx, cfg.DB, store.WithMaxConns(cfg.DBMaxConns), store.WithWriteQueue(cfg.WriteQueue), store.WithDeliveryAttempts(ocfg.Attempts()))
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	ocfg.Dialect = db.Dialect()
	out, err := outbox.New(db.SQL(), ocfg)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, out, nil
}

// outboxConfig is the outbox's configuration but for the dialect, known
// once the store is open.
func outboxConfig(cfg *config.Config, workers int, log *slog.Logger) (outbox.Config, error) {
	if workers < 0 {
		workers = cfg.Workers
	}
	ocfg := outbox.Config{
		Workers:      workers,
		MaxAttempts:  cfg.DeliveryMaxAttempts,
		MaxAge:       cfg.DeliveryMaxAge,
		BackoffBase:  cfg.DeliveryBackoff,
		BackoffCap:   cfg.DeliveryBackoffCap,
		JobTimeout:   cfg.DeliveryTimeout,
		RescueAfter:  cfg.DeliveryRescueAfter,
		PollInterval: cfg.DeliveryPollInterval,
		Retention:    cfg.DeliveryRetention,
		Logger:       log,
	}
	// Each receiver has its own connections, one kept open per worker
	// sending to it; one attempt may not outlast the job's own timeout.
	var err error
	if cfg.NRSURL != "" {
		if ocfg.NRS, err = nrs.NewClient(cfg.NRSURL, cfg.NRSAPIKey, delivery.NewHTTPClient(workers, cfg.DeliveryTimeout)); err != nil {
			return ocfg, err
		}
	}
	if cfg.EventsURL != "" {
		if ocfg.Events, err = events.NewClient(cfg.EventsURL, delivery.NewHTTPClient(workers, cfg.DeliveryTimeout)); err != nil {
			return ocfg, err
		}
	}
	return ocfg, nil
}

// stopOutbox gives deliveries in flight a moment to finish; any cut short
// are retried later, by this process or another.
func stopOutbox(out *outbox.Outbox, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := out.Stop(ctx); err != nil {
		log.Error("stop outbox", slog.Any("err", err))
	}
}

// startTracing builds the tracer provider the OTEL_* variables describe
// (a no-op one without an endpoint). flush sends the last spans: call it
// once the server and the outbox have finished their work, when ctx is
// done. Spans that cannot be sent are lost, which is no reason to fail a
// shutdown.
func startTracing(ctx context.Context, getenv func(string) string, cfg *config.Config, log *slog.Logger) (trace.TracerProvider, func(), error) {
	version, _, _ := buildVersion()
	tp, stop, err := tracing.New(ctx, getenv, version)
	if err != nil {
		return nil, nil, err
	}
	return tp, func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		if err := stop(fctx); err != nil {
			log.Warn("traces not flushed", slog.Any("err", err))
		}
	}, nil
}
