// Package tracing builds the OpenTelemetry tracer provider the service's
// spans go to, from the standard OTEL_* environment variables, and starts
// the spans of code that is not handed a tracer.
//
// Tracing is off unless an OTLP endpoint is configured: the provider is
// then a no-op one, and a span costs a call that does nothing. Spans are
// exported with OTLP over HTTP/protobuf only; gRPC would add the gRPC
// stack to a binary that otherwise does not need it.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Scope is the instrumentation scope of the service's own spans.
const Scope = "github.com/open-assist/assist"

// ServiceName is the service.name of the spans, unless OTEL_SERVICE_NAME
// or OTEL_RESOURCE_ATTRIBUTES says otherwise.
const ServiceName = "assist"

// Enabled tells whether the environment asks for traces: an OTLP endpoint
// is set (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
// and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none turns
// them off.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// New returns the provider of the service's tracers and a function that
// flushes the spans not yet exported and stops the provider; call it once,
// on the way out, with a context that bounds the wait.
//
// When Enabled(getenv) is false the provider is a no-op one and nothing is
// exported. Otherwise spans go through a batch span processor to an OTLP
// HTTP/protobuf exporter, which, as the OpenTelemetry SDK does, reads its
// settings (endpoint, headers, timeout, TLS, compression; OTEL_BSP_* and
// OTEL_TRACES_SAMPLER* for the processor and the sampler) from the process
// environment. version is the service.version of the spans.
func New(ctx context.Context, getenv func(string) string, version string) (trace.TracerProvider, func(context.Context) error, error) {
	if !Enabled(getenv) {
		return noop.NewTracerProvider(), func(context.Context) error { return nil }, nil
	}
	if exp := getenv("OTEL_TRACES_EXPORTER"); exp != "" && exp != "otlp" {
		return nil, nil, fmt.Errorf("tracing: OTEL_TRACES_EXPORTER=%q: only otlp (or none) is supported", exp)
	}
	// A collector's gRPC port would not understand HTTP: refuse rather
	// than lose every span.
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if protocol != "" && protocol != "http/protobuf" {
		return nil, nil, fmt.Errorf("tracing: OTLP protocol %q: only http/protobuf is supported", protocol)
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	// The environment's resource attributes come last so that an operator
	// can rename the service.
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(ServiceName), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("tracing: resource: %w", err), exp.Shutdown(ctx))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	shutdown := func(ctx context.Context) error {
		if err := tp.Shutdown(ctx); err != nil {
			return fmt.Errorf("tracing: flush spans: %w", err)
		}
		return nil
	}
	return tp, shutdown, nil
}

// Start starts a span named name, a child of ctx's span, and returns the
// context that carries it and the function that ends it, recording *errp
// when it points to an error:
//
//	ctx, end := tracing.Start(ctx, nil, "store.create_report")
//	defer end(&err)
//
// A nil tracer is one of the provider of ctx's span, so code under a
// request (the store, the engine) joins the request's trace without being
// handed a provider, and costs nothing when the request is not traced.
// Code that starts traces of its own (deliveries) needs a tracer.
func Start(ctx context.Context, tracer trace.Tracer, name string, attrs ...attribute.KeyValue) (context.Context, func(errp *error)) {
	if tracer == nil {
		tracer = trace.SpanFromContext(ctx).TracerProvider().Tracer(Scope)
	}
	ctx, span := tracer.Start(ctx, name, trace.WithAttributes(attrs...))
	return ctx, func(errp *error) {
		if errp != nil && *errp != nil {
			span.RecordError(*errp)
			span.SetStatus(codes.Error, (*errp).Error())
		}
		span.End()
	}
}
