package server_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/identity"
)

// page is a page request as a browser without JavaScript makes it:
// redirects are not followed, so that each answer can be checked.
func (h *harness) page(method, path, session string, form url.Values) response {
	h.t.Helper()
	return h.pageRequest(method, path, session, form, nil)
}

// pageWith is a page request with headers of its own.
func (h *harness) pageWith(method, path string, header http.Header) response {
	h.t.Helper()
	return h.pageRequest(method, path, "", nil, header)
}

func (h *harness) pageRequest(method, path, session string, form url.Values, header http.Header) response {
	h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "assist_session", Value: session})
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// reportOnPage produces a report of the nudges calculation (several
// messages, in both languages) for u and returns its id.
func (h *harness) reportOnPage(t *testing.T, token, nino string) string {
	t.Helper()
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		t.Fatal(err)
	}
	const calcID = "9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"
	if got := h.do("PUT", "/test-support/calculations/"+nino+"/2025-26/"+calcID, nil, string(data)); got.status != 204 {
		t.Fatalf("put calculation = %d %s", got.status, got.body)
	}
	got := h.do("POST", produce(nino, "2025-26", calcID), api(token), "")
	if got.status != 200 {
		t.Fatalf("produce = %d %s", got.status, got.body)
	}
	var rep struct{ ReportID string }
	if err := json.Unmarshal(got.body, &rep); err != nil {
		t.Fatal(err)
	}
	return rep.ReportID
}

// A customer signs in with their token, reads their report in English and
// in Welsh, and acknowledges it there; the acknowledgement is the API's.
func TestReportPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	u := h.newIndividual(`{}`)
	id := h.reportOnPage(t, u.AccessToken, u.NINO)
	view := "/reports/" + id + "/view"
	stored, _, err := h.db.Report(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}

	// Not signed in: to the sign-in page, and back afterwards.
	got := h.page("GET", view, "", nil)
	if loc := got.header.Get("Location"); got.status != 303 || !strings.HasPrefix(loc, "/sign-in?") || !strings.Contains(loc, url.QueryEscape(view)) {
		t.Fatalf("view signed out = %d to %q, want 303 to the sign-in page coming back here", got.status, loc)
	}
	got = h.page("GET", got.header.Get("Location"), "", nil)
	if got.status != 200 || !strings.Contains(string(got.body), `<label class="govuk-label govuk-label--m" for="token">`) {
		t.Fatalf("sign-in page = %d %s", got.status, got.body)
	}
	got = h.page("POST", "/sign-in", "", url.Values{"token": {"not-a-token"}, "next": {view}})
	if got.status != 422 || !strings.Contains(string(got.body), "govuk-error-summary") || got.header.Get("Set-Cookie") != "" {
		t.Errorf("sign-in with a bad token = %d (cookie %q), want 422 with an error summary and no cookie", got.status, got.header.Get("Set-Cookie"))
	}
	got = h.page("POST", "/sign-in", "", url.Values{"token": {u.AccessToken}, "next": {view}})
	cookie := got.header.Get("Set-Cookie")
	if got.status != 303 || got.header.Get("Location") != view || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Fatalf("sign-in = %d to %q with cookie %q, want 303 back to the report, HttpOnly, SameSite=Strict", got.status, got.header.Get("Location"), cookie)
	}
	// Only this site: a next of another host goes home instead.
	if got := h.page("POST", "/sign-in", "", url.Values{"token": {u.AccessToken}, "next": {"//evil.example/x"}}); got.header.Get("Location") != "/" {
		t.Errorf("sign-in with next=//evil.example = to %q, want /", got.header.Get("Location"))
	}

	// The report, in English.
	got = h.page("GET", view, u.AccessToken, nil)
	page := string(got.body)
	if got.status != 200 || !strings.Contains(page, `<html lang="en"`) {
		t.Fatalf("view = %d %s", got.status, page)
	}
	for _, want := range []string{
		`<a href="#main-content" class="govuk-skip-link">Skip to main content</a>`,
		`<h1 class="govuk-heading-l">Check your tax calculation</h1>`,
		`Tax year 2025 to 2026`,
		template(stored.Messages[0].Title),
		`What you can do`,
		`target="_blank"`, `(opens in new tab)`,
		`I have read this report`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Count(page, `<h2 class="govuk-heading-m"`) != stored.Shown {
		t.Errorf("the page shows %d messages, want the %d shown", strings.Count(page, `<h2 class="govuk-heading-m"`), stored.Shown)
	}
	if csp := got.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}

	// In Welsh, by ?lang=cy and by Accept-Language.
	welsh := h.page("GET", view+"?lang=cy", u.AccessToken, nil)
	if !strings.Contains(string(welsh.body), `<html lang="cy"`) || !strings.Contains(string(welsh.body), "Blwyddyn dreth 2025 i 2026") || !strings.Contains(string(welsh.body), template(stored.Translation[0].Title)) ||
		!strings.Contains(string(welsh.body), "Rwyf wedi darllen yr adroddiad hwn") || !strings.Contains(string(welsh.body), "(yn agor mewn tab newydd)") {
		t.Errorf("the Welsh page lacks the Welsh message %q or chrome:\n%s", stored.Translation[0].Title, welsh.body)
	}

	// Acknowledging needs the session's form token.
	ack := "/reports/" + id + "/acknowledgement"
	if got := h.page("POST", ack, u.AccessToken, url.Values{"csrf": {"0000"}}); got.status != 403 {
		t.Errorf("acknowledge without the form token = %d, want 403", got.status)
	}
	if _, a, _ := h.db.Report(context.Background(), id); a != nil {
		t.Fatalf("acknowledged without the form token: %+v", a)
	}
	token := csrfField.FindStringSubmatch(string(welsh.body))
	if token == nil {
		t.Fatal("no form token on the page")
	}
	got = h.page("POST", ack+"?lang=cy", u.AccessToken, url.Values{"csrf": {token[1]}})
	if got.status != 303 || !strings.Contains(got.header.Get("Location"), "acknowledged=1") {
		t.Fatalf("acknowledge = %d to %q, want 303 to the confirmation", got.status, got.header.Get("Location"))
	}
	_, a, err := h.db.Report(context.Background(), id)
	if err != nil || a == nil || a.By.AffinityGroup != identity.Individual || a.By.NINO != u.NINO {
		t.Fatalf("stored acknowledgement = %+v, %v; want one by the individual", a, err)
	}
	got = h.page("GET", got.header.Get("Location"), u.AccessToken, nil)
	if !strings.Contains(string(got.body), "govuk-panel--confirmation") || strings.Contains(string(got.body), "Rwyf wedi darllen yr adroddiad hwn</button>") {
		t.Errorf("after acknowledging, the page shows no confirmation or still the button:\n%s", got.body)
	}
}

