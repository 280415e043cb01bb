package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/web"
)

// The session is the caller's own bearer token, kept in an HttpOnly,
// SameSite=Strict cookie and verified on every request by the same rules
// as the API: nothing is stored on the server, so any replica serves it,
// and it ends when the token expires.
const (
	sessionCookie = "assist_session"
	// maxCookieToken keeps the cookie under browsers' 4 KiB limit.
	maxCookieToken = 3800
)

// pageRoutes are the pages for people, in both modes.
func (s *Server) pageRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+web.CSSPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(web.Stylesheet())
	}))
	mux.Handle("GET /sign-in", s.handleSignInPage())
	if s.opts.Sandbox {
		mux.Handle("GET /sign-in/oauth", s.handleOAuthSignIn())
		mux.Handle("GET /sign-in/callback", s.handleOAuthCallback())
	}
	mux.Handle("POST /sign-in", s.handleSignIn())
	mux.Handle("POST /sign-out", s.handleSignOut())
	mux.Handle("GET /reports/{reportId}/view", s.handleReportPage())
	mux.Handle("POST /reports/{reportId}/acknowledgement", s.handleReportAcknowledge())
	mux.Handle("GET /agents/clients", s.handleClientsPage())
}

// pageLang is the page's language: ?lang=, else Accept-Language.
func pageLang(r *http.Request) rules.Lang {
	if lang, ok := rules.ParseLang(r.URL.Query().Get("lang")); ok {
		return lang
	}
	return preferredLanguage(r.Header.Values("Accept-Language"))
}

// langOr is s as a language, or English.
func langOr(s string) rules.Lang {
	if lang, ok := rules.ParseLang(s); ok {
		return lang
	}
	return rules.English
}

// setCookie sets a cookie of the pages: HttpOnly, Secure where it must be
// (secureCookies); maxAge -1 deletes it.
func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true, SameSite: sameSite,
		Secure: s.secureCookies(r)})
}

// startSession makes tok the browser's session.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, tok string) {
	s.setCookie(w, r, sessionCookie, tok, "/", 0, http.SameSiteStrictMode)
}

// layout is the frame of a page at r in lang; the language switch keeps
// the page and its other query parameters.
func layout(r *http.Request, lang rules.Lang, title string) web.Layout {
	t := web.Texts(lang)
	q := r.URL.Query()
	q.Set("lang", t["switchLang"])
	return web.Layout{Lang: lang, T: t, Title: title, SwitchURL: r.URL.Path + "?" + q.Encode()}
}

// session is the signed-in caller of a page request, or nil.
func (s *Server) session(r *http.Request) (*auth.Principal, auth.Token) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, ""
	}
	tok := auth.Token(c.Value)
	p, err := s.opts.Verifier.Verify(r.Context(), tok)
	if err != nil {
		return nil, ""
	}
	return p, tok
}

// csrfToken is the session's form token: derived from the session's own
// token, which another site can neither read nor guess, so it needs no
// storage.
func csrfToken(tok auth.Token) string {
	sum := sha256.Sum256([]byte("assist-csrf\x00" + string(tok)))
	return hex.EncodeToString(sum[:16])
}

func validCSRF(r *http.Request, tok auth.Token) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(csrfToken(tok))) == 1
}

// renderPage writes a page with the headers every page gets.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := s.pages.Render(w, name, data); err != nil {
		s.log.ErrorContext(r.Context(), "render page", slog.String("page", name), slog.Any("err", err))
	}
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, lang rules.Lang, status int, heading, body string) {
	t := web.Texts(lang)
	l := layout(r, lang, t[heading])
	s.renderPage(w, r, status, "error", web.ErrorPage{Layout: l, Heading: t[heading], Body: t[body]})
}

// safeNext keeps a sign-in's return address on this site: a path, never
// another host.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.IsAbs() || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return u.RequestURI()
}

func (s *Server) handleSignInPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := pageLang(r)
		t := web.Texts(lang)
		page := web.SignInPage{Layout: layout(r, lang, t["signInTitle"]), Next: safeNext(r.URL.Query().Get("next")), Sandbox: s.opts.Sandbox}
		if s.opts.Sandbox {
			page.OAuthURL = "/sign-in/oauth?" + url.Values{"next": {page.Next}, "lang": {string(lang)}}.Encode()
		}
		s.renderPage(w, r, http.StatusOK, "signin", page)
	})
}

