package fraud

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Format messages. Those HMRC's validator is known to use are its words.
const (
	msgMethod          = "Value must be one of DESKTOP_APP_DIRECT, DESKTOP_APP_VIA_SERVER, WEB_APP_VIA_SERVER, MOBILE_APP_DIRECT, MOBILE_APP_VIA_SERVER, BATCH_PROCESS_DIRECT, OTHER_DIRECT or OTHER_VIA_SERVER"
	msgDoNotTrack      = "Value must be true or false"
	msgJSEncoded       = "Value must be the user agent exactly as the browser reports it, not percent encoded"
	msgUUID            = "Value must be a UUID in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
	msgNilUUID         = "Value is the nil UUID; generate a random UUID for each device"
	msgEmptyItem       = "At least 1 value in the list is empty"
	msgNotIP           = "Value is not an IP address"
	msgListNotIP       = "At least 1 value in the list is not an IP address"
	msgIPv6Raw         = "IPv6 addresses must be percent encoded; send : as %3A"
	msgLocalIP         = "At least 1 value in the list is a loopback, link-local or unspecified address; list the addresses the device has on its networks"
	msgPublicEncoded   = "Value must be the IP address as it is, not percent encoded"
	msgNotPublic       = "Value is not a public IP address"
	msgStamp           = "Value must be a UTC timestamp in the format yyyy-MM-ddThh:mm:ss.sssZ"
	msgFuture          = "Timestamp is in the future"
	msgStale           = "Timestamp is more than 24 hours old; collect it just before each request"
	msgMACRaw          = "MAC addresses must be percent encoded; send : as %3A"
	msgNotMAC          = "At least 1 value in the list is not a MAC address of 6 hex pairs separated by %3A"
	msgZeroMAC         = "At least 1 MAC address is 00:00:00:00:00:00, which belongs to no network interface; list the device's network interfaces"
	msgFactorType      = "At least 1 factor is missing a value for type"
	msgFactorTypeBad   = "At least 1 factor has a type other than TOTP, AUTH_CODE or OTHER"
	msgFactorStamp     = "At least 1 factor is missing a value for timestamp"
	msgFactorStampRaw  = "At least 1 timestamp is not percent encoded; send : as %3A"
	msgFactorStampBad  = "At least 1 timestamp is not a UTC timestamp in the format yyyy-MM-ddThh:mmZ (seconds and milliseconds optional)"
	msgFactorRef       = "At least 1 factor is missing a value for unique reference"
	msgPort            = "Value must be a whole number from 1 to 65535"
	msgServerPort      = "Value is a server port (80 or 443); send the port the user's device connected from"
	msgTimezone        = "Value must be a recognised timezone in UTC format, submitted as UTC±<hh>:<mm>"
	msgOSFamily        = "At least 1 value for OS family is missing"
	msgOSVersion       = "At least 1 value for OS version is missing"
	msgManufacturer    = "At least 1 value for device manufacturer is missing"
	msgModel           = "At least 1 value for device model is missing"
	msgUserIDs         = "Value must have at least 1 key=value pair with a value"
	msgWebOS           = "Check you are using the correct Gov-Client-Connection-Method. Web applications do not usually provide the os field as browsers do not expose this information."
	msgNoOS            = "Value has no value for os; send the user signed in to the device's operating system"
	msgBy              = "At least 1 value for 'by' is missing"
	msgFor             = "At least 1 value for 'for' is missing"
	msgVersion         = "Value must have at least 1 software name and version as key=value"
	msgVersionPairs    = "For client server architectures, submit a version for the client and the server. For all other architectures, submit at least 1 version."
	msgPairNoEquals    = "Value must be key-value pairs: key=value joined by &"
	msgPairEncodedSep  = "At least 1 separator is percent encoded; send =, & and , as they are"
	msgPairTwoEquals   = "At least 1 key or value contains =; percent encode it as %3D"
	msgPairEmpty       = "At least 1 key-value pair is empty"
	msgPairNoKey       = "At least 1 key is empty"
	msgPairRepeatedKey = "At least 1 key appears more than once"
)

func checkMethod(f *field, v string) {
	if methodBit(Method(v)) == 0 {
		f.fail(msgMethod)
	}
}

func checkDoNotTrack(f *field, v string) {
	if v != "true" && v != "false" {
		f.fail(msgDoNotTrack)
	}
}

// checkJSUserAgent: this one value is sent as navigator.userAgent gives it;
// every browser's has spaces and slashes, so their escapes betray encoding.
func checkJSUserAgent(f *field, v string) {
	l := strings.ToLower(v)
	if strings.Contains(l, "%20") || strings.Contains(l, "%2f") {
		f.fail(msgJSEncoded)
	}
}

