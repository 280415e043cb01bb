package fraud

import (
	"net/http"
	"strings"
	"time"
)

// Seen is a request as validation feedback shows it later: the latest one
// each caller made to each endpoint with each connection method.
type Seen struct {
	Owner            string // the application's client id, else the token's subject
	Endpoint         string // which of the API's endpoints, e.g. produce
	ConnectionMethod string // as sent when it is one of Methods, else ""
	Subject          string // the user, to notice a device id change
	Method, Path     string
	ReceivedAt       time.Time
	Headers          map[string]string // lower-case Gov-* name → value as sent
	DeviceID         string            // Gov-Client-Device-ID when a UUID, else ""
}

// GovHeaders are h's Gov-* headers by lower-case name, repeated ones
// joined by commas as HTTP allows.
func GovHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for name, vs := range h {
		if len(name) > 4 && strings.EqualFold(name[:4], "gov-") {
			out[strings.ToLower(name)] = strings.Join(vs, ",")
		}
	}
	return out
}

// HTTPHeader is headers (as GovHeaders gives them) as an http.Header again,
// to validate them later.
func HTTPHeader(headers map[string]string) http.Header {
	h := http.Header{}
	for name, v := range headers {
		h.Set(name, v)
	}
	return h
}
