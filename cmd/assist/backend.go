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
)

// newLogger is the logger serve and worker write to standard error.
func newLogger(w io.Writer, level slog.Level, format config.LogFormat) *slog.Logger {
	return slog.New(server.NewLogHandler(logging.NewHandler(w, level, string(format))))
}

// openBackend opens the store (which migrates its tables and the outbox's,
// one replica at a time) and the outbox that delivers what the store
// queues. workers overrides cfg.Workers when not negative.
func openBackend(ctx context.Context, cfg *config.Config, workers int, log *slog.Logger) (*store.DB, *outbox.Outbox, error) {
	return openBackendWith(ctx, store.Open, cfg, workers, log)
}

// openExistingBackend is openBackend for the commands that must not create
// a database (worker, outbox): a mistyped --db is an error, not a new file.
func openExistingBackend(ctx context.Context, cfg *config.Config, workers int, log *slog.Logger) (*store.DB, *outbox.Outbox, error) {
	return openBackendWith(ctx, store.OpenExisting, cfg, workers, log)
}

func openBackendWith(ctx context.Context, open func(context.Context, string, ...store.Option) (*store.DB, error), cfg *config.Config, workers int, log *slog.Logger) (*store.DB, *outbox.Outbox, error) {
	db, err := open(ctx, cfg.DB, store.WithMaxConns(cfg.DBMaxConns), store.WithWriteQueue(cfg.WriteQueue))
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	out, err := newOutbox(db, cfg, workers, log)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, out, nil
}

func newOutbox(db *store.DB, cfg *config.Config, workers int, log *slog.Logger) (*outbox.Outbox, error) {
	if workers < 0 {
		workers = cfg.Workers
	}
	ocfg := outbox.Config{
		Dialect:      db.Dialect(),
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
			return nil, err
		}
	}
	if cfg.EventsURL != "" {
		if ocfg.Events, err = events.NewClient(cfg.EventsURL, delivery.NewHTTPClient(workers, cfg.DeliveryTimeout)); err != nil {
			return nil, err
		}
	}
	return outbox.New(db.SQL(), ocfg)
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
