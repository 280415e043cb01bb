package fraud

import (
	"slices"
	"strings"
	"testing"
)

// HMRC's own words, spelt out here so a drift in the constants shows.
const (
	hmrcTimezone  = "Value must be a recognised timezone in UTC format, submitted as UTC±<hh>:<mm>"
	hmrcWebOS     = "Check you are using the correct Gov-Client-Connection-Method. Web applications do not usually provide the os field as browsers do not expose this information."
	hmrcVersion   = "For client server architectures, submit a version for the client and the server. For all other architectures, submit at least 1 version."
	hmrcNoScaling = "At least 1 screen is missing a value for scaling factor"
	hmrcNoDepth   = "At least 1 screen is missing a value for colour depth"
	hmrcNoBy      = "At least 1 value for 'by' is missing"
	hmrcNoFor     = "At least 1 value for 'for' is missing"
	hmrcNotIP     = "Value is not an IP address"
	hmrcNotPublic = "Value is not a public IP address"
	hmrcOSFamily  = "At least 1 value for OS family is missing"
	hmrcOSVersion = "At least 1 value for OS version is missing"
	hmrcMaker     = "At least 1 value for device manufacturer is missing"
	hmrcModel     = "At least 1 value for device model is missing"
)

// valueCase sets one header of a full valid set to a value.
type valueCase struct {
	name   string
	method Method // the full set the value goes into; DESKTOP_APP_VIA_SERVER when ""
	header string
	value  string
	errs   []string // what is said about the header
	warns  []string
}

