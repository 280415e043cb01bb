package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/oauth"
)

// In the sandbox the pages sign people in as HMRC's would: through the
// sandbox's own OAuth pages, as an application of their own. The flow's
// state (and the pages' client credentials, which only exchange codes
// issued to the pages) travel in a short-lived cookie, so that any
// replica can finish a sign-in another began.
const (
	oauthCookie = "assist_oauth"
	// maxPageClients bounds the applications one process registers for
	// itself: one per address it is reached at, which the Host header
	// names, so a client cannot make it fill the table.
	maxPageClients = 4
)

// pageClients are the pages' OAuth applications, by base URL.
type pageClients struct {
	mu   sync.Mutex
	apps map[string]*oauth.Credentials
}

// client returns the pages' application for base, registering it once.
func (s *Server) pageClient(ctx context.Context, base string) (*oauth.Credentials, error) {
	s.clients.mu.Lock()
	defer s.clients.mu.Unlock()
	if c, ok := s.clients.apps[base]; ok {
		return c, nil
	}
	if len(s.clients.apps) >= maxPageClients {
		return nil, errors.New("server: too many addresses for the pages' OAuth application")
	}
	c, err := s.opts.OAuth.RegisterApplication(ctx, "HMRC Assist pages", []string{base + "/sign-in/callback"})
	if err != nil {
		return nil, err
	}
	if s.clients.apps == nil {
		s.clients.apps = map[string]*oauth.Credentials{}
	}
	s.clients.apps[base] = c
	return c, nil
}

// baseURL is how the caller reached this service.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// oauthFlow is what the cookie keeps between leaving for the OAuth pages
// and coming back.
type oauthFlow struct {
	ClientID, Secret, Redirect string
	State, Next, Lang          string
}

// handleOAuthSignIn starts signing in through the sandbox's OAuth pages.
func (s *Server) handleOAuthSignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lang := pageLang(r)
		base := baseURL(r)
		c, err := s.pageClient(r.Context(), base)
		if err != nil {
			s.log.ErrorContext(r.Context(), "pages' OAuth application", slog.Any("err", err))
			s.errorPage(w, r, lang, http.StatusServiceUnavailable, "problem", "problemBody")
			return
		}
		state := rand.Text()
		flow := oauthFlow{ClientID: c.ClientID, Secret: c.ClientSecret, Redirect: base + "/sign-in/callback", State: state,
			Next: safeNext(r.URL.Query().Get("next")), Lang: string(lang)}
		b, _ := json.Marshal(flow)
		s.setCookie(w, r, oauthCookie, base64.RawURLEncoding.EncodeToString(b), "/sign-in", 600, http.SameSiteLaxMode)
		q := url.Values{"response_type": {"code"}, "client_id": {c.ClientID}, "redirect_uri": {flow.Redirect},
			"scope": {hmrc.ScopeRead + " " + hmrc.ScopeWrite}, "state": {state}}
		http.Redirect(w, r, "/oauth/authorize?"+q.Encode(), http.StatusSeeOther)
	})
}

// handleOAuthCallback finishes it: the code is exchanged for the user's
// token, which becomes the session.
func (s *Server) handleOAuthCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var flow oauthFlow
		c, err := r.Cookie(oauthCookie)
		if err == nil {
			var b []byte
			if b, err = base64.RawURLEncoding.DecodeString(c.Value); err == nil {
				err = json.Unmarshal(b, &flow)
			}
		}
		lang := langOr(flow.Lang)
		q := r.URL.Query()
		if err != nil || flow.State == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(flow.State)) != 1 || q.Get("code") == "" {
			// Refused at the grant page, or not a flow this browser began.
			http.Redirect(w, r, "/sign-in?lang="+string(lang)+"&next="+url.QueryEscape(flow.Next), http.StatusSeeOther)
			return
		}
		tok, err := s.opts.OAuth.Token(r.Context(), oauth.TokenRequest{ClientID: flow.ClientID, ClientSecret: flow.Secret,
			GrantType: "authorization_code", Code: q.Get("code"), RedirectURI: flow.Redirect})
		if err != nil || len(tok.AccessToken) > maxCookieToken {
			s.log.InfoContext(r.Context(), "pages' OAuth sign-in refused", slog.Any("err", err))
			s.errorPage(w, r, lang, http.StatusBadRequest, "badForm", "badFormBody")
			return
		}
		s.setCookie(w, r, oauthCookie, "", "/sign-in", -1, http.SameSiteLaxMode)
		s.startSession(w, r, tok.AccessToken)
		http.Redirect(w, r, safeNext(flow.Next), http.StatusSeeOther)
	})
}
