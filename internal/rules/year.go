package rules

import (
	"math"
	"time"

	"github.com/open-assist/assist/internal/calc"
)

// The fields of `year`, the point in the tax year a calculation stands at.
// It is worked out once per calculation; rules read it to speak about the
// year's outcome only on full-year data, and about what to do now only in
// year. A field the calculation cannot tell is absent, like any other input.
const (
	yearComplete      = "complete"      // bool: a final calculation, or data up to the last day of the year
	yearInYear        = "inYear"        // bool: !complete
	yearMonthsCovered = "monthsCovered" // int 0-12: how far the latest update reaches, in months from 6 April
	yearStart         = "start"         // "2025-04-06"
	yearEnd           = "end"           // "2026-04-05"
	yearPeriodTo      = "periodTo"      // the last day the data reaches (metadata.periodTo, else the businesses' latest update)
	yearCalculatedOn  = "calculatedOn"  // the day the calculation was made (metadata.calculationTimestamp)
	yearPaymentDue    = "paymentDue"    // 31 January after the year: the balancing payment and the first payment on account of the next year
	yearDueQuarter    = "dueQuarter"    // the latest quarterly update whose deadline had passed on calculatedOn, in year only
)

// yearFields lists every field, for rules check.
var yearFields = map[string]bool{
	yearComplete: true, yearInYear: true, yearMonthsCovered: true, yearStart: true, yearEnd: true,
	yearPeriodTo: true, yearCalculatedOn: true, yearPaymentDue: true, yearDueQuarter: true,
}

// The fields of year.dueQuarter.
const (
	quarterNumber     = "number"     // 1 to 4
	quarterFrom       = "from"       // 6 April, 6 July, 6 October, 6 January
	quarterTo         = "to"         // 5 July, 5 October, 5 January, 5 April
	quarterCalendarTo = "calendarTo" // the calendar-quarter end that stands for it: 30 June, 30 September, 31 December, 31 March
	quarterDeadline   = "deadline"   // 7 August, 7 November, 7 February, 7 May
)

const isoDate = "2006-01-02"

// yearOf works out the point in the year of a calculation.
func yearOf(doc *calc.Calculation, final bool, meta map[string]any) map[string]any {
	startYear := doc.StartYear()
	start := time.Date(startYear, time.April, 6, 0, 0, 0, 0, time.UTC)
	end := time.Date(startYear+1, time.April, 5, 0, 0, 0, 0, time.UTC)
	y := map[string]any{
		yearStart:      start.Format(isoDate),
		yearEnd:        end.Format(isoDate),
		yearPaymentDue: time.Date(startYear+2, time.January, 31, 0, 0, 0, 0, time.UTC).Format(isoDate),
	}

	periodTo, ok := dateField(meta, "periodTo")
	if !ok {
		periodTo, ok = latestUpdate(doc)
	}
	complete := final || (ok && !periodTo.Before(end))
	if ok {
		y[yearPeriodTo] = periodTo.Format(isoDate)
	}
	switch {
	case complete:
		y[yearMonthsCovered] = int64(12)
	case ok:
		y[yearMonthsCovered] = monthsFrom(start, periodTo)
	}
	y[yearComplete] = complete
	y[yearInYear] = !complete

	if ts, ok := timestampField(meta, "calculationTimestamp"); ok {
		on := ts.UTC().Truncate(24 * time.Hour)
		y[yearCalculatedOn] = on.Format(isoDate)
		if !complete {
			if q := dueQuarter(startYear, on); q != nil {
				y[yearDueQuarter] = q
			}
		}
	}
	return y
}

// monthsFrom is how many months of the year the data up to `to` covers,
// rounded to the nearest month, so that both a standard quarter (to 5 July)
// and a calendar quarter (to 30 June) count as 3.
func monthsFrom(start, to time.Time) int64 {
	days := to.Sub(start).Hours()/24 + 1
	m := math.Round(days * 12 / 365.25)
	return int64(math.Max(0, math.Min(12, m)))
}

// dueQuarter returns the latest quarter of the tax year whose update was due
// before the day `on`, or nil when none was.
func dueQuarter(startYear int, on time.Time) map[string]any {
	var latest map[string]any
	for i, q := range quarters(startYear) {
		if on.After(q.deadline) {
			latest = map[string]any{
				quarterNumber:     int64(i + 1),
				quarterFrom:       q.from.Format(isoDate),
				quarterTo:         q.to.Format(isoDate),
				quarterCalendarTo: q.calendarTo.Format(isoDate),
				quarterDeadline:   q.deadline.Format(isoDate),
			}
		}
	}
	return latest
}

type quarter struct{ from, to, calendarTo, deadline time.Time }

// quarters are the tax year's four update periods and their deadlines
// (Making Tax Digital for Income Tax: updates are due by the 7th of the
// second month after each quarter ends; calendar quarters share them).
func quarters(startYear int) []quarter {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	y, n := startYear, startYear+1
	return []quarter{
		{d(y, time.April, 6), d(y, time.July, 5), d(y, time.June, 30), d(y, time.August, 7)},
		{d(y, time.July, 6), d(y, time.October, 5), d(y, time.September, 30), d(y, time.November, 7)},
		{d(y, time.October, 6), d(n, time.January, 5), d(y, time.December, 31), d(n, time.February, 7)},
		{d(n, time.January, 6), d(n, time.April, 5), d(n, time.March, 31), d(n, time.May, 7)},
	}
}

// latestUpdate is the latest period end any business's update reaches, for
// calculations whose metadata does not say.
func latestUpdate(doc *calc.Calculation) (time.Time, bool) {
	sources, _ := doc.Section("inputs")["incomeSources"].(map[string]any)
	list, _ := sources["businessIncomeSources"].([]any)
	var latest time.Time
	found := false
	for _, b := range list {
		obj, _ := b.(map[string]any)
		if d, ok := dateField(obj, "latestPeriodEndDate"); ok && (!found || d.After(latest)) {
			latest, found = d, true
		}
	}
	return latest, found
}

func dateField(m map[string]any, key string) (time.Time, bool) {
	s, _ := m[key].(string)
	if len(s) < len(isoDate) {
		return time.Time{}, false
	}
	d, err := time.Parse(isoDate, s[:len(isoDate)])
	return d, err == nil
}

func timestampField(m map[string]any, key string) (time.Time, bool) {
	s, _ := m[key].(string)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	return dateField(m, key)
}