func checkPlugins(f *field, v string) { f.list(v) }

func checkDeviceID(f *field, v string) {
	switch {
	case !isUUID(v):
		f.fail(msgUUID)
	case v == "00000000-0000-0000-0000-000000000000":
		// Tells no device from another, so it is no device id.
		f.warn(msgNilUUID)
	default:
		f.deviceID = strings.ToLower(v)
	}
}

func checkLocalIPs(f *field, v string) {
	for _, item := range f.list(v) {
		if strings.Contains(item, ":") {
			f.fail(msgIPv6Raw)
			continue
		}
		a, err := netip.ParseAddr(decode(item))
		if err != nil {
			f.fail(msgListNotIP)
			continue
		}
		if a = a.Unmap(); a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() {
			f.warn(msgLocalIP)
		}
	}
}

// checkCollectedAt checks Local-IPs-Timestamp and Public-IP-Timestamp.
func checkCollectedAt(f *field, v string) {
	t, ok := parseStamp(v, true)
	if !ok {
		f.fail(msgStamp)
		return
	}
	f.notFuture(t)
	if t.Before(f.now.Add(-24 * time.Hour)) {
		// Collected once and reused: the value no longer describes the request.
		f.warnFor(ReasonStaleTimestamp, msgStale)
	}
}

// notFuture allows the device's clock 2 minutes ahead of ours.
func (f *field) notFuture(t time.Time) {
	if t.After(f.now.Add(2 * time.Minute)) {
		f.failFor(ReasonFutureTimestamp, msgFuture)
	}
}

// checkMACs wants colons as %3A, as HMRC does: a raw colon is read as a
// sign the whole list was not encoded. Dashes (Windows' style) are no MAC.
func checkMACs(f *field, v string) {
	for _, item := range f.list(v) {
		if strings.Contains(item, ":") {
			f.fail(msgMACRaw)
			continue
		}
		m := decode(item)
		switch {
		case !isMAC(m):
			f.fail(msgNotMAC)
		case m == "00:00:00:00:00:00":
			f.warn(msgZeroMAC) // the loopback interface's
		}
	}
}

func checkMultiFactor(f *field, v string) {
	for _, item := range f.list(v) {
		ps := f.pairs(item)
		switch ps.value("type") {
		case "":
			f.fail(msgFactorType)
		case "TOTP", "AUTH_CODE", "OTHER":
		default:
			f.fail(msgFactorTypeBad)
		}
		raw, ok := ps.raw("timestamp")
		switch {
		case !ok || raw == "":
			f.fail(msgFactorStamp)
		case strings.Contains(raw, ":"):
			f.fail(msgFactorStampRaw)
		default:
			if t, ok := parseStamp(decode(raw), false); ok {
				f.notFuture(t)
			} else {
				f.fail(msgFactorStampBad)
			}
		}
		if ps.value("unique-reference") == "" {
			f.fail(msgFactorRef)
		}
	}
}

func checkClientIP(f *field, v string) { f.clientIP = f.publicIP(v) }
func checkVendorIP(f *field, v string) { f.vendorIP = f.publicIP(v) }

// publicIP checks a single raw address and returns it, or the zero Addr.
func (f *field) publicIP(v string) netip.Addr {
	a, err := netip.ParseAddr(v)
	if err != nil {
		if strings.Contains(strings.ToLower(v), "%3a") {
			f.fail(msgPublicEncoded)
		} else {
			f.fail(msgNotIP)
		}
		return netip.Addr{}
	}
	a = a.Unmap().WithZone("")
	if !isPublic(a) {
		f.warnFor(ReasonPrivateAddress, msgNotPublic)
	}
	return a
}

func checkPort(f *field, v string) {
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || !isDigits(v) || len(v) > 5 || n < 1 || n > 65535:
		f.fail(msgPort)
	case n == 80 || n == 443:
		// The server's port, not the client's ephemeral source port.
		f.warn(msgServerPort)
	}
}

// screenKeys are a screen's keys, their names in messages, and whether the
// value may be fractional (a scaling factor of 1.25 is usual).
var screenKeys = []struct {
	key, label string
	fraction   bool
}{
	{"width", "width", false},
	{"height", "height", false},
	{"scaling-factor", "scaling factor", true},
	{"colour-depth", "colour depth", false},
}