// handleSignIn checks a pasted token by the API's rules and keeps it in
// the session cookie.
func (s *Server) handleSignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		lang := langOr(r.PostFormValue("lang"))
		t := web.Texts(lang)
		next := safeNext(r.PostFormValue("next"))
		tok := strings.TrimSpace(r.PostFormValue("token"))
		if s.isAdminToken(tok) {
			if next == "/" {
				next = "/admin/rules"
			}
			s.setCookie(w, r, adminCookie, tok, "/admin", 0, http.SameSiteStrictMode)
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		problem := ""
		switch {
		case tok == "":
			problem = "noToken"
		case len(tok) > maxCookieToken:
			problem = "longToken"
		default:
			if _, err := s.opts.Verifier.Verify(r.Context(), auth.Token(tok)); err != nil {
				s.log.InfoContext(r.Context(), "sign-in token refused", slog.Any("err", err))
				problem = "badToken"
			}
		}
		if problem != "" {
			s.renderPage(w, r, http.StatusUnprocessableEntity, "signin", web.SignInPage{Layout: layout(r, lang, t["signInTitle"]),
				Next: next, Error: t[problem], Sandbox: s.opts.Sandbox})
			return
		}
		s.startSession(w, r, tok)
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}

// secureCookies: always in production (which runs behind HTTPS), and in
// the sandbox when it is served over TLS itself.
func (s *Server) secureCookies(r *http.Request) bool { return !s.opts.Sandbox || r.TLS != nil }

func (s *Server) handleSignOut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		if _, tok := s.session(r); tok != "" && !validCSRF(r, tok) {
			s.errorPage(w, r, pageLang(r), http.StatusForbidden, "badForm", "badFormBody")
			return
		}
		s.setCookie(w, r, sessionCookie, "", "/", -1, http.SameSiteStrictMode)
		http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
	})
}

// signedIn is the page request's caller; without one it sends them to sign
// in, coming back here, and returns nil.
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, lang rules.Lang) (*auth.Principal, auth.Token) {
	p, tok := s.session(r)
	if p == nil {
		q := url.Values{"next": {r.URL.RequestURI()}, "lang": {string(lang)}}
		http.Redirect(w, r, "/sign-in?"+q.Encode(), http.StatusSeeOther)
	}
	return p, tok
}

// pageReport finds the report at r for the signed-in caller, answering the
// request itself (sign-in or an error page) and returning nil when it
// cannot be shown. A report the caller may not see is "not found", as one
// that does not exist.
func (s *Server) pageReport(w http.ResponseWriter, r *http.Request, lang rules.Lang, scope, endpoint string) (*report.Report, *report.Acknowledgement, *auth.Principal, auth.Token) {
	p, tok := s.signedIn(w, r, lang)
	if p == nil {
		return nil, nil, nil, ""
	}
	id := r.PathValue("reportId")
	if !hmrc.ValidReportID(id) {
		s.errorPage(w, r, lang, http.StatusNotFound, "notFound", "notFoundBody")
		return nil, nil, nil, ""
	}
	rep, ack, err := s.opts.Reports.Find(r.Context(), id)
	if err == nil && !p.HasScope(scope) {
		err = errNotAuthorised
	}
	if err == nil {
		err = s.authorise(r.Context(), p, rep.NINO, endpoint)
	}
	switch {
	case errors.Is(err, report.ErrNotFound) || errors.Is(err, errNotAuthorised):
		s.errorPage(w, r, lang, http.StatusNotFound, "notFound", "notFoundBody")
		return nil, nil, nil, ""
	case err != nil:
		s.log.ErrorContext(r.Context(), "report page", slog.Any("err", err))
		s.errorPage(w, r, lang, http.StatusServiceUnavailable, "problem", "problemBody")
		return nil, nil, nil, ""
	}
	return rep, ack, p, tok
}

// handleReportPage shows a report to its customer or their agent: the
// messages they were shown, in the page's language when the report has it.
func (s *Server) handleReportPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := pageLang(r)
		rep, ack, _, tok := s.pageReport(w, r, lang, hmrc.ScopeRead, config.EndpointProduce)
		if rep == nil {
			return
		}
		t := web.Texts(lang)
		l := layout(r, lang, t["reportTitle"])
		l.SignedIn, l.CSRF = true, csrfToken(tok)
		msgs, got := rep.ShownIn(lang)
		page := web.ReportPage{Layout: l, ID: rep.ID, TaxYear: web.TaxYear(rep.TaxYear, lang),
			AckAction: "/reports/" + rep.ID + "/acknowledgement?lang=" + string(lang), JustNow: r.URL.Query().Get("acknowledged") == "1"}
		if got != lang {
			page.OnlyIn = got
		}
		for _, m := range msgs {
			page.Messages = append(page.Messages, web.Message{Title: m.Title, Body: m.Body, Action: m.Action, Links: m.Links})
		}
		if ack != nil {
			page.Acknowledged = true
			page.AcknowledgedAt = web.DateTime(ack.AcknowledgedAt, lang)
		} else {
			page.JustNow = false
		}
		s.renderPage(w, r, http.StatusOK, "report", page)
	})
}

