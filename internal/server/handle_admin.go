package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/open-assist/assist/internal/insight"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/web"
)

// adminCookie keeps the admin token in the browser of a rule author who
// signed in with it, as the session cookie keeps a customer's token.
const adminCookie = "assist_admin"

// adminRoutes serve the rule authors' dashboard, only when an admin token
// is configured.
func (s *Server) adminRoutes(mux *http.ServeMux) {
	if s.opts.AdminToken == "" {
		return
	}
	mux.Handle("GET /admin/rules", s.handleRulesPage())
	mux.Handle("GET /admin/rules/{ruleId}", s.handleRulePage())
}

// isAdminToken compares tok with the admin token in constant time (of
// their digests, so that the length does not show either).
func (s *Server) isAdminToken(tok string) bool {
	if s.opts.AdminToken == "" || tok == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(tok)), sha256.Sum256([]byte(s.opts.AdminToken))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// isAdmin is whether the request carries the admin token: as a bearer
// token (scripts) or in the admin cookie (a browser signed in with it).
func (s *Server) isAdmin(r *http.Request) bool {
	if tok, ok := bearerToken(r.Header.Values("Authorization")); ok && s.isAdminToken(string(tok)) {
		return true
	}
	c, err := r.Cookie(adminCookie)
	return err == nil && s.isAdminToken(c.Value)
}

// adminOnly sends a caller without the admin token to sign in.
func (s *Server) adminOnly(w http.ResponseWriter, r *http.Request) bool {
	if s.isAdmin(r) {
		return true
	}
	http.Redirect(w, r, "/sign-in?next="+r.URL.EscapedPath(), http.StatusSeeOther)
	return false
}

// stats are the numbers now of ruleID, or with "" of every rule: those of
// the loaded catalogue and any other that fired in the window.
func (s *Server) stats(r *http.Request, ruleID string) ([]insight.Stats, error) {
	now := s.now().UTC()
	since := now.Add(-insight.Window)
	hits, err := s.opts.Store.RuleHits(r.Context(), since, ruleID)
	if err != nil {
		return nil, err
	}
	follow, err := s.opts.Store.FollowUps(r.Context(), since, ruleID)
	if err != nil {
		return nil, err
	}
	ids := slices.Collect(maps.Keys(s.catalogue))
	if ruleID != "" {
		ids = nil
		if _, ok := s.catalogue[ruleID]; ok {
			ids = []string{ruleID}
		}
	}
	return insight.Compute(now, ids, hits, follow), nil
}

// catalogueRules indexes the loaded rules by id, for the dashboard.
func catalogueRules(c *rules.Catalogue) map[string]rules.Rule {
	out := map[string]rules.Rule{}
	if c != nil {
		for _, rule := range c.Rules() {
			out[rule.ID] = rule
		}
	}
	return out
}

func adminLayout(title string) web.Layout {
	return web.Layout{Lang: rules.English, T: web.Texts(rules.English), Title: title}
}

func (s *Server) handleRulesPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.adminOnly(w, r) {
			return
		}
		all, err := s.stats(r, "")
		if err != nil {
			s.log.ErrorContext(r.Context(), "rules dashboard", slog.Any("err", err))
			s.errorPage(w, r, rules.English, http.StatusServiceUnavailable, "problem", "problemBody")
			return
		}
		page := web.RulesPage{Layout: adminLayout("Rules")}
		for _, st := range all {
			page.Rows = append(page.Rows, ruleRow(st, string(s.catalogue[st.RuleID].Severity), 120, 24))
		}
		s.renderPage(w, r, http.StatusOK, "rules", page)
	})
}

func (s *Server) handleRulePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.adminOnly(w, r) {
			return
		}
		id := r.PathValue("ruleId")
		all, err := s.stats(r, id)
		var evidence []web.EvidenceRow
		if err == nil {
			evidence, err = s.evidence(r, id)
		}
		if err != nil {
			s.log.ErrorContext(r.Context(), "rule page", slog.Any("err", err))
			s.errorPage(w, r, rules.English, http.StatusServiceUnavailable, "problem", "problemBody")
			return
		}
		i := slices.IndexFunc(all, func(st insight.Stats) bool { return st.RuleID == id })
		if i < 0 {
			s.errorPage(w, r, rules.English, http.StatusNotFound, "notFound", "notFoundBody")
			return
		}
		page := web.RulePage{Layout: adminLayout(id), Row: ruleRow(all[i], string(s.catalogue[id].Severity), 120, 24), Evidence: evidence}
		page.Chart = web.BarChart(all[i].Daily[:], 600, 120, fmt.Sprintf("Reports with %s a day over the last 30 days, at most %d", id, slices.Max(all[i].Daily[:])))
		if rule, ok := s.catalogue[id]; ok {
			page.Rule = &rule
			page.TaxYears = rule.TaxYears.String()
		}
		s.renderPage(w, r, http.StatusOK, "rule", page)
	})
}

// ninoLike is a National Insurance number, wherever evidence holds one:
// the dashboard never shows whose calculation it was.
var ninoLike = regexp.MustCompile(`(?i)\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]?\b`)

// evidence is a rule's recent evidence, without anything that names the
// taxpayer.
func (s *Server) evidence(r *http.Request, ruleID string) ([]web.EvidenceRow, error) {
	ev, err := s.opts.Store.RecentEvidence(r.Context(), ruleID, 10)
	if err != nil {
		return nil, err
	}
	var out []web.EvidenceRow
	for _, e := range ev {
		row := web.EvidenceRow{At: web.DateTime(e.At, rules.English)}
		for _, name := range slices.Sorted(maps.Keys(e.Values)) {
			v := fmt.Sprint(e.Values[name])
			if strings.Contains(strings.ToLower(name), "nino") || ninoLike.MatchString(v) {
				v = "(withheld)"
			}
			row.Values = append(row.Values, name+": "+v)
		}
		out = append(out, row)
	}
	return out, nil
}

// ruleRow writes a rule's numbers for people, with a chart of w×h.
func ruleRow(st insight.Stats, severity string, w, h int) web.RuleRow {
	row := web.RuleRow{ID: st.RuleID, Severity: severity, Appeared: st.Appeared, Hidden: st.Hidden,
		AckShare: percent(st.AckShare()), Resolution: percent(st.ResolutionRate()), MedianAck: "–",
		Resolved: st.Resolved, Unresolved: st.Unresolved, Pending: st.Pending,
		Chart: web.BarChart(st.Daily[:], w, h, fmt.Sprintf("%s: %d reports in 30 days", st.RuleID, st.Appeared[2]))}
	if st.Acknowledged > 0 {
		row.MedianAck = st.MedianToAcknowledge.Round(time.Minute).String()
	}
	return row
}

func percent(share float64) string {
	if share < 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", share*100)
}
