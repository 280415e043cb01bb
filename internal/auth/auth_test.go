package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

func newIssuer(t *testing.T, key []byte, issuer, audience string, at time.Time) *Issuer {
	t.Helper()
	i, err := NewIssuer(key, issuer, audience, time.Hour, clock(at))
	if err != nil {
		t.Fatalf("NewIssuer() = %v", err)
	}
	return i
}

func TestIssueAndVerify(t *testing.T) {
	t.Parallel()
	key, err := NewSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	iss := newIssuer(t, key, "iss", "aud", now)
	v, err := NewVerifier("iss", "aud", iss.PublicKeys(), clock(now.Add(30*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	want := &Principal{
		Subject:         "TC663795B",
		AffinityGroup:   Individual,
		NINO:            "TC663795B",
		MTDITID:         "XAIT00000000001",
		ConfidenceLevel: 250,
		Enrolments:      []string{EnrolmentMTDIT},
		Scopes:          []string{"read:self-assessment-assist", "write:self-assessment-assist"},
	}
	tok, ttl, err := iss.Issue(want)
	if err != nil || ttl != 3600 {
		t.Fatalf("Issue() = %v, %d; want a token for 3600s", err, ttl)
	}
	got, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Verify() (-want +got):\n%s", diff)
	}
	if !got.HasScope("read:self-assessment-assist") || got.HasScope("admin") || !got.HasEnrolment(EnrolmentMTDIT) {
		t.Errorf("HasScope/HasEnrolment wrong for %+v", got)
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	key, _ := NewSigningKey()
	otherKey, _ := NewSigningKey()
	p := &Principal{AffinityGroup: Individual, Scopes: []string{"x"}}
	good := newIssuer(t, key, "iss", "aud", now)
	v, err := NewVerifier("iss", "aud", good.PublicKeys(), clock(now))
	if err != nil {
		t.Fatal(err)
	}
	issue := func(i *Issuer) Token {
		tok, _, err := i.Issue(p)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := string(issue(good))
	parts := strings.Split(valid, ".")
	// An unsigned token ("alg":"none") with the same claims.
	none := "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
	// A token signed with a symmetric key.
	hs, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	hsTok, _ := jwt.Signed(hs).Claims(jwt.Claims{Issuer: "iss", Audience: jwt.Audience{"aud"}, Expiry: jwt.NewNumericDate(now.Add(time.Hour))}).Serialize()

	tests := []struct {
		name string
		tok  Token
	}{
		{"empty", ""},
		{"garbage", "not a token"},
		{"other_key", issue(newIssuer(t, otherKey, "iss", "aud", now))},
		{"expired", issue(newIssuer(t, key, "iss", "aud", now.Add(-2*time.Hour)))},
		{"not_yet_valid", issue(newIssuer(t, key, "iss", "aud", now.Add(2*time.Hour)))},
		{"other_issuer", issue(newIssuer(t, key, "other", "aud", now))},
		{"other_audience", issue(newIssuer(t, key, "iss", "other", now))},
		{"tampered_claims", Token(parts[0] + "." + parts[1] + "x." + parts[2])},
		{"alg_none", Token(none)},
		{"hs256", Token(hsTok)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := v.Verify(context.Background(), tc.tok); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Verify(%s) = %v, want ErrInvalidToken", tc.name, err)
			}
		})
	}
}

func TestTokenNeverLogged(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", slog.Any("token", Token("secret-token")))
	if strings.Contains(buf.String(), "secret-token") {
		t.Errorf("log = %s, want the token redacted", buf.String())
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	p := &Principal{NINO: "TC663795B"}
	ctx := NewContext(context.Background(), p, "tok")
	if FromContext(ctx) != p || TokenFromContext(ctx) != "tok" {
		t.Errorf("FromContext/TokenFromContext did not return what NewContext stored")
	}
	if FromContext(context.Background()) != nil || TokenFromContext(context.Background()) != "" {
		t.Errorf("empty context gave a principal or token")
	}
}

func TestNewIssuerRefusesPublicKey(t *testing.T) {
	t.Parallel()
	key, _ := NewSigningKey()
	iss := newIssuer(t, key, "iss", "aud", now)
	pub, _ := iss.PublicKeys().Keys[0].MarshalJSON()
	if _, err := NewIssuer(pub, "iss", "aud", time.Hour, nil); err == nil {
		t.Errorf("NewIssuer(public key) = nil error, want an error")
	}
}
