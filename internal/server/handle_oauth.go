package server

import (
	"errors"
	"net/http"

	"github.com/open-assist/assist/internal/oauth"
)

type createApplicationRequest struct {
	Name         string   `json:"name"`
	RedirectURIs []string `json:"redirectUris"`
}

// handleCreateApplication registers an OAuth 2.0 application, as HMRC's
// Developer Hub does, and shows its client secret this once.
func (s *Server) handleCreateApplication() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in createApplicationRequest
		if err := decodeOptional(w, r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		creds, err := s.opts.OAuth.RegisterApplication(r.Context(), in.Name, in.RedirectURIs)
		if errors.Is(err, oauth.ErrInvalidApplication) || errors.Is(err, oauth.ErrTooManyApplications) {
			s.fail(w, r, invalidRequest("%v", err))
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeJSON(w, http.StatusCreated, creds)
	})
}
