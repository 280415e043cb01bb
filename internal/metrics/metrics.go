// Package metrics exposes the service's health to Prometheus: how many
// records wait in the outbox and how many are dead, which is what an
// operator is paged on; and how the API is used: requests by route, status
// and HMRC error code, their latency, the messages reports give, and the
// requests turned away when the service is saturated.
//
// Every metric is registered on a registry the caller passes in, never on
// Prometheus's global one, so that tests and replicas own theirs.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/open-assist/assist/internal/outbox"
)

// States lists the outbox job states always reported, so that a zero is a
// zero and not a missing series.
var States = []string{"available", "scheduled", "retryable", "running", "pending", "discarded", "cancelled"}

// NewRegistry returns a registry holding the Go runtime's and the process's
// own metrics, for the service's to be added to.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves /metrics: everything registered on g.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// Outbox is what the outbox's metrics read and hook into.
type Outbox interface {
	Stats(ctx context.Context) (map[string]int, map[string]outbox.Backlog, error)
	SetRecorder(outbox.Recorder)
}

var _ Outbox = (*outbox.Outbox)(nil)

// Destinations are the outbox's receivers, always reported.
var Destinations = []string{outbox.DestinationNRS, outbox.DestinationEvents}

// RegisterOutbox adds to reg the outbox's jobs by state and the dead-letter
// total, and per destination its backlog, oldest record's age and dead
// letters (all read from out at each scrape), and its deliveries by outcome
// and their latency (recorded as they happen). Call it before out starts.
func RegisterOutbox(reg prometheus.Registerer, out Outbox, log *slog.Logger) error {
	dest := []string{"destination"}
	d := &deliveries{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assist_outbox_deliveries_total",
			Help: "Delivery attempts by destination (nrs, events) and outcome: delivered, retry (failed, to be tried again) or refused (the receiver will never take it: dead-lettered).",
		}, []string{"destination", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "assist_outbox_delivery_duration_seconds",
			Help: "Time one delivery attempt took, whatever its outcome, by destination.",
			// From a local receiver (a millisecond) to --delivery-timeout.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, dest),
	}
	c := &outboxCollector{
		jobs:   prometheus.NewDesc("assist_outbox_jobs", "Outbox records (NRS submissions and interaction events) by state.", []string{"state"}, nil),
		dead:   prometheus.NewDesc("assist_outbox_dead_jobs", "Outbox records that will not be delivered without an operator (discarded after their last attempt, or refused by the receiver). See assist outbox list --dead.", nil, nil),
		up:     prometheus.NewDesc("assist_outbox_up", "1 when the outbox could be counted.", nil, nil),
		depth:  prometheus.NewDesc("assist_outbox_queue_depth", "Records waiting for delivery (available, scheduled, retryable or being attempted), by destination.", dest, nil),
		oldest: prometheus.NewDesc("assist_outbox_oldest_job_age_seconds", "How long the oldest record waiting for delivery has waited, by destination; 0 when none waits.", dest, nil),
		deadBy: prometheus.NewDesc("assist_outbox_dead_letters", "Dead-lettered records (discarded or cancelled), by destination.", dest, nil),
		out:    out,
		log:    log,
	}
	for _, col := range []prometheus.Collector{c, d.total, d.latency} {
		if err := reg.Register(col); err != nil {
			return fmt.Errorf("register outbox metrics: %w", err)
		}
	}
	for _, dst := range Destinations {
		for _, o := range []string{outbox.OutcomeDelivered, outbox.OutcomeRetry, outbox.OutcomeRefused} {
			d.total.WithLabelValues(dst, o)
		}
	}
	out.SetRecorder(d)
	return nil
}

// deliveries records attempts as the outbox makes them.
type deliveries struct {
	total   *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

func (d *deliveries) Delivery(destination, outcome string, took time.Duration) {
	d.total.WithLabelValues(destination, outcome).Inc()
	d.latency.WithLabelValues(destination).Observe(took.Seconds())
}

type outboxCollector struct {
	jobs, dead, up        *prometheus.Desc
	depth, oldest, deadBy *prometheus.Desc
	out                   Outbox
	log                   *slog.Logger
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobs, c.dead, c.up, c.depth, c.oldest, c.deadBy} {
		ch <- d
	}
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	// A scrape waits at most this long for the database.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, backlogs, err := c.out.Stats(ctx)
	if err != nil {
		c.log.Error("count outbox jobs", slog.Any("err", err))
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, s := range States {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(counts[s]), s)
	}
	ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(counts["discarded"]+counts["cancelled"]))
	for _, dst := range Destinations {
		b := backlogs[dst]
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(b.Depth), dst)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, b.OldestAge.Seconds(), dst)
		ch <- prometheus.MustNewConstMetric(c.deadBy, prometheus.GaugeValue, float64(b.Dead), dst)
	}
}
