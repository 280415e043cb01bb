// Package logging builds the service's slog handlers: text for a person at a
// terminal, JSON for a log collector, and durations always as milliseconds
// (a number under a key ending in _ms), which log queries can compare and sum
// where Go's "1.5s" strings and JSON's bare nanoseconds cannot be read.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// Formats of NewHandler.
const (
	Text = "text"
	JSON = "json"
	// Auto is Text when w is a terminal, JSON otherwise.
	Auto = ""
)

// NewHandler returns a handler writing to w in format at level, with every
// duration attribute written in milliseconds.
func NewHandler(w io.Writer, level slog.Leveler, format string) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if format == Auto {
		format = JSON
		if IsTerminal(w) {
			format = Text
		}
	}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if format == Text {
		h = slog.NewTextHandler(w, opts)
	}
	return millis{h}
}

// IsTerminal reports whether w is a character device such as a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Duration is a duration attribute in milliseconds: key_ms, to the
// microsecond.
func Duration(key string, d time.Duration) slog.Attr {
	if !strings.HasSuffix(key, "_ms") {
		key += "_ms"
	}
	return slog.Float64(key, float64(d.Microseconds())/1000)
}

// millis rewrites the duration attributes of code that does not use
// Duration (the job queue's own logs) in milliseconds.
type millis struct{ slog.Handler }

func (m millis) Handle(ctx context.Context, r slog.Record) error {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = hasDuration(a)
		return !found
	})
	if !found {
		return m.Handler.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(convert(a))
		return true
	})
	return m.Handler.Handle(ctx, out)
}

func (m millis) WithAttrs(as []slog.Attr) slog.Handler {
	conv := make([]slog.Attr, len(as))
	for i, a := range as {
		conv[i] = convert(a)
	}
	return millis{m.Handler.WithAttrs(conv)}
}

func (m millis) WithGroup(name string) slog.Handler { return millis{m.Handler.WithGroup(name)} }

func hasDuration(a slog.Attr) bool {
	switch a.Value.Kind() {
	case slog.KindDuration:
		return true
	case slog.KindGroup:
		for _, g := range a.Value.Group() {
			if hasDuration(g) {
				return true
			}
		}
	}
	return false
}

func convert(a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindDuration:
		return Duration(a.Key, a.Value.Duration())
	case slog.KindGroup:
		g := a.Value.Group()
		conv := make([]any, len(g))
		for i, x := range g {
			conv[i] = convert(x)
		}
		return slog.Group(a.Key, conv...)
	}
	return a
}
