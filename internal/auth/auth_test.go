package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"github.com/open-assist/assist/internal/identity"
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
		AffinityGroup:   identity.Individual,
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
	p := &Principal{AffinityGroup: identity.Individual, Scopes: []string{"x"}}
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

// externalVerifier verifies tokens of "https://issuer.test" for "assist",
// signed by keys.
func externalVerifier(t *testing.T, names ClaimNames, keys ...jose.JSONWebKey) *Verifier {
	t.Helper()
	src, err := StaticKeys(keySet(keys...))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifierFrom(VerifierConfig{Issuer: "https://issuer.test", Audience: "assist", Keys: src, Claims: names, Now: clock(now)})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyAlgorithmsAndLifetime(t *testing.T) {
	t.Parallel()
	rs, ps, ec, ed := newTestKey(t, "rs", jose.RS256), newTestKey(t, "ps", jose.PS256), newTestKey(t, "ec", jose.ES256), newTestKey(t, "ed", jose.EdDSA)
	v := externalVerifier(t, ClaimNames{}, rs.public(), ps.public(), ec.public(), ed.public())
	for _, k := range []testKey{rs, ps, ec, ed} {
		if _, err := v.Verify(context.Background(), k.sign(t, validClaims(now))); err != nil {
			t.Errorf("Verify(%s token) = %v, want accepted", k.Algorithm, err)
		}
	}

	// The RSA key published for RS256, used for PS256.
	psWithRS := rs
	psWithRS.Algorithm = string(jose.PS256)
	stranger := newTestKey(t, "ec", jose.ES256) // claims the id of a published key
	noIAT := validClaims(now)
	noIAT.IssuedAt = nil
	noExp := validClaims(now)
	noExp.Expiry = nil
	long := validClaims(now)
	long.Expiry = jwt.NewNumericDate(now.Add(4*time.Hour + time.Second))
	future := validClaims(now.Add(10 * time.Minute))
	tests := []struct {
		name string
		tok  Token
	}{
		{"alg_other_than_key", psWithRS.sign(t, validClaims(now))},
		{"self_signed_with_known_kid", stranger.sign(t, validClaims(now))},
		{"no_iat", ec.sign(t, noIAT)},
		{"no_exp", ec.sign(t, noExp)},
		{"lifetime_over_4h", ec.sign(t, long)},
		{"issued_in_future", ec.sign(t, future)},
		{"huge", Token(strings.Repeat("a", maxTokenBytes+1))},
	}
	for _, tc := range tests {
		if _, err := v.Verify(context.Background(), tc.tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify(%s) = %v, want ErrInvalidToken", tc.name, err)
		}
	}
	exactly4h := validClaims(now)
	exactly4h.Expiry = jwt.NewNumericDate(now.Add(4 * time.Hour))
	if _, err := v.Verify(context.Background(), ec.sign(t, exactly4h)); err != nil {
		t.Errorf("Verify(lifetime of exactly 4h) = %v, want accepted", err)
	}
}

func TestParseClaimNames(t *testing.T) {
	t.Parallel()
	got, err := ParseClaimNames(" nino = hmrc_nino, arn=agent_code,scope=scp ")
	want := DefaultClaims
	want.NINO, want.ARN, want.Scope = "hmrc_nino", "agent_code", "scp"
	if err != nil || got != want {
		t.Errorf("ParseClaimNames() = %+v, %v; want %+v", got, err, want)
	}
	if got, err := ParseClaimNames(""); err != nil || got != DefaultClaims {
		t.Errorf(`ParseClaimNames("") = %+v, %v; want DefaultClaims`, got, err)
	}
	if back, err := ParseClaimNames(want.String()); err != nil || back != want {
		t.Errorf("ParseClaimNames(String()) = %+v, %v; want %+v", back, err, want)
	}
	for _, bad := range []string{"nino", "nino=", "ssn=x", "nino=a,nino=b", "nino=exp", "arn=iss"} {
		if _, err := ParseClaimNames(bad); err == nil {
			t.Errorf("ParseClaimNames(%q) = nil error, want an error", bad)
		}
	}
}

func TestVerifyMapsClaims(t *testing.T) {
	t.Parallel()
	ec := newTestKey(t, "ec", jose.ES256)
	names, err := ParseClaimNames("scope=scp,affinityGroup=group,nino=hmrc_nino,mtdItId=mtd,arn=agent,enrolments=enr,confidenceLevel=cl")
	if err != nil {
		t.Fatal(err)
	}
	v := externalVerifier(t, names, ec.public())
	std := validClaims(now)
	payload := map[string]any{
		"iss": std.Issuer, "aud": std.Audience, "sub": std.Subject, "iat": std.IssuedAt, "exp": std.Expiry,
		"scp": []string{"read:self-assessment-assist", "write:self-assessment-assist"}, "group": identity.Individual,
		"hmrc_nino": "TC663795B", "mtd": "XAIT00000000001", "enr": []string{EnrolmentMTDIT}, "cl": 250,
		// The sandbox's names carry nothing under this mapping.
		"nino": "AA000000A", "scope": "other",
	}
	got, err := v.Verify(context.Background(), ec.sign(t, payload))
	if err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	want := &Principal{Subject: "user-1", AffinityGroup: identity.Individual, NINO: "TC663795B", MTDITID: "XAIT00000000001",
		ConfidenceLevel: 250, Enrolments: []string{EnrolmentMTDIT}, Scopes: []string{"read:self-assessment-assist", "write:self-assessment-assist"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Verify() (-want +got):\n%s", diff)
	}

	for claim, bad := range map[string]any{"hmrc_nino": 12, "scp": 3, "enr": map[string]string{"a": "b"}, "cl": 2.5, "group": []string{"x"}} {
		p := maps.Clone(payload)
		p[claim] = bad
		if _, err := v.Verify(context.Background(), ec.sign(t, p)); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify(%s = %v) = %v, want ErrInvalidToken", claim, bad, err)
		}
	}
}
