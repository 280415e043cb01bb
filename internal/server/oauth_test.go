package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/open-assist/assist/internal/hmrc"
)

// oauthApp is a registered application and the local server its redirect
// URI points at, which records what the browser was sent back with.
type oauthApp struct {
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	RedirectURIs []string `json:"redirectUris"`

	mu       sync.Mutex
	callback url.Values
}

func (a *oauthApp) lastCallback() url.Values {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.callback
}

func (h *harness) newApp(name string) *oauthApp {
	h.t.Helper()
	app := &oauthApp{}
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.mu.Lock()
		app.callback = r.URL.Query()
		app.mu.Unlock()
		io.WriteString(w, "back in the application")
	}))
	h.t.Cleanup(cb.Close)
	body, _ := json.Marshal(map[string]any{"name": name, "redirectUris": []string{cb.URL + "/callback?keep=1"}})
	r := h.do("POST", "/test-support/applications", nil, string(body))
	if r.status != http.StatusCreated {
		h.t.Fatalf("register application: %d %s", r.status, r.body)
	}
	r.decode(h.t, app)
	return app
}

// browser is an HTTP client with cookies, as a user's browser.
func browser(tb testing.TB) *http.Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page is an HTML answer.
type page struct {
	status int
	header http.Header
	body   string
	url    *url.URL // where the browser ended up
}

func (p page) csrf(tb testing.TB) string {
	tb.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		tb.Fatalf("no CSRF token in page %d:\n%s", p.status, p.body)
	}
	return m[1]
}

func get(tb testing.TB, c *http.Client, u string) page {
	tb.Helper()
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	return readPage(tb, resp)
}

func postForm(tb testing.TB, c *http.Client, u string, form url.Values) page {
	tb.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		tb.Fatalf("POST %s: %v", u, err)
	}
	return readPage(tb, resp)
}

func readPage(tb testing.TB, resp *http.Response) page {
	tb.Helper()
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(data), url: resp.Request.URL}
}

func (h *harness) authorizeURL(app *oauthApp, redirectURI, scope, state string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {app.ClientID}, "redirect_uri": {redirectURI}, "scope": {scope}, "state": {state}}
	return h.url + "/oauth/authorize?" + q.Encode()
}

