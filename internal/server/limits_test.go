package server_test

import (
	"net/http"
	"testing"
)

// TestHygieneHeaders: every kind of answer, 204s and errors included, is
// marked not to be cached or sniffed (harness.do checks the headers on every
// response of every test; this test makes sure each status is seen).
func TestHygieneHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	user := h.newIndividual(`{}`)
	tests := []struct {
		name, method, path string
		header             http.Header
		want               int
	}{
		{"ok", "GET", "/api/definition", nil, 200},
		{"ping", "GET", "/ping/ping", nil, 200},
		{"no_content", "POST", produce(user.NINO, "2025-26", noMessagesID), api(user.AccessToken), 204},
		{"bad_request", "POST", produce("bad", "2025-26", noMessagesID), api(user.AccessToken), 400},
		{"unauthorised", "POST", produce(user.NINO, "2025-26", noMessagesID), headers("Accept", v1), 401},
		{"not_found", "GET", "/nowhere", nil, 404},
		{"method_not_allowed", "DELETE", "/api/definition", nil, 405},
		{"not_acceptable", "POST", produce(user.NINO, "2025-26", noMessagesID), nil, 406},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.do(tc.method, tc.path, tc.header, ""); got.status != tc.want {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, got.status, tc.want)
			}
		})
	}
}
