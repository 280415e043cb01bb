// Package web renders the service's pages for people: server-side HTML in
// GOV.UK Design System patterns, in English and Welsh, usable without
// JavaScript. It knows nothing of HTTP sessions or authorisation (the
// server's); it turns page data into HTML.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // UK times without depending on the host's zone files

	"github.com/open-assist/assist/internal/rules"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed static/app.css
var stylesheet []byte

// CSSPath is where the server serves Stylesheet.
const CSSPath = "/assets/app.css"

// Stylesheet is the pages' one stylesheet: the Design System's type scale,
// colours, spacing and focus states, without its build.
func Stylesheet() []byte { return stylesheet }

// Pages renders the templates.
type Pages struct {
	tmpl *template.Template
}

// New parses the embedded templates.
func New() (*Pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return one
			}
			return strings.ReplaceAll(many, "%d", fmt.Sprint(n))
		},
	}).ParseFS(templates, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse templates: %w", err)
	}
	return &Pages{tmpl: t}, nil
}

// Render writes the page name with data. It renders into a buffer first,
// so that a failing template writes nothing half-done.
func (p *Pages) Render(w io.Writer, name string, data any) error {
	var b bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Layout is what every page's frame needs.
type Layout struct {
	Lang      rules.Lang
	T         Text
	Title     string // the page's own title, before the service name
	SwitchURL string // the same page in the other language
	SignedIn  bool
	CSRF      string // the form token of the signed-in session
}

// Message is one message as the report page shows it.
type Message struct {
	Title, Body, Action string
	Links               []rules.Link
}

// ReportPage is a report for its customer or their agent.
type ReportPage struct {
	Layout
	ID             string
	TaxYear        string // "2025 to 2026"
	Messages       []Message
	OnlyIn         rules.Lang // set when the report is not kept in the page's language
	Acknowledged   bool
	AcknowledgedAt string
	JustNow        bool   // the acknowledgement was just made here
	AckAction      string // where the form posts
}

// ClientsPage is an agent's view of their clients' latest reports.
type ClientsPage struct {
	Layout
	Years       []string // tax years to filter by, latest first
	Year        string   // the one chosen, "" for all
	Outstanding bool     // only reports with guidance not yet acknowledged
	Clients     int      // clients who authorised the agent
	Unread      int      // reports listed with guidance not yet acknowledged
	Rows        []ClientRow
}

// ClientRow is one client's latest report of one tax year, or a client
// with no report (Report "").
type ClientRow struct {
	NINO, TaxYear, Report string
	Shown                 int
	Acknowledged          bool
}

// SignInPage asks for an access token.
type SignInPage struct {
	Layout
	Next  string // where to go after signing in
	Error string // why the last attempt failed
	// Sandbox offers test users: a token from POST /test-support/individuals.
	Sandbox bool
	// OAuthURL signs in through the sandbox's OAuth pages; "" in production.
	OAuthURL string
}

// ErrorPage explains what went wrong, without detail that would help an
// attacker.
type ErrorPage struct {
	Layout
	Heading, Body string
}

// london is the zone times are shown in: the customer's, not the server's.
var london = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		return time.UTC // cannot happen: time/tzdata is embedded
	}
	return loc
})

var welshMonths = [...]string{"Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr"}

// DateTime writes t as GOV.UK does, "25 November 2026, 12:00pm", in lang,
// in UK time.
func DateTime(t time.Time, lang rules.Lang) string {
	t = t.In(london())
	if lang == rules.Welsh {
		return fmt.Sprintf("%d %s %d, %s", t.Day(), welshMonths[t.Month()-1], t.Year(), t.Format("3:04pm"))
	}
	return t.Format("2 January 2006, 3:04pm")
}

// TaxYear writes "2025-26" as GOV.UK does: "2025 to 2026", in Welsh
// "2025 i 2026".
func TaxYear(y string, lang rules.Lang) string {
	start, end, ok := strings.Cut(y, "-")
	if !ok || len(start) != 4 || len(end) != 2 {
		return y
	}
	to := " to "
	if lang == rules.Welsh {
		to = " i "
	}
	return start + to + start[:2] + end
}
