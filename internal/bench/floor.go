package bench

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/outbox"

	"github.com/open-assist/assist/internal/hmrc"
)

// Floor endpoint names, as reported.
const (
	FloorProduce     = "floor produce"
	FloorAcknowledge = "floor acknowledge"
)

// floorWorkers is how many deliver to each receiver: the service's
// default --workers.
const floorWorkers = outbox.DefaultWorkers

// floor does nothing but the HTTP exchanges a journey needs of any
// implementation: it answers produce with a report-sized body (or 204 for
// the calculation that gives none) and acknowledge with 204, and for each
// 200 and each acknowledgement sends one NRS-sized and one event-sized
// record from a pool of workers, as the service does after answering. Its
// rate over the limit's is the most any service could reach on this
// machine with this load; the gap between it and the service is the
// service's own work.
type floor struct {
	srv     *http.Server
	url     string
	body    []byte
	records []chan string // one queue per receiver
	wg      sync.WaitGroup
	next    atomic.Uint64
}

// startFloor serves on a loopback port. nrs and events are nil with
// delivery off; nrsSize and eventSize are the record sizes to send.
func startFloor(reportSize int, nrs, events *Receiver, nrsSize, eventSize int) (*floor, error) {
	pad := max(reportSize-100, 0)
	f := &floor{body: fmt.Appendf(nil, `{"reportId":"r","correlationId":"c","pad":"%s"}`, strings.Repeat("x", pad))}
	if nrs != nil {
		f.deliver(nrs.URL+"/submission", nrsSize)
		f.deliver(events.URL+"/events", eventSize)
	}
	var err error
	if f.srv, f.url, err = serveLoopback(http.HandlerFunc(f.serve)); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// deliver starts workers that post a record of size bytes to url for each
// key queued.
func (f *floor) deliver(url string, size int) {
	q := make(chan string, 1<<16)
	f.records = append(f.records, q)
	c := delivery.NewHTTPClient(floorWorkers, 30*time.Second)
	body := bytes.Repeat([]byte("x"), size)
	for range floorWorkers {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for key := range q {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(delivery.IdempotencyHeader, key)
				if resp, err := c.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
}

func (f *floor) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, hmrc.PathPrefix+"/reports/")
	switch {
	case strings.HasPrefix(p, "acknowledge/"):
		f.record()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasSuffix(p, "/"+floorNone):
		w.WriteHeader(http.StatusNoContent)
	default:
		f.record()
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.body)
	}
}

// record queues one record for each receiver.
func (f *floor) record() {
	key := strconv.FormatUint(f.next.Add(1), 10)
	for _, q := range f.records {
		q <- key
	}
}

// close stops serving and waits until every queued record is sent.
func (f *floor) close() {
	if f.srv != nil {
		f.srv.Close()
	}
	for _, q := range f.records {
		close(q)
	}
	f.wg.Wait()
}

// floorNone is the calculation the floor answers 204 for.
const floorNone = "none"

// floorTargets mirror the service's targets: calculations in the same
// order, the one giving no report answered 204.
func floorTargets(targets []target, none map[string]bool) []target {
	out := make([]target, len(targets))
	for i, t := range targets {
		out[i] = target{token: "floor", nino: "AA000000A", taxYear: t.taxYear, calcID: "c" + strconv.Itoa(i)}
		if none[t.calcID] {
			out[i].calcID = floorNone
		}
	}
	return out
}
