package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/open-assist/assist/internal/identity"
)

// The browser tests drive a real, headless Chromium through the pages as
// a person does, and run axe-core in every page they visit. They need
// Chromium (ASSIST_CHROMIUM, else chromium or chromium-browser in PATH)
// and axe-core (npm ci --prefix tools/axe); without them they skip, or
// fail in CI, where .ci/run installs both.

const (
	// browserTestTimeout bounds a whole browser test: the browser lives
	// no longer than that.
	browserTestTimeout = 90 * time.Second
	// browserStepTimeout bounds each step, so that a hang names its step.
	browserStepTimeout = 30 * time.Second
	// axePath is axe-core as tools/axe installs it, from this package's folder.
	axePath = "../../tools/axe/node_modules/axe-core/axe.min.js"
)

// axeTags are the rules run: WCAG 2.0, 2.1 and 2.2, levels A and AA.
const axeTags = `['wcag2a','wcag2aa','wcag21a','wcag21aa','wcag22aa']`

// browserTools finds Chromium and axe-core, or skips the test (fails it
// in CI) saying how to get them.
func browserTools(t *testing.T) (chromium string, axe []byte) {
	t.Helper()
	var missing []string
	chromium = os.Getenv("ASSIST_CHROMIUM")
	if chromium == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				chromium = p
				break
			}
		}
	}
	if chromium == "" {
		missing = append(missing, "Chromium (apt-get install chromium, or set ASSIST_CHROMIUM to a Chrome or Chromium binary)")
	} else if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, fmt.Sprintf("Chromium at ASSIST_CHROMIUM=%s (%v)", chromium, err))
	}
	axe, err := os.ReadFile(axePath)
	if err != nil {
		missing = append(missing, "axe-core (npm ci --prefix tools/axe, from the repository's root)")
	}
	if len(missing) > 0 {
		msg := "browser tests need " + strings.Join(missing, " and ")
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return chromium, axe
}

// browserOutput is the folder of the screenshots and axe results:
// ASSIST_TEST_OUTPUT, else test-output/browser at the repository's root.
func browserOutput(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ASSIST_TEST_OUTPUT")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-output", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is one browser tab of a test, on the harness's server.
type tab struct {
	t     *testing.T
	ctx   context.Context
	axe   string
	out   string
	pages int
}

// newTab starts a headless Chromium for t that reaches only loopback, and
// opens a tab in it. The browser ends with the test.
func newTab(t *testing.T) *tab {
	t.Helper()
	chromium, axe := browserTools(t)
	out := browserOutput(t)

	ctx, cancel := context.WithTimeout(context.Background(), browserTestTimeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		// Nothing but loopback: every host name fails to resolve, any
		// other address goes to a proxy that is not there, and nothing
		// updates itself or reports home.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "127.0.0.1"),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.WindowSize(1024, 768),
	)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	// The first run starts the browser, which lives as long as the context
	// of that run: the test's, not a step's.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	// The pages keep their strict Content-Security-Policy (default-src
	// 'none'): axe is injected through DevTools, which the policy does not
	// govern, so the browser sees the pages as people get them.
	return &tab{t: t, ctx: bctx, axe: string(axe), out: out}
}

// step runs f bounded by browserStepTimeout, failing the test if it fails.
func (b *tab) step(name string, f func(ctx context.Context) error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStepTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
}

// do runs actions as one step.
func (b *tab) do(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.step(name, func(ctx context.Context) error { return chromedp.Do(ctx, actions...) })
}

// navigate runs actions that load a page (a link, a form) and waits for
// it, returning the page's HTTP status (after redirects).
func (b *tab) navigate(name string, actions ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	var status int64
	b.step(name, func(ctx context.Context) error {
		resp, err := chromedp.RunResponse(ctx, actions...)
		if err == nil {
			status = resp.Status
		}
		return err
	})
	return status
}

// eval evaluates a JavaScript expression in the page into a T.
func eval[T any](b *tab, name, expr string) T {
	b.t.Helper()
	var v T
	b.step(name, func(ctx context.Context) error {
		var err error
		v, err = chromedp.Run(ctx, chromedp.Evaluate[T](expr))
		return err
	})
	return v
}

// text is the visible text of the first element sel matches, once visible.
func (b *tab) text(sel string) string {
	b.t.Helper()
	var s string
	b.step("read "+sel, func(ctx context.Context) error {
		var err error
		s, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		return err
	})
	return strings.TrimSpace(s)
}

// path is the path and query of the tab's page.
func (b *tab) path() string {
	b.t.Helper()
	return eval[string](b, "read the location", `location.pathname + location.search`)
}

// signIn is a person on the sign-in page pasting their token and pressing
// Continue; they land where the sign-in page was asked to return.
func (b *tab) signIn(token string) {
	b.t.Helper()
	b.do("wait for the sign-in page", chromedp.WaitVisible(chromedp.ID("token")))
	if p := b.path(); !strings.HasPrefix(p, "/sign-in?") {
		b.t.Fatalf("at %s, want the sign-in page", p)
	}
	b.checkPage("sign-in")
	b.do("paste the token",
		chromedp.Focus(chromedp.ID("token")),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: token})
			return err
		}))
	if status := b.navigate("continue", chromedp.Click(chromedp.Search(`//button[normalize-space()="Continue"]`))); status != 200 {
		b.t.Fatalf("after signing in: status %d at %s", status, b.path())
	}
}

