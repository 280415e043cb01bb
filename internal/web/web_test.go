package web

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/rules"
)

// Every word the pages use exists in both languages: a missing key would
// render as nothing.
func TestTextsInBothLanguages(t *testing.T) {
	en, cy := Texts(rules.English), Texts(rules.Welsh)
	if !slices.Equal(slices.Sorted(maps.Keys(en)), slices.Sorted(maps.Keys(cy))) {
		t.Fatalf("English and Welsh have different keys")
	}
	for k := range en {
		if strings.TrimSpace(en[k]) == "" || strings.TrimSpace(cy[k]) == "" {
			t.Errorf("%q is empty in a language", k)
		}
	}
}

// Each template reads only keys that exist: rendering with a map that
// answers every missing key with a marker shows any it lacks.
func TestTemplatesUseKnownTexts(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []rules.Lang{rules.English, rules.Welsh} {
		l := Layout{Lang: lang, T: Texts(lang), Title: "t", SwitchURL: "/x", SignedIn: true, CSRF: "c"}
		pages := map[string]any{
			"report":  ReportPage{Layout: l, TaxYear: "2025 to 2026", Messages: []Message{{Title: "a", Links: []rules.Link{{Title: "l", URL: "https://www.gov.uk"}}}}},
			"signin":  SignInPage{Layout: l, Error: "e", Sandbox: true, OAuthURL: "/sign-in/oauth"},
			"clients": ClientsPage{Layout: l, Rows: []ClientRow{{NINO: "AA123456A", Report: "r", Shown: 1}, {NINO: "AB123456A"}}},
			"error":   ErrorPage{Layout: l, Heading: "h", Body: "b"},
		}
		for name, data := range pages {
			var b bytes.Buffer
			if err := p.Render(&b, name, data); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			// An empty element where a text belongs: <button ...></button>, <a ...></a>.
			for _, empty := range []string{"></button>", "\"></a>", "<h1 class=\"govuk-heading-l\"></h1>", "<label class=\"govuk-label govuk-label--m\" for=\"token\"></label>"} {
				if strings.Contains(b.String(), empty) {
					t.Errorf("%s in %s renders an empty element (%s): a text key is missing", name, lang, empty)
				}
			}
		}
	}
}

func TestTaxYearAndDates(t *testing.T) {
	if got := TaxYear("2025-26", rules.English); got != "2025 to 2026" {
		t.Errorf("TaxYear(en) = %q", got)
	}
	if got := TaxYear("2025-26", rules.Welsh); got != "2025 i 2026" {
		t.Errorf("TaxYear(cy) = %q", got)
	}
	at := time.Date(2026, 7, 1, 11, 5, 0, 0, time.UTC) // 12:05pm in London (BST)
	if got := DateTime(at, rules.English); got != "1 July 2026, 12:05pm" {
		t.Errorf("DateTime(en) = %q", got)
	}
	if got := DateTime(at, rules.Welsh); got != "1 Gorffennaf 2026, 12:05pm" {
		t.Errorf("DateTime(cy) = %q", got)
	}
}
