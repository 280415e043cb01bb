package server

import (
	"testing"

	"github.com/open-assist/assist/internal/rules"
)

func TestPreferredLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header []string
		want   rules.Lang
	}{
		{nil, rules.English},
		{[]string{""}, rules.English},
		{[]string{"cy"}, rules.Welsh},
		{[]string{"CY-gb"}, rules.Welsh},
		{[]string{"en"}, rules.English},
		{[]string{"fr, cy;q=0.5"}, rules.Welsh},
		{[]string{"cy;q=0.9, en;q=0.8"}, rules.Welsh},
		{[]string{"en-GB,en;q=0.9,cy;q=0.1"}, rules.English},
		{[]string{"en;q=0.5, cy;q=0.7"}, rules.Welsh},
		{[]string{"cy, en"}, rules.Welsh},
		{[]string{"en, cy"}, rules.English},
		{[]string{"cy;q=0"}, rules.English},
		{[]string{"cy;q=bad"}, rules.English},
		{[]string{"de", "cy"}, rules.Welsh},
	}
	for _, tc := range tests {
		if got := preferredLanguage(tc.header); got != tc.want {
			t.Errorf("preferredLanguage(%q) = %s, want %s", tc.header, got, tc.want)
		}
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		values []string
		want   string
		ok     bool
	}{
		{[]string{"Bearer abc"}, "abc", true},
		{[]string{"bearer abc"}, "abc", true},
		{[]string{"Bearer  abc "}, "abc", true},
		{[]string{"Bearer"}, "", false},
		{[]string{"Bearer "}, "", false},
		{[]string{"Basic abc"}, "", false},
		{[]string{"Bearer a", "Bearer b"}, "", false},
		{nil, "", false},
	}
	for _, tc := range tests {
		got, ok := bearerToken(tc.values)
		if string(got) != tc.want || ok != tc.ok {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tc.values, got, ok, tc.want, tc.ok)
		}
	}
}