// template is s as html/template writes it in text.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}

// Nobody sees a report they may not see by the API's rules: another
// customer, or an agent the customer has not authorised. An authorised
// agent can.
func TestReportPageAuthority(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	u := h.newIndividual(`{}`)
	other := h.newIndividual(`{}`)
	id := h.reportOnPage(t, u.AccessToken, u.NINO)
	view := "/reports/" + id + "/view"
	agent := h.newAgent(`{}`)
	stranger := h.newAgent(`{}`)
	if got := h.do("PUT", "/test-support/agents/"+agent.ARN+"/clients/"+u.NINO, nil, `{"type":"main"}`); got.status != 204 {
		t.Fatalf("authorise agent = %d %s", got.status, got.body)
	}
	for _, tc := range []struct {
		name   string
		token  string
		status int
	}{
		{"customer", u.AccessToken, 200},
		{"another_customer", other.AccessToken, 404},
		{"authorised_agent", agent.AccessToken, 200},
		{"unauthorised_agent", stranger.AccessToken, 404},
		{"expired_or_forged", "eyJhbGciOiJub25lIn0.e30.", 303},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.page("GET", view, tc.token, nil); got.status != tc.status {
				t.Errorf("view as %s = %d, want %d", tc.name, got.status, tc.status)
			}
		})
	}
	if got := h.page("GET", "/reports/00000000-0000-4000-8000-000000000000/view", u.AccessToken, nil); got.status != 404 || !strings.Contains(string(got.body), "Page not found") {
		t.Errorf("view of no report = %d, want 404 Page not found", got.status)
	}
}

// Production keeps the session cookie to HTTPS.
func TestSessionCookieSecureInProduction(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{production: true})
	got := h.page("POST", "/sign-in", "", url.Values{"token": {"x"}})
	if got.status != 422 {
		t.Fatalf("sign-in with a bad token = %d", got.status)
	}
	tok, _, err := h.issuer.Issue(auth.IndividualPrincipal("TC663795B", "XAIT00000000001", true, 250, []string{"read:self-assessment-assist"}))
	if err != nil {
		t.Fatal(err)
	}
	got = h.page("POST", "/sign-in", "", url.Values{"token": {string(tok)}})
	if c := got.header.Get("Set-Cookie"); got.status != 303 || !strings.Contains(c, "Secure") {
		t.Errorf("sign-in in production = %d with cookie %q, want Secure", got.status, c)
	}
}

