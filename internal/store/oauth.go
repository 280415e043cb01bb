package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/open-assist/assist/internal/identity"
)

// The sandbox's OAuth 2.0 server keeps its state here. Every secret arrives
// already hashed: the store never sees a client secret, password, code or
// token.

// Application is an OAuth 2.0 client registered in the sandbox.
type Application struct {
	ClientID     string
	Name         string
	SecretHash   string
	RedirectURIs []string
	CreatedAt    time.Time
}

// TestUser is what a sandbox individual or agent signs in with.
type TestUser struct {
	UserID        string
	PasswordHash  string
	AffinityGroup identity.AffinityGroup
	NINO          string
	ARN           string
	CreatedAt     time.Time
}

// AuthSession is an authorisation request in progress in a browser.
type AuthSession struct {
	IDHash        string
	CSRFHash      string
	ClientID      string
	RedirectURI   string
	Scope         string
	State         string
	UserID        string // "" until the user signs in
	FailedSignIns int
	ExpiresAt     time.Time
}

// AuthCode is an authorisation code, granted and not yet exchanged.
type AuthCode struct {
	CodeHash    string
	ClientID    string
	RedirectURI string
	UserID      string
	Scope       string
	ExpiresAt   time.Time
}

// RefreshToken is a refresh token not yet used.
type RefreshToken struct {
	TokenHash string
	ClientID  string
	UserID    string
	Scope     string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// CreateApplication stores a new application.
func (db *DB) CreateApplication(ctx context.Context, a *Application) error {
	const q = `INSERT INTO oauth_applications (client_id, name, secret_hash, redirect_uris, created_at)
		VALUES ($1, $2, $3, $4, $5)`
	uris, err := json.Marshal(a.RedirectURIs)
	if err != nil {
		return fmt.Errorf("encode redirect URIs: %w", err)
	}
	if _, err := db.exec(ctx, q, a.ClientID, a.Name, a.SecretHash, string(uris), formatTime(a.CreatedAt)); err != nil {
		return fmt.Errorf("insert application: %w", err)
	}
	return nil
}

// CountApplications returns how many applications are registered.
func (db *DB) CountApplications(ctx context.Context) (int, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM oauth_applications`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count applications: %w", err)
	}
	return n, nil
}

// Application returns an application, or an error wrapping ErrNotFound.
func (db *DB) Application(ctx context.Context, clientID string) (*Application, error) {
	const q = `SELECT client_id, name, secret_hash, redirect_uris, created_at FROM oauth_applications WHERE client_id = $1`
	var (
		a             Application
		uris, created string
	)
	err := db.queryRow(ctx, q, clientID).Scan(&a.ClientID, &a.Name, &a.SecretHash, &uris, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("application: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("select application: %w", err)
	}
	if err := json.Unmarshal([]byte(uris), &a.RedirectURIs); err != nil {
		return nil, fmt.Errorf("decode redirect URIs: %w", err)
	}
	if a.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateTestUser stores a new sign-in.
func (db *DB) CreateTestUser(ctx context.Context, u *TestUser) error {
	const q = `INSERT INTO test_users (user_id, password_hash, affinity_group, nino, arn, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`
	if _, err := db.exec(ctx, q, u.UserID, u.PasswordHash, u.AffinityGroup, nullString(u.NINO), nullString(u.ARN), formatTime(u.CreatedAt)); err != nil {
		return fmt.Errorf("insert test user: %w", err)
	}
	return nil
}

// TestUser returns a sign-in, or an error wrapping ErrNotFound.
func (db *DB) TestUser(ctx context.Context, userID string) (*TestUser, error) {
	const q = `SELECT user_id, password_hash, affinity_group, nino, arn, created_at FROM test_users WHERE user_id = $1`
	var (
		u         TestUser
		nino, arn sql.NullString
		created   string
	)
	err := db.queryRow(ctx, q, userID).Scan(&u.UserID, &u.PasswordHash, &u.AffinityGroup, &nino, &arn, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("test user: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("select test user: %w", err)
	}
	u.NINO, u.ARN = nino.String, arn.String
	if u.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	return &u, nil
}

// Individual returns a test individual, or an error wrapping ErrNotFound.
func (db *DB) Individual(ctx context.Context, nino string) (*Individual, error) {
	const q = `SELECT nino, mtd_it_id, mtd_enrolled, confidence_level, created_at FROM individuals WHERE nino = $1`
	var (
		in       Individual
		enrolled int
		created  string
	)
	err := db.queryRow(ctx, q, nino).Scan(&in.NINO, &in.MTDITID, &enrolled, &in.ConfidenceLevel, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("individual: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("select individual: %w", err)
	}
	in.MTDEnrolled = enrolled != 0
	if in.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	return &in, nil
}

// CreateAuthSession stores a new authorisation request, first clearing
// those that expired so abandoned ones do not pile up.
func (db *DB) CreateAuthSession(ctx context.Context, s *AuthSession) error {
	const (
		purge = `DELETE FROM oauth_sessions WHERE expires_at < $1`
		ins   = `INSERT INTO oauth_sessions (id_hash, csrf_hash, client_id, redirect_uri, scope, state, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`
	)
	return db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, purge, formatTime(db.Now())); err != nil {
			return fmt.Errorf("purge sessions: %w", err)
		}
		if _, err := tx.exec(ctx, ins, s.IDHash, s.CSRFHash, s.ClientID, s.RedirectURI, s.Scope, s.State, formatTime(s.ExpiresAt)); err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return nil
	})
}

// AuthSession returns an authorisation request that has not expired, or an
// error wrapping ErrNotFound.
func (db *DB) AuthSession(ctx context.Context, idHash string) (*AuthSession, error) {
	const q = `SELECT id_hash, csrf_hash, client_id, redirect_uri, scope, state, user_id, failed_sign_ins, expires_at
		FROM oauth_sessions WHERE id_hash = $1 AND expires_at >= $2`
	return scanSession(db.queryRow(ctx, q, idHash, formatTime(db.Now())))
}

func scanSession(row *sql.Row) (*AuthSession, error) {
	var (
		s       AuthSession
		user    sql.NullString
		expires string
	)
	err := row.Scan(&s.IDHash, &s.CSRFHash, &s.ClientID, &s.RedirectURI, &s.Scope, &s.State, &user, &s.FailedSignIns, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("select session: %w", err)
	}
	s.UserID = user.String
	if s.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	return &s, nil
}

// SignInAuthSession records who signed in to an authorisation request.
func (db *DB) SignInAuthSession(ctx context.Context, idHash, userID string) error {
	const q = `UPDATE oauth_sessions SET user_id = $2 WHERE id_hash = $1`
	res, err := db.exec(ctx, q, idHash, userID)
	if err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	return mustAffect(res, "session")
}

// FailAuthSignIn counts a failed sign-in to an authorisation request and
// returns how many there have been.
func (db *DB) FailAuthSignIn(ctx context.Context, idHash string) (int, error) {
	const q = `UPDATE oauth_sessions SET failed_sign_ins = failed_sign_ins + 1 WHERE id_hash = $1 RETURNING failed_sign_ins`
	var n int
	err := db.queryRow(ctx, q, idHash).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("update session: %w", err)
	}
	return n, nil
}

// TakeAuthSession deletes an unexpired authorisation request and returns
// it, so that it is decided once.
func (db *DB) TakeAuthSession(ctx context.Context, idHash string) (*AuthSession, error) {
	const q = `DELETE FROM oauth_sessions WHERE id_hash = $1 AND expires_at >= $2
		RETURNING id_hash, csrf_hash, client_id, redirect_uri, scope, state, user_id, failed_sign_ins, expires_at`
	return scanSession(db.queryRow(ctx, q, idHash, formatTime(db.Now())))
}

// DeleteAuthSession deletes an authorisation request; deleting none is no
// error.
func (db *DB) DeleteAuthSession(ctx context.Context, idHash string) error {
	if _, err := db.exec(ctx, `DELETE FROM oauth_sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// CreateAuthCode stores a new authorisation code, first clearing expired
// ones.
func (db *DB) CreateAuthCode(ctx context.Context, c *AuthCode) error {
	const (
		purge = `DELETE FROM oauth_codes WHERE expires_at < $1`
		ins   = `INSERT INTO oauth_codes (code_hash, client_id, redirect_uri, user_id, scope, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`
	)
	return db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, purge, formatTime(db.Now())); err != nil {
			return fmt.Errorf("purge codes: %w", err)
		}
		if _, err := tx.exec(ctx, ins, c.CodeHash, c.ClientID, c.RedirectURI, c.UserID, c.Scope, formatTime(c.ExpiresAt)); err != nil {
			return fmt.Errorf("insert code: %w", err)
		}
		return nil
	})
}

// TakeAuthCode deletes an unexpired authorisation code and returns it: a
// code is exchanged once, and a second attempt finds ErrNotFound.
func (db *DB) TakeAuthCode(ctx context.Context, codeHash string) (*AuthCode, error) {
	const q = `DELETE FROM oauth_codes WHERE code_hash = $1
		RETURNING code_hash, client_id, redirect_uri, user_id, scope, expires_at`
	var (
		c       AuthCode
		expires string
	)
	err := db.queryRow(ctx, q, codeHash).Scan(&c.CodeHash, &c.ClientID, &c.RedirectURI, &c.UserID, &c.Scope, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("code: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("delete code: %w", err)
	}
	if c.ExpiresAt, err = parseTime(expires); err != nil {
		return nil, err
	}
	if c.ExpiresAt.Before(db.Now()) {
		return nil, fmt.Errorf("code expired: %w", ErrNotFound)
	}
	return &c, nil
}

// CreateRefreshToken stores a new refresh token, first clearing expired
// ones.
func (db *DB) CreateRefreshToken(ctx context.Context, t *RefreshToken) error {
	return db.InTx(ctx, func(tx *Tx) error { return insertRefreshToken(ctx, tx, t, db.Now()) })
}

func insertRefreshToken(ctx context.Context, tx *Tx, t *RefreshToken, now time.Time) error {
	const (
		purge = `DELETE FROM oauth_refresh_tokens WHERE expires_at < $1`
		ins   = `INSERT INTO oauth_refresh_tokens (token_hash, client_id, user_id, scope, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`
	)
	if _, err := tx.exec(ctx, purge, formatTime(now)); err != nil {
		return fmt.Errorf("purge refresh tokens: %w", err)
	}
	if _, err := tx.exec(ctx, ins, t.TokenHash, t.ClientID, t.UserID, t.Scope, formatTime(t.ExpiresAt), formatTime(t.CreatedAt)); err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// RotateRefreshToken replaces an unexpired refresh token with the one next
// makes from it, in one transaction: the old token stops working exactly
// when the new one starts. When next fails, or the token is unknown
// (ErrNotFound), nothing changes.
func (db *DB) RotateRefreshToken(ctx context.Context, tokenHash string, next func(old *RefreshToken) (*RefreshToken, error)) error {
	const take = `DELETE FROM oauth_refresh_tokens WHERE token_hash = $1 AND expires_at >= $2
		RETURNING token_hash, client_id, user_id, scope, expires_at, created_at`
	return db.InTx(ctx, func(tx *Tx) error {
		var (
			old              RefreshToken
			expires, created string
		)
		err := tx.queryRow(ctx, take, tokenHash, formatTime(db.Now())).Scan(&old.TokenHash, &old.ClientID, &old.UserID, &old.Scope, &expires, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("refresh token: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("delete refresh token: %w", err)
		}
		if old.ExpiresAt, err = parseTime(expires); err != nil {
			return err
		}
		if old.CreatedAt, err = parseTime(created); err != nil {
			return err
		}
		fresh, err := next(&old)
		if err != nil {
			return err
		}
		return insertRefreshToken(ctx, tx, fresh, db.Now())
	})
}

func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: rows affected: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
