package bench

import (
	"context"
	"sync"
	"time"
)

// Journey is one unit of work a client does (for the service: produce a
// report, then acknowledge it), recording each request in rec.
type Journey func(ctx context.Context, rec *Recorder)

// Phase is what a load phase recorded.
type Phase struct {
	Rec     *Recorder
	Elapsed time.Duration // from the first journey's start to the last one's end
	// Missed counts the journeys an open-loop phase should have started but
	// could not, every client being busy: the target rate was not held.
	Missed int
}

// Closed runs clients clients, each starting its next journey as soon as
// the last one ends, until d has passed: the most the target gives.
func Closed(ctx context.Context, clients int, d time.Duration, j Journey) *Phase {
	start := time.Now()
	phase, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := time.AfterFunc(d, cancel)
	defer stop.Stop()
	recs := make([]*Recorder, clients)
	var wg sync.WaitGroup
	for i := range recs {
		recs[i] = NewRecorder()
		wg.Go(func() {
			for phase.Err() == nil {
				// A journey under way when time is up finishes, so that
				// every report produced is acknowledged; only ctx ends it.
				j(ctx, recs[i])
			}
		})
	}
	wg.Wait()
	return &Phase{Rec: merge(recs), Elapsed: time.Since(start)}
}

// Open starts journeys at rate a second, whatever how long they take, for
// d, with at most clients under way at once: latency under a steady load
// rather than at saturation.
func Open(ctx context.Context, rate float64, clients int, d time.Duration, j Journey) *Phase {
	p := &Phase{}
	if rate <= 0 || clients < 1 {
		p.Rec = NewRecorder()
		return p
	}
	// The free clients, each with its recorder: taking one is the bound.
	free := make(chan *Recorder, clients)
	recs := make([]*Recorder, clients)
	for i := range recs {
		recs[i] = NewRecorder()
		free <- recs[i]
	}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	for next := start; next.Sub(start) < d; next = next.Add(interval) {
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			wg.Wait()
			p.Rec, p.Elapsed = merge(recs), time.Since(start)
			return p
		case <-timer.C:
		}
		select {
		case rec := <-free:
			wg.Go(func() {
				j(ctx, rec)
				free <- rec
			})
		default:
			p.Missed++
		}
	}
	wg.Wait()
	p.Rec, p.Elapsed = merge(recs), time.Since(start)
	return p
}

func merge(recs []*Recorder) *Recorder {
	all := NewRecorder()
	for _, r := range recs {
		all.Merge(r)
	}
	return all
}
