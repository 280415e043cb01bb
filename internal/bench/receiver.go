package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/open-assist/assist/internal/delivery"
)

// maxKeys bounds the keys a receiver remembers, so that a run far longer
// than planned cannot take all memory.
const maxKeys = 10_000_000

// Receiver stands in for the non-repudiation store or the events endpoint:
// it answers 202 at once and counts the distinct records it was sent, by
// Idempotency-Key, as a real receiver would drop repeats.
type Receiver struct {
	URL  string
	srv  *http.Server
	mu   sync.Mutex
	keys map[string]struct{}
	size int64         // bytes of the new records' bodies
	last time.Time     // when the last new record came
	news chan struct{} // a token whenever a new record comes
}

// NewReceiver starts a receiver on a loopback port.
func NewReceiver() (*Receiver, error) {
	r := &Receiver{keys: map[string]struct{}{}, news: make(chan struct{}, 1)}
	var err error
	if r.srv, r.URL, err = serveLoopback(http.HandlerFunc(r.serve)); err != nil {
		return nil, err
	}
	return r, nil
}

// serveLoopback serves h on a loopback port of its own and returns the
// server and its base URL.
func serveLoopback(h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String(), nil
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	n, _ := io.Copy(io.Discard, http.MaxBytesReader(w, req.Body, 16<<20))
	key := req.Header.Get(delivery.IdempotencyHeader)
	if key == "" {
		http.Error(w, "no Idempotency-Key", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	if _, seen := r.keys[key]; !seen && len(r.keys) < maxKeys {
		r.keys[key] = struct{}{}
		r.size += n
		r.last = time.Now()
		select {
		case r.news <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// Count returns the distinct records received and when the last one came.
func (r *Receiver) Count() (int, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.keys), r.last
}

// MeanSize is the mean body size of the distinct records received.
func (r *Receiver) MeanSize() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.keys) == 0 {
		return 0
	}
	return int(r.size / int64(len(r.keys)))
}

// AwaitCount waits until the receiver has at least n records or ctx ends,
// and returns the count and when the last record came.
func (r *Receiver) AwaitCount(ctx context.Context, n int) (int, time.Time) {
	for {
		got, last := r.Count()
		if got >= n {
			return got, last
		}
		select {
		case <-ctx.Done():
			return got, last
		case <-r.news:
		}
	}
}

// Close stops the receiver.
func (r *Receiver) Close() error { return r.srv.Close() }