// signIn drives a browser through the sign-in page and returns it on the
// grant page.
func (h *harness) signIn(app *oauthApp, userID, password, scope, state string) (*http.Client, page) {
	h.t.Helper()
	c := browser(h.t)
	p := get(h.t, c, h.authorizeURL(app, app.RedirectURIs[0], scope, state))
	if p.status != http.StatusOK || !strings.Contains(p.body, `name="userId"`) || !strings.Contains(p.body, `name="password"`) {
		h.t.Fatalf("authorize = %d, want the sign-in page:\n%s", p.status, p.body)
	}
	p = postForm(h.t, c, h.url+"/oauth/sign-in", url.Values{"csrf": {p.csrf(h.t)}, "userId": {userID}, "password": {password}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Grant authority") {
		h.t.Fatalf("sign in = %d, want the grant page:\n%s", p.status, p.body)
	}
	return c, p
}

// authorize runs the whole browser flow and returns the code the
// application got back.
func (h *harness) authorize(app *oauthApp, userID, password, scope string) string {
	h.t.Helper()
	c, p := h.signIn(app, userID, password, scope, "st-1")
	p = postForm(h.t, c, h.url+"/oauth/grant", url.Values{"csrf": {p.csrf(h.t)}, "decision": {"grant"}})
	cb := app.lastCallback()
	if p.status != http.StatusOK || cb.Get("code") == "" || cb.Get("state") != "st-1" || cb.Get("keep") != "1" {
		h.t.Fatalf("grant ended at %s (%d) with %v, want the redirect URI with a code, the state and its own query", p.url, p.status, cb)
	}
	return cb.Get("code")
}

// tokenAnswer is what POST /oauth/token answered.
type tokenAnswer struct {
	status       int
	header       http.Header
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	Error        string `json:"error"`
}

// token posts form to the token endpoint, with the client's credentials in
// HTTP Basic when basic is set, else in the body.
func (h *harness) token(app *oauthApp, basic bool, form url.Values) tokenAnswer {
	h.t.Helper()
	if !basic {
		form.Set("client_id", app.ClientID)
		form.Set("client_secret", app.ClientSecret)
	}
	req, _ := http.NewRequest("POST", h.url+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(app.ClientID, app.ClientSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := tokenAnswer{status: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		h.t.Fatalf("token answer is not JSON: %v", err)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		h.t.Errorf("token answer Cache-Control = %q, want no-store", cc)
	}
	return a
}

func (a tokenAnswer) want(tb testing.TB, what string, status int, code string) {
	tb.Helper()
	if a.status != status || a.Error != code {
		tb.Errorf("%s = %d %q, want %d %q", what, a.status, a.Error, status, code)
	}
}

const anyCalculation = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"

// TestOAuthAuthorizationCode drives HMRC's sign-in flow as MTD software
// does: authorise in a browser, exchange the code, call the API, refresh.
func TestOAuthAuthorizationCode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	app := h.newApp("My MTD software")
	ind := h.newIndividual(`{}`)
	if ind.UserID == "" || ind.Password == "" {
		t.Fatalf("new individual has no sign-in: %+v", ind)
	}
	scope := hmrc.ScopeRead + " " + hmrc.ScopeWrite

	// The grant page names the application and the scopes, and may not be
	// framed or run anything.
	c, grantPage := h.signIn(app, ind.UserID, ind.Password, scope, "st-1")
	for _, want := range []string{"My MTD software", hmrc.ScopeRead, hmrc.ScopeWrite, ind.UserID} {
		if !strings.Contains(grantPage.body, want) {
			t.Errorf("grant page lacks %q:\n%s", want, grantPage.body)
		}
	}
	if csp := grantPage.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("grant page Content-Security-Policy = %q", csp)
	}
	postForm(t, c, h.url+"/oauth/grant", url.Values{"csrf": {grantPage.csrf(t)}, "decision": {"grant"}})
	code := app.lastCallback().Get("code")

	got := h.token(app, true, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.RedirectURIs[0]}})
	if got.status != http.StatusOK || got.AccessToken == "" || got.RefreshToken == "" || got.TokenType != "bearer" || got.Scope != scope || got.ExpiresIn != 3600 {
		t.Fatalf("exchange code = %+v, want tokens", got)
	}
	if r := h.do("POST", produce(ind.NINO, "2025-26", anyCalculation), api(got.AccessToken), ""); r.status != http.StatusOK {
		t.Errorf("produce with the OAuth token = %d %s, want 200", r.status, r.body)
	}
	h.token(app, true, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.RedirectURIs[0]}}).
		want(t, "reused code", 400, "invalid_grant")

	// Refresh rotates: the new refresh token works, the old one no longer.
	first := got.RefreshToken
	got = h.token(app, false, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first}})
	if got.status != http.StatusOK || got.AccessToken == "" || got.RefreshToken == "" || got.RefreshToken == first {
		t.Fatalf("refresh = %+v, want new tokens", got)
	}
	if r := h.do("POST", produce(ind.NINO, "2025-26", anyCalculation), api(got.AccessToken), ""); r.status != http.StatusOK {
		t.Errorf("produce with the refreshed token = %d %s, want 200", r.status, r.body)
	}
	h.token(app, false, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first}}).want(t, "old refresh token", 400, "invalid_grant")
	// A refresh may narrow the scope; the token then lacks the other.
	narrow := h.token(app, false, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {got.RefreshToken}, "scope": {hmrc.ScopeRead}})
	if narrow.status != http.StatusOK || narrow.Scope != hmrc.ScopeRead {
		t.Fatalf("narrowing refresh = %+v", narrow)
	}
	ack := "/reports/acknowledge/" + ind.NINO + "/3f2c1a0e-9d8b-4c7a-b6e5-d4c3b2a1f0e9/BD5A1B594995A197D528ECCF4BC6EA793C869B2F75333902F043E35561B927C4"
	if r := h.do("POST", ack, api(narrow.AccessToken), ""); r.status != http.StatusUnauthorized || r.codes(t)[0] != "INVALID_SCOPE" {
		t.Errorf("acknowledge with a read-only token = %d %s, want 401 INVALID_SCOPE", r.status, r.body)
	}
	h.token(app, false, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {narrow.RefreshToken}, "scope": {"read:self-assessment"}}).
		want(t, "widening refresh", 400, "invalid_scope")

	// A code is bound to its redirect URI, and burnt by a wrong attempt.
	code = h.authorize(app, ind.UserID, ind.Password, scope)
	h.token(app, true, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1:1/elsewhere"}}).
		want(t, "wrong redirect_uri", 400, "invalid_grant")
	h.token(app, true, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.RedirectURIs[0]}}).
		want(t, "code after a wrong attempt", 400, "invalid_grant")

	// A code is bound to its client.
	other := h.newApp("Someone else's software")
	code = h.authorize(app, ind.UserID, ind.Password, scope)
	h.token(other, true, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.RedirectURIs[0]}}).
		want(t, "another client's code", 400, "invalid_grant")

	// An agent signs in too, and gets an agent's token.
	ag := h.newAgent(`{}`)
	code = h.authorize(app, ag.UserID, ag.Password, hmrc.ScopeRead)
	agTok := h.token(app, true, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.RedirectURIs[0]}})
	if r := h.do("POST", produce(ind.NINO, "2025-26", anyCalculation), api(agTok.AccessToken), ""); r.status != http.StatusForbidden || r.codes(t)[0] != "CLIENT_OR_AGENT_NOT_AUTHORISED" {
		t.Errorf("produce by an agent the client never authorised = %d %s, want 403", r.status, r.body)
	}
	h.do("PUT", "/test-support/agents/"+ag.ARN+"/clients/"+ind.NINO, nil, `{"type":"main"}`)
	if r := h.do("POST", produce(ind.NINO, "2025-26", anyCalculation), api(agTok.AccessToken), ""); r.status != http.StatusOK {
		t.Errorf("produce by the client's agent = %d %s, want 200", r.status, r.body)
	}
}

func TestOAuthBrowserRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	app := h.newApp("App")
	ind := h.newIndividual(`{}`)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// Refusing sends the user back with access_denied and the state.
	c, p := h.signIn(app, ind.UserID, ind.Password, "", "st-9")
	postForm(t, c, h.url+"/oauth/grant", url.Values{"csrf": {p.csrf(t)}, "decision": {"deny"}})
	if cb := app.lastCallback(); cb.Get("error") != "access_denied" || cb.Get("state") != "st-9" || cb.Get("code") != "" {
		t.Errorf("refusal came back with %v, want error=access_denied and the state", cb)
	}

	// An unknown client or an unregistered redirect URI gets an error
	// page, never a redirect.
	for name, u := range map[string]string{
		"unknown_client":      h.url + "/oauth/authorize?response_type=code&client_id=NOPE&redirect_uri=" + url.QueryEscape(app.RedirectURIs[0]),
		"unregistered_uri":    h.authorizeURL(app, "https://evil.example/cb", "", "s"),
		"no_redirect_uri":     h.url + "/oauth/authorize?response_type=code&client_id=" + app.ClientID,
		"uri_with_extra_path": h.authorizeURL(app, app.RedirectURIs[0]+"/x", "", "s"),
	} {
		p := get(t, noRedirect, u)
		if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.body, "Cannot continue") {
			t.Errorf("%s: authorize = %d Location %q, want a 400 error page", name, p.status, p.header.Get("Location"))
		}
	}
	// Other errors go back to the application (RFC 6749 section 4.1.2.1).
	for name, tc := range map[string]struct{ query, code string }{
		"unknown_scope":      {"response_type=code&scope=admin", "invalid_scope"},
		"token_flow":         {"response_type=token", "unsupported_response_type"},
		"no_response_type":   {"", "invalid_request"},
		"repeated_parameter": {"response_type=code&response_type=code", "invalid_request"},
	} {
		u := h.url + "/oauth/authorize?client_id=" + app.ClientID + "&redirect_uri=" + url.QueryEscape(app.RedirectURIs[0]) + "&state=s1&" + tc.query
		p := get(t, noRedirect, u)
		loc, _ := url.Parse(p.header.Get("Location"))
		if p.status != http.StatusFound || loc == nil || loc.Query().Get("error") != tc.code || !strings.HasPrefix(loc.String(), strings.Split(app.RedirectURIs[0], "?")[0]) {
			t.Errorf("%s: authorize = %d Location %q, want a redirect with error=%s", name, p.status, p.header.Get("Location"), tc.code)
		}
	}

	// The forms need the session's CSRF token.
	c = browser(t)
	p = get(t, c, h.authorizeURL(app, app.RedirectURIs[0], "", "s"))
	for name, form := range map[string]url.Values{
		"missing_csrf": {"userId": {ind.UserID}, "password": {ind.Password}},
		"wrong_csrf":   {"csrf": {"X" + p.csrf(t)}, "userId": {ind.UserID}, "password": {ind.Password}},
	} {
		if got := postForm(t, c, h.url+"/oauth/sign-in", form); got.status != http.StatusForbidden || strings.Contains(got.body, "Grant authority") {
			t.Errorf("%s: sign in = %d, want 403", name, got.status)
		}
	}
	// ... and the session's cookie: the token alone is not enough.
	if got := postForm(t, browser(t), h.url+"/oauth/sign-in", url.Values{"csrf": {p.csrf(t)}, "userId": {ind.UserID}, "password": {ind.Password}}); got.status != http.StatusBadRequest {
		t.Errorf("sign in without the session cookie = %d, want 400", got.status)
	}
	// A cross-site post is refused whatever it carries.
	req, _ := http.NewRequest("POST", h.url+"/oauth/sign-in", strings.NewReader(url.Values{"csrf": {p.csrf(t)}, "userId": {ind.UserID}, "password": {ind.Password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign in = %d, want 403", resp.StatusCode)
	}

	// A wrong password says so; five end the attempt.
	csrf := p.csrf(t)
	for i := 1; i <= 5; i++ {
		got := postForm(t, c, h.url+"/oauth/sign-in", url.Values{"csrf": {csrf}, "userId": {ind.UserID}, "password": {"wrong"}})
		switch {
		case i < 5 && (got.status != http.StatusOK || !strings.Contains(got.body, "not right")):
			t.Errorf("wrong password %d = %d, want the sign-in page again", i, got.status)
		case i == 5 && got.status != http.StatusForbidden:
			t.Errorf("wrong password %d = %d, want 403", i, got.status)
		}
	}
	if got := postForm(t, c, h.url+"/oauth/sign-in", url.Values{"csrf": {csrf}, "userId": {ind.UserID}, "password": {ind.Password}}); got.status != http.StatusBadRequest {
		t.Errorf("right password after five wrong = %d, want 400 (start again)", got.status)
	}

	// Granting without signing in is refused.
	c = browser(t)
	p = get(t, c, h.authorizeURL(app, app.RedirectURIs[0], "", "s"))
	if got := postForm(t, c, h.url+"/oauth/grant", url.Values{"csrf": {p.csrf(t)}, "decision": {"grant"}}); got.status != http.StatusBadRequest || app.lastCallback().Get("code") != "" {
		t.Errorf("grant without sign in = %d, want 400", got.status)
	}
}

func TestOAuthTokenEndpoint(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	app := h.newApp("App")
	ind := h.newIndividual(`{}`)

	// Client credentials: a token for the application alone, which the API
	// does not let act for any NINO.
	got := h.token(app, true, url.Values{"grant_type": {"client_credentials"}})
	if got.status != http.StatusOK || got.AccessToken == "" || got.RefreshToken != "" || got.TokenType != "bearer" {
		t.Fatalf("client_credentials = %+v, want an access token and no refresh token", got)
	}
	if r := h.do("POST", produce(ind.NINO, "2025-26", anyCalculation), api(got.AccessToken), ""); r.status != http.StatusForbidden || r.codes(t)[0] != "CLIENT_OR_AGENT_NOT_AUTHORISED" {
		t.Errorf("produce with a client_credentials token = %d %s, want 403 CLIENT_OR_AGENT_NOT_AUTHORISED", r.status, r.body)
	}

	wrong := &oauthApp{ClientID: app.ClientID, ClientSecret: "not-the-secret"}
	unknown := &oauthApp{ClientID: "NOPE", ClientSecret: app.ClientSecret}
	for _, basic := range []bool{true, false} {
		a := h.token(wrong, basic, url.Values{"grant_type": {"client_credentials"}})
		a.want(t, "wrong secret", 401, "invalid_client")
		if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("invalid_client WWW-Authenticate = %q, want Basic", a.header.Get("WWW-Authenticate"))
		}
		h.token(unknown, basic, url.Values{"grant_type": {"client_credentials"}}).want(t, "unknown client", 401, "invalid_client")
	}
	h.token(app, true, url.Values{"grant_type": {"password"}}).want(t, "password grant", 400, "unsupported_grant_type")
	h.token(app, true, url.Values{}).want(t, "no grant_type", 400, "invalid_request")
	h.token(app, true, url.Values{"grant_type": {"client_credentials"}, "scope": {"admin"}}).want(t, "unknown scope", 400, "invalid_scope")
	h.token(app, true, url.Values{"grant_type": {"client_credentials"}, "client_secret": {app.ClientSecret}}).want(t, "credentials twice", 400, "invalid_request")
	h.token(app, true, url.Values{"grant_type": {"authorization_code"}, "code": {"made-up"}, "redirect_uri": {app.RedirectURIs[0]}}).want(t, "made-up code", 400, "invalid_grant")
	h.token(app, true, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"made-up"}}).want(t, "made-up refresh token", 400, "invalid_grant")
	h.token(app, false, url.Values{"grant_type": {"authorization_code"}}).want(t, "code missing", 400, "invalid_request")

	// An application without redirect URIs may only use client credentials.
	r := h.do("POST", "/test-support/applications", nil, `{"name":"Back office"}`)
	var backOffice oauthApp
	r.decode(t, &backOffice)
	h.token(&backOffice, true, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {"https://a.example/cb"}}).
		want(t, "code grant without redirect URIs", 400, "unauthorized_client")
	if got := h.token(&backOffice, true, url.Values{"grant_type": {"client_credentials"}}); got.status != http.StatusOK {
		t.Errorf("back office client_credentials = %d %s", got.status, got.Error)
	}

	// A JSON body is not a token request.
	req, _ := http.NewRequest("POST", h.url+"/oauth/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(app.ClientID, app.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("JSON token request = %d, want 400", resp.StatusCode)
	}
}

