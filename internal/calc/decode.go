package calc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxDepth bounds nesting as encoding/json does, so that a hostile document
// cannot exhaust the stack.
const maxDepth = 10000

// errMoreThanOne reports a second value after the document.
var errMoreThanOne = errors.New("more than one JSON value")

// decoder reads JSON straight into the normalised tree in one pass: keys
// renamed, enums in MTD spelling, numbers as float64. A profile of the
// encoding/json decode and the normalising copy after it found most of the
// time in allocating (two trees, a json.Number and a map entry per value,
// maps grown step by step). Here every key and every string without escapes
// is a substring of one copy of the input, and each map and list is made
// once at its final size from a scratch stack.
type decoder struct {
	data  []byte
	src   string // data as one string: unescaped strings are slices of it
	pos   int
	depth int
	// yearLiteral is metadata.taxYear as written, when it is a number, so
	// that only a whole year (2027, not 2027.0) is read as the downstream
	// form.
	yearLiteral string
	members     []member
	items       []any
}

type member struct {
	key   string
	value any
}

// decodeTree reads one JSON value (the whole of data) into the normalised
// tree.
func decodeTree(data []byte) (*decoder, any, error) {
	d := &decoder{data: data, src: string(data)}
	v, err := d.value("")
	if err != nil {
		return nil, nil, err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		switch c := d.data[d.pos]; {
		case c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n':
			return nil, nil, errMoreThanOne
		}
		return nil, nil, d.invalid("after top-level value")
	}
	return d, v, nil
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) && space[d.data[d.pos]] {
		d.pos++
	}
}

// plain marks the bytes a string can hold that need no more thought: not
// the closing quote, a backslash, a control character or part of a
// multi-byte character.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

var space = func() (t [256]bool) {
	t[' '], t['\t'], t['\n'], t['\r'] = true, true, true, true
	return t
}()

func (d *decoder) invalid(where string) error {
	if d.pos >= len(d.data) {
		return errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("invalid character %q %s at offset %d", d.data[d.pos], where, d.pos)
}

// value reads the value at d.pos. parent is the (normalised) key it sits
// under: "" at the top; for list elements, the list's key.
func (d *decoder) value(parent string) (any, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.invalid("")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(parent)
	case c == '[':
		return d.array(parent)
	case c == '"':
		return d.str()

	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, d.invalid("looking for beginning of value")
}

func (d *decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || d.src[d.pos:d.pos+len(word)] != word {
		return d.invalid("in literal " + word)
	}
	d.pos += len(word)
	return nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > maxDepth {
		return errors.New("exceeded max depth")
	}
	return nil
}

func (d *decoder) object(parent string) (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // {
	base := len(d.members)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.depth--
		return map[string]any{}, nil
	}
	for {
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.invalid("looking for beginning of object key string")
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.invalid("after object key")
		}
		d.pos++
		name := normalKey(parent, k)
		start := d.pos
		v, err := d.value(name)
		if err != nil {
			return nil, err
		}
		if s, ok := v.(string); ok && isEnum(parent, name) {
			v = normaliseEnum(name, s)
		}
		if d.depth == 2 && parent == "metadata" && k == "taxYear" {
			if _, ok := v.(float64); ok {
				d.yearLiteral = strings.TrimLeft(d.src[start:d.pos], " \t\n\r")
			}
		}
		d.members = append(d.members, member{name, v})
		if more, err := d.next('}', "after object key:value pair"); err != nil {
			return nil, err
		} else if !more {
			break
		}
	}
	out := make(map[string]any, len(d.members)-base)
	for _, m := range d.members[base:] {
		out[m.key] = m.value
	}
	clear(d.members[base:])
	d.members = d.members[:base]
	d.depth--
	return out, nil
}

// next reads what follows an element of an object or list: a comma (more
// to come) or the closing bracket.
func (d *decoder) next(closing byte, where string) (more bool, err error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return false, d.invalid("")
	}
	switch d.data[d.pos] {
	case ',':
		d.pos++
		return true, nil
	case closing:
		d.pos++
		return false, nil
	}
	return false, d.invalid(where)
}

func (d *decoder) array(parent string) (any, error) {
	if err := d.enter(); err != nil {
		return nil, err
	}
	d.pos++ // [
	base := len(d.items)
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		d.depth--
		return []any{}, nil
	}
	for {
		v, err := d.value(parent)
		if err != nil {
			return nil, err
		}
		d.items = append(d.items, v)
		if more, err := d.next(']', "after array element"); err != nil {
			return nil, err
		} else if !more {
			break
		}
	}
	out := make([]any, len(d.items)-base)
	copy(out, d.items[base:])
	clear(d.items[base:])
	d.items = d.items[:base]
	d.depth--
	return out, nil
}

// str reads a string. One without escapes or non-ASCII bytes is a slice of
// the input; any other is left to encoding/json, so escapes, surrogates and
// invalid UTF-8 read exactly as they did.
func (d *decoder) str() (string, error) {
	start := d.pos
	d.pos++ // "
	simple := true
	for d.pos < len(d.data) {
		for d.pos < len(d.data) && plain[d.data[d.pos]] {
			d.pos++
		}
		if d.pos >= len(d.data) {
			break
		}
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if simple {
				return d.src[start+1 : d.pos-1], nil
			}
			var s string
			if err := json.Unmarshal(d.data[start:d.pos], &s); err != nil {
				return "", fmt.Errorf("string at offset %d: %v", start, err)
			}
			return s, nil
		case c == '\\':
			simple = false
			d.pos += 2
			continue
		case c < 0x20:
			return "", d.invalid("in string literal")
		case c >= 0x80:
			simple = false
		}
		d.pos++
	}
	d.pos = len(d.data)
	return "", d.invalid("")
}

// number reads a number as float64. A number out of float64's range keeps
// its literal, so nothing is silently changed; rules treat it as a string
// and do not fire.
func (d *decoder) number() (any, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case d.digits() == 0:
		return nil, d.invalid("in numeric literal")
	}
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if d.digits() == 0 {
			return nil, d.invalid("after decimal point in numeric literal")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.digits() == 0 {
			return nil, d.invalid("in exponent of numeric literal")
		}
	}
	lit := d.src[start:d.pos]
	if f, ok := exactFloat(lit); ok {
		return f, nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit, nil
	}
	return f, nil
}

// exactFloat reads the numbers calculations are made of (at most 15
// digits, no exponent) the way strconv.ParseFloat's own fast path does: the
// digits as an integer, below 2^53 and so exact, divided by an exact power
// of ten, which IEEE 754 rounds correctly. It gives the same float64 as
// ParseFloat, in a third of the time.
func exactFloat(lit string) (float64, bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	var m uint64
	digits, frac := 0, -1
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if frac >= 0 {
				frac++
			}
		case c == '.':
			frac = 0
		default:
			return 0, false // an exponent
		}
	}
	if digits > 15 {
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

func (d *decoder) digits() int {
	n := 0
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
		n++
	}
	return n
}
