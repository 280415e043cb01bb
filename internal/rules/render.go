package rules

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/open-assist/assist/internal/calc"
)

// Format says how an evidence value is shown in text and reported.
type Format string

// The formats.
const (
	FormatText     Format = "text"     // a string as it is (the default for strings)
	FormatMoney    Format = "money"    // £1,234.56, or £1,234 for whole pounds (the default for numbers)
	FormatPercent  Format = "percent"  // a ratio shown as a whole percentage, rounded down: 0.826 → 82%
	FormatNumber   Format = "number"   // 1,234 or 1,234.5
	FormatDate     Format = "date"     // 2026-04-05 → 5 April 2026 (5 Ebrill 2026)
	FormatSource   Format = "source"   // a business's name, or its type in words when it has none
	FormatList     Format = "list"     // a list of strings: A, B and C
	FormatMessages Format = "messages" // a list of the calculation's message ids, each with its meaning
)

func (f Format) valid() bool {
	switch f {
	case "", FormatText, FormatMoney, FormatPercent, FormatNumber, FormatDate, FormatSource, FormatList, FormatMessages:
		return true
	}
	return false
}

var builtinPlaceholders = map[string]bool{"nino": true, "taxYear": true, "calculationId": true}

// render turns a finding into a message in one language.
func (c *Catalogue) render(f finding, doc *calc.Calculation, lang Lang) (Message, error) {
	r := f.rule
	shown := make(map[string]string, len(f.evidence)+3)
	reported := make(map[string]any, len(f.evidence))
	for _, e := range r.Evidence {
		s, rep, err := c.format(e.Format, f.value(e.Name, lang), lang)
		if err != nil {
			return Message{}, fmt.Errorf("evidence.%s: %w", e.Name, err)
		}
		shown[e.Name] = s
		reported[e.Name] = rep
	}
	shown["taxYear"] = doc.TaxYear
	shown["calculationId"] = doc.CalculationID
	shown["nino"] = doc.NINO
	if doc.NINO == "" {
		shown["nino"] = "[nino]" // HMRC's own placeholder style: the path stays valid
	}

	content := r.EN
	if lang == Welsh {
		content = r.CY
	}
	fill := func(tmpl string) string {
		return expand(tmpl, func(name string) string { return sanitize(shown[name], lang) })
	}
	m := Message{
		RuleID:   r.ID,
		Severity: r.Severity,
		Priority: r.Priority,
		Title:    fill(content.Title),
		Body:     fill(content.Body),
		Action:   fill(content.Action),
		Links:    make([]Link, len(r.Links)),
		Path:     expand(r.Path, func(name string) string { return shown[name] }),
		Evidence: reported,
		Item:     f.item,
	}
	for i, l := range r.Links {
		title := l.EN
		if lang == Welsh {
			title = l.CY
		}
		m.Links[i] = Link{Title: title, URL: l.URL}
	}
	return m, nil
}

// expand replaces each placeholder {name} in tmpl, name being
// [A-Za-z][A-Za-z0-9_]*, with value(name). It is the one reader of
// placeholders, for rendering and for rules check; a regular expression
// was half the cost of rendering.
func expand(tmpl string, value func(name string) string) string {
	if strings.IndexByte(tmpl, '{') < 0 {
		return tmpl
	}
	var b strings.Builder
	b.Grow(len(tmpl) + 32)
	rest := tmpl
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			break
		}
		n := placeholderName(rest[open+1:])
		if n == 0 || open+1+n >= len(rest) || rest[open+1+n] != '}' {
			b.WriteString(rest[:open+1])
			rest = rest[open+1:]
			continue
		}
		b.WriteString(rest[:open])
		b.WriteString(value(rest[open+1 : open+1+n]))
		rest = rest[open+2+n:]
	}
	b.WriteString(rest)
	return b.String()
}

// placeholderName is the length of the name [A-Za-z][A-Za-z0-9_]* at the
// start of s, or 0.
func placeholderName(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_'):
		default:
			return i
		}
	}
	return len(s)
}