func checkScreens(f *field, v string) {
	for _, item := range f.list(v) {
		ps := f.pairs(item)
		for _, k := range screenKeys {
			x := ps.value(k.key)
			switch {
			case x == "":
				f.fail("At least 1 screen is missing a value for " + k.label)
			case k.fraction && !isPositiveNumber(x):
				f.fail("At least 1 screen has a " + k.label + " that is not a positive number")
			case !k.fraction && !isPositiveInt(x):
				f.fail("At least 1 screen has a " + k.label + " that is not a positive whole number")
			}
		}
	}
}

func checkWindowSize(f *field, v string) {
	ps := f.pairs(v)
	for _, k := range []string{"width", "height"} {
		x := ps.value(k)
		switch {
		case x == "":
			f.fail("Value is missing a value for " + k)
		case !isPositiveInt(x):
			f.fail("Value has a " + k + " that is not a positive whole number")
		}
	}
}

// checkTimezone allows minutes 00, 15, 30 and 45 only, and hours up to
// 14:00: every offset in use (IANA's zone data) is a multiple of 15 minutes
// within -12:00..+14:00, so anything else is not a "recognised timezone".
func checkTimezone(f *field, v string) {
	ok := len(v) == 9 && v[:3] == "UTC" && (v[3] == '+' || v[3] == '-') && v[6] == ':' &&
		isDigits(v[4:6]) && isDigits(v[7:9])
	if ok {
		hh, mm := v[4:6], v[7:9]
		ok = hh <= "14" && (mm == "00" || mm == "15" || mm == "30" || mm == "45") && (hh < "14" || mm == "00")
	}
	if !ok {
		f.fail(msgTimezone)
	}
}

func checkUserAgent(f *field, v string) {
	ps := f.pairs(v)
	if ps.value("os-family") == "" {
		f.fail(msgOSFamily)
	}
	if ps.value("os-version") == "" {
		f.fail(msgOSVersion)
	}
	// Some devices do not expose these, so HMRC only queries their absence.
	if ps.value("device-manufacturer") == "" {
		f.warn(msgManufacturer)
	}
	if ps.value("device-model") == "" {
		f.warn(msgModel)
	}
}

func checkUserIDs(f *field, v string) {
	ps := f.pairs(v)
	if !ps.anyValue() {
		f.fail(msgUserIDs)
	}
	if f.method == "" {
		return // whether os belongs depends on the method
	}
	_, hasOS := ps.raw("os")
	switch {
	case f.strict && ps.value("os") == "":
		f.warn(msgNoOS)
	case !f.strict && hasOS:
		f.warn(msgWebOS)
	}
}

func checkForwarded(f *field, v string) {
	for i, item := range f.list(v) {
		ps := f.pairs(item)
		by, byOK := f.hopIP(ps, "by", msgBy)
		fr, forOK := f.hopIP(ps, "for", msgFor)
		if i == 0 && byOK && forOK {
			f.hopBy, f.hopFor = by, fr
		}
	}
}