// axeResult is what the tests keep of axe.run's results.
type axeResult struct {
	Violations []axeRule `json:"violations"`
	Incomplete []axeRule `json:"incomplete"`
	Passes     int       `json:"passes"`
}

type axeRule struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target         []any  `json:"target"`
		HTML           string `json:"html"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// checkPage records the page the tab is on and checks its accessibility:
// a full-page screenshot, and axe-core's WCAG 2.2 AA rules, failing the
// test on any serious or critical violation and logging the others.
func (b *tab) checkPage(step string) {
	b.t.Helper()
	b.pages++
	name := fmt.Sprintf("%s-%02d-%s", nonWord.ReplaceAllString(b.t.Name(), "_"), b.pages, nonWord.ReplaceAllString(step, "-"))
	b.step("screenshot "+step, func(ctx context.Context) error {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(b.out, name+".png"), png, 0o644)
	})
	var res axeResult
	b.step("axe "+step, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](b.axe)); err != nil {
			return fmt.Errorf("inject axe-core: %w", err)
		}
		var err error
		res, err = chromedp.Run(ctx, chromedp.Evaluate[axeResult](`axe.run(document, {runOnly: {type: 'tag', values: `+axeTags+`}}).then(r => {
			const rule = v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
				nodes: v.nodes.map(n => ({target: n.target, html: n.html, failureSummary: n.failureSummary}))});
			return {violations: r.violations.map(rule), incomplete: r.incomplete.map(rule), passes: r.passes.length};
		})`, chromedp.EvalAwaitPromise))
		return err
	})
	if data, err := json.MarshalIndent(res, "", "  "); err == nil {
		os.WriteFile(filepath.Join(b.out, name+".axe.json"), data, 0o644)
	}
	counts := map[string]int{}
	for _, v := range res.Violations {
		counts[v.Impact]++
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprintf("%v %s", n.Target, n.HTML))
		}
		msg := fmt.Sprintf("axe on %s (%s): %s violation %s: %s (%s)\n\t%s", step, b.path(), v.Impact, v.ID, v.Help, v.HelpURL, strings.Join(where, "\n\t"))
		if v.Impact == "serious" || v.Impact == "critical" {
			// Fails until the page is fixed: that is the point of it.
			b.t.Error(msg)
		} else {
			b.t.Log(msg)
		}
	}
	var review []string
	for _, v := range res.Incomplete {
		review = append(review, v.ID)
	}
	b.t.Logf("axe on %s: %d rules passed; violations by impact %v; to review by hand %v; screenshot %s.png",
		step, res.Passes, counts, review, filepath.Join(b.out, name))
}

// A customer opens the link to their report, signs in through the
// sandbox's OAuth pages, reads the report, switches it to Welsh, and
// acknowledges it there; the acknowledgement stored is theirs. (Pasting a
// token is the agent's and the rule author's way in below.)
func TestBrowserCustomerReadsAndAcknowledges(t *testing.T) {
	browserTools(t) // skip before building anything
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	u := h.newIndividual(`{}`)
	id := h.reportOnPage(t, u.AccessToken, u.NINO)
	stored, _, err := h.db.Report(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	b := newTab(t)
	view := "/reports/" + id + "/view"

	// Signed out: the report's link leads to sign in, through the sandbox's
	// OAuth pages, and back.
	b.navigate("open the report's link", chromedp.Navigate(h.url+view))
	b.signInOAuth(u.UserID, u.Password)
	if p := b.path(); p != view {
		t.Fatalf("after signing in at %s, want %s", p, view)
	}
	b.do("wait for the report", chromedp.WaitVisible(chromedp.CSS("h1")), chromedp.WaitVisible(chromedp.ID("message-0")))
	b.checkPage("report-en")
	if got := b.text("h1"); got != "Check your tax calculation" {
		t.Errorf("h1 = %q", got)
	}
	if got, want := b.text("#message-0"), stored.Messages[0].Title; got != want {
		t.Errorf("first message's title = %q, want %q", got, want)
	}

	// To Welsh, by the language switch.
	if got := b.text(`nav.govuk-language-select a [aria-hidden="true"]`); got != "Cymraeg" {
		t.Errorf("language switch = %q, want Cymraeg", got)
	}
	b.navigate("switch to Welsh", chromedp.Click(chromedp.CSS("nav.govuk-language-select a")))
	if lang := eval[string](b, "read the page's language", `document.documentElement.lang`); lang != "cy" {
		t.Fatalf(`<html lang=%q>, want "cy"`, lang)
	}
	b.checkPage("report-cy")
	if got, want := b.text("#message-0"), stored.Translation[0].Title; got != want {
		t.Errorf("first message's Welsh title = %q, want %q", got, want)
	}
	if got := b.text(`nav.govuk-language-select a [aria-hidden="true"]`); got != "English" {
		t.Errorf("language switch on the Welsh page = %q, want English", got)
	}

	// "I have read this report", in Welsh.
	if status := b.navigate("acknowledge", chromedp.Click(chromedp.Search(`//button[normalize-space()="Rwyf wedi darllen yr adroddiad hwn"]`))); status != 200 {
		t.Fatalf("after acknowledging: status %d at %s", status, b.path())
	}
	b.do("wait for the confirmation", chromedp.WaitVisible(chromedp.CSS(".govuk-panel--confirmation")))
	b.checkPage("acknowledged-cy")
	if lang := eval[string](b, "read the page's language", `document.documentElement.lang`); lang != "cy" {
		t.Errorf(`after acknowledging <html lang=%q>, want "cy"`, lang)
	}
	if n := eval[int](b, "count the buttons", `document.querySelectorAll('form[action*="/acknowledgement"]').length`); n != 0 {
		t.Errorf("after acknowledging the page still offers to acknowledge")
	}
	_, ack, err := h.db.Report(context.Background(), id)
	if err != nil || ack == nil || ack.By.AffinityGroup != identity.Individual || ack.By.NINO != u.NINO {
		t.Fatalf("stored acknowledgement = %+v, %v; want one by the individual %s", ack, err, u.NINO)
	}
}

