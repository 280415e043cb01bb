package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/open-assist/assist/internal/store"
)

// The authorisation code grant in a browser (RFC 6749 section 4.1):
//
//	GET  /oauth/authorize  checks the client and redirect URI, starts a session
//	                       (cookie + CSRF token) and shows the sign-in page;
//	POST /oauth/sign-in    checks the user id and password, shows the grant page;
//	POST /oauth/grant      grants (302 to redirect_uri?code=…&state=…) or
//	                       refuses (302 with error=access_denied).
//
// An unknown client or an unregistered redirect URI gets an error page and
// never a redirect, so the server cannot be used to send a browser anywhere.

// outcome is what one step answers, for the handler to write.
type outcome struct {
	status   int
	page     string // template: "signin", "grant" or "error"
	data     pageData
	redirect string // a 302 to here instead of a page
	// setSession sets the session cookie; clearSession removes it.
	setSession   string
	clearSession bool
}

// pageData is what the pages show.
type pageData struct {
	AppName string
	CSRF    string
	UserID  string
	Scopes  []scopeView
	Message string // an error to show
	// formOrigin is the redirect URI's origin, which the grant form's
	// redirect goes to (the Content-Security-Policy must allow it).
	formOrigin string
}

type scopeView struct{ Name, Description string }

func errorPage(status int, format string, args ...any) *outcome {
	return &outcome{status: status, page: "error", data: pageData{Message: fmt.Sprintf(format, args...)}}
}

// Authorize starts an authorisation request from the query of GET
// /oauth/authorize.
func (s *Service) Authorize(ctx context.Context, q url.Values) (*outcome, error) {
	for _, k := range []string{"client_id", "redirect_uri"} {
		if len(q[k]) > 1 {
			return errorPage(http.StatusBadRequest, "The request has more than one %s.", k), nil
		}
	}
	clientID, redirectURI := q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" || len(clientID) > maxFieldLen {
		return errorPage(http.StatusBadRequest, "The request has no valid client_id."), nil
	}
	app, err := s.store.Application(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return errorPage(http.StatusBadRequest, "No application has this client_id."), nil
	}
	if err != nil {
		return nil, err
	}
	if !slices.Contains(app.RedirectURIs, redirectURI) {
		return errorPage(http.StatusBadRequest, "The redirect_uri is not one registered for %s.", app.Name), nil
	}

	// From here on, errors go back to the application (section 4.1.2.1).
	state := q.Get("state")
	fail := func(code, desc string) (*outcome, error) {
		return &outcome{redirect: withQuery(redirectURI, "error", code, "error_description", desc, "state", state)}, nil
	}
	for k, vs := range q {
		if len(vs) > 1 {
			state = ""
			return fail(ErrInvalidRequest, "the request has more than one "+truncate(k, 40))
		}
	}
	if len(state) > maxStateLen {
		state = ""
		return fail(ErrInvalidRequest, fmt.Sprintf("state is longer than %d characters", maxStateLen))
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return fail(ErrInvalidRequest, "response_type is missing")
	default:
		return fail(ErrUnsupportedResponseType, "response_type must be code")
	}
	scopes, oerr := parseScope(q.Get("scope"))
	if oerr != nil {
		return fail(oerr.Code, oerr.Description)
	}

	id, csrf := rand.Text(), rand.Text()
	sess := &store.AuthSession{
		IDHash: hash(id), CSRFHash: hash(csrf), ClientID: app.ClientID, RedirectURI: redirectURI,
		Scope: strings.Join(scopes, " "), State: state, ExpiresAt: s.Now().Add(SessionTTL).UTC(),
	}
	if err := s.store.CreateAuthSession(ctx, sess); err != nil {
		return nil, err
	}
	return &outcome{status: http.StatusOK, page: "signin", setSession: id, data: pageData{AppName: app.Name, CSRF: csrf}}, nil
}

// errNoSession is shown when the cookie names no live session.
func errNoSession() *outcome {
	return errorPage(http.StatusBadRequest, "This sign-in has expired or was not started here. Go back to the application and start again.")
}

func errCSRF() *outcome {
	return errorPage(http.StatusForbidden, "The form was not sent by this page. Go back to the application and start again.")
}

