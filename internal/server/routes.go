package server

import (
	"net/http"

	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/hmrc"
)

// routes lists every route. The API and platform routes answer both under
// the API's context (/individuals/self-assessment/assist) and without it;
// test support exists only in sandbox mode.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, prefix := range []string{"", hmrc.PathPrefix} {
		mux.Handle("POST "+prefix+"/reports/{nino}/{taxYear}/{calculationId}", s.api(hmrc.ScopeRead, config.EndpointProduce, s.handleProduce()))
		mux.Handle("POST "+prefix+"/reports/acknowledge/{nino}/{reportId}/{correlationId}", s.api(hmrc.ScopeWrite, config.EndpointAcknowledge, s.handleAcknowledge()))

		mux.Handle("GET "+prefix+"/api/definition", s.handleDefinition())
		mux.Handle("GET "+prefix+"/api/conf/{version}/{file...}", s.handleDocs())
		mux.Handle("GET "+prefix+"/ping/ping", s.handlePing())
		mux.Handle("GET "+prefix+"/health/ready", s.handleReady())
	}
	// The Test Fraud Prevention Headers API, in both modes: developers check
	// their software's headers against production's rules too. In the
	// sandbox, validate needs no token, as HMRC's does not.
	validate := s.handleFraudValidate()
	if !s.opts.Sandbox {
		validate = s.authenticated(validate)
	}
	mux.Handle("GET "+hmrc.PathFraudValidate, validate)
	mux.Handle("GET "+hmrc.PathFraudFeedback, s.authenticated(s.handleFraudFeedback()))
	s.pageRoutes(mux)
	s.adminRoutes(mux)
	if s.opts.Sandbox {
		mux.Handle("POST /test-support/individuals", s.handleCreateIndividual())
		mux.Handle("POST /test-support/agents", s.handleCreateAgent())
		mux.Handle("PUT /test-support/agents/{arn}/clients/{nino}", s.handlePutClient())
		mux.Handle("DELETE /test-support/agents/{arn}/clients/{nino}", s.handleDeleteClient())
		mux.Handle("PUT /test-support/calculations/{nino}/{taxYear}/{calculationId}", s.handlePutCalculation())
		mux.Handle("GET /test-support/reports/{reportId}", s.handleGetReport())

		// OAuth 2.0 as HMRC's Developer Hub offers it.
		mux.Handle("POST /test-support/applications", s.handleCreateApplication())
		mux.Handle("GET /oauth/authorize", s.opts.OAuth.HandleAuthorize())
		mux.Handle("POST /oauth/sign-in", s.opts.OAuth.HandleSignIn())
		mux.Handle("POST /oauth/grant", s.opts.OAuth.HandleGrant())
		mux.Handle("POST /oauth/token", s.opts.OAuth.HandleToken())
	}
	return mux
}
