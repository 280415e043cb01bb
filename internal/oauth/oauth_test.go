package oauth

import (
	"slices"
	"strings"
	"testing"
)

func TestCheckRedirectURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri string
		ok  bool
	}{
		{uri: "https://app.example/cb", ok: true},
		{uri: "https://app.example:8443/cb?x=1", ok: true},
		{uri: "http://localhost:9004/callback", ok: true},
		{uri: "http://127.0.0.1/cb", ok: true},
		{uri: "http://[::1]:80/cb", ok: true},
		{uri: "http://app.example/cb", ok: false},
		{uri: "http://localhost.evil.example/cb", ok: false},
		{uri: "https://app.example/cb#frag", ok: false},
		{uri: "https://app.example/cb#", ok: false},
		{uri: "https://user@app.example/cb", ok: false},
		{uri: "javascript:alert(1)", ok: false},
		{uri: "data:text/html,x", ok: false},
		{uri: "myapp://callback", ok: false},
		{uri: "//app.example/cb", ok: false},
		{uri: "/cb", ok: false},
		{uri: "", ok: false},
		{uri: "https://app.example/" + strings.Repeat("x", maxURILen), ok: false},
	}
	for _, tc := range tests {
		if err := checkRedirectURI(tc.uri); (err == nil) != tc.ok {
			t.Errorf("checkRedirectURI(%q) = %v, want ok %v", truncate(tc.uri, 60), err, tc.ok)
		}
	}
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		want    []string
		errCode string
	}{
		{raw: "", want: defaultScopes},
		{raw: "  ", want: defaultScopes},
		{raw: "read:self-assessment-assist", want: []string{"read:self-assessment-assist"}},
		{raw: "read:self-assessment read:self-assessment write:self-assessment-assist", want: []string{"read:self-assessment", "write:self-assessment-assist"}},
		{raw: "read:self-assessment-assist admin", errCode: ErrInvalidScope},
		{raw: strings.Repeat("a ", maxScopeLen), errCode: ErrInvalidScope},
	}
	for _, tc := range tests {
		got, err := parseScope(tc.raw)
		if tc.errCode != "" {
			if err == nil || err.Code != tc.errCode {
				t.Errorf("parseScope(%q) = %v, %v; want %s", truncate(tc.raw, 40), got, err, tc.errCode)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseScope(%q) = %v, %v; want %v", tc.raw, got, err, tc.want)
		}
	}
}

func TestWithQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri  string
		kv   []string
		want string
	}{
		{uri: "https://a.example/cb", kv: []string{"code", "C", "state", "s t"}, want: "https://a.example/cb?code=C&state=s+t"},
		{uri: "https://a.example/cb?keep=1", kv: []string{"code", "C", "state", ""}, want: "https://a.example/cb?code=C&keep=1"},
		// A registered URI's own parameter cannot be replaced by an empty one.
		{uri: "https://a.example/cb?state=fixed", kv: []string{"error", "access_denied", "state", ""}, want: "https://a.example/cb?error=access_denied&state=fixed"},
	}
	for _, tc := range tests {
		if got := withQuery(tc.uri, tc.kv...); got != tc.want {
			t.Errorf("withQuery(%q, %v) = %q, want %q", tc.uri, tc.kv, got, tc.want)
		}
	}
}

func TestHashAndCompare(t *testing.T) {
	t.Parallel()
	h := hash("secret")
	if len(h) != 64 || strings.Contains(h, "secret") {
		t.Errorf("hash(secret) = %q, want 64 hex characters", h)
	}
	if !sameHash("secret", h) || sameHash("Secret", h) || sameHash("", h) {
		t.Errorf("sameHash does not tell the secret from others")
	}
	if d := randomDigits(12); len(d) != 12 || strings.Trim(d, "0123456789") != "" || d[0] == '0' {
		t.Errorf("randomDigits(12) = %q", d)
	}
}

func TestPages(t *testing.T) {
	t.Parallel()
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	// The application's name is the developer's text: it must be escaped.
	err = pages.ExecuteTemplate(&b, "grant", pageData{AppName: `<script>alert(1)</script>`, CSRF: `"><x`, UserID: "1",
		Scopes: []scopeView{{Name: "read:self-assessment-assist", Description: scopeDescriptions["read:self-assessment-assist"]}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") || strings.Contains(b.String(), `"><x`) {
		t.Errorf("grant page does not escape its data:\n%s", b.String())
	}
}
