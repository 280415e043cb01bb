package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOAuth(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db *DB, _ string) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }

		app := &Application{ClientID: "c1", Name: "My software", SecretHash: "h", RedirectURIs: []string{"https://a.example/cb", "http://localhost:9/cb"}, CreatedAt: now}
		if err := db.CreateApplication(ctx, app); err != nil {
			t.Fatalf("CreateApplication() = %v", err)
		}
		if err := db.CreateApplication(ctx, app); err == nil {
			t.Errorf("CreateApplication(same id) = nil, want an error")
		}
		got, err := db.Application(ctx, "c1")
		if err != nil {
			t.Fatalf("Application() = %v", err)
		}
		if diff := cmp.Diff(app, got); diff != "" {
			t.Errorf("Application() (-want +got):\n%s", diff)
		}
		if _, err := db.Application(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Application(unknown) = %v, want ErrNotFound", err)
		}
		if n, err := db.CountApplications(ctx); err != nil || n != 1 {
			t.Errorf("CountApplications() = %d, %v; want 1", n, err)
		}

		if err := db.PutIndividual(ctx, &Individual{NINO: "TC663795B", MTDITID: "XAIT00000000001", MTDEnrolled: true, ConfidenceLevel: 250, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		in, err := db.Individual(ctx, "TC663795B")
		if err != nil || in.MTDITID != "XAIT00000000001" || !in.MTDEnrolled || in.ConfidenceLevel != 250 {
			t.Errorf("Individual() = %+v, %v", in, err)
		}
		user := &TestUser{UserID: "123456789012", PasswordHash: "$2a$...", AffinityGroup: "Individual", NINO: "TC663795B", CreatedAt: now}
		if err := db.CreateTestUser(ctx, user); err != nil {
			t.Fatalf("CreateTestUser() = %v", err)
		}
		gotUser, err := db.TestUser(ctx, user.UserID)
		if err != nil {
			t.Fatalf("TestUser() = %v", err)
		}
		if diff := cmp.Diff(user, gotUser); diff != "" {
			t.Errorf("TestUser() (-want +got):\n%s", diff)
		}
		if err := db.CreateTestUser(ctx, &TestUser{UserID: "x", PasswordHash: "h", AffinityGroup: "Organisation", CreatedAt: now}); err == nil {
			t.Errorf("CreateTestUser(Organisation) = nil, want a check constraint error")
		}

		// A session: created, signed in to, failed sign-ins counted, taken once.
		sess := &AuthSession{IDHash: "s1", CSRFHash: "x", ClientID: "c1", RedirectURI: "https://a.example/cb", Scope: "a b", State: "st", ExpiresAt: now.Add(10 * time.Minute)}
		if err := db.CreateAuthSession(ctx, sess); err != nil {
			t.Fatalf("CreateAuthSession() = %v", err)
		}
		if n, err := db.FailAuthSignIn(ctx, "s1"); err != nil || n != 1 {
			t.Errorf("FailAuthSignIn() = %d, %v; want 1", n, err)
		}
		if err := db.SignInAuthSession(ctx, "s1", user.UserID); err != nil {
			t.Fatalf("SignInAuthSession() = %v", err)
		}
		if err := db.SignInAuthSession(ctx, "nope", user.UserID); !errors.Is(err, ErrNotFound) {
			t.Errorf("SignInAuthSession(unknown) = %v, want ErrNotFound", err)
		}
		gotSess, err := db.AuthSession(ctx, "s1")
		sess.UserID, sess.FailedSignIns = user.UserID, 1
		if err != nil {
			t.Fatalf("AuthSession() = %v", err)
		}
		if diff := cmp.Diff(sess, gotSess); diff != "" {
			t.Errorf("AuthSession() (-want +got):\n%s", diff)
		}
		if _, err := db.TakeAuthSession(ctx, "s1"); err != nil {
			t.Errorf("TakeAuthSession() = %v", err)
		}
		if _, err := db.TakeAuthSession(ctx, "s1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("TakeAuthSession(again) = %v, want ErrNotFound", err)
		}
		// An expired session is not found, and the next one purges it.
		old := &AuthSession{IDHash: "s2", CSRFHash: "x", ClientID: "c1", RedirectURI: "r", Scope: "a", ExpiresAt: now.Add(-time.Second)}
		if err := db.CreateAuthSession(ctx, old); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AuthSession(ctx, "s2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("AuthSession(expired) = %v, want ErrNotFound", err)
		}
		if err := db.CreateAuthSession(ctx, &AuthSession{IDHash: "s3", CSRFHash: "x", ClientID: "c1", RedirectURI: "r", Scope: "a", ExpiresAt: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.queryRow(ctx, `SELECT COUNT(*) FROM oauth_sessions WHERE id_hash = 's2'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("expired session rows = %d, %v; want purged", n, err)
		}

		// A code is taken once; an expired one is not found.
		code := &AuthCode{CodeHash: "k1", ClientID: "c1", RedirectURI: "https://a.example/cb", UserID: user.UserID, Scope: "a", ExpiresAt: now.Add(10 * time.Minute)}
		if err := db.CreateAuthCode(ctx, code); err != nil {
			t.Fatalf("CreateAuthCode() = %v", err)
		}
		gotCode, err := db.TakeAuthCode(ctx, "k1")
		if err != nil {
			t.Fatalf("TakeAuthCode() = %v", err)
		}
		if diff := cmp.Diff(code, gotCode); diff != "" {
			t.Errorf("TakeAuthCode() (-want +got):\n%s", diff)
		}
		if _, err := db.TakeAuthCode(ctx, "k1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("TakeAuthCode(again) = %v, want ErrNotFound", err)
		}
		expired := *code
		expired.CodeHash, expired.ExpiresAt = "k2", now.Add(-time.Second)
		if err := db.CreateAuthCode(ctx, &expired); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TakeAuthCode(ctx, "k2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("TakeAuthCode(expired) = %v, want ErrNotFound", err)
		}

		// Refresh tokens rotate: the old one goes as the new one comes; a
		// failed rotation changes nothing.
		rt := &RefreshToken{TokenHash: "r1", ClientID: "c1", UserID: user.UserID, Scope: "a", ExpiresAt: now.Add(time.Hour), CreatedAt: now}
		if err := db.CreateRefreshToken(ctx, rt); err != nil {
			t.Fatalf("CreateRefreshToken() = %v", err)
		}
		boom := errors.New("boom")
		if err := db.RotateRefreshToken(ctx, "r1", func(*RefreshToken) (*RefreshToken, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Errorf("RotateRefreshToken(failing) = %v, want boom", err)
		}
		var seen *RefreshToken
		err = db.RotateRefreshToken(ctx, "r1", func(o *RefreshToken) (*RefreshToken, error) {
			seen = o
			next := *o
			next.TokenHash = "r2"
			return &next, nil
		})
		if err != nil {
			t.Fatalf("RotateRefreshToken() = %v", err)
		}
		if diff := cmp.Diff(rt, seen); diff != "" {
			t.Errorf("RotateRefreshToken() saw (-want +got):\n%s", diff)
		}
		keep := func(o *RefreshToken) (*RefreshToken, error) { return o, nil }
		if err := db.RotateRefreshToken(ctx, "r1", keep); !errors.Is(err, ErrNotFound) {
			t.Errorf("RotateRefreshToken(old) = %v, want ErrNotFound", err)
		}
		now = now.Add(2 * time.Hour) // r2 has expired
		if err := db.RotateRefreshToken(ctx, "r2", keep); !errors.Is(err, ErrNotFound) {
			t.Errorf("RotateRefreshToken(expired) = %v, want ErrNotFound", err)
		}
	})
}
