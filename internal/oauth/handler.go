package oauth

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
)

//go:embed templates/*.html
var templateFS embed.FS

// parsePages parses the embedded pages, checking that each one is there.
func parsePages() (*template.Template, error) {
	t, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("oauth: parse pages: %w", err)
	}
	for _, name := range []string{"signin", "grant", "error"} {
		if t.Lookup(name) == nil {
			return nil, fmt.Errorf("oauth: page %q is missing", name)
		}
	}
	return t, nil
}

// sessionCookie carries the id of the browser's authorisation request.
const sessionCookie = "assist_oauth_session"

// maxForm bounds the body of the forms and the token request.
const maxForm = 16 << 10

// HandleAuthorize serves GET /oauth/authorize.
func (s *Service) HandleAuthorize() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, err := s.Authorize(r.Context(), r.URL.Query())
		s.writeOutcome(w, r, o, err)
	})
}

// HandleSignIn serves POST /oauth/sign-in, the sign-in page's form.
func (s *Service) HandleSignIn() http.Handler {
	return s.browserForm(func(r *http.Request, session string, form url.Values) (*outcome, error) {
		return s.SignIn(r.Context(), session, form)
	})
}

// HandleGrant serves POST /oauth/grant, the grant page's form.
func (s *Service) HandleGrant() http.Handler {
	return s.browserForm(func(r *http.Request, session string, form url.Values) (*outcome, error) {
		return s.Decide(r.Context(), session, form)
	})
}

// browserForm reads a form posted by one of the pages. Besides the CSRF
// token in the form, cross-origin posts are refused from the browser's own
// Sec-Fetch-Site and Origin headers.
func (s *Service) browserForm(step func(r *http.Request, session string, form url.Values) (*outcome, error)) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeOutcome(w, r, errCSRF(), nil)
	}))
	return cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := readForm(w, r)
		if err != nil {
			s.writeOutcome(w, r, errorPage(http.StatusBadRequest, "The form could not be read."), nil)
			return
		}
		var session string
		if c, err := r.Cookie(sessionCookie); err == nil {
			session = c.Value
		}
		o, err := step(r, session, form)
		s.writeOutcome(w, r, o, err)
	}))
}

// readForm reads a form-encoded body of bounded size.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errors.New("the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("read form: %w", err)
	}
	return r.PostForm, nil
}

// writeOutcome writes a step's page or redirect; err is the server's
// failure, logged here and shown as a plain error page.
func (s *Service) writeOutcome(w http.ResponseWriter, r *http.Request, o *outcome, err error) {
	if err != nil {
		s.log.ErrorContext(r.Context(), "oauth request failed", slog.Any("err", err), slog.String("route", r.Pattern))
		o = errorPage(http.StatusInternalServerError, "Something went wrong. Try again later.")
	}
	secure := r.TLS != nil
	switch {
	case o.setSession != "":
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: o.setSession, Path: "/oauth/", MaxAge: int(SessionTTL.Seconds()),
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	case o.clearSession:
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/oauth/", MaxAge: -1,
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	if o.redirect != "" {
		h.Set("Location", o.redirect)
		w.WriteHeader(http.StatusFound)
		return
	}
	var body bytes.Buffer
	if err := s.pages.ExecuteTemplate(&body, o.page, o.data); err != nil {
		s.log.ErrorContext(r.Context(), "render page", slog.Any("err", err), slog.String("page", o.page))
		http.Error(w, "Something went wrong.", http.StatusInternalServerError)
		return
	}
	// No script, style or image: the pages need nothing but their forms.
	// Browsers apply form-action to the redirect that follows a post, so
	// the grant page also allows the application's origin.
	formAction := "'self'"
	if o.data.formOrigin != "" {
		formAction += " " + o.data.formOrigin
	}
	h.Set("Content-Security-Policy", "default-src 'none'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(o.status)
	w.Write(body.Bytes())
}

// HandleToken serves POST /oauth/token (RFC 6749 sections 3.2, 4.1.3, 4.4
// and 6). The client authenticates with HTTP Basic or with client_id and
// client_secret in the body, never both.
func (s *Service) HandleToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, oerr := tokenRequest(w, r)
		if oerr != nil {
			s.writeTokenError(w, r, oerr)
			return
		}
		resp, err := s.Token(r.Context(), req)
		if err != nil {
			var oe *Error
			if errors.As(err, &oe) {
				s.writeTokenError(w, r, oe)
				return
			}
			s.log.ErrorContext(r.Context(), "token request failed", slog.Any("err", err), slog.String("grant_type", req.GrantType))
			writeTokenJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
			return
		}
		writeTokenJSON(w, http.StatusOK, resp)
	})
}

// tokenRequest reads a token request.
func tokenRequest(w http.ResponseWriter, r *http.Request) (TokenRequest, *Error) {
	var req TokenRequest
	form, err := readForm(w, r)
	if err != nil {
		return req, oauthError(ErrInvalidRequest, "%v", err)
	}
	for k, vs := range form {
		if len(vs) > 1 { // section 3.2
			return req, oauthError(ErrInvalidRequest, "the request has more than one %s", truncate(k, 40))
		}
	}
	req.GrantType, req.Code, req.RedirectURI = form.Get("grant_type"), form.Get("code"), form.Get("redirect_uri")
	req.RefreshToken, req.Scope = form.Get("refresh_token"), form.Get("scope")
	bodyID, bodySecret := form.Get("client_id"), form.Get("client_secret")
	if r.Header.Get("Authorization") == "" {
		req.ClientID, req.ClientSecret = bodyID, bodySecret
		return req, nil
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		return req, oauthError(ErrInvalidClient, "the Authorization header is not HTTP Basic")
	}
	// Basic credentials are form-encoded first (section 2.3.1).
	var err1, err2 error
	req.ClientID, err1 = url.QueryUnescape(id)
	req.ClientSecret, err2 = url.QueryUnescape(secret)
	if err1 != nil || err2 != nil {
		return req, oauthError(ErrInvalidClient, "the Basic credentials are not form-encoded")
	}
	if bodySecret != "" || (bodyID != "" && bodyID != req.ClientID) {
		return req, oauthError(ErrInvalidRequest, "send the client credentials in the Authorization header or the body, not both")
	}
	return req, nil
}

func (s *Service) writeTokenError(w http.ResponseWriter, r *http.Request, e *Error) {
	s.log.InfoContext(r.Context(), "token refused", slog.String("error", e.Code))
	status := http.StatusBadRequest
	if e.Code == ErrInvalidClient {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Basic realm="assist-sandbox", charset="UTF-8"`)
	}
	writeTokenJSON(w, status, map[string]string{"error": e.Code, "error_description": e.Description})
}

func writeTokenJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(body)
}