// An agent sees every client who authorised them, with each latest
// report, and can narrow the list; never a client who did not authorise
// them.
func TestClientsPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	withReport := h.newIndividual(`{}`)
	noReport := h.newIndividual(`{}`)
	stranger := h.newIndividual(`{}`)
	ag := h.newAgent(`{}`)
	for _, n := range []string{withReport.NINO, noReport.NINO} {
		if got := h.do("PUT", "/test-support/agents/"+ag.ARN+"/clients/"+n, nil, `{"type":"main"}`); got.status != 204 {
			t.Fatalf("authorise = %d %s", got.status, got.body)
		}
	}
	id := h.reportOnPage(t, withReport.AccessToken, withReport.NINO)
	strangerReport := h.reportOnPage(t, stranger.AccessToken, stranger.NINO)

	list := func(query string) string {
		t.Helper()
		got := h.page("GET", "/agents/clients"+query, ag.AccessToken, nil)
		if got.status != 200 {
			t.Fatalf("clients page%s = %d %s", query, got.status, got.body)
		}
		return string(got.body)
	}
	page := list("")
	for _, want := range []string{withReport.NINO, `href="/reports/` + id + `/view?lang=en"`, "Not yet acknowledged", noReport.NINO, "No report yet",
		"2 clients; 1 reports with guidance not yet acknowledged"} {
		if !strings.Contains(page, want) {
			t.Errorf("the clients page lacks %q", want)
		}
	}
	if strings.Contains(page, stranger.NINO) || strings.Contains(page, strangerReport) {
		t.Errorf("the clients page shows a client who did not authorise the agent")
	}
	if p := list("?taxYear=2024-25"); strings.Contains(p, withReport.NINO) {
		t.Errorf("filtered to 2024-25, the page still lists the 2025-26 report")
	}
	if p := list("?outstanding=1"); !strings.Contains(p, id) || strings.Contains(p, noReport.NINO) {
		t.Errorf("outstanding only: want the unread report and not the client with none")
	}
	// Acknowledged (here by the customer, over the API): no longer outstanding.
	stored, _, err := h.db.Report(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.do("POST", acknowledge(withReport.NINO, id, stored.CorrelationID), api(withReport.AccessToken), ""); got.status != 204 {
		t.Fatalf("acknowledge = %d %s", got.status, got.body)
	}
	if p := list("?outstanding=1"); strings.Contains(p, id) {
		t.Errorf("an acknowledged report is still listed as outstanding")
	}
	if p := list("?lang=cy"); !strings.Contains(p, "Adroddiadau eich cleientiaid") || !strings.Contains(p, "Wedi&#39;i gydnabod") {
		t.Errorf("the Welsh clients page lacks its heading or status")
	}
	if got := h.page("GET", "/agents/clients", withReport.AccessToken, nil); got.status != 403 {
		t.Errorf("clients page for an individual = %d, want 403", got.status)
	}
	if got := h.page("GET", "/agents/clients", "", nil); got.status != 303 {
		t.Errorf("clients page signed out = %d, want 303 to sign in", got.status)
	}
}

// In the sandbox a customer can sign in to the pages through the sandbox's
// OAuth pages, with their test user's id and password, and land on their
// report.
func TestReportPageOAuthSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	u := h.newIndividual(`{}`)
	id := h.reportOnPage(t, u.AccessToken, u.NINO)
	c := browser(t)
	p := get(t, c, h.url+"/reports/"+id+"/view")
	if !strings.Contains(p.body, `id="oauth-sign-in"`) {
		t.Fatalf("the sign-in page offers no OAuth sign-in:\n%s", p.body)
	}
	oauthLink := regexp.MustCompile(`id="oauth-sign-in" href="([^"]+)"`).FindStringSubmatch(p.body)
	p = get(t, c, h.url+html.UnescapeString(oauthLink[1]))
	if !strings.Contains(p.body, `name="userId"`) {
		t.Fatalf("the OAuth link did not reach the sandbox's sign-in page:\n%s", p.body)
	}
	p = postForm(t, c, h.url+"/oauth/sign-in", url.Values{"csrf": {p.csrf(t)}, "userId": {u.UserID}, "password": {u.Password}})
	p = postForm(t, c, h.url+"/oauth/grant", url.Values{"csrf": {p.csrf(t)}, "decision": {"grant"}})
	if p.status != 200 || p.url.Path != "/reports/"+id+"/view" || !strings.Contains(p.body, "I have read this report") {
		t.Fatalf("after granting, the browser is at %s (%d), want the report page:\n%s", p.url, p.status, p.body)
	}
	// Refusing brings them back to sign in, without a session.
	c2 := browser(t)
	p = get(t, c2, h.url+"/sign-in/oauth?next=/agents/clients")
	p = postForm(t, c2, h.url+"/oauth/sign-in", url.Values{"csrf": {p.csrf(t)}, "userId": {u.UserID}, "password": {u.Password}})
	p = postForm(t, c2, h.url+"/oauth/grant", url.Values{"csrf": {p.csrf(t)}, "decision": {"deny"}})
	if p.url.Path != "/sign-in" {
		t.Errorf("after refusing, the browser is at %s, want the sign-in page", p.url)
	}
	// A callback this browser did not begin is refused.
	if got := h.page("GET", "/sign-in/callback?code=x&state=y", "", nil); got.status != 303 || strings.Contains(got.header.Get("Set-Cookie"), "assist_session=") {
		t.Errorf("a stray callback = %d with %q, want 303 back to sign in and no session", got.status, got.header.Get("Set-Cookie"))
	}
}
