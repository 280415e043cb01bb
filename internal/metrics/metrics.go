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
var States = []string{"available", "scheduled", "retryable", "running", "pending", "completed", "discarded", "cancelled"}

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

// Counter reads how many outbox jobs are in each state.
type Counter interface {
	Counts(ctx context.Context) (map[string]int, error)
}

var _ Counter = (*outbox.Outbox)(nil)

// RegisterOutbox adds to reg the outbox's jobs by state and the dead-letter
// total, read from counter at each scrape.
func RegisterOutbox(reg prometheus.Registerer, counter Counter, log *slog.Logger) error {
	return reg.Register(&outboxCollector{
		jobs:    prometheus.NewDesc("assist_outbox_jobs", "Outbox records (NRS submissions and interaction events) by state.", []string{"state"}, nil),
		dead:    prometheus.NewDesc("assist_outbox_dead_jobs", "Outbox records that will not be delivered without an operator (discarded after their last attempt, or refused by the receiver). See assist outbox list --dead.", nil, nil),
		up:      prometheus.NewDesc("assist_outbox_up", "1 when the outbox could be counted.", nil, nil),
		counter: counter,
		log:     log,
	})
}

type outboxCollector struct {
	jobs, dead *prometheus.Desc
	up         *prometheus.Desc
	counter    Counter
	log        *slog.Logger
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.dead
	ch <- c.up
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.counter.Counts(ctx)
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
}