// hopIP checks one address of a Gov-Vendor-Forwarded hop.
func (f *field) hopIP(ps pairs, key, missing string) (netip.Addr, bool) {
	raw, _ := ps.raw(key)
	if raw == "" {
		f.fail(missing)
		return netip.Addr{}, false
	}
	if strings.Contains(raw, ":") {
		f.fail(msgIPv6Raw)
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(decode(raw))
	if err != nil {
		f.fail(msgNotIP)
		return netip.Addr{}, false
	}
	a = a.Unmap().WithZone("")
	if !isPublic(a) {
		// Private hops are to be left out of the list.
		f.warnFor(ReasonPrivateAddress, msgNotPublic)
	}
	return a, true
}

func checkLicenseIDs(f *field, v string) { f.pairs(v) }

func checkVendorVersion(f *field, v string) {
	ps := f.pairs(v)
	n := 0
	for _, p := range ps {
		if p.key != "" && p.value != "" {
			n++
		}
	}
	switch {
	case n == 0:
		f.fail(msgVersion)
	case n < 2 && f.strict:
		f.warn(msgVersionPairs)
	}
}

// list splits a list, reports empty and placeholder items, and returns the
// others (still encoded), at most maxListLength of them.
func (f *field) list(v string) []string {
	items := strings.SplitN(v, ",", maxListLength+1)
	if len(items) > maxListLength {
		f.warn(msgTooMany)
		items = items[:maxListLength]
	}
	out := items[:0]
	for _, it := range items {
		switch {
		case it == "":
			f.fail(msgEmptyItem)
		case isPlaceholder(decode(it)):
			f.fail(msgPlaceholder)
		default:
			out = append(out, it)
		}
	}
	return out
}

type pair struct {
	key   string // decoded
	raw   string // the value as sent
	value string // decoded
}

type pairs []pair

// raw is the value of key as sent, and whether key is there.
func (ps pairs) raw(key string) (string, bool) {
	for _, p := range ps {
		if p.key == key {
			return p.raw, true
		}
	}
	return "", false
}

// value is the decoded value of key, "" when absent: the specification
// lets an empty value stand for no value.
func (ps pairs) value(key string) string {
	for _, p := range ps {
		if p.key == key {
			return p.value
		}
	}
	return ""
}

func (ps pairs) anyValue() bool {
	for _, p := range ps {
		if p.value != "" {
			return true
		}
	}
	return false
}

// pairs parses a key-value structure (key=value&key2=value2, in any order)
// and reports what breaks it.
func (f *field) pairs(v string) pairs {
	parts := strings.SplitN(v, "&", maxListLength+1)
	if len(parts) > maxListLength {
		f.warn(msgTooMany)
		parts = parts[:maxListLength]
	}
	ps := make(pairs, 0, len(parts))
	for _, part := range parts {
		k, raw, ok := strings.Cut(part, "=")
		switch {
		case part == "":
			f.fail(msgPairEmpty)
			continue
		case !ok && strings.Contains(strings.ToLower(part), "%3d"):
			f.fail(msgPairEncodedSep)
			continue
		case !ok:
			f.fail(msgPairNoEquals)
			continue
		case k == "":
			f.fail(msgPairNoKey)
			continue
		case strings.Contains(raw, "="):
			f.fail(msgPairTwoEquals)
		}
		p := pair{key: decode(k), raw: raw, value: decode(raw)}
		if _, dup := ps.raw(p.key); dup {
			f.fail(msgPairRepeatedKey)
			continue
		}
		if isPlaceholder(p.value) {
			f.fail(msgPlaceholder)
		}
		ps = append(ps, p)
	}
	return ps
}

// decode undoes percent-encoding; '+' stays '+', as RFC 3986 has it. A
// malformed escape was reported before, so s is returned as it is.
func decode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	d, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return d
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// wellEncoded: every % starts an escape of 2 hex digits.
func wellEncoded(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// isPlaceholder: values software sends when it failed to collect one; the
// specification forbids them (omit the header after telling HMRC instead).
func isPlaceholder(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "null", "undefined", "unknown", "nil", "none", "n/a", "nan", "[object object]":
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isUUID: the canonical 8-4-4-4-12 hex form, any version.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// isMAC: 6 hex pairs separated by colons.
func isMAC(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i%3 == 2 {
			if s[i] != ':' {
				return false
			}
		} else if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// isPositiveInt: digits only (no sign, no exponent), above zero, and small
// enough to be a number of pixels or bits.
func isPositiveInt(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && isDigits(s) && n > 0
}

// isPositiveNumber: digits with an optional decimal part, above zero.
func isPositiveNumber(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	if !isDigits(whole) || dot && !isDigits(frac) || len(s) > 32 {
		return false
	}
	n, err := strconv.ParseFloat(s, 64)
	return err == nil && n > 0
}

// sharedAddressSpace is carrier-grade NAT (RFC 6598): seen only inside an
// ISP, so never an address HMRC can trace.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

func isPublic(a netip.Addr) bool {
	return !(a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || sharedAddressSpace.Contains(a))
}

// stamp layouts by shape ('d' is a digit). Collection timestamps need
// milliseconds; a factor's timestamp may stop at minutes or seconds.
var stampLayouts = []struct{ shape, layout string }{
	{"dddd-dd-ddTdd:dd:dd.dddZ", "2006-01-02T15:04:05.000Z"},
	{"dddd-dd-ddTdd:dd:ddZ", "2006-01-02T15:04:05Z"},
	{"dddd-dd-ddTdd:ddZ", "2006-01-02T15:04Z"},
}

// parseStamp reads a UTC timestamp; the shape is checked first because
// time.Parse accepts a 1-digit hour.
func parseStamp(s string, millisOnly bool) (time.Time, bool) {
	for i, l := range stampLayouts {
		if millisOnly && i > 0 {
			break
		}
		if !hasShape(s, l.shape) {
			continue
		}
		t, err := time.Parse(l.layout, s)
		return t, err == nil
	}
	return time.Time{}, false
}

func hasShape(s, shape string) bool {
	if len(s) != len(shape) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if shape[i] == 'd' {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		} else if s[i] != shape[i] {
			return false
		}
	}
	return true
}
