package rules

import (
	"strings"
	"unicode/utf8"
)

// hmrcCharacters is the character class HMRC's published OpenAPI document for
// Self Assessment Assist v1.0 gives for a message's title, body, action and
// link title. Software that validates our reports against that document
// rejects anything else, so every text we send must keep to it: no
// semicolons, straight double quotes, en dashes or line breaks.
const hmrcCharacters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" +
	" `¬!£$€%^&*()_-+[]=:@'~#|\\<>,.?/™‘’“”âÂáÁàÀçÇêÊéÉèÈëËïÏîÎìÌôÔóÓòÒöÖûÛŵŴýÝ"

// welshExtra is allowed in Welsh text beyond HMRC's class: the circumflexed y
// is ordinary Welsh spelling and has no substitute.
const welshExtra = "ŷŶ"

// maxTextLen is the pattern's length bound.
const maxTextLen = 32767

var allowed = func() map[Lang]map[rune]bool {
	en := map[rune]bool{}
	for _, r := range hmrcCharacters {
		en[r] = true
	}
	cy := map[rune]bool{}
	for r := range en {
		cy[r] = true
	}
	for _, r := range welshExtra {
		cy[r] = true
	}
	return map[Lang]map[rune]bool{English: en, Welsh: cy}
}()

// badCharacters lists the characters of s that the language does not allow.
func badCharacters(s string, lang Lang) []rune {
	var bad []rune
	for _, r := range s {
		if !allowed[lang][r] {
			bad = append(bad, r)
		}
	}
	return bad
}

// replacements give the nearest allowed character for common ones that
// names and calculation text bring in.
var replacements = map[rune]string{
	'"': "'", ';': ",", '–': "-", '—': "-", '\n': " ", '\r': " ", '\t': " ",
	'{': "(", '}': ")", '…': "...", 'ŷ': "y", 'Ŷ': "Y",
}

// sanitize makes a value filled into a template (a business name, say) safe
// to send: characters outside the allowed set become their nearest allowed
// form or are dropped. Rule text itself is checked, not sanitized.
func sanitize(s string, lang Lang) string {
	clean := true
	for _, r := range s {
		if !allowed[lang][r] {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case allowed[lang][r]:
			b.WriteRune(r)
		case replacements[r] != "":
			b.WriteString(replacements[r])
		case r == utf8.RuneError:
		default:
			// dropped: no safe equivalent
		}
	}
	return b.String()
}