// handleReportAcknowledge is the page's "I have read this report": the
// same acknowledgement as the API's, with the same authority and proof.
func (s *Server) handleReportAcknowledge() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		lang := pageLang(r)
		rep, _, p, tok := s.pageReport(w, r, lang, hmrc.ScopeWrite, config.EndpointAcknowledge)
		if rep == nil {
			return
		}
		if !validCSRF(r, tok) {
			s.errorPage(w, r, lang, http.StatusForbidden, "badForm", "badFormBody")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		err := s.opts.Reports.Acknowledge(ctx, report.AckRequest{NINO: rep.NINO, ReportID: rep.ID, CorrelationID: rep.CorrelationID,
			By: p.Party(), RequestID: RequestID(r.Context()), Headers: nrs.HeaderData(r.Header)})
		if err != nil {
			s.log.ErrorContext(r.Context(), "acknowledge from the report page", slog.Any("err", err))
			s.errorPage(w, r, lang, http.StatusServiceUnavailable, "problem", "problemBody")
			return
		}
		http.Redirect(w, r, "/reports/"+rep.ID+"/view?acknowledged=1&lang="+string(lang), http.StatusSeeOther)
	})
}

// handleClientsPage is an agent's view of every client who authorised them:
// each client's latest report of each tax year, how much it asks them to
// check and whether it was acknowledged. A client the agent may not act
// for (by the API's rules) is never listed.
func (s *Server) handleClientsPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := pageLang(r)
		p, tok := s.signedIn(w, r, lang)
		if p == nil {
			return
		}
		if p.AffinityGroup != identity.Agent || p.ARN == "" || !p.HasScope(hmrc.ScopeRead) {
			s.errorPage(w, r, lang, http.StatusForbidden, "agentsOnly", "agentsOnlyBody")
			return
		}
		ctx := r.Context()
		auths, err := s.opts.Store.Authorisations(ctx, p.ARN, "")
		var ninos []string
		for _, a := range auths {
			if err != nil {
				break
			}
			switch e := s.authorise(ctx, p, a.NINO, config.EndpointProduce); {
			case e == nil:
				ninos = append(ninos, a.NINO)
			case !errors.Is(e, errNotAuthorised):
				err = e
			}
		}
		var latest []report.Summary
		if err == nil {
			latest, err = s.opts.Store.LatestReports(ctx, ninos)
		}
		if err != nil {
			s.log.ErrorContext(ctx, "clients page", slog.Any("err", err))
			s.errorPage(w, r, lang, http.StatusServiceUnavailable, "problem", "problemBody")
			return
		}
		t := web.Texts(lang)
		l := layout(r, lang, t["agentsTitle"])
		l.SignedIn, l.CSRF = true, csrfToken(tok)
		q := r.URL.Query()
		page := web.ClientsPage{Layout: l, Year: q.Get("taxYear"), Outstanding: q.Get("outstanding") == "1", Clients: len(ninos)}
		years := map[string]bool{}
		withReport := map[string]bool{}
		for _, sm := range latest {
			years[sm.TaxYear] = true
			withReport[sm.NINO] = true
			unread := sm.Shown > 0 && sm.AcknowledgedAt == nil
			if (page.Year != "" && sm.TaxYear != page.Year) || (page.Outstanding && !unread) {
				continue
			}
			if unread {
				page.Unread++
			}
			page.Rows = append(page.Rows, web.ClientRow{NINO: sm.NINO, TaxYear: sm.TaxYear, Report: sm.ID, Shown: sm.Shown,
				Acknowledged: sm.AcknowledgedAt != nil})
		}
		if page.Year == "" && !page.Outstanding {
			for _, n := range ninos {
				if !withReport[n] {
					page.Rows = append(page.Rows, web.ClientRow{NINO: n})
				}
			}
		}
		page.Years = slices.Sorted(maps.Keys(years))
		slices.Reverse(page.Years)
		s.renderPage(w, r, http.StatusOK, "clients", page)
	})
}