// TestOAuthSecretsNotStored checks the database keeps hashes only.
func TestOAuthSecretsNotStored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	app := h.newApp("App")
	ind := h.newIndividual(`{}`)
	code := h.authorize(app, ind.UserID, ind.Password, "")
	got := h.token(app, true, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.RedirectURIs[0]}})
	secrets := []string{app.ClientSecret, ind.Password, got.RefreshToken}
	for _, table := range []string{"oauth_applications", "test_users", "oauth_refresh_tokens", "oauth_codes", "oauth_sessions"} {
		rows, err := h.db.SQL().Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				s, _ := v.(string)
				for _, secret := range secrets {
					if secret != "" && strings.Contains(s, secret) {
						t.Errorf("%s.%s holds a secret in the clear", table, cols[i])
					}
				}
			}
		}
		rows.Close()
	}
	if strings.Contains(h.logs.String(), app.ClientSecret) || strings.Contains(h.logs.String(), ind.Password) || strings.Contains(h.logs.String(), code) {
		t.Errorf("logs hold a secret:\n%s", h.logs.String())
	}
}

func TestOAuthApplicationValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	tests := []struct {
		name string
		body string
		want int
	}{
		{name: "https", body: `{"name":"A","redirectUris":["https://app.example/cb"]}`, want: 201},
		{name: "localhost", body: `{"name":"A","redirectUris":["http://localhost:8080/cb","http://127.0.0.1/cb"]}`, want: 201},
		{name: "no_uris", body: `{"name":"A"}`, want: 201},
		{name: "http_elsewhere", body: `{"name":"A","redirectUris":["http://app.example/cb"]}`, want: 400},
		{name: "javascript", body: `{"name":"A","redirectUris":["javascript:alert(1)"]}`, want: 400},
		{name: "custom_scheme", body: `{"name":"A","redirectUris":["myapp://cb"]}`, want: 400},
		{name: "fragment", body: `{"name":"A","redirectUris":["https://app.example/cb#x"]}`, want: 400},
		{name: "relative", body: `{"name":"A","redirectUris":["/cb"]}`, want: 400},
		{name: "userinfo", body: `{"name":"A","redirectUris":["https://u:p@app.example/cb"]}`, want: 400},
		{name: "too_many", body: `{"name":"A","redirectUris":["https://a.example/1","https://a.example/2","https://a.example/3","https://a.example/4","https://a.example/5","https://a.example/6"]}`, want: 400},
		{name: "too_long", body: `{"name":"A","redirectUris":["https://a.example/` + strings.Repeat("x", 1100) + `"]}`, want: 400},
		{name: "no_name", body: `{"redirectUris":["https://a.example/cb"]}`, want: 400},
		{name: "long_name", body: `{"name":"` + strings.Repeat("n", 101) + `"}`, want: 400},
		{name: "unknown_field", body: `{"name":"A","grantTypes":["implicit"]}`, want: 400},
		{name: "empty", body: ``, want: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do("POST", "/test-support/applications", nil, tc.body)
			if r.status != tc.want {
				t.Errorf("register %s = %d %s, want %d", tc.body, r.status, r.body, tc.want)
			}
		})
	}
}

// TestOAuthNotInProduction: production serves none of the sandbox's OAuth.
func TestOAuthNotInProduction(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{production: true})
	for _, tc := range []struct{ method, path string }{
		{"GET", "/oauth/authorize?response_type=code&client_id=x&redirect_uri=https://a.example/cb"},
		{"POST", "/oauth/sign-in"},
		{"POST", "/oauth/grant"},
		{"POST", "/oauth/token"},
		{"POST", "/test-support/applications"},
	} {
		if r := h.do(tc.method, tc.path, nil, ""); r.status != http.StatusNotFound {
			t.Errorf("production %s %s = %d, want 404", tc.method, tc.path, r.status)
		}
	}
}
