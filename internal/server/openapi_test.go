package server_test

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/open-assist/assist/internal/server"
)

func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI)
	if err != nil {
		t.Fatalf("LoadFromData() = %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
}