func valueCases() []valueCase {
	return []valueCase{
		{name: "method_lower_case", header: "Gov-Client-Connection-Method", value: "desktop_app_direct", errs: []string{msgMethod}},
		{name: "method_unknown", header: "Gov-Client-Connection-Method", value: "DESKTOP_APPLICATION", errs: []string{msgMethod}},

		{name: "dnt_false", method: WebAppViaServer, header: "Gov-Client-Browser-Do-Not-Track", value: "false"},
		{name: "dnt_true", method: WebAppViaServer, header: "Gov-Client-Browser-Do-Not-Track", value: "true"},
		{name: "dnt_other", method: WebAppViaServer, header: "Gov-Client-Browser-Do-Not-Track", value: "maybe", errs: []string{msgDoNotTrack}},

		{name: "js_ua_ipad", method: WebAppViaServer, header: "Gov-Client-Browser-JS-User-Agent",
			value: "Mozilla/5.0 (iPad; U; CPU OS 3_2_1 like Mac OS X; en-us) AppleWebKit/531.21.10 (KHTML, like Gecko) Mobile/7B405"},
		{name: "js_ua_encoded", method: WebAppViaServer, header: "Gov-Client-Browser-JS-User-Agent",
			value: "Mozilla%2F5.0%20(X11%3B%20Linux%20x86_64)", errs: []string{msgJSEncoded}},
		{name: "js_ua_placeholder", method: WebAppViaServer, header: "Gov-Client-Browser-JS-User-Agent", value: "unknown", errs: []string{msgPlaceholder}},
		{name: "js_ua_not_ascii", method: WebAppViaServer, header: "Gov-Client-Browser-JS-User-Agent", value: "Mozilla/5.0 (Ünïcode)", errs: []string{msgNotASCII}},

		{name: "plugins_list", method: WebAppViaServer, header: "Gov-Client-Browser-Plugins", value: "Shockwave%20Flash,Chromium%20PDF%20Viewer"},
		{name: "plugins_empty_item", method: WebAppViaServer, header: "Gov-Client-Browser-Plugins", value: "Shockwave%20Flash,,Chromium", errs: []string{msgEmptyItem}},
		{name: "plugins_raw_space", method: WebAppViaServer, header: "Gov-Client-Browser-Plugins", value: "Shockwave Flash", errs: []string{msgNotEncoded}},

		{name: "device_upper_case", header: "Gov-Client-Device-ID", value: "BEEC798B-B366-47FA-B1F8-92CEDE14A1CE"},
		{name: "device_no_hyphens", header: "Gov-Client-Device-ID", value: "beec798bb36647fab1f892cede14a1ce", errs: []string{msgUUID}},
		{name: "device_braces", header: "Gov-Client-Device-ID", value: "{beec798b-b366-47fa-b1f8-92cede14a1ce}", errs: []string{msgUUID}},
		{name: "device_not_hex", header: "Gov-Client-Device-ID", value: "beec798b-b366-47fa-b1f8-92cede14a1cg", errs: []string{msgUUID}},
		{name: "device_nil_uuid", header: "Gov-Client-Device-ID", value: "00000000-0000-0000-0000-000000000000", warns: []string{msgNilUUID}},
		{name: "device_placeholder", header: "Gov-Client-Device-ID", value: "null", errs: []string{msgPlaceholder}},

		{name: "local_ips_v4_v6", header: "Gov-Client-Local-IPs", value: "10.1.2.3,fc00%3A%3A1,2001%3Adb8%3A%3A5"},
		{name: "local_ips_raw_v6", header: "Gov-Client-Local-IPs", value: "10.1.2.3,fc00::1", errs: []string{msgIPv6Raw}},
		{name: "local_ips_host_name", header: "Gov-Client-Local-IPs", value: "10.1.2.3,my-laptop", errs: []string{msgListNotIP}},
		{name: "local_ips_empty_item", header: "Gov-Client-Local-IPs", value: "10.1.2.3,,10.1.2.4", errs: []string{msgEmptyItem}},
		{name: "local_ips_placeholder_item", header: "Gov-Client-Local-IPs", value: "10.1.2.3,undefined", errs: []string{msgPlaceholder}},
		{name: "local_ips_bad_percent", header: "Gov-Client-Local-IPs", value: "10.1.2.3,fc00%3A%3", errs: []string{msgBadPercent}},
		{name: "local_ips_loopback", header: "Gov-Client-Local-IPs", value: "127.0.0.1,10.1.2.3", warns: []string{msgLocalIP}},
		{name: "local_ips_link_local_zone", header: "Gov-Client-Local-IPs", value: "10.1.2.3,fe80%3A%3A1%25eth0", warns: []string{msgLocalIP}},
		{name: "local_ips_unspecified", header: "Gov-Client-Local-IPs", value: "0.0.0.0", warns: []string{msgLocalIP}},

		{name: "local_stamp_zero_millis", header: "Gov-Client-Local-IPs-Timestamp", value: "2026-02-14T20:41:00.000Z"},
		{name: "local_stamp_within_skew", header: "Gov-Client-Local-IPs-Timestamp", value: "2026-02-14T20:43:59.999Z"},
		{name: "local_stamp_no_millis", header: "Gov-Client-Local-IPs-Timestamp", value: "2026-02-14T20:41:37Z", errs: []string{msgStamp}},
		{name: "local_stamp_2_digit_millis", header: "Gov-Client-Local-IPs-Timestamp", value: "2026-02-14T20:41:37.92Z", errs: []string{msgStamp}},
		{name: "local_stamp_space", header: "Gov-Client-Local-IPs-Timestamp", value: "2026-02-14 20:41:37.929Z", errs: []string{msgStamp}},
		{name: "local_stamp_offset", header: "Gov-Client-Local-IPs-Timestamp", value: "2026-02-14T20:41:37.929+00:00", errs: []string{msgStamp}},
		{name: "local_stamp_1_digit_hour", header: "Gov-Client-Local-IPs-Timestamp", value: "2026-02-14T8:41:37.929Z", errs: []string{msgStamp}},
		{name: "local_stamp_no_such_day", header: "Gov-Client-Local-IPs-Timestamp", value: "2026-02-30T20:41:37.929Z", errs: []string{msgStamp}},
		{name: "local_stamp_future", header: "Gov-Client-Local-IPs-Timestamp", value: "2026-02-14T20:44:00.001Z", errs: []string{msgFuture}},
		{name: "local_stamp_stale", header: "Gov-Client-Local-IPs-Timestamp", value: "2026-02-13T20:41:59.999Z", warns: []string{msgStale}},

		{name: "public_stamp_valid", header: "Gov-Client-Public-IP-Timestamp", value: "2026-02-14T20:41:59.123Z"},
		{name: "public_stamp_encoded", header: "Gov-Client-Public-IP-Timestamp", value: "2026-02-14T20%3A41%3A59.123Z", errs: []string{msgStamp}},
		{name: "public_stamp_future", header: "Gov-Client-Public-IP-Timestamp", value: "2027-01-01T00:00:00.000Z", errs: []string{msgFuture}},
		{name: "public_stamp_stale", header: "Gov-Client-Public-IP-Timestamp", value: "2025-02-14T20:41:59.123Z", warns: []string{msgStale}},

		{name: "mac_upper_hex", header: "Gov-Client-MAC-Addresses", value: "EA%3A43%3A1A%3A5D%3A21%3A45"},
		{name: "mac_raw_colons", header: "Gov-Client-MAC-Addresses", value: "ea:43:1a:5d:21:45", errs: []string{msgMACRaw}},
		{name: "mac_dashes", header: "Gov-Client-MAC-Addresses", value: "ea-43-1a-5d-21-45", errs: []string{msgNotMAC}},
		{name: "mac_5_octets", header: "Gov-Client-MAC-Addresses", value: "ea%3A43%3A1a%3A5d%3A21", errs: []string{msgNotMAC}},
		{name: "mac_not_hex", header: "Gov-Client-MAC-Addresses", value: "ea%3A43%3A1a%3A5d%3A21%3A4g", errs: []string{msgNotMAC}},
		{name: "mac_all_zero", header: "Gov-Client-MAC-Addresses", value: "00%3A00%3A00%3A00%3A00%3A00,ea%3A43%3A1a%3A5d%3A21%3A45", warns: []string{msgZeroMAC}},

		{name: "mfa_seconds", header: "Gov-Client-Multi-Factor", value: "type=AUTH_CODE&timestamp=2026-02-14T20%3A40%3A53Z&unique-reference=abc123"},
		{name: "mfa_millis_any_order", header: "Gov-Client-Multi-Factor", value: "unique-reference=f841bcc3&type=OTHER&timestamp=2026-02-14T20%3A40%3A53.899Z"},
		{name: "mfa_two_factors", header: "Gov-Client-Multi-Factor",
			value: "type=AUTH_CODE&timestamp=2021-11-21T13%3A23Z&unique-reference=fc4b,type=TOTP&timestamp=2021-11-21T13%3A20Z&unique-reference=0283"},
		{name: "mfa_no_type", header: "Gov-Client-Multi-Factor", value: "timestamp=2026-02-14T20%3A40Z&unique-reference=abc", errs: []string{msgFactorType}},
		{name: "mfa_other_type", header: "Gov-Client-Multi-Factor", value: "type=SMS&timestamp=2026-02-14T20%3A40Z&unique-reference=abc", errs: []string{msgFactorTypeBad}},
		{name: "mfa_no_timestamp", header: "Gov-Client-Multi-Factor", value: "type=TOTP&unique-reference=abc", errs: []string{msgFactorStamp}},
		{name: "mfa_raw_colon", header: "Gov-Client-Multi-Factor", value: "type=TOTP&timestamp=2026-02-14T20:40Z&unique-reference=abc", errs: []string{msgFactorStampRaw}},
		{name: "mfa_12_hour_space", header: "Gov-Client-Multi-Factor", value: "type=TOTP&timestamp=2026-02-14%208%3A40Z&unique-reference=abc", errs: []string{msgFactorStampBad}},
		{name: "mfa_future", header: "Gov-Client-Multi-Factor", value: "type=TOTP&timestamp=2026-02-14T21%3A40Z&unique-reference=abc", errs: []string{msgFuture}},
		{name: "mfa_no_reference", header: "Gov-Client-Multi-Factor", value: "type=TOTP&timestamp=2026-02-14T20%3A40Z&unique-reference=", errs: []string{msgFactorRef}},
		{name: "mfa_second_factor_broken", header: "Gov-Client-Multi-Factor",
			value: "type=TOTP&timestamp=2026-02-14T20%3A40Z&unique-reference=abc,type=TOTP", errs: []string{msgFactorStamp, msgFactorRef}},

		{name: "client_ip_v6_raw", header: "Gov-Client-Public-IP", value: "2001:4860:4860::8888"},
		{name: "client_ip_out_of_range", header: "Gov-Client-Public-IP", value: "198.51.100.300", errs: []string{hmrcNotIP}},
		{name: "client_ip_encoded", header: "Gov-Client-Public-IP", value: "2001%3A4860%3A%3A8888", errs: []string{msgPublicEncoded}},
		{name: "client_ip_list", header: "Gov-Client-Public-IP", value: "198.51.100.7,198.51.100.8", errs: []string{hmrcNotIP}},
		{name: "client_ip_private", header: "Gov-Client-Public-IP", value: "10.0.0.5", warns: []string{hmrcNotPublic}},
		{name: "client_ip_loopback", header: "Gov-Client-Public-IP", value: "::1", warns: []string{hmrcNotPublic}},
		{name: "client_ip_link_local", header: "Gov-Client-Public-IP", value: "169.254.10.1", warns: []string{hmrcNotPublic}},
		{name: "client_ip_unspecified", header: "Gov-Client-Public-IP", value: "0.0.0.0", warns: []string{hmrcNotPublic}},
		{name: "client_ip_cgnat", header: "Gov-Client-Public-IP", value: "100.64.1.2", warns: []string{hmrcNotPublic}},
		{name: "client_ip_mapped_private", header: "Gov-Client-Public-IP", value: "::ffff:192.168.1.2", warns: []string{hmrcNotPublic}},

		{name: "port_lowest", header: "Gov-Client-Public-Port", value: "1"},
		{name: "port_highest", header: "Gov-Client-Public-Port", value: "65535"},
		{name: "port_zero", header: "Gov-Client-Public-Port", value: "0", errs: []string{msgPort}},
		{name: "port_too_high", header: "Gov-Client-Public-Port", value: "65536", errs: []string{msgPort}},
		{name: "port_signed", header: "Gov-Client-Public-Port", value: "+8080", errs: []string{msgPort}},
		{name: "port_not_number", header: "Gov-Client-Public-Port", value: "80a", errs: []string{msgPort}},
		{name: "port_https", header: "Gov-Client-Public-Port", value: "443", warns: []string{msgServerPort}},
		{name: "port_http", header: "Gov-Client-Public-Port", value: "80", warns: []string{msgServerPort}},

		{name: "screens_any_order", header: "Gov-Client-Screens", value: "colour-depth=24&scaling-factor=1.25&height=1446&width=1280"},
		{name: "screens_hmrc_example", header: "Gov-Client-Screens", value: "width=1920&height=1080", errs: []string{hmrcNoScaling, hmrcNoDepth}},
		{name: "screens_empty_value_is_missing", header: "Gov-Client-Screens", value: "width=1920&height=&scaling-factor=1&colour-depth=24",
			errs: []string{"At least 1 screen is missing a value for height"}},
		{name: "screens_zero_width", header: "Gov-Client-Screens", value: "width=0&height=1080&scaling-factor=1&colour-depth=24",
			errs: []string{"At least 1 screen has a width that is not a positive whole number"}},
		{name: "screens_fractional_height", header: "Gov-Client-Screens", value: "width=1920&height=1080.5&scaling-factor=1&colour-depth=24",
			errs: []string{"At least 1 screen has a height that is not a positive whole number"}},
		{name: "screens_negative_scaling", header: "Gov-Client-Screens", value: "width=1920&height=1080&scaling-factor=-1&colour-depth=24",
			errs: []string{"At least 1 screen has a scaling factor that is not a positive number"}},
		{name: "screens_zero_scaling", header: "Gov-Client-Screens", value: "width=1920&height=1080&scaling-factor=0.0&colour-depth=24",
			errs: []string{"At least 1 screen has a scaling factor that is not a positive number"}},
		{name: "screens_depth_word", header: "Gov-Client-Screens", value: "width=1920&height=1080&scaling-factor=1&colour-depth=deep",
			errs: []string{"At least 1 screen has a colour depth that is not a positive whole number"}},
		{name: "screens_second_missing_width", header: "Gov-Client-Screens",
			value: "width=1920&height=1080&scaling-factor=1&colour-depth=24,height=1080&scaling-factor=1&colour-depth=24",
			errs:  []string{"At least 1 screen is missing a value for width"}},
		{name: "screens_encoded_separators", header: "Gov-Client-Screens", value: "width%3D1920%26height%3D1080",
			errs: []string{msgPairEncodedSep, "At least 1 screen is missing a value for width", "At least 1 screen is missing a value for height", hmrcNoScaling, hmrcNoDepth}},
		{name: "screens_repeated_key", header: "Gov-Client-Screens", value: "width=1920&width=1080&height=1080&scaling-factor=1&colour-depth=24",
			errs: []string{msgPairRepeatedKey}},

		{name: "timezone_quarter", header: "Gov-Client-Timezone", value: "UTC-01:15"},
		{name: "timezone_kiribati", header: "Gov-Client-Timezone", value: "UTC+14:00"},
		{name: "timezone_nepal", header: "Gov-Client-Timezone", value: "UTC+05:45"},
		{name: "timezone_bare", header: "Gov-Client-Timezone", value: "UTC", errs: []string{hmrcTimezone}},
		{name: "timezone_no_utc", header: "Gov-Client-Timezone", value: "+01:00", errs: []string{hmrcTimezone}},
		{name: "timezone_1_digit_hour", header: "Gov-Client-Timezone", value: "UTC+1:00", errs: []string{hmrcTimezone}},
		{name: "timezone_no_colon", header: "Gov-Client-Timezone", value: "UTC+0100", errs: []string{hmrcTimezone}},
		{name: "timezone_odd_minutes", header: "Gov-Client-Timezone", value: "UTC+01:10", errs: []string{hmrcTimezone}},
		{name: "timezone_hour_15", header: "Gov-Client-Timezone", value: "UTC+15:00", errs: []string{hmrcTimezone}},
		{name: "timezone_past_14", header: "Gov-Client-Timezone", value: "UTC+14:30", errs: []string{hmrcTimezone}},
		{name: "timezone_gmt", header: "Gov-Client-Timezone", value: "GMT+01:00", errs: []string{hmrcTimezone}},
		{name: "timezone_iana_name", header: "Gov-Client-Timezone", value: "Europe/London", errs: []string{hmrcTimezone}},

		{name: "ua_any_order", header: "Gov-Client-User-Agent", value: "device-model=OptiPlex%20980&os-version=Server%202012&device-manufacturer=Dell%20Inc.&os-family=Windows"},
		{name: "ua_no_os_family", header: "Gov-Client-User-Agent", value: "os-version=10&device-manufacturer=Dell&device-model=XPS", errs: []string{hmrcOSFamily}},
		{name: "ua_empty_os_version", header: "Gov-Client-User-Agent", value: "os-family=Windows&os-version=&device-manufacturer=Dell&device-model=XPS", errs: []string{hmrcOSVersion}},
		{name: "ua_no_device", header: "Gov-Client-User-Agent", value: "os-family=Windows&os-version=10", warns: []string{hmrcMaker, hmrcModel}},
		{name: "ua_old_format", header: "Gov-Client-User-Agent", value: "Windows/10%20(Dell/XPS)",
			errs: []string{msgPairNoEquals, hmrcOSFamily, hmrcOSVersion}, warns: []string{hmrcMaker, hmrcModel}},
		{name: "ua_encoded_separators", header: "Gov-Client-User-Agent", value: "os-family%3DWindows%26os-version%3D10&device-manufacturer=Dell&device-model=XPS",
			errs: []string{msgPairEncodedSep, hmrcOSFamily, hmrcOSVersion}},
		{name: "ua_placeholder_value", header: "Gov-Client-User-Agent", value: "os-family=Linux&os-version=6.8&device-manufacturer=unknown&device-model=XPS",
			errs: []string{msgPlaceholder}},

		{name: "user_ids_os_only", header: "Gov-Client-User-IDs", value: "os=alice"},
		{name: "user_ids_no_os", header: "Gov-Client-User-IDs", value: "my-tax-app=alice123", warns: []string{msgNoOS}},
		{name: "user_ids_empty_os", header: "Gov-Client-User-IDs", value: "os=&my-tax-app=alice123", warns: []string{msgNoOS}},
		{name: "user_ids_no_values", header: "Gov-Client-User-IDs", value: "my-tax-app=", errs: []string{msgUserIDs}, warns: []string{msgNoOS}},
		{name: "user_ids_no_key", header: "Gov-Client-User-IDs", value: "=alice", errs: []string{msgPairNoKey, msgUserIDs}, warns: []string{msgNoOS}},
		{name: "user_ids_web_without_os", method: WebAppViaServer, header: "Gov-Client-User-IDs", value: "cognito=user"},
		{name: "user_ids_web_with_os", method: WebAppViaServer, header: "Gov-Client-User-IDs", value: "os=alice&my-tax-app=alice123", warns: []string{hmrcWebOS}},
		{name: "user_ids_web_empty_os", method: WebAppViaServer, header: "Gov-Client-User-IDs", value: "os=&my-tax-app=alice123", warns: []string{hmrcWebOS}},
		{name: "user_ids_mobile_with_os", method: MobileAppDirect, header: "Gov-Client-User-IDs", value: "os=alice&my-tax-app=alice123", warns: []string{hmrcWebOS}},
		{name: "user_ids_batch_without_os", method: BatchProcessDirect, header: "Gov-Client-User-IDs", value: "my-tax-app=batch", warns: []string{msgNoOS}},

		{name: "window_mobile", header: "Gov-Client-Window-Size", value: "height=812&width=375"},
		{name: "window_no_height", header: "Gov-Client-Window-Size", value: "width=1256", errs: []string{"Value is missing a value for height"}},
		{name: "window_zero_width", header: "Gov-Client-Window-Size", value: "width=0&height=803", errs: []string{"Value has a width that is not a positive whole number"}},
		{name: "window_not_key_value", header: "Gov-Client-Window-Size", value: "1256x803",
			errs: []string{msgPairNoEquals, "Value is missing a value for width", "Value is missing a value for height"}},

		{name: "forwarded_three_hops", header: "Gov-Vendor-Forwarded",
			value: "by=203.0.113.6&for=198.51.100.7,by=198.51.100.20&for=203.0.113.6,by=2001%3Adb8%3A%3A1&for=198.51.100.20"},
		{name: "forwarded_no_for", header: "Gov-Vendor-Forwarded", value: "by=203.0.113.6", errs: []string{hmrcNoFor}},
		{name: "forwarded_no_by", header: "Gov-Vendor-Forwarded", value: "for=198.51.100.7", errs: []string{hmrcNoBy}},
		{name: "forwarded_raw_v6", header: "Gov-Vendor-Forwarded", value: "by=203.0.113.6&for=2001:db8::7", errs: []string{msgIPv6Raw}},
		{name: "forwarded_host_name", header: "Gov-Vendor-Forwarded", value: "by=203.0.113.6&for=client.example", errs: []string{hmrcNotIP}},
		{name: "forwarded_private_hop", header: "Gov-Vendor-Forwarded", value: "by=203.0.113.6&for=198.51.100.7,by=10.0.0.2&for=203.0.113.6", warns: []string{hmrcNotPublic}},
		{name: "forwarded_empty_hop", header: "Gov-Vendor-Forwarded", value: "by=203.0.113.6&for=198.51.100.7,", errs: []string{msgEmptyItem}},

		{name: "licences_two", header: "Gov-Vendor-License-IDs", value: "my-licensed-software=8D79&other%20software=1A2B"},
		{name: "licences_no_equals", header: "Gov-Vendor-License-IDs", value: "8D7963490527D337", errs: []string{msgPairNoEquals}},
		{name: "licences_raw_equals", header: "Gov-Vendor-License-IDs", value: "my-software=aGVsbG8=", errs: []string{msgPairTwoEquals}},
		{name: "licences_placeholder", header: "Gov-Vendor-License-IDs", value: "none", errs: []string{msgPlaceholder}},
		{name: "licences_empty_pair", header: "Gov-Vendor-License-IDs", value: "a=1&&b=2", errs: []string{msgPairEmpty}},

		{name: "product_unicode_encoded", header: "Gov-Vendor-Product-Name", value: "Caf%C3%A9%20Accounts"},
		{name: "product_raw_space", header: "Gov-Vendor-Product-Name", value: "My Tax App", errs: []string{msgNotEncoded}},
		{name: "product_bad_percent", header: "Gov-Vendor-Product-Name", value: "My%2Tax", errs: []string{msgBadPercent}},
		{name: "product_trailing_percent", header: "Gov-Vendor-Product-Name", value: "MyTax%", errs: []string{msgBadPercent}},
		{name: "product_not_ascii", header: "Gov-Vendor-Product-Name", value: "Café", errs: []string{msgNotASCII}},
		{name: "product_control_char", header: "Gov-Vendor-Product-Name", value: "My\x01Tax", errs: []string{msgNotASCII}},
		{name: "product_placeholder", header: "Gov-Vendor-Product-Name", value: "NULL", errs: []string{msgPlaceholder}},

		{name: "vendor_ip_v6", header: "Gov-Vendor-Public-IP", value: "2001:4860:4860::8844"},
		{name: "vendor_ip_private", header: "Gov-Vendor-Public-IP", value: "192.168.0.10", warns: []string{hmrcNotPublic}},
		{name: "vendor_ip_not_ip", header: "Gov-Vendor-Public-IP", value: "api.example.com", errs: []string{hmrcNotIP}},

		{name: "version_client_server", header: "Gov-Vendor-Version", value: "my-desktop-app=2.2.2&my-serverside-code=v3.8"},
		{name: "version_one_pair_client_server", header: "Gov-Vendor-Version", value: "my-desktop-app=2.2.2", warns: []string{hmrcVersion}},
		{name: "version_empty_server_version", header: "Gov-Vendor-Version", value: "my-desktop-app=2.2.2&my-serverside-code=", warns: []string{hmrcVersion}},
		{name: "version_one_pair_web", method: WebAppViaServer, header: "Gov-Vendor-Version", value: "my-web-app=2.2.2"},
		{name: "version_one_pair_direct", method: DesktopAppDirect, header: "Gov-Vendor-Version", value: "my-application=1.6.0"},
		{name: "version_one_pair_mobile_server", method: MobileAppViaServer, header: "Gov-Vendor-Version", value: "my-app=1.6.0", warns: []string{hmrcVersion}},
		{name: "version_one_pair_other_server", method: OtherViaServer, header: "Gov-Vendor-Version", value: "my-app=1.6.0", warns: []string{hmrcVersion}},
		{name: "version_no_version", method: DesktopAppDirect, header: "Gov-Vendor-Version", value: "my-application=", errs: []string{msgVersion}},

		{name: "any_too_long", header: "Gov-Client-Device-ID", value: strings.Repeat("a", maxValueLen+1), errs: []string{msgTooLong}},
		{name: "any_list_too_long", header: "Gov-Client-Local-IPs", value: strings.Repeat("10.1.2.3,", 60) + "10.1.2.3", warns: []string{msgTooMany}},
		{name: "any_pairs_too_many", header: "Gov-Vendor-License-IDs", value: manyPairs(60), warns: []string{msgTooMany}},
	}
}

