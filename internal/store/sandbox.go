package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/open-assist/assist/internal/report"
)

// Calculation returns a stored calculation, or an error wrapping
// report.ErrCalculationNotFound.
func (db *DB) Calculation(ctx context.Context, nino, taxYear, calculationID string) ([]byte, error) {
	const q = `SELECT body FROM calculations WHERE nino = $1 AND tax_year = $2 AND calculation_id = $3`
	var body []byte
	err := db.queryRow(ctx, q, nino, taxYear, calculationID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("calculation %s: %w", calculationID, report.ErrCalculationNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("select calculation: %w", err)
	}
	return body, nil
}

// PutCalculation stores or replaces a calculation.
func (db *DB) PutCalculation(ctx context.Context, nino, taxYear, calculationID string, body []byte) error {
	const q = `INSERT INTO calculations (nino, tax_year, calculation_id, body, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (nino, tax_year, calculation_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`
	if _, err := db.exec(ctx, q, nino, taxYear, calculationID, body, formatTime(db.Now())); err != nil {
		return fmt.Errorf("upsert calculation: %w", err)
	}
	return nil
}

// PutIndividual stores or replaces a test user.
func (db *DB) PutIndividual(ctx context.Context, in *Individual) error {
	const q = `INSERT INTO individuals (nino, mtd_it_id, mtd_enrolled, confidence_level, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (nino) DO UPDATE SET mtd_it_id = excluded.mtd_it_id, mtd_enrolled = excluded.mtd_enrolled,
			confidence_level = excluded.confidence_level`
	enrolled := 0 // an integer in both dialects
	if in.MTDEnrolled {
		enrolled = 1
	}
	if _, err := db.exec(ctx, q, in.NINO, in.MTDITID, enrolled, in.ConfidenceLevel, formatTime(in.CreatedAt)); err != nil {
		return fmt.Errorf("upsert individual: %w", err)
	}
	return nil
}

// PutAgent stores an agent, keeping an existing one.
func (db *DB) PutAgent(ctx context.Context, a *Agent) error {
	const q = `INSERT INTO agents (arn, created_at) VALUES ($1, $2) ON CONFLICT (arn) DO NOTHING`
	if _, err := db.exec(ctx, q, a.ARN, formatTime(a.CreatedAt)); err != nil {
		return fmt.Errorf("insert agent: %w", err)
	}
	return nil
}

// Agent returns a stored agent.
func (db *DB) Agent(ctx context.Context, arn string) (*Agent, error) {
	const q = `SELECT arn, created_at FROM agents WHERE arn = $1`
	var (
		a       Agent
		created string
	)
	err := db.queryRow(ctx, q, arn).Scan(&a.ARN, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("agent %s: %w", arn, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("select agent: %w", err)
	}
	if a.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	return &a, nil
}

// PutRelationship records or replaces a client's authorisation of an agent.
func (db *DB) PutRelationship(ctx context.Context, arn, nino, kind string) error {
	if kind != Main && kind != Supporting {
		return fmt.Errorf("store: relationship %q is neither main nor supporting", kind)
	}
	const q = `INSERT INTO agent_clients (arn, nino, relationship, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (arn, nino) DO UPDATE SET relationship = excluded.relationship, created_at = excluded.created_at`
	if _, err := db.exec(ctx, q, arn, nino, kind, formatTime(db.Now())); err != nil {
		return fmt.Errorf("upsert relationship: %w", err)
	}
	return nil
}

// DeleteRelationship removes a client's authorisation of an agent.
func (db *DB) DeleteRelationship(ctx context.Context, arn, nino string) error {
	const q = `DELETE FROM agent_clients WHERE arn = $1 AND nino = $2`
	if _, err := db.exec(ctx, q, arn, nino); err != nil {
		return fmt.Errorf("delete relationship: %w", err)
	}
	return nil
}

// Relationship returns how a client authorised an agent.
func (db *DB) Relationship(ctx context.Context, arn, nino string) (string, error) {
	const q = `SELECT relationship FROM agent_clients WHERE arn = $1 AND nino = $2`
	var kind string
	err := db.queryRow(ctx, q, arn, nino).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("relationship %s/%s: %w", arn, nino, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("select relationship: %w", err)
	}
	return kind, nil
}

// SigningKey returns the key stored under id, storing create's first.
func (db *DB) SigningKey(ctx context.Context, id string, create func() ([]byte, error)) ([]byte, error) {
	const (
		sel = `SELECT jwk FROM signing_keys WHERE id = $1`
		ins = `INSERT INTO signing_keys (id, jwk, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`
	)
	var key string
	err := db.queryRow(ctx, sel, id).Scan(&key)
	if err == nil {
		return []byte(key), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("select signing key: %w", err)
	}
	fresh, err := create()
	if err != nil {
		return nil, fmt.Errorf("make signing key: %w", err)
	}
	if _, err := db.exec(ctx, ins, id, string(fresh), formatTime(db.Now())); err != nil {
		return nil, fmt.Errorf("insert signing key: %w", err)
	}
	// Another process may have stored its key first: use whichever won.
	if err := db.queryRow(ctx, sel, id).Scan(&key); err != nil {
		return nil, fmt.Errorf("select signing key: %w", err)
	}
	return []byte(key), nil
}

// Authorisations lists authorisations by agent, by client, or all, ordered
// by agent then client.
func (db *DB) Authorisations(ctx context.Context, arn, nino string) ([]Authorisation, error) {
	// An empty filter matches every row.
	const q = `SELECT arn, nino, relationship, created_at FROM agent_clients
		WHERE ($1 = '' OR arn = $1) AND ($2 = '' OR nino = $2)
		ORDER BY arn, nino`
	rows, err := db.db.QueryContext(ctx, db.dialect.rebind(q), arn, nino)
	if err != nil {
		return nil, fmt.Errorf("select authorisations: %w", err)
	}
	defer rows.Close()
	var out []Authorisation
	for rows.Next() {
		var (
			a       Authorisation
			created string
		)
		if err := rows.Scan(&a.ARN, &a.NINO, &a.Type, &created); err != nil {
			return nil, fmt.Errorf("scan authorisation: %w", err)
		}
		if a.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select authorisations: %w", err)
	}
	return out, nil
}

// SandboxData describes the sandbox data the database holds, one item per
// kind found ("2 sandbox test users (individuals)"), or none. Production
// refuses to start on such a database: the sandbox's signing key could
// mint tokens, and its test users, agents and calculations are not real.
// Agent authorisations (agent_clients) are not counted: `assist agents
// authorise` writes them in production too; a sandbox agent's own row
// (agents) is.
func (db *DB) SandboxData(ctx context.Context) ([]string, error) {
	kinds := []struct{ table, what string }{
		{"signing_keys", "sandbox token signing key(s) (signing_keys)"},
		{"individuals", "sandbox test user(s) (individuals)"},
		{"agents", "sandbox test agent(s) (agents)"},
		{"calculations", "calculation(s) loaded through test support (calculations)"},
		{"test_users", "sandbox sign-in(s) (test_users)"},
		{"oauth_applications", "sandbox OAuth application(s) (oauth_applications)"},
	}
	var found []string
	for _, k := range kinds {
		var n int
		// The table names are the constants above, never input.
		if err := db.queryRow(ctx, `SELECT COUNT(*) FROM `+k.table).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", k.table, err)
		}
		if n > 0 {
			found = append(found, fmt.Sprintf("%d %s", n, k.what))
		}
	}
	return found, nil
}
