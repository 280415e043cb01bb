package server

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/open-assist/assist/internal/hmrc"
)

// OpenAPI is this API's OpenAPI 3 document, served at
// /api/conf/1.0/application.yaml. A test validates real responses against it.
//
//go:embed openapi/application.yaml
var OpenAPI []byte

// handleDefinition serves the API definition the API platform reads.
func (s *Server) handleDefinition() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeJSON(w, http.StatusOK, hmrc.NewDefinition(s.opts.APIStatus))
	})
}

// handleDocs serves the OpenAPI document of version 1.0.
func (s *Server) handleDocs() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("version") != "1.0" || r.PathValue("file") != "application.yaml" {
			s.writeProblems(w, problems{hmrc.ErrNotFound})
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		w.WriteHeader(http.StatusOK)
		w.Write(OpenAPI)
	})
}

// handlePing answers that the process is up.
func (s *Server) handlePing() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
}

// handleReady answers 200 only when the store answers.
func (s *Server) handleReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.opts.Store.Ping(ctx); err != nil {
			s.log.WarnContext(ctx, "not ready", slog.Any("err", err))
			s.writeProblems(w, problems{hmrc.ErrNotReady})
			return
		}
		s.writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}
