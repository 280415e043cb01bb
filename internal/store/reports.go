package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/insight"
	"github.com/open-assist/assist/internal/outbox"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/tracing"
)

// storedMessage is a report message as kept in reports.messages.
type storedMessage struct {
	RuleID   string       `json:"ruleId"`
	Severity string       `json:"severity,omitempty"`
	Title    string       `json:"title"`
	Body     string       `json:"body"`
	Action   string       `json:"action"`
	Links    []rules.Link `json:"links"`
	Path     string       `json:"path"`
	// Hidden marks a message that applied but was not shown; reports
	// stored before the cap showed every message, so absent means shown.
	Hidden bool `json:"hidden,omitempty"`
}

// CreateReport stores a new report and queues its proof, in the next
// group commit.
func (db *DB) CreateReport(ctx context.Context, r *report.Report, p report.Proof) error {
	// Encoding happens here, in the request's goroutine, so that the
	// writer's transaction holds only SQL.
	msgs := make([]storedMessage, len(r.Messages))
	for i, m := range r.Messages {
		msgs[i] = newStoredMessage(m, i >= r.Shown)
	}
	msgJSON, err := json.Marshal(msgs)
	if err != nil {
		return fmt.Errorf("encode messages: %w", err)
	}
	var otherJSON sql.NullString
	if r.Translation != nil {
		other := make([]storedMessage, len(r.Translation))
		for i, m := range r.Translation {
			other[i] = newStoredMessage(m, i >= r.Shown)
		}
		b, err := json.Marshal(other)
		if err != nil {
			return fmt.Errorf("encode translated messages: %w", err)
		}
		otherJSON = sql.NullString{String: string(b), Valid: true}
	}
	ruleErrors := r.RuleErrors
	if ruleErrors == nil {
		ruleErrors = []rules.RuleError{}
	}
	errJSON, err := json.Marshal(ruleErrors)
	if err != nil {
		return fmt.Errorf("encode rule errors: %w", err)
	}
	var fraudJSON sql.NullString
	if r.Fraud != nil {
		b, err := json.Marshal(r.Fraud)
		if err != nil {
			return fmt.Errorf("encode fraud assessment: %w", err)
		}
		fraudJSON = sql.NullString{String: string(b), Valid: true}
	}
	fired, err := firedRules(r)
	if err != nil {
		return err
	}
	records := proofRecords(p)
	const q = `INSERT INTO reports (id, nino, tax_year, calculation_id, correlation_id, rule_set_version,
		language, messages, rule_errors, body, requested_by_group, requested_by_nino, requested_by_arn,
		request_id, created_at, fraud, messages_other)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`
	return db.writer.do(ctx, "store.create_report", func(ctx context.Context, tx *Tx) ([]outbox.Record, error) {
		_, err := tx.exec(ctx, q, r.ID, r.NINO, r.TaxYear, r.CalculationID, r.CorrelationID, r.RuleSetVersion,
			string(r.Language), string(msgJSON), string(errJSON), r.Body, string(r.RequestedBy.AffinityGroup),
			nullString(r.RequestedBy.NINO), nullString(r.RequestedBy.ARN), r.RequestID, formatTime(r.CreatedAt), fraudJSON, otherJSON)
		if err != nil {
			return nil, fmt.Errorf("insert report: %w", err)
		}
		for _, f := range fired {
			if _, err := tx.exec(ctx, insertFired, r.ID, f.ruleID, f.shown, r.NINO, r.TaxYear, r.CalculationID,
				formatTime(r.CreatedAt), f.evidence); err != nil {
				return nil, fmt.Errorf("insert fired rule: %w", err)
			}
		}
		return records, nil
	})
}

