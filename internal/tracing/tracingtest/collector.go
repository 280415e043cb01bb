// Package tracingtest is an OpenTelemetry collector for tests: it receives
// spans over OTLP/HTTP, as a real collector's port 4318 does.
package tracingtest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is a span the collector received.
type Span struct {
	Name string
	// Resource holds the string attributes of the span's resource
	// (service.name, service.version...).
	Resource map[string]string
	// Attributes holds the span's own string and integer attributes, as
	// text.
	Attributes map[string]string
}

// Collector takes OTLP/HTTP protobuf export requests at /v1/traces.
type Collector struct {
	// URL is what OTEL_EXPORTER_OTLP_ENDPOINT should be.
	URL string

	mu    sync.Mutex
	spans []Span
}

// NewCollector starts a collector that stops when the test ends. A request
// that is not an export of protobuf spans fails the test.
func NewCollector(tb testing.TB) *Collector {
	tb.Helper()
	c := &Collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			tb.Errorf("collector got %s %s (%s), want POST /v1/traces of protobuf", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "not an OTLP/HTTP protobuf export", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			tb.Errorf("collector: %v", err)
			return
		}
		req := &collectortrace.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil {
			tb.Errorf("collector: decode export request: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.add(req)
		resp, err := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		if err != nil {
			tb.Errorf("collector: %v", err)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(resp)
	}))
	tb.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

func (c *Collector) add(req *collectortrace.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		res := map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			res[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				attrs := map[string]string{}
				for _, kv := range s.GetAttributes() {
					switch v := kv.GetValue().GetValue().(type) {
					case *commonv1.AnyValue_StringValue:
						attrs[kv.GetKey()] = v.StringValue
					case *commonv1.AnyValue_IntValue:
						attrs[kv.GetKey()] = strconv.FormatInt(v.IntValue, 10)
					}
				}
				c.spans = append(c.spans, Span{Name: s.GetName(), Resource: res, Attributes: attrs})
			}
		}
	}
}

// Spans returns the spans received so far.
func (c *Collector) Spans() []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Span(nil), c.spans...)
}