// session returns the live session named by the cookie whose CSRF token the
// form carries, or the page to show instead.
func (s *Service) session(ctx context.Context, sessionID, csrf string) (*store.AuthSession, *outcome, error) {
	if sessionID == "" || len(sessionID) > maxFieldLen {
		return nil, errNoSession(), nil
	}
	sess, err := s.store.AuthSession(ctx, hash(sessionID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession(), nil
	}
	if err != nil {
		return nil, nil, err
	}
	if csrf == "" || len(csrf) > maxFieldLen || !sameHash(csrf, sess.CSRFHash) {
		return nil, errCSRF(), nil
	}
	return sess, nil, nil
}

// SignIn checks the user id and password posted to the sign-in page of the
// session sessionID (its cookie).
func (s *Service) SignIn(ctx context.Context, sessionID string, form url.Values) (*outcome, error) {
	csrf := form.Get("csrf")
	sess, page, err := s.session(ctx, sessionID, csrf)
	if page != nil || err != nil {
		return page, err
	}
	app, err := s.store.Application(ctx, sess.ClientID)
	if err != nil {
		return nil, err
	}
	userID, password := strings.TrimSpace(form.Get("userId")), form.Get("password")
	user, ok, err := s.checkPassword(ctx, userID, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		n, err := s.store.FailAuthSignIn(ctx, sess.IDHash)
		if err != nil {
			return nil, err
		}
		if n >= MaxSignInFailures {
			if err := s.store.DeleteAuthSession(ctx, sess.IDHash); err != nil {
				return nil, err
			}
			o := errorPage(http.StatusForbidden, "Too many wrong sign-ins. Go back to the application and start again.")
			o.clearSession = true
			return o, nil
		}
		return &outcome{status: http.StatusOK, page: "signin",
			data: pageData{AppName: app.Name, CSRF: csrf, Message: "The user ID or password is not right."}}, nil
	}
	if err := s.store.SignInAuthSession(ctx, sess.IDHash, user.UserID); err != nil {
		return nil, err
	}
	data := pageData{AppName: app.Name, CSRF: csrf, UserID: user.UserID, formOrigin: origin(sess.RedirectURI)}
	for _, sc := range strings.Fields(sess.Scope) {
		data.Scopes = append(data.Scopes, scopeView{Name: sc, Description: scopeDescriptions[sc]})
	}
	return &outcome{status: http.StatusOK, page: "grant", data: data}, nil
}

// checkPassword returns the test user whose password this is. An unknown
// user id costs as much time as a wrong password.
func (s *Service) checkPassword(ctx context.Context, userID, password string) (*store.TestUser, bool, error) {
	if userID == "" || len(userID) > maxFieldLen || len(password) > 72 { // bcrypt reads 72 bytes
		return nil, false, nil
	}
	user, err := s.store.TestUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if bcrypt.CompareHashAndPassword([]byte(user.PasswordHash), []byte(password)) != nil {
		return nil, false, nil
	}
	return user, true, nil
}

// Decide grants or refuses the session's request, as the signed-in user
// chose on the grant page, and sends the browser back to the application.
func (s *Service) Decide(ctx context.Context, sessionID string, form url.Values) (*outcome, error) {
	sess, page, err := s.session(ctx, sessionID, form.Get("csrf"))
	if page != nil || err != nil {
		return page, err
	}
	if sess.UserID == "" {
		return errorPage(http.StatusBadRequest, "Sign in first."), nil
	}
	decision := form.Get("decision")
	if decision != "grant" && decision != "deny" {
		return errorPage(http.StatusBadRequest, "Choose to grant or refuse authority."), nil
	}
	// Taking the session makes the decision once, even if the form is
	// posted twice at the same moment.
	sess, err = s.store.TakeAuthSession(ctx, sess.IDHash)
	if errors.Is(err, store.ErrNotFound) {
		return errNoSession(), nil
	}
	if err != nil {
		return nil, err
	}
	if decision == "deny" {
		return &outcome{clearSession: true, redirect: withQuery(sess.RedirectURI,
			"error", ErrAccessDenied, "error_description", "the user refused authority", "state", sess.State)}, nil
	}
	code := rand.Text()
	c := &store.AuthCode{CodeHash: hash(code), ClientID: sess.ClientID, RedirectURI: sess.RedirectURI,
		UserID: sess.UserID, Scope: sess.Scope, ExpiresAt: s.Now().Add(CodeTTL).UTC()}
	if err := s.store.CreateAuthCode(ctx, c); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "authority granted", slog.String("client_id", sess.ClientID), slog.String("scope", sess.Scope))
	return &outcome{clearSession: true, redirect: withQuery(sess.RedirectURI, "code", code, "state", sess.State)}, nil
}

// withQuery adds parameters to a registered redirect URI, keeping its own
// query; empty values are left out.
func withQuery(raw string, kv ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw // registered URIs were parsed when registered
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// origin is scheme://host of a URL, for a Content-Security-Policy.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
