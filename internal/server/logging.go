package server

import (
	"context"
	"log/slog"
)

// contextHandler adds the request's X-CorrelationId, as correlation_id, to
// every record logged with a request's context.
type contextHandler struct{ slog.Handler }

// NewLogHandler wraps h so that records logged with a request's context
// carry its correlation id. Wrapping twice has no further effect.
func NewLogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(contextHandler); ok {
		return h
	}
	return contextHandler{h}
}

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("correlation_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(as)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
