package tracing_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/open-assist/assist/internal/tracing"
	"github.com/open-assist/assist/internal/tracing/tracingtest"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestEnabled(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"nothing set", nil, false},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{"SDK disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "TRUE"}, false},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{"only other settings", map[string]string{"OTEL_SERVICE_NAME": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, false},
	} {
		if got := tracing.Enabled(env(tc.env)); got != tc.want {
			t.Errorf("%s: Enabled() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestNewWithoutEndpoint: with no endpoint there is no exporter, only a
// no-op provider, and nothing to flush.
func TestNewWithoutEndpoint(t *testing.T) {
	t.Parallel()
	tp, shutdown, err := tracing.New(t.Context(), env(nil), "v1.0.0")
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	if _, ok := tp.(noop.TracerProvider); !ok {
		t.Errorf("New() without an endpoint = %T, want a no-op provider", tp)
	}
	if err := shutdown(t.Context()); err != nil {
		t.Errorf("shutdown() = %v", err)
	}
}

// TestNewRefuses: settings that would lose every span are refused at start.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	for _, kv := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
		{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
		{"OTEL_TRACES_EXPORTER": "zipkin"},
	} {
		kv["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:1"
		if _, _, err := tracing.New(t.Context(), env(kv), "v1.0.0"); err == nil {
			t.Errorf("New(%v) = nil error, want a refusal", kv)
		}
	}
}

// TestNewExportsOverOTLPHTTP: with OTEL_EXPORTER_OTLP_ENDPOINT set, a span
// reaches the collector as OTLP/HTTP protobuf, with the service's name and
// version, by the time shutdown has flushed. Not parallel: the exporter
// reads the process environment.
func TestNewExportsOverOTLPHTTP(t *testing.T) {
	collector := tracingtest.NewCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)

	tp, shutdown, err := tracing.New(t.Context(), os.Getenv, "v1.2.3")
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	_, span := tp.Tracer(tracing.Scope).Start(t.Context(), "probe")
	span.End()
	if err := shutdown(t.Context()); err != nil {
		t.Fatalf("shutdown() = %v", err)
	}

	got := collector.Spans()
	if len(got) != 1 || got[0].Name != "probe" {
		t.Fatalf("the collector got spans %+v, want one named probe", got)
	}
	if res := got[0].Resource; res["service.name"] != "assist" || res["service.version"] != "v1.2.3" {
		t.Errorf("resource service.name %q, service.version %q; want assist, v1.2.3", res["service.name"], res["service.version"])
	}
}

// TestStart: without a tracer, Start joins ctx's trace through its span's
// provider, and records the error it ends with; with no span in ctx it
// records nothing.
func TestStart(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, parent := tp.Tracer("test").Start(t.Context(), "parent")

	failing := func(ctx context.Context) (err error) {
		_, end := tracing.Start(ctx, nil, "child")
		defer end(&err)
		return errors.New("store down")
	}
	if err := failing(ctx); err == nil {
		t.Fatal("failing() = nil")
	}
	parent.End()

	var child sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "child" {
			child = s
		}
	}
	switch {
	case child == nil:
		t.Fatal("no span named child")
	case child.Parent().SpanID() != parent.SpanContext().SpanID():
		t.Errorf("child's parent = %s, want %s", child.Parent().SpanID(), parent.SpanContext().SpanID())
	case child.Status().Code != codes.Error || child.Status().Description != "store down":
		t.Errorf("child's status = %+v, want the error", child.Status())
	case child.InstrumentationScope().Name != tracing.Scope:
		t.Errorf("child's scope = %q, want %q", child.InstrumentationScope().Name, tracing.Scope)
	}

	untraced, end := tracing.Start(context.Background(), nil, "alone")
	if trace.SpanFromContext(untraced).IsRecording() {
		t.Error("a span started with no tracer and no trace records")
	}
	end(nil)
}
