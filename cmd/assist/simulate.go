package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/simulate"
)

const simulateSynopsis = "rules simulate [--rules DIR] [--against DIR] [--json] PATH..."

// runSimulate is `assist rules simulate`: the catalogue's hit rate per rule
// over a folder of calculations and, with --against, what changes from
// another catalogue, so that a rule change can be judged before it ships.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const prefix = "assist rules simulate"
	fl := config.NewFlagSet("rules simulate", simulateSynopsis)
	dir := fl.String("rules", "", "catalogue under test (default: the built-in one)")
	against := fl.String("against", "", "baseline catalogue to compare with, such as main's rules/ folder")
	asJSON := fl.Bool("json", false, "write the report as JSON")
	maxBytes := fl.Int("max-calculation-bytes", simulate.DefaultMaxBytes, "largest calculation read; larger files are counted unreadable")
	if err := config.Parse(fl, args, stdout, stderr); err != nil {
		return parseExit(err, stderr, prefix)
	}
	if fl.NArg() == 0 {
		fmt.Fprintf(stderr, "usage: assist %s\n%s: give at least one calculation file or folder\n", simulateSynopsis, prefix)
		return exitUsage
	}
	if *maxBytes <= 0 {
		fmt.Fprintf(stderr, "%s: --max-calculation-bytes must be positive\n", prefix)
		return exitUsage
	}
	cat, err := loadCatalogue(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: --rules: %v\n", prefix, err)
		return exitUsage
	}
	opts := simulate.Options{Catalogue: cat, Paths: fl.Args(), MaxBytes: *maxBytes}
	if *against != "" {
		if opts.Against, err = loadCatalogue(*against); err != nil {
			fmt.Fprintf(stderr, "%s: --against: %v\n", prefix, err)
			return exitUsage
		}
	}
	var bar *progressBar
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		bar = &progressBar{w: f}
		opts.Progress = bar.update
	}
	rep, err := simulate.Run(ctx, opts)
	if bar != nil {
		bar.clear()
	}
	switch {
	case errors.Is(err, simulate.ErrPath):
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return exitUsage
	case errors.Is(err, simulate.ErrNoCalculations):
		fmt.Fprintf(stderr, "%s: %v in %s\n", prefix, err, strings.Join(fl.Args(), ", "))
		return exitFail
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return exitFail
	}
	if rep.Calculations == 0 {
		fmt.Fprintf(stderr, "%s: none of the %d files could be read as a calculation:\n", prefix, rep.Files)
		writeUnreadable(stderr, rep)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(rep)
	} else {
		err = writeSimulation(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return exitFail
	}
	return exitOK
}

// writeSimulation prints the report for people: a header, one row per rule
// (those that never fire too: a rule that never fires matters), then the
// sample files of each rule whose hits changed and the unreadable files.
func writeSimulation(w io.Writer, rep *simulate.Report) error {
	compared := rep.BaselineRuleSetVersion != ""
	fmt.Fprintf(w, "%d calculations, %d unreadable; rules %s", rep.Calculations, rep.Unreadable, rep.RuleSetVersion)
	if compared {
		fmt.Fprintf(w, " against %s", rep.BaselineRuleSetVersion)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if compared {
		fmt.Fprintln(tw, "RULE\tSEVERITY\tHITS\tHIT RATE\tBASELINE\tGAINED\tLOST\tERRORS\tSTATUS")
	} else {
		fmt.Fprintln(tw, "RULE\tSEVERITY\tHITS\tHIT RATE\tERRORS")
	}
	for _, r := range rep.Rules {
		rate := fmt.Sprintf("%.1f%%", 100*r.HitRate)
		if compared {
			errs := fmt.Sprint(r.Errors)
			if r.BaselineErrors != r.Errors {
				errs = fmt.Sprintf("%d (was %d)", r.Errors, r.BaselineErrors)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t+%d\t-%d\t%s\t%s\n", r.ID, r.Severity, r.Hits, rate, r.BaselineHits, r.Gained, r.Lost, errs, r.Status)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\n", r.ID, r.Severity, r.Hits, rate, r.Errors)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if compared {
		changed := 0
		for _, r := range rep.Rules {
			if !r.Changed() {
				continue
			}
			if changed == 0 {
				fmt.Fprintln(w)
			}
			changed++
			fmt.Fprintf(w, "%s (%s rule): hits %d, baseline %d, +%d -%d\n", r.ID, r.Status, r.Hits, r.BaselineHits, r.Gained, r.Lost)
			writeSample(w, "+", r.SampleGained, r.Gained)
			writeSample(w, "-", r.SampleLost, r.Lost)
		}
		if changed == 0 {
			fmt.Fprintln(w, "\nNo rule fires on a different calculation than in the baseline.")
		}
	}
	if rep.Unreadable > 0 {
		fmt.Fprintf(w, "\n%d unreadable files:\n", rep.Unreadable)
		writeUnreadable(w, rep)
	}
	return nil
}

func writeSample(w io.Writer, sign string, sample []string, n int) {
	for _, f := range sample {
		fmt.Fprintf(w, "  %s %s\n", sign, f)
	}
	if more := n - len(sample); more > 0 {
		fmt.Fprintf(w, "  %s ... and %d more\n", sign, more)
	}
}

func writeUnreadable(w io.Writer, rep *simulate.Report) {
	for _, u := range rep.UnreadableFiles {
		fmt.Fprintf(w, "  %s: %s\n", u.File, u.Error)
	}
	if more := rep.Unreadable - len(rep.UnreadableFiles); more > 0 {
		fmt.Fprintf(w, "  ... and %d more\n", more)
	}
}

// isTerminal reports whether f is a terminal (a character device): the
// progress bar is drawn only there, never into a pipe, a file or CI's log.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar redraws one line, at most ten times a second.
type progressBar struct {
	w     io.Writer
	last  time.Time
	drawn bool
	width int // of the last line drawn
}

func (b *progressBar) update(done, total int) {
	now := time.Now()
	if done != total && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	line := progressLine(done, total, 30)
	fmt.Fprintf(b.w, "\r%s", line)
	b.drawn, b.width = true, len(line)
}

// clear rubs the bar out, so that what follows starts on a clean line.
func (b *progressBar) clear() {
	if b.drawn {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", b.width))
	}
}

// progressLine is the bar as drawn: [#####.....] 512/1000.
func progressLine(done, total, width int) string {
	filled := width
	if total > 0 {
		filled = min(width, max(0, done*width/total))
	}
	return fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
}