// format returns how v is shown in lang and how it is reported as evidence.
func (c *Catalogue) format(f Format, v any, lang Lang) (string, any, error) {
	if f == "" {
		switch v.(type) {
		case float64, int64:
			f = FormatMoney
		case []string:
			f = FormatList
		default:
			f = FormatText
		}
	}
	switch f {
	case FormatMoney, FormatPercent, FormatNumber:
		n, ok := number(v)
		if !ok {
			return "", nil, fmt.Errorf("%s needs a number, got %T", f, v)
		}
		switch f {
		case FormatMoney:
			return FormatMoneyGOVUK(n), json.Number(strconv.FormatFloat(roundTo(n, 2), 'f', 2, 64)), nil
		case FormatPercent:
			pct := math.Floor(roundTo(n*100, 6))
			return strconv.FormatFloat(pct, 'f', 0, 64) + "%", json.Number(strconv.FormatFloat(roundTo(n, 4), 'f', -1, 64)), nil
		default:
			return groupThousands(roundTo(n, 2), false), json.Number(strconv.FormatFloat(roundTo(n, 2), 'f', -1, 64)), nil
		}
	case FormatDate:
		s, _ := v.(string)
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return "", nil, fmt.Errorf("date needs YYYY-MM-DD, got %v", v)
		}
		return formatDate(d, lang), s, nil
	case FormatSource:
		s, ok := v.(string)
		if !ok {
			return "", nil, fmt.Errorf("source needs a string, got %T", v)
		}
		if label, ok := sourceLabels[s]; ok {
			if lang == Welsh {
				return label.CY, s, nil
			}
			return label.EN, s, nil
		}
		return s, s, nil
	case FormatList, FormatMessages:
		items, ok := v.([]string)
		if !ok {
			return "", nil, fmt.Errorf("%s needs a list of strings, got %T", f, v)
		}
		shown := items
		if f == FormatMessages {
			shown = make([]string, len(items))
			for i, id := range items {
				shown[i] = id
				if t, ok := c.messages[id]; ok {
					text := t.EN
					if lang == Welsh {
						text = t.CY
					}
					shown[i] = id + " (" + text + ")"
				}
			}
		}
		return joinList(shown, lang), items, nil
	default: // text
		switch t := v.(type) {
		case string:
			return t, t, nil
		case bool:
			return strconv.FormatBool(t), t, nil
		}
		n, _ := number(v)
		return groupThousands(n, false), v, nil
	}
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func roundTo(x float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(x*p) / p
}

// FormatMoneyGOVUK writes an amount the way GOV.UK does: £1,234.56, and whole
// pounds without pence (£1,234). Amounts are rounded to the penny first,
// which makes any amount read from a calculation print exactly (see package
// calc) and removes float noise from sums of such amounts.
func FormatMoneyGOVUK(x float64) string {
	pence := math.Round(x * 100)
	sign := ""
	if pence < 0 {
		sign = "-"
		pence = -pence
	}
	pounds := math.Floor(pence / 100)
	rest := int64(pence - pounds*100)
	s := sign + "£" + groupThousands(pounds, true)
	if rest != 0 {
		s += fmt.Sprintf(".%02d", rest)
	}
	return s
}

// groupThousands writes x with commas between thousands. Whole numbers have
// no decimals; others keep up to two.
func groupThousands(x float64, whole bool) string {
	neg := x < 0
	if neg {
		x = -x
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if whole {
		s = strconv.FormatFloat(x, 'f', 0, 64)
	}
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

var welshMonths = [...]string{"Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr"}

func formatDate(d time.Time, lang Lang) string {
	if lang == Welsh {
		return fmt.Sprintf("%d %s %d", d.Day(), welshMonths[d.Month()-1], d.Year())
	}
	return d.Format("2 January 2006")
}

func joinList(items []string, lang Lang) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	last := items[len(items)-1]
	and := " and "
	if lang == Welsh {
		and = " " + welshAnd(last) + " "
	}
	return strings.Join(items[:len(items)-1], ", ") + and + last
}

// welshAnd is "a", or "ac" before a vowel and before the words that take it
// (forms of bod such as mae and roedd, and mewn, gyda, fel, mor, mai).
func welshAnd(next string) string {
	word := strings.ToLower(strings.SplitN(next, " ", 2)[0])
	word = strings.SplitN(word, "'", 2)[0]
	if r := []rune(word); len(r) > 0 && strings.ContainsRune("aeiouwyâêîôûŵŷáéíóú", r[0]) {
		return "ac"
	}
	switch word {
	case "mae", "maen", "roedd", "roeddent", "mewn", "gyda", "fel", "felly", "mor", "mai", "meddai", "na", "nad":
		return "ac"
	}
	return "a"
}

// sourceLabels name a business that has no name of its own.
var sourceLabels = map[string]MessageText{
	"self-employment":          {EN: "your self-employment", CY: "eich hunangyflogaeth"},
	"uk-property":              {EN: "your UK property business", CY: "eich busnes eiddo yn y DU"},
	"uk-property-fhl":          {EN: "your UK furnished holiday lettings", CY: "eich llety gwyliau wedi'i ddodrefnu yn y DU"},
	"foreign-property":         {EN: "your foreign property business", CY: "eich busnes eiddo tramor"},
	"foreign-property-fhl-eea": {EN: "your EEA furnished holiday lettings", CY: "eich llety gwyliau wedi'i ddodrefnu yn yr AEE"},
}
