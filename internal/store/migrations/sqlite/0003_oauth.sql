-- The sandbox's OAuth 2.0 authorisation server, like HMRC's Developer Hub.
-- No secret is stored: client secrets, session ids, CSRF tokens, codes and
-- refresh tokens are kept as hex SHA-256 hashes (they are long and random,
-- so a fast hash suffices), passwords as bcrypt hashes.

-- Applications (OAuth clients) registered through /test-support/applications.
CREATE TABLE oauth_applications (
    client_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,              -- JSON array of exact URIs
    created_at    TEXT NOT NULL
);

-- What a test user signs in with (HMRC's Create Test User API gives a user
-- id and a password with every test user).
CREATE TABLE test_users (
    user_id        TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,             -- bcrypt
    affinity_group TEXT NOT NULL CHECK (affinity_group IN ('Individual', 'Agent')),
    nino           TEXT,                      -- individuals
    arn            TEXT,                      -- agents
    created_at     TEXT NOT NULL
);

-- An authorisation request in progress in a browser: from the sign-in page
-- to the grant, bound to a cookie (id_hash) and a form token (csrf_hash).
CREATE TABLE oauth_sessions (
    id_hash         TEXT PRIMARY KEY,
    csrf_hash       TEXT NOT NULL,
    client_id       TEXT NOT NULL REFERENCES oauth_applications (client_id),
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    state           TEXT NOT NULL,
    user_id         TEXT REFERENCES test_users (user_id),
    failed_sign_ins INTEGER NOT NULL DEFAULT 0,
    expires_at      TEXT NOT NULL
);
CREATE INDEX oauth_sessions_expiry ON oauth_sessions (expires_at);

-- Authorisation codes: single use (deleted when exchanged), short-lived,
-- bound to the client and redirect URI they were issued for.
CREATE TABLE oauth_codes (
    code_hash    TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES oauth_applications (client_id),
    redirect_uri TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES test_users (user_id),
    scope        TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at);

-- Refresh tokens: rotated, so each is deleted when used.
CREATE TABLE oauth_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES oauth_applications (client_id),
    user_id    TEXT NOT NULL REFERENCES test_users (user_id),
    scope      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX oauth_refresh_tokens_expiry ON oauth_refresh_tokens (expires_at);
