// Package bench is `assist bench`: a load benchmark of the real service,
// run as a child process on a fresh store, beside the least a Go HTTP
// server can do on the same machine with the same load (the limit), so
// that the numbers mean something on any machine.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/open-assist/assist/internal/store"
)

// Config is what a run does.
type Config struct {
	Executable   string        // the assist binary; run as Executable serve
	DB           string        // "" for a new SQLite file; postgres://... for a fresh database on that server
	Clients      int           // concurrent clients at saturation, and most journeys under way at half load
	Duration     time.Duration // of the saturation phase; half load lasts half as long
	Warmup       time.Duration // load before measuring, not measured
	Delivery     bool          // NRS records and events delivered to local receivers
	DrainTimeout time.Duration // longest wait for every record after load stops
	Stored       int           // synthetic reports stored before the service starts
	ServeFlags   []string      // more flags for assist serve
	Individuals  int           // test users made
	Agents       int           // agents made, each authorised by two users
	Log          *slog.Logger  // progress
}

// Result is what a run measured.
type Result struct {
	Store          string     `json:"store"` // sqlite or postgres
	Delivery       bool       `json:"delivery"`
	Clients        int        `json:"clients"`
	DurationSec    float64    `json:"durationSeconds"`
	WarmupSec      float64    `json:"warmupSeconds"`
	Stored         int        `json:"storedReports"`
	CPUs           int        `json:"cpus"`
	LimitBodyBytes int        `json:"limitBodyBytes"`
	Endpoints      []Endpoint `json:"endpoints"`
	PeakRSSBytes   int64      `json:"peakRssBytes"`
	Drain          *Drain     `json:"drain,omitempty"` // nil with delivery off
}

// Endpoint is one endpoint's numbers in both phases.
type Endpoint struct {
	Name       string  `json:"name"`
	Saturation Stats   `json:"saturation"`
	HalfLoad   Stats   `json:"halfLoad"`
	HalfMissed int     `json:"halfLoadMissedStarts"` // journeys not started at half load, every client busy
	Ratio      float64 `json:"ratioToLimit"`         // saturation rate ÷ the limit's
}

// Drain is how the records arrived once load stopped.
type Drain struct {
	Expected int     `json:"expected"` // per receiver: NRS records, and as many events
	NRS      int     `json:"nrsReceived"`
	Events   int     `json:"eventsReceived"`
	Complete bool    `json:"complete"`
	Seconds  float64 `json:"seconds"` // from the end of load to the last record (0: none was late)
}

// Run starts the service, seeds it, measures the limit and the service, and
// waits for the records.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Clients < 1 || cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.Stored < 0 {
		return nil, errors.New("bench: clients and duration must be positive, warm-up and stored not negative")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dir, err := os.MkdirTemp("", "assist-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	res := &Result{Store: "sqlite", Delivery: cfg.Delivery, Clients: cfg.Clients, DurationSec: cfg.Duration.Seconds(),
		WarmupSec: cfg.Warmup.Seconds(), Stored: cfg.Stored, CPUs: runtime.NumCPU()}
	dsn := "sqlite:" + filepath.Join(dir, "assist.db")
	if cfg.DB != "" {
		if !strings.HasPrefix(cfg.DB, "postgres://") && !strings.HasPrefix(cfg.DB, "postgresql://") {
			return nil, fmt.Errorf("bench: --db takes a postgres:// server, not %q (SQLite is the default)", cfg.DB)
		}
		scratch, drop, err := store.ScratchPostgres(ctx, cfg.DB)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := drop(context.WithoutCancel(ctx)); err != nil {
				log.Warn("the scratch database was not dropped", slog.Any("error", err))
			}
		}()
		dsn, res.Store = scratch, "postgres"
	}
	if cfg.Stored > 0 {
		if err := fill(ctx, dsn, cfg.Stored, log); err != nil {
			return nil, err
		}
	}

	args := []string{"--db", dsn, "--mode", "sandbox", "--log-level", "warn", "--log-format", "json"}
	nrs, events, closeReceivers, err := receivers(cfg.Delivery)
	if err != nil {
		return nil, err
	}
	defer closeReceivers()
	if cfg.Delivery {
		args = append(args, "--nrs-url", nrs.URL+"/submission", "--nrs-api-key", "bench", "--events-url", events.URL+"/events")
	} else {
		args = append(args, "--nrs-url", "", "--events-url", "")
	}
	args = append(args, cfg.ServeFlags...)
	log.Info("starting the service", slog.String("store", res.Store), slog.Bool("delivery", cfg.Delivery))
	svc, err := startService(ctx, cfg.Executable, args, dir)
	if err != nil {
		return nil, err
	}
	defer svc.stop()

	api := newClient(svc.base, cfg.Clients)
	targets, err := seed(ctx, api, max(cfg.Individuals, 1), cfg.Agents)
	if err != nil {
		return nil, fmt.Errorf("seed: %w\n%s", err, svc.logTail(20))
	}
	var l ledger
	size, none, err := typicalBodySize(ctx, api, targets, &l)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	res.LimitBodyBytes = size
	var nrsSize, eventSize int
	if cfg.Delivery {
		nrsSize, eventSize = recordSizes(ctx, min(cfg.DrainTimeout, 30*time.Second), l.records(), nrs, events, size, log)
	}

	// The limit first, while the service is idle, then the service, so
	// that the drain is timed from the end of the service's load.
	limSrv, limURL, err := limitServer(size)
	if err != nil {
		return nil, err
	}
	defer limSrv.Close()
	log.Info("measuring the limit", slog.Int("body_bytes", size))
	lim := measure(ctx, cfg, limitJourney(newClient(limURL, cfg.Clients)), Limit)
	limSrv.Close()
	flo, err := measureFloor(ctx, cfg, log, targets, none, size, nrsSize, eventSize)
	if err != nil {
		return nil, err
	}

	log.Info("measuring the service", slog.Int("targets", len(targets)))
	svcPhases := measure(ctx, cfg, journey(api, targets, &l, Produce, Acknowledge), Produce, Acknowledge)
	loadEnd := time.Now()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limitRate := lim[0].Saturation.Rate
	for _, ep := range svcPhases {
		if limitRate > 0 {
			ep.Ratio = ep.Saturation.Rate / limitRate
		}
		res.Endpoints = append(res.Endpoints, ep)
	}
	for _, ep := range flo {
		if limitRate > 0 {
			ep.Ratio = ep.Saturation.Rate / limitRate
		}
		res.Endpoints = append(res.Endpoints, ep)
	}
	lim[0].Ratio = 1
	res.Endpoints = append(res.Endpoints, lim[0])

	if cfg.Delivery {
		log.Info("waiting for the records", slog.Int("expected", l.records()))
		res.Drain = drain(ctx, cfg.DrainTimeout, l.records(), nrs, events, loadEnd)
	}
	if res.PeakRSSBytes, err = svc.peakRSS(); err != nil {
		return nil, err
	}
	return res, nil
}