// TestValidateValues checks what is said about the header set, and that
// the Result's issues say the same.
func TestValidateValues(t *testing.T) {
	t.Parallel()
	for _, tc := range valueCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := tc.method
			if m == "" {
				m = DesktopAppViaServer
			}
			h := fullSet(t, m)
			set(h, tc.header, tc.value)
			r := Validate(h, now)
			name := strings.ToLower(tc.header)
			hd := header(t, r, name)
			if want := orEmpty(tc.errs); !slices.Equal(hd.Errors, want) {
				t.Errorf("Validate(%s: %q) errors = %q, want %q", tc.header, tc.value, hd.Errors, want)
			}
			if want := orEmpty(tc.warns); !slices.Equal(hd.Warnings, want) {
				t.Errorf("Validate(%s: %q) warnings = %q, want %q", tc.header, tc.value, hd.Warnings, want)
			}
			if got := issuesOf(r.Errors, name); !slices.Equal(got, hd.Errors) {
				t.Errorf("Result.Errors about %s = %q, want %q as in Headers", name, got, hd.Errors)
			}
			if got := issuesOf(r.Warnings, name); !slices.Equal(got, hd.Warnings) {
				t.Errorf("Result.Warnings about %s = %q, want %q as in Headers", name, got, hd.Warnings)
			}
			wantCode := CodeValidHeader
			switch {
			case len(tc.errs) > 0:
				wantCode = CodeInvalidHeader
			case len(tc.warns) > 0:
				wantCode = CodePotentiallyInvalid
			case !requires(m, name):
				wantCode = CodeUnexpectedHeader
			}
			if hd.Code != wantCode {
				t.Errorf("Validate(%s: %q) header code = %s, want %s", tc.header, tc.value, hd.Code, wantCode)
			}
			if len(tc.value) >= 6 {
				for _, is := range slices.Concat(r.Errors, r.Warnings) {
					if strings.Contains(is.Message, tc.value) {
						t.Errorf("message %q quotes the value", is.Message)
					}
				}
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func manyPairs(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString("k")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString("=1")
	}
	return b.String()
}

// TestValidateEveryHeaderCovered keeps the cases honest: every header in
// the table has a valid value and an invalid one.
func TestValidateEveryHeaderCovered(t *testing.T) {
	t.Parallel()
	valid, invalid := map[string]bool{}, map[string]bool{}
	for _, tc := range valueCases() {
		switch {
		case len(tc.errs) > 0:
			invalid[strings.ToLower(tc.header)] = true
		case len(tc.warns) == 0:
			valid[strings.ToLower(tc.header)] = true
		}
	}
	for _, m := range Methods { // the full sets hold valid values too
		for name := range fullSet(t, m) {
			valid[strings.ToLower(name)] = true
		}
	}
	for _, s := range specs {
		name := strings.ToLower(s.name)
		if !valid[name] || !invalid[name] {
			t.Errorf("%s: a valid case %v, an invalid case %v; want both", s.name, valid[name], invalid[name])
		}
	}
}
