package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r as a table, one line per endpoint and phase.
func WriteText(w io.Writer, r *Result) error {
	delivery := "delivery off"
	if r.Delivery {
		delivery = "delivery on"
	}
	fmt.Fprintf(w, "assist bench: %s, %s, %d clients, %gs (after %gs warm-up), %d stored reports, %d CPUs\n\n",
		r.Store, delivery, r.Clients, r.DurationSec, r.WarmupSec, r.Stored, r.CPUs)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\tload\treq/s\tof limit\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\t")
	for _, ep := range r.Endpoints {
		for _, ph := range []struct {
			name   string
			s      Stats
			ratio  string
			missed int
		}{
			{"saturation", ep.Saturation, fmt.Sprintf("%.1f%%", ep.Ratio*100), 0},
			{"half", ep.HalfLoad, "", ep.HalfMissed},
		} {
			errs := errorText(ph.s.Errors)
			if ph.missed > 0 {
				errs += fmt.Sprintf(" (%d not started)", ph.missed)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n",
				ep.Name, ph.name, ph.s.Rate, ph.ratio, ph.s.P50, ph.s.P90, ph.s.P99, ph.s.Max, errs)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nlimit: a bare net/http handler answering %d bytes, driven the same way\n", r.LimitBodyBytes)
	fmt.Fprintln(w, "floor: the same journeys against a server that only answers and sends the records: the most any service could reach here")
	fmt.Fprintf(w, "peak RSS of the service: %.1f MiB\n", float64(r.PeakRSSBytes)/(1<<20))
	switch d := r.Drain; {
	case d == nil:
		fmt.Fprintln(w, "records: delivery off")
	case d.Complete:
		fmt.Fprintf(w, "records: all %d NRS records and %d events delivered %.2f s after load stopped\n", d.Expected, d.Expected, d.Seconds)
	default:
		_, err := fmt.Fprintf(w, "records: NOT ALL DELIVERED after %.0f s: %d of %d NRS records, %d of %d events\n",
			d.Seconds, d.NRS, d.Expected, d.Events, d.Expected)
		return err
	}
	return nil
}

// errorText is "none", or "503×12 0×1".
func errorText(errs map[string]int) string {
	if len(errs) == 0 {
		return "none"
	}
	var parts []string
	for _, st := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s×%d", st, errs[st]))
	}
	return strings.Join(parts, " ")
}