// receivers starts an NRS and an events receiver when on (nil, nil
// otherwise), and a function that stops them.
func receivers(on bool) (nrs, events *Receiver, closeAll func(), err error) {
	if !on {
		return nil, nil, func() {}, nil
	}
	if nrs, err = NewReceiver(); err != nil {
		return nil, nil, nil, err
	}
	if events, err = NewReceiver(); err != nil {
		nrs.Close()
		return nil, nil, nil, err
	}
	return nrs, events, func() { nrs.Close(); events.Close() }, nil
}

// recordSizes waits (at most wait) for the n records the seed promised and
// returns their mean sizes at each receiver. A receiver that got none (the
// service is not delivering: the drain will say so) gives fallback.
func recordSizes(ctx context.Context, wait time.Duration, n int, nrs, events *Receiver, fallback int, log *slog.Logger) (int, int) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	nrs.AwaitCount(ctx, n)
	events.AwaitCount(ctx, n)
	size := func(r *Receiver) int {
		if m := r.MeanSize(); m > 0 {
			return m
		}
		log.Warn("no record of the seed arrived: the floor sends records of the report's size")
		return fallback
	}
	return size(nrs), size(events)
}

// measureFloor measures the floor (see floor) on receivers of its own, and
// waits until it has sent every record so that the service's phase does
// not share the machine with them.
func measureFloor(ctx context.Context, cfg Config, log *slog.Logger, targets []target, none map[string]bool, size, nrsSize, eventSize int) ([]Endpoint, error) {
	nrs, events, closeReceivers, err := receivers(cfg.Delivery)
	if err != nil {
		return nil, err
	}
	defer closeReceivers()
	f, err := startFloor(size, nrs, events, nrsSize, eventSize)
	if err != nil {
		return nil, err
	}
	log.Info("measuring the floor", slog.Int("nrs_bytes", nrsSize), slog.Int("event_bytes", eventSize))
	var l ledger
	eps := measure(ctx, cfg, journey(newClient(f.url, cfg.Clients), floorTargets(targets, none), &l, FloorProduce, FloorAcknowledge),
		FloorProduce, FloorAcknowledge)
	f.close()
	return eps, nil
}

// measure measures one target: a warm-up, saturation with Closed, then half of
// the first endpoint's saturated rate with Open. Each journey starts with
// one request to the first endpoint, so its rate is the journeys' rate.
func measure(ctx context.Context, cfg Config, j Journey, endpoints ...string) []Endpoint {
	if cfg.Warmup > 0 {
		Closed(ctx, cfg.Clients, cfg.Warmup, j)
	}
	sat := Closed(ctx, cfg.Clients, cfg.Duration, j)
	rate := sat.Rec.Stats(endpoints[0], sat.Elapsed).Rate / 2
	half := Open(ctx, rate, cfg.Clients, cfg.Duration/2, j)
	var out []Endpoint
	for _, name := range endpoints {
		out = append(out, Endpoint{
			Name:       name,
			Saturation: sat.Rec.Stats(name, sat.Elapsed),
			HalfLoad:   half.Rec.Stats(name, half.Elapsed),
			HalfMissed: half.Missed,
		})
	}
	return out
}

// drain waits until both receivers hold every record the answers promised,
// or timeout.
func drain(ctx context.Context, timeout time.Duration, want int, nrs, events *Receiver, loadEnd time.Time) *Drain {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := &Drain{Expected: want}
	var lastN, lastE time.Time
	d.NRS, lastN = nrs.AwaitCount(ctx, want)
	d.Events, lastE = events.AwaitCount(ctx, want)
	d.Complete = d.NRS >= want && d.Events >= want
	last := lastN
	if lastE.After(last) {
		last = lastE
	}
	if !d.Complete {
		last = time.Now()
	}
	if last.After(loadEnd) {
		d.Seconds = last.Sub(loadEnd).Seconds()
	}
	return d
}

// fill stores n synthetic reports before the service starts.
func fill(ctx context.Context, dsn string, n int, log *slog.Logger) error {
	log.Info("storing synthetic reports", slog.Int("n", n))
	start := time.Now()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	body := make([]byte, 1500) // about a report of a few messages
	for i := range body {
		body[i] = 'x'
	}
	if err := db.InsertSyntheticReports(ctx, n, body); err != nil {
		return err
	}
	log.Info("stored synthetic reports", slog.Int("n", n), slog.Int64("duration_ms", time.Since(start).Milliseconds()))
	return nil
}