// An agent whom the customer authorised signs in, finds the client on
// their list of clients and opens the client's report from it.
func TestBrowserAgentOpensClientReport(t *testing.T) {
	browserTools(t) // skip before building anything
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	u := h.newIndividual(`{}`)
	other := h.newIndividual(`{}`)
	id := h.reportOnPage(t, u.AccessToken, u.NINO)
	ag := h.newAgent(`{}`)
	for _, nino := range []string{other.NINO, u.NINO} {
		if got := h.do("PUT", "/test-support/agents/"+ag.ARN+"/clients/"+nino, nil, `{"type":"main"}`); got.status != 204 {
			t.Fatalf("authorise agent = %d %s", got.status, got.body)
		}
	}
	stored, _, err := h.db.Report(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	b := newTab(t)

	b.navigate("open the clients page", chromedp.Navigate(h.url+"/agents/clients"))
	b.signIn(ag.AccessToken)
	if p := b.path(); p != "/agents/clients" {
		t.Fatalf("after signing in at %s, want /agents/clients", p)
	}
	b.do("wait for the clients", chromedp.WaitVisible(chromedp.CSS("table.govuk-table")))
	b.checkPage("clients")
	if got := b.text("h1"); got != "Your clients' reports" {
		t.Errorf("h1 = %q", got)
	}

	// The client's row, by NINO, and its "View report".
	link := fmt.Sprintf(`//tr[th[normalize-space()=%q]]//a[starts-with(normalize-space(), "View report")]`, u.NINO)
	b.do("find the client's row", chromedp.WaitVisible(chromedp.Search(link)))
	if status := b.navigate("view the client's report", chromedp.Click(chromedp.Search(link))); status != 200 {
		t.Fatalf("the client's report: status %d at %s", status, b.path())
	}
	if p := b.path(); !strings.HasPrefix(p, "/reports/"+id+"/view") {
		t.Fatalf("at %s, want the report %s", p, id)
	}
	b.do("wait for the report", chromedp.WaitVisible(chromedp.ID("message-0")))
	b.checkPage("client-report")
	if got := b.text("h1"); got != "Check your tax calculation" {
		t.Errorf("h1 = %q", got)
	}
	if got, want := b.text("#message-0"), stored.Messages[0].Title; got != want {
		t.Errorf("first message's title = %q, want %q", got, want)
	}
}

// On the report page, a keyboard user's first Tab reaches the skip link,
// which then shows on screen and leads to the main content.
func TestBrowserKeyboardSkipLink(t *testing.T) {
	browserTools(t) // skip before building anything
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	u := h.newIndividual(`{}`)
	id := h.reportOnPage(t, u.AccessToken, u.NINO)
	b := newTab(t)
	b.navigate("open the report", chromedp.Navigate(h.url+"/reports/"+id+"/view"))
	b.signIn(u.AccessToken)
	b.do("wait for the report", chromedp.WaitVisible(chromedp.ID("message-0")))

	if got := eval[string](b, "read the focus", `document.activeElement === document.body ? "body" : document.activeElement.outerHTML`); got != "body" {
		t.Logf("before any key, focus is on %s", got)
	}
	b.do("press Tab", chromedp.KeyEvent(kb.Tab))
	type focus struct {
		Class, Href, Text                string
		Left, Top, Width, Height, VW, VH float64
	}
	f := eval[focus](b, "read the focus", `(() => {
		const e = document.activeElement, r = e.getBoundingClientRect();
		return {Class: e.className, Href: e.getAttribute('href') || '', Text: e.textContent.trim(),
			Left: r.left, Top: r.top, Width: r.width, Height: r.height, VW: innerWidth, VH: innerHeight};
	})()`)
	if !strings.Contains(f.Class, "govuk-skip-link") || f.Href != "#main-content" {
		t.Fatalf("the first Tab focuses %+v, want the skip link to #main-content", f)
	}
	if f.Text != "Skip to main content" {
		t.Errorf("skip link text = %q", f.Text)
	}
	if f.Width <= 0 || f.Height <= 0 || f.Left < 0 || f.Top < 0 || f.Left+f.Width > f.VW || f.Top+f.Height > f.VH {
		t.Errorf("the focused skip link is not on screen: box %+v in a %vx%v viewport", f, f.VW, f.VH)
	}
	b.checkPage("skip-link-focused")

	b.do("follow the skip link", chromedp.KeyEvent(kb.Enter))
	type landed struct {
		Hash   string
		Target bool
		Top    float64
	}
	l := eval[landed](b, "read where the skip link led", `(() => {
		const m = document.getElementById('main-content');
		return {Hash: location.hash, Target: !!m && m.matches(':target'), Top: m ? m.getBoundingClientRect().top : -1};
	})()`)
	if l.Hash != "#main-content" || !l.Target {
		t.Errorf("after Enter on the skip link: %+v, want #main-content as the target", l)
	}
	// The next Tab goes on from the main content: past the header's
	// sign-out button and the language switch, into the page's own links.
	b.do("press Tab again", chromedp.KeyEvent(kb.Tab))
	if in := eval[bool](b, "read the focus", `document.getElementById('main-content').contains(document.activeElement)`); !in {
		got := eval[string](b, "read the focus", `document.activeElement.outerHTML`)
		t.Errorf("the Tab after the skip link focuses %s, outside the main content", got)
	}
}

// The pages need no JavaScript: the report page and the sign-in page have
// no script, inline or not, and no inline event handler.
func TestBrowserPagesNeedNoJavaScript(t *testing.T) {
	browserTools(t) // skip before building anything
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	u := h.newIndividual(`{}`)
	id := h.reportOnPage(t, u.AccessToken, u.NINO)
	b := newTab(t)
	const scripts = `document.querySelectorAll('script').length + [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length`

	b.navigate("open the report", chromedp.Navigate(h.url+"/reports/"+id+"/view"))
	b.do("wait for the sign-in page", chromedp.WaitVisible(chromedp.ID("token")))
	if n := eval[int](b, "count scripts", scripts); n != 0 {
		t.Errorf("the sign-in page has %d scripts or event handlers", n)
	}
	b.signIn(u.AccessToken)
	b.do("wait for the report", chromedp.WaitVisible(chromedp.ID("message-0")))
	b.checkPage("report")
	if n := eval[int](b, "count scripts", scripts); n != 0 {
		html := eval[string](b, "read the page", `document.documentElement.outerHTML`)
		t.Errorf("the report page has %d scripts or event handlers:\n%s", n, html)
	}
}

// signInOAuth is a person on the sign-in page choosing the sandbox's own
// sign-in, entering their test user's id and password and granting
// authority; they land where the sign-in page was asked to return.
func (b *tab) signInOAuth(userID, password string) {
	b.t.Helper()
	b.do("wait for the sign-in page", chromedp.WaitVisible(chromedp.ID("oauth-sign-in")))
	b.checkPage("sign-in")
	b.navigate("choose the sandbox's sign-in", chromedp.Click(chromedp.ID("oauth-sign-in")))
	b.do("the OAuth sign-in page", chromedp.WaitVisible(chromedp.ID("userId")))
	b.checkPage("oauth-sign-in")
	b.do("enter the test user's id and password",
		chromedp.SendKeys(chromedp.ID("userId"), userID),
		chromedp.SendKeys(chromedp.ID("password"), password))
	b.navigate("sign in", chromedp.Click(chromedp.Search(`//button[normalize-space()="Sign in"]`)))
	b.do("the grant page", chromedp.WaitVisible(chromedp.Search(`//button[normalize-space()="Grant authority"]`)))
	b.checkPage("oauth-grant")
	if status := b.navigate("grant authority", chromedp.Click(chromedp.Search(`//button[normalize-space()="Grant authority"]`))); status != 200 {
		b.t.Fatalf("after granting: status %d at %s", status, b.path())
	}
}

// A rule author opens the dashboard: the rule that fired is counted, and a
// later calculation without the problem raises its resolution rate.
func TestBrowserDashboard(t *testing.T) {
	browserTools(t)
	t.Parallel()
	const admin = "an-admin-token-long-enough-to-be-a-secret-0123456789"
	var tick atomic.Int64
	h := newHarness(t, harnessOptions{adminToken: admin, maxMessages: 10, clock: func() time.Time {
		return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).Add(time.Duration(tick.Add(1)) * time.Second)
	}})
	u := h.newIndividual(`{}`)
	h.reportOnPage(t, u.AccessToken, u.NINO)

	b := newTab(t)
	b.navigate("open the dashboard", chromedp.Navigate(h.url+"/admin/rules"))
	b.signIn(admin)
	if p := b.path(); p != "/admin/rules" {
		t.Fatalf("after signing in with the admin token, at %s, want the dashboard", p)
	}
	if got := b.text(`[data-rule="HICBC_APPLIES"]`); got != "1 / 1 / 1" {
		t.Errorf("HICBC_APPLIES reports = %q, want 1 / 1 / 1", got)
	}
	if got := b.text(`[data-resolution="HICBC_APPLIES"]`); got != "– (1)" {
		t.Errorf("HICBC_APPLIES resolution = %q, want – (1): shown once, pending", got)
	}
	b.checkPage("dashboard")

	// The customer removes the Child Benefit they do not get, and asks again.
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		t.Fatal(err)
	}
	var calc map[string]any
	if err := json.Unmarshal(data, &calc); err != nil {
		t.Fatal(err)
	}
	const fixedID = "1c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"
	delete(calc["calculation"].(map[string]any), "highIncomeChildBenefitCharge")
	calc["metadata"].(map[string]any)["calculationId"] = fixedID
	fixed, _ := json.Marshal(calc)
	if got := h.do("PUT", "/test-support/calculations/"+u.NINO+"/2025-26/"+fixedID, nil, string(fixed)); got.status != 204 {
		t.Fatalf("put calculation = %d", got.status)
	}
	if got := h.do("POST", produce(u.NINO, "2025-26", fixedID), api(u.AccessToken), ""); got.status != 200 {
		t.Fatalf("produce = %d %s", got.status, got.body)
	}
	b.navigate("reload the dashboard", chromedp.Reload())
	if got := b.text(`[data-resolution="HICBC_APPLIES"]`); got != "100% (0)" {
		t.Errorf("HICBC_APPLIES resolution after a calculation without it = %q, want 100%% (0)", got)
	}
	b.navigate("open the rule", chromedp.Click(chromedp.Search(`//a[normalize-space()="HICBC_APPLIES"]`)))
	if got := b.text("h1"); got != "HICBC_APPLIES" {
		t.Errorf("rule page h1 = %q", got)
	}
	b.checkPage("rule")
}
