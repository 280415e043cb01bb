package fraud

import "time"

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
