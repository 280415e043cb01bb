package fraud

// methodSet is a set of connection methods, one bit each, so the table
// below can say which methods need a header in one column.
type methodSet uint8

const (
	desktopDirect methodSet = 1 << iota
	desktopServer
	webServer
	mobileDirect
	mobileServer
	batchDirect
	otherDirect
	otherServer

	allMethods = desktopDirect | desktopServer | webServer | mobileDirect | mobileServer |
		batchDirect | otherDirect | otherServer
	viaServer = desktopServer | webServer | mobileServer | otherServer
	// withScreen are the methods whose device has a screen HMRC asks about.
	withScreen = desktopDirect | desktopServer | webServer | mobileDirect | mobileServer
	// osUser are the methods whose device has an OS sign-in a browser or phone
	// app cannot see (spec 3.2 dropped `os` for web and mobile).
	osUser = desktopDirect | desktopServer | batchDirect | otherDirect | otherServer
	// clientAndServer are the methods with a client and a server version;
	// the specification does not count a web app's browser code as a client.
	clientAndServer = desktopServer | mobileServer | otherServer
)

// methodBit is m's bit, or 0 when m is not one of the 8 methods. A switch
// rather than an index into Methods, which callers could change.
func methodBit(m Method) methodSet {
	switch m {
	case DesktopAppDirect:
		return desktopDirect
	case DesktopAppViaServer:
		return desktopServer
	case WebAppViaServer:
		return webServer
	case MobileAppDirect:
		return mobileDirect
	case MobileAppViaServer:
		return mobileServer
	case BatchProcessDirect:
		return batchDirect
	case OtherDirect:
		return otherDirect
	case OtherViaServer:
		return otherServer
	}
	return 0
}

func (s methodSet) has(m Method) bool { return s&methodBit(m) != 0 }

// spec is what HMRC's specification 3.3 says about one header.
type spec struct {
	name     string    // canonical spelling
	required methodSet // methods whose every request must carry it
	// strict are the methods for which check applies its stricter rule:
	// User-IDs expects `os`, Vendor-Version a client and a server version.
	strict methodSet
	// encoded: keys, values or list items are percent-encoded (RFC 3986
	// §2.1), so a stray % or a raw space is a format error.
	encoded bool
	// advisory: missing or empty is a warning with these messages, as HMRC's
	// validator reports it, because there may be nothing to collect
	// (single-factor sign-in, no licences on the device).
	advisory             bool
	missingMsg, emptyMsg string
	check                func(f *field, v string) // v is trimmed, non-empty, ASCII
}

const (
	connectionMethod = "gov-client-connection-method"
	testScenario     = "gov-test-scenario" // a sandbox switch, not a fraud header
	msgMFAMissing    = "Header missing. This may be correct for single factor authentication, for example username and password. If this is the case, you must contact us explaining why you cannot submit this header."
	msgMFAEmpty      = "Value is empty. This may be correct for single factor authentication, for example username and password. If this is the case, you must contact us explaining why you cannot submit this header."
)

// specs is the specification as data, in the order results list headers:
// the connection method first, the rest by name. Browser-Do-Not-Track and
// Browser-Plugins are required by no method any more; they stay so a value
// sent is still checked.
var specs = []spec{
	{name: "Gov-Client-Connection-Method", required: allMethods, check: checkMethod},
	{name: "Gov-Client-Browser-Do-Not-Track", check: checkDoNotTrack},
	{name: "Gov-Client-Browser-JS-User-Agent", required: webServer, check: checkJSUserAgent},
	{name: "Gov-Client-Browser-Plugins", encoded: true, check: checkPlugins},
	{name: "Gov-Client-Device-ID", required: allMethods, check: checkDeviceID},
	{name: "Gov-Client-Local-IPs", required: allMethods &^ webServer, encoded: true, check: checkLocalIPs},
	{name: "Gov-Client-Local-IPs-Timestamp", required: allMethods &^ webServer, check: checkCollectedAt},
	{name: "Gov-Client-MAC-Addresses", required: osUser, encoded: true, check: checkMACs},
	{name: "Gov-Client-Multi-Factor", required: allMethods &^ batchDirect, encoded: true,
		advisory: true, missingMsg: msgMFAMissing, emptyMsg: msgMFAEmpty, check: checkMultiFactor},
	{name: "Gov-Client-Public-IP", required: viaServer, check: checkClientIP},
	{name: "Gov-Client-Public-IP-Timestamp", required: viaServer, check: checkCollectedAt},
	{name: "Gov-Client-Public-Port", required: viaServer, check: checkPort},
	{name: "Gov-Client-Screens", required: withScreen, encoded: true, check: checkScreens},
	{name: "Gov-Client-Timezone", required: allMethods, check: checkTimezone},
	{name: "Gov-Client-User-Agent", required: allMethods &^ webServer, encoded: true, check: checkUserAgent},
	{name: "Gov-Client-User-IDs", required: allMethods, strict: osUser, encoded: true, check: checkUserIDs},
	{name: "Gov-Client-Window-Size", required: withScreen, encoded: true, check: checkWindowSize},
	{name: "Gov-Vendor-Forwarded", required: viaServer, encoded: true, check: checkForwarded},
	{name: "Gov-Vendor-License-IDs", required: allMethods, encoded: true,
		advisory: true, missingMsg: msgRequired, emptyMsg: msgValueRequired, check: checkLicenseIDs},
	{name: "Gov-Vendor-Product-Name", required: allMethods, encoded: true},
	{name: "Gov-Vendor-Public-IP", required: viaServer, check: checkVendorIP},
	{name: "Gov-Vendor-Version", required: allMethods, strict: clientAndServer, encoded: true, check: checkVendorVersion},
}
