package server

import (
	"strconv"
	"strings"

	"github.com/open-assist/assist/internal/rules"
)

// preferredLanguage reads Accept-Language: Welsh when the client prefers cy
// (or cy-GB, ...) to English, English otherwise. Of equal weights, the one
// listed first wins.
func preferredLanguage(values []string) rules.Lang {
	bestLang, bestQ := rules.English, -1.0
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(k, "q") {
					f, err := strconv.ParseFloat(val, 64)
					if err != nil || f < 0 || f > 1 {
						f = 0
					}
					q = f
				}
			}
			primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
			var lang rules.Lang
			switch primary {
			case "cy":
				lang = rules.Welsh
			case "en":
				lang = rules.English
			default:
				continue
			}
			if q > 0 && q > bestQ {
				bestLang, bestQ = lang, q
			}
		}
	}
	return bestLang
}
