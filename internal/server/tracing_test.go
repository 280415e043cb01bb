package server_test

import (
	"regexp"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/server"
)

// spanNamed returns the one ended span called name.
func spanNamed(tb testing.TB, spans []sdktrace.ReadOnlySpan, name string) sdktrace.ReadOnlySpan {
	tb.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		names := make([]string, len(spans))
		for i, s := range spans {
			names[i] = s.Name()
		}
		tb.Fatalf("%d spans named %q among %q, want 1", len(found), name, names)
	}
	return found[0]
}

func attr(s sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// TestTracingProduce: a produce is one server span named by its route, in
// the trace of the caller's traceparent, holding the answer's status and
// X-CorrelationId and no NINO; the rule evaluation is a span under it.
func TestTracingProduce(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	h := newHarness(t, harnessOptions{tracing: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))})
	user := h.newIndividual(`{}`)
	data, c := nudges(t)
	if got := h.do("PUT", "/test-support/calculations/"+user.NINO+"/"+c.TaxYear+"/"+c.CalculationID, headers("Content-Type", "application/json"), string(data)); got.status != 204 {
		t.Fatalf("PUT calculation = %d %s", got.status, got.body)
	}
	const (
		traceID    = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan = "00f067aa0ba902b7"
	)
	got := h.do("POST", produce(user.NINO, c.TaxYear, c.CalculationID), api(user.AccessToken, "traceparent", "00-"+traceID+"-"+callerSpan+"-01"), "")
	if got.status != 200 {
		t.Fatalf("produce = %d %s, want 200", got.status, got.body)
	}

	// The client has read the whole response, which net/http finishes
	// after the handler, and so the span, has ended.
	spans := rec.Ended()
	req := spanNamed(t, spans, produceRoute)
	if req.SpanKind() != trace.SpanKindServer {
		t.Errorf("request span kind = %v, want server", req.SpanKind())
	}
	if id := req.SpanContext().TraceID().String(); id != traceID {
		t.Errorf("request span's trace = %s, want the caller's %s", id, traceID)
	}
	if p := req.Parent(); !p.IsRemote() || p.SpanID().String() != callerSpan {
		t.Errorf("request span's parent = %s (remote %v), want the caller's span %s", p.SpanID(), p.IsRemote(), callerSpan)
	}
	for key, want := range map[string]attribute.Value{
		"http.request.method":       attribute.StringValue("POST"),
		"http.route":                attribute.StringValue(produceRoute[len("POST "):]),
		"http.response.status_code": attribute.IntValue(200),
		server.AttrCorrelationID:    attribute.StringValue(got.header.Get(hmrc.HeaderCorrelationID)),
	} {
		if v, ok := attr(req, key); !ok || v != want {
			t.Errorf("request span %s = %v (present %v), want %v", key, v.String(), ok, want.String())
		}
	}
	if v, ok := attr(req, "error.type"); ok {
		t.Errorf("request span of a 200 has error.type %q", v.String())
	}
	nino := regexp.MustCompile(`[A-Z]{2}[0-9]{6}[A-D]`)
	for _, kv := range req.Attributes() {
		if nino.MatchString(kv.Value.String()) {
			t.Errorf("request span attribute %s holds a NINO: %q", kv.Key, kv.Value.String())
		}
	}

	eval := spanNamed(t, spans, "rules.evaluate")
	if eval.Parent().SpanID() != req.SpanContext().SpanID() || eval.SpanContext().TraceID() != req.SpanContext().TraceID() {
		t.Errorf("rules.evaluate's parent = %s, want the request span %s", eval.Parent().SpanID(), req.SpanContext().SpanID())
	}
	if v, ok := attr(eval, "assist.messages"); !ok || v.AsInt64() == 0 {
		t.Errorf("rules.evaluate assist.messages = %v (present %v), want the messages of a calculation that has some", v.String(), ok)
	}
	// Fetching, decoding and storing are children of the request too.
	for _, name := range []string{"calc.fetch", "calc.decode", "store.create_report"} {
		if sp := spanNamed(t, spans, name); sp.Parent().SpanID() != req.SpanContext().SpanID() {
			t.Errorf("%s's parent = %s, want the request span %s", name, sp.Parent().SpanID(), req.SpanContext().SpanID())
		}
	}
}

// TestTracingErrors: an error answer's span holds its HMRC code; only a
// 5xx marks the span an error; a path no route matches is named by its
// method, never by the path.
func TestTracingErrors(t *testing.T) {
	t.Parallel()
	an := blockingAnalyzer{started: make(chan struct{}, 1), release: make(chan struct{}), next: realCatalogue(t)}
	rec := tracetest.NewSpanRecorder()
	h := newHarness(t, harnessOptions{analyzer: an, maxInFlight: 1, queueWait: 1, tracing: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))})
	user := h.newIndividual(`{}`)

	if got := h.do("POST", produce(user.NINO, "2025-26", noMessagesID), api("not-a-token"), ""); got.status != 401 {
		t.Fatalf("produce with a bad token = %d %s, want 401", got.status, got.body)
	}
	if got := h.do("GET", "/nowhere/"+user.NINO, nil, ""); got.status != 404 {
		t.Fatalf("GET an unknown path = %d, want 404", got.status)
	}
	data, c := nudges(t)
	if got := h.do("PUT", "/test-support/calculations/"+user.NINO+"/"+c.TaxYear+"/"+c.CalculationID, headers("Content-Type", "application/json"), string(data)); got.status != 204 {
		t.Fatalf("PUT calculation = %d %s", got.status, got.body)
	}
	// One produce holds the only slot, so the next is refused: 503.
	first := make(chan response, 1)
	go func() {
		first <- h.do("POST", produce(user.NINO, c.TaxYear, c.CalculationID), api(user.AccessToken), "")
	}()
	<-an.started
	if got := h.do("POST", produce(user.NINO, "2025-26", noMessagesID), api(user.AccessToken), ""); got.status != 503 {
		t.Fatalf("produce with no slot free = %d %s, want 503", got.status, got.body)
	}
	close(an.release)
	if r := <-first; r.status != 200 {
		t.Fatalf("the request in flight = %d %s, want 200", r.status, r.body)
	}

	type outcome struct {
		name   string
		status int64
		code   string
		failed bool
	}
	var got []outcome
	for _, s := range rec.Ended() {
		o := outcome{name: s.Name(), failed: s.Status().Code == codes.Error}
		if v, ok := attr(s, "http.response.status_code"); ok {
			o.status = v.AsInt64()
		} else {
			continue // not a request's span
		}
		if v, ok := attr(s, "error.type"); ok {
			o.code = v.AsString()
		}
		got = append(got, o)
	}
	for _, want := range []outcome{
		{produceRoute, 401, string(hmrc.CodeInvalidCredentials), false},
		{"GET", 404, string(hmrc.CodeMatchingResourceNotFound), false},
		{produceRoute, 503, string(hmrc.CodeServiceUnavailable), true},
		{produceRoute, 200, "", false},
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no request span %+v among %+v", want, got)
		}
	}
}