const insertFired = `INSERT INTO report_rules (report_id, rule_id, shown, nino, tax_year, calculation_id, created_at, evidence)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// fired is one rule that fired in a report, as report_rules keeps it.
type fired struct {
	ruleID   string
	shown    int // 1 or 0
	evidence string
}

// firedRules are the rules that fired in r, once each (a rule about each
// business can give several messages): shown when any of its messages
// was, with the evidence of its first.
func firedRules(r *report.Report) ([]fired, error) {
	var out []fired
	at := map[string]int{}
	for i, m := range r.Messages {
		shown := 0
		if i < r.Shown {
			shown = 1
		}
		if j, ok := at[m.RuleID]; ok {
			out[j].shown = max(out[j].shown, shown)
			continue
		}
		ev := m.Evidence
		if ev == nil {
			ev = map[string]any{}
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("encode evidence of %s: %w", m.RuleID, err)
		}
		at[m.RuleID] = len(out)
		out = append(out, fired{ruleID: m.RuleID, shown: shown, evidence: string(b)})
	}
	return out, nil
}

func newStoredMessage(m rules.Message, hidden bool) storedMessage {
	sm := storedMessage{RuleID: m.RuleID, Severity: string(m.Severity), Title: m.Title, Body: m.Body, Action: m.Action,
		Path: m.Path, Links: m.Links, Hidden: hidden}
	if m.Links == nil {
		sm.Links = []rules.Link{}
	}
	return sm
}

// shownCount is how many of the stored messages were shown (they come
// first), reading only their flags.
func shownCount(data string) (int, error) {
	var msgs []struct {
		Hidden bool `json:"hidden"`
	}
	if err := json.Unmarshal([]byte(data), &msgs); err != nil {
		return 0, err
	}
	shown := 0
	for i, m := range msgs {
		if !m.Hidden {
			shown = i + 1
		}
	}
	return shown, nil
}

// decodeMessages reads stored messages, and how many of them were shown
// (they come first).
func decodeMessages(data string) ([]rules.Message, int, error) {
	var msgs []storedMessage
	if err := json.Unmarshal([]byte(data), &msgs); err != nil {
		return nil, 0, err
	}
	out := make([]rules.Message, len(msgs))
	shown := 0
	for i, m := range msgs {
		out[i] = rules.Message{RuleID: m.RuleID, Severity: rules.Severity(m.Severity), Title: m.Title, Body: m.Body,
			Action: m.Action, Path: m.Path, Links: m.Links}
		if m.Links == nil {
			out[i].Links = []rules.Link{}
		}
		if !m.Hidden {
			shown = i + 1
		}
	}
	return out, shown, nil
}

// proofRecords are the outbox's records of a proof.
func proofRecords(p report.Proof) []outbox.Record {
	var out []outbox.Record
	if p.NRS != nil {
		out = append(out, outbox.NRS(*p.NRS))
	}
	if p.Event != nil {
		out = append(out, outbox.Event(*p.Event, p.RequestID))
	}
	return out
}

// Report returns a report and its acknowledgement, if any.
func (db *DB) Report(ctx context.Context, id string) (_ *report.Report, _ *report.Acknowledgement, err error) {
	ctx, end := tracing.Start(ctx, nil, "store.report")
	defer end(&err)
	const q = `SELECT r.id, r.nino, r.tax_year, r.calculation_id, r.correlation_id, r.rule_set_version,
		r.language, r.messages, r.rule_errors, r.body, r.requested_by_group, r.requested_by_nino,
		r.requested_by_arn, r.request_id, r.created_at, r.fraud, r.messages_other,
		a.acknowledged_at, a.affinity_group, a.nino, a.arn, a.request_id
		FROM reports r LEFT JOIN acknowledgements a ON a.report_id = r.id
		WHERE r.id = $1`
	var (
		r                         report.Report
		lang, msgJSON, errJSON    string
		reqGroup                  string
		reqNINO, reqARN           sql.NullString
		createdAt                 string
		fraudJSON, otherJSON      sql.NullString
		ackAt, ackGroup           sql.NullString
		ackNINO, ackARN, ackReqID sql.NullString
	)
	err = db.queryRow(ctx, q, id).Scan(&r.ID, &r.NINO, &r.TaxYear, &r.CalculationID, &r.CorrelationID,
		&r.RuleSetVersion, &lang, &msgJSON, &errJSON, &r.Body, &reqGroup, &reqNINO,
		&reqARN, &r.RequestID, &createdAt, &fraudJSON, &otherJSON, &ackAt, &ackGroup, &ackNINO, &ackARN, &ackReqID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("report %s: %w", id, report.ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("select report: %w", err)
	}
	r.Language = rules.Lang(lang)
	r.RequestedBy = identity.Party{AffinityGroup: identity.AffinityGroup(reqGroup), NINO: reqNINO.String, ARN: reqARN.String}
	if r.CreatedAt, err = parseTime(createdAt); err != nil {
		return nil, nil, err
	}
	if r.Messages, r.Shown, err = decodeMessages(msgJSON); err != nil {
		return nil, nil, fmt.Errorf("decode messages of report %s: %w", id, err)
	}
	if otherJSON.Valid {
		if r.Translation, _, err = decodeMessages(otherJSON.String); err != nil {
			return nil, nil, fmt.Errorf("decode translated messages of report %s: %w", id, err)
		}
	}
	if err := json.Unmarshal([]byte(errJSON), &r.RuleErrors); err != nil {
		return nil, nil, fmt.Errorf("decode rule errors of report %s: %w", id, err)
	}
	if fraudJSON.Valid {
		if err := json.Unmarshal([]byte(fraudJSON.String), &r.Fraud); err != nil {
			return nil, nil, fmt.Errorf("decode fraud assessment of report %s: %w", id, err)
		}
	}
	if !ackAt.Valid {
		return &r, nil, nil
	}
	ack := &report.Acknowledgement{
		ReportID:  r.ID,
		By:        identity.Party{AffinityGroup: identity.AffinityGroup(ackGroup.String), NINO: ackNINO.String, ARN: ackARN.String},
		RequestID: ackReqID.String,
	}
	if ack.AcknowledgedAt, err = parseTime(ackAt.String); err != nil {
		return nil, nil, err
	}
	return &r, ack, nil
}

// ReportKey returns what acknowledging a report needs of it.
func (db *DB) ReportKey(ctx context.Context, id string) (_ *report.Key, err error) {
	ctx, end := tracing.Start(ctx, nil, "store.report_key")
	defer end(&err)
	const q = `SELECT id, nino, tax_year, calculation_id, correlation_id FROM reports WHERE id = $1`
	var k report.Key
	err = db.queryRow(ctx, q, id).Scan(&k.ID, &k.NINO, &k.TaxYear, &k.CalculationID, &k.CorrelationID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("report %s: %w", id, report.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("select report: %w", err)
	}
	return &k, nil
}

// Acknowledge records the first acknowledgement of a report and queues its
// proof, in the next group commit; a repeat queues nothing.
func (db *DB) Acknowledge(ctx context.Context, a *report.Acknowledgement, p report.Proof) (bool, error) {
	const q = `INSERT INTO acknowledgements (report_id, acknowledged_at, affinity_group, nino, arn, request_id)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (report_id) DO NOTHING`
	records := proofRecords(p)
	var created bool
	err := db.writer.do(ctx, "store.acknowledge", func(ctx context.Context, tx *Tx) ([]outbox.Record, error) {
		res, err := tx.exec(ctx, q, a.ReportID, formatTime(a.AcknowledgedAt), string(a.By.AffinityGroup),
			nullString(a.By.NINO), nullString(a.By.ARN), a.RequestID)
		if err != nil {
			return nil, fmt.Errorf("insert acknowledgement: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("insert acknowledgement: %w", err)
		}
		// A repeat proves nothing new.
		if created = n == 1; !created {
			return nil, nil
		}
		return records, nil
	})
	if err != nil {
		// created may still be written by a batch this request gave up on.
		return false, err
	}
	return created, nil
}

// ReportIDs lists the ids of the reports made of one calculation, oldest
// first, including those with no messages.
func (db *DB) ReportIDs(ctx context.Context, nino, taxYear, calculationID string) ([]string, error) {
	const q = `SELECT id FROM reports WHERE nino = $1 AND tax_year = $2 AND calculation_id = $3 ORDER BY created_at, id`
	rows, err := db.db.QueryContext(ctx, db.dialect.rebind(q), nino, taxYear, calculationID)
	if err != nil {
		return nil, fmt.Errorf("select reports: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan report id: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select reports: %w", err)
	}
	return ids, nil
}

// LatestReports returns the latest report of each of ninos for each tax
// year, by NINO and then the latest tax year first.
func (db *DB) LatestReports(ctx context.Context, ninos []string) ([]report.Summary, error) {
	if len(ninos) == 0 {
		return nil, nil
	}
	marks := make([]string, len(ninos))
	args := make([]any, len(ninos))
	for i, n := range ninos {
		marks[i] = fmt.Sprintf("$%d", i+1)
		args[i] = n
	}
	q := `SELECT id, nino, tax_year, created_at, messages, acknowledged_at FROM (
			SELECT r.id, r.nino, r.tax_year, r.created_at, r.messages, a.acknowledged_at,
				ROW_NUMBER() OVER (PARTITION BY r.nino, r.tax_year ORDER BY r.created_at DESC, r.id DESC) AS n
			FROM reports r LEFT JOIN acknowledgements a ON a.report_id = r.id
			WHERE r.nino IN (` + strings.Join(marks, ", ") + `)
		) latest WHERE n = 1 ORDER BY nino, tax_year DESC`
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("select latest reports: %w", err)
	}
	defer rows.Close()
	var out []report.Summary
	for rows.Next() {
		var (
			s                report.Summary
			created, msgJSON string
			acked            sql.NullString
		)
		if err := rows.Scan(&s.ID, &s.NINO, &s.TaxYear, &created, &msgJSON, &acked); err != nil {
			return nil, fmt.Errorf("scan report: %w", err)
		}
		if s.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if s.Shown, err = shownCount(msgJSON); err != nil {
			return nil, fmt.Errorf("decode messages of report %s: %w", s.ID, err)
		}
		if acked.Valid {
			at, err := parseTime(acked.String)
			if err != nil {
				return nil, err
			}
			s.AcknowledgedAt = &at
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RuleHits returns every appearance since since of ruleID ("": of every
// rule), with its report's acknowledgement, oldest first.
func (db *DB) RuleHits(ctx context.Context, since time.Time, ruleID string) ([]insight.Hit, error) {
	const q = `SELECT x.rule_id, x.report_id, x.nino, x.tax_year, x.calculation_id, x.created_at, x.shown, a.acknowledged_at
		FROM report_rules x LEFT JOIN acknowledgements a ON a.report_id = x.report_id
		WHERE x.created_at >= $1 AND ($2 = '' OR x.rule_id = $2) ORDER BY x.created_at`
	rows, err := db.query(ctx, q, formatTime(since), ruleID)
	if err != nil {
		return nil, fmt.Errorf("select rule hits: %w", err)
	}
	defer rows.Close()
	var out []insight.Hit
	for rows.Next() {
		var (
			h       insight.Hit
			created string
			shown   int
			acked   sql.NullString
		)
		if err := rows.Scan(&h.RuleID, &h.ReportID, &h.NINO, &h.TaxYear, &h.CalculationID, &created, &shown, &acked); err != nil {
			return nil, fmt.Errorf("scan rule hit: %w", err)
		}
		if h.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		h.Shown = shown == 1
		if acked.Valid {
			at, err := parseTime(acked.String)
			if err != nil {
				return nil, err
			}
			h.AcknowledgedAt = &at
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// FollowUps returns every report since since of the taxpayers (per tax
// year) shown ruleID ("": any rule) since then: where the dashboard looks
// for their next calculation.
func (db *DB) FollowUps(ctx context.Context, since time.Time, ruleID string) ([]insight.Report, error) {
	const q = `SELECT r.id, r.nino, r.tax_year, r.calculation_id, r.created_at FROM reports r
		WHERE r.created_at >= $1 AND EXISTS (SELECT 1 FROM report_rules x
			WHERE x.nino = r.nino AND x.tax_year = r.tax_year AND x.shown = 1 AND x.created_at >= $1
				AND ($2 = '' OR x.rule_id = $2))
		ORDER BY r.created_at`
	rows, err := db.query(ctx, q, formatTime(since), ruleID)
	if err != nil {
		return nil, fmt.Errorf("select follow-up reports: %w", err)
	}
	defer rows.Close()
	var out []insight.Report
	for rows.Next() {
		var (
			r       insight.Report
			created string
		)
		if err := rows.Scan(&r.ID, &r.NINO, &r.TaxYear, &r.CalculationID, &created); err != nil {
			return nil, fmt.Errorf("scan report: %w", err)
		}
		if r.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Evidence is the values behind one recent appearance of a rule.
type Evidence struct {
	At     time.Time
	Values map[string]any
}

// RecentEvidence returns the evidence of a rule's latest n appearances,
// newest first.
func (db *DB) RecentEvidence(ctx context.Context, ruleID string, n int) ([]Evidence, error) {
	const q = `SELECT created_at, evidence FROM report_rules WHERE rule_id = $1 ORDER BY created_at DESC LIMIT $2`
	rows, err := db.query(ctx, q, ruleID, n)
	if err != nil {
		return nil, fmt.Errorf("select evidence: %w", err)
	}
	defer rows.Close()
	var out []Evidence
	for rows.Next() {
		var (
			e             Evidence
			created, data string
		)
		if err := rows.Scan(&created, &data); err != nil {
			return nil, fmt.Errorf("scan evidence: %w", err)
		}
		if e.At, err = parseTime(created); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), &e.Values); err != nil {
			return nil, fmt.Errorf("decode evidence: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
