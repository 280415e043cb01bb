// Package record turns a stored report or acknowledgement into the records
// that prove it happened, a non-repudiation submission and an interaction
// event, and queues them in the store's transaction through the outbox.
package record

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/open-assist/assist/internal/events"
	"github.com/open-assist/assist/internal/nrs"
	"github.com/open-assist/assist/internal/outbox"
	"github.com/open-assist/assist/internal/report"
)

// Recorder implements store.Recorder.
type Recorder struct {
	out *outbox.Outbox
}

// New returns a Recorder that queues on out.
func New(out *outbox.Outbox) (*Recorder, error) {
	if out == nil {
		return nil, errors.New("record: missing outbox")
	}
	return &Recorder{out: out}, nil
}

// ReportCreated queues the records of a report the customer was shown. A
// report with no messages (a 204) showed nothing, so it has none, as with
// HMRC's own service.
func (rc *Recorder) ReportCreated(ctx context.Context, tx *sql.Tx, r *report.Report) error {
	if r.Body == nil {
		return nil
	}
	s := nrs.NewSubmission(nrs.EventReportGenerated, r.Body, r.CreatedAt, identity(r.RequestedBy), r.Headers, r.ID)
	if err := rc.out.EnqueueNRS(ctx, tx, s); err != nil {
		return err
	}
	if !rc.out.EventsEnabled() {
		return nil
	}
	e, err := events.GenerateReport(r.ID, r.CreatedAt, meta(r, r.RequestedBy), texts(r.English), texts(r.Welsh))
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return rc.out.EnqueueEvent(ctx, tx, e, r.RequestID)
}

// Acknowledged queues the records of a report's first acknowledgement.
func (rc *Recorder) Acknowledged(ctx context.Context, tx *sql.Tx, a *report.Acknowledgement) error {
	if a.Report == nil {
		return errors.New("record: acknowledgement without its report")
	}
	s := nrs.NewSubmission(nrs.EventReportAcknowledged, nrs.AcknowledgementPayload(a.ReportID), a.AcknowledgedAt, identity(a.By), a.Headers, a.ReportID)
	if err := rc.out.EnqueueNRS(ctx, tx, s); err != nil {
		return err
	}
	return rc.out.EnqueueEvent(ctx, tx, events.AcknowledgeReport(a.ReportID, a.AcknowledgedAt, meta(a.Report, a.By)), a.RequestID)
}

func identity(p report.Party) nrs.Identity {
	return nrs.Identity{AffinityGroup: p.AffinityGroup, NINO: p.NINO, ARN: p.ARN, Enrolments: p.Enrolments, ConfidenceLevel: p.ConfidenceLevel}
}

func meta(r *report.Report, by report.Party) events.Meta {
	return events.Meta{NINO: r.NINO, TaxYear: r.TaxYear, CalculationID: r.CalculationID, Agent: by.AffinityGroup == report.Agent, ARN: by.ARN}
}

func texts(ms []report.Message) []events.Text {
	out := make([]events.Text, len(ms))
	for i, m := range ms {
		out[i] = events.Text{RuleID: m.RuleID, Title: m.Title, Body: m.Body, Action: m.Action, Path: m.Path}
		for _, l := range m.Links {
			out[i].Links = append(out[i].Links, events.Link{LinkTitle: l.Title, LinkURL: l.URL})
		}
	}
	return out
}
