package bench

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// Recorder collects the requests of one client. Each client has its own,
// so recording takes no lock; Merge combines them when a phase ends.
type Recorder struct {
	samples map[string]*sample
}

type sample struct {
	latencies []time.Duration
	errors    map[int]int // status (0: no answer) → requests that failed with it
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{samples: map[string]*sample{}} }

// Add records one request to endpoint: its status (0 when no answer came),
// how long it took, and whether the status is one the endpoint should give.
func (r *Recorder) Add(endpoint string, status int, d time.Duration, ok bool) {
	s := r.samples[endpoint]
	if s == nil {
		s = &sample{errors: map[int]int{}}
		r.samples[endpoint] = s
	}
	s.latencies = append(s.latencies, d)
	if !ok {
		s.errors[status]++
	}
}

// Merge adds what o recorded to r.
func (r *Recorder) Merge(o *Recorder) {
	for ep, os := range o.samples {
		s := r.samples[ep]
		if s == nil {
			s = &sample{errors: map[int]int{}}
			r.samples[ep] = s
		}
		s.latencies = append(s.latencies, os.latencies...)
		for st, n := range os.errors {
			s.errors[st] += n
		}
	}
}

// Stats summarises the requests to one endpoint over one phase.
type Stats struct {
	Requests int     `json:"requests"`
	Rate     float64 `json:"requestsPerSecond"`
	P50      float64 `json:"p50Ms"`
	P90      float64 `json:"p90Ms"`
	P99      float64 `json:"p99Ms"`
	Max      float64 `json:"maxMs"`
	// Errors counts the requests that got another status than the
	// endpoint's own, by status ("0": no answer: refused, reset, timed out).
	Errors map[string]int `json:"errors"`
}

// Stats summarises what was recorded for endpoint over elapsed.
func (r *Recorder) Stats(endpoint string, elapsed time.Duration) Stats {
	st := Stats{Errors: map[string]int{}}
	s := r.samples[endpoint]
	if s == nil {
		return st
	}
	lat := slices.Clone(s.latencies)
	slices.Sort(lat)
	st.Requests = len(lat)
	if elapsed > 0 {
		st.Rate = float64(len(lat)) / elapsed.Seconds()
	}
	st.P50, st.P90, st.P99 = ms(percentile(lat, 50)), ms(percentile(lat, 90)), ms(percentile(lat, 99))
	if len(lat) > 0 {
		st.Max = ms(lat[len(lat)-1])
	}
	for status, n := range s.errors {
		st.Errors[strconv.Itoa(status)] = n
	}
	return st
}

// percentile returns the nearest-rank p-th percentile of sorted: the
// smallest value that at least p% of the values do not exceed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
