package fraud

import (
	"reflect"
	"strings"
	"testing"
)

func TestAssess(t *testing.T) {
	t.Parallel()
	const device = "beec798b-b366-47fa-b1f8-92cede14a1ce"
	tests := []struct {
		name       string
		method     Method
		set        map[string]string
		del        []string
		previous   string
		wantScore  int
		wantValid  bool
		wantReason []Reason
	}{
		{name: "valid_same_device", method: DesktopAppViaServer, previous: strings.ToUpper(device), wantValid: true},
		{name: "valid_first_call", method: DesktopAppDirect, wantValid: true},
		{name: "device_changed", method: DesktopAppDirect, previous: "0b8a7c6d-1e2f-4a3b-8c9d-0e1f2a3b4c5d", wantScore: 30, wantValid: true,
			wantReason: []Reason{{Code: ReasonDeviceChanged, Points: 30, Detail: "gov-client-device-id differs from the user's last call"}}},
		{name: "no_device_id_no_change", method: DesktopAppDirect, set: map[string]string{"Gov-Client-Device-ID": "x"},
			previous: "0b8a7c6d-1e2f-4a3b-8c9d-0e1f2a3b4c5d", wantScore: 10,
			wantReason: []Reason{{Code: ReasonMalformed, Points: 10, Detail: "malformed: gov-client-device-id"}}},
		{name: "missing_two", method: OtherDirect, del: []string{"Gov-Client-Timezone"}, set: map[string]string{"Gov-Client-User-Agent": ""},
			wantScore: 20, wantReason: []Reason{{Code: ReasonMissing, Points: 20, Detail: "missing or empty: gov-client-timezone, gov-client-user-agent"}}},
		{name: "advisory_missing_adds_nothing", method: OtherDirect, del: []string{"Gov-Client-Multi-Factor", "Gov-Vendor-License-IDs"},
			wantValid: true},
		{name: "malformed_counts_each_problem", method: DesktopAppDirect,
			set:       map[string]string{"Gov-Client-Timezone": "BST", "Gov-Client-Screens": "width=1920&height=1080"},
			wantScore: 30, wantReason: []Reason{{Code: ReasonMalformed, Points: 30, Detail: "malformed: gov-client-screens, gov-client-timezone"}}},
		{name: "future_is_not_also_malformed", method: DesktopAppDirect, set: map[string]string{"Gov-Client-Local-IPs-Timestamp": "2026-02-14T21:00:00.000Z"},
			wantScore: 20, wantReason: []Reason{{Code: ReasonFutureTimestamp, Points: 20, Detail: "timestamps in the future: gov-client-local-ips-timestamp"}}},
		{name: "stale_both", method: OtherViaServer, wantValid: true, wantScore: 10,
			set:        map[string]string{"Gov-Client-Local-IPs-Timestamp": "2026-02-01T00:00:00.000Z", "Gov-Client-Public-IP-Timestamp": "2026-02-01T00:00:00.000Z"},
			wantReason: []Reason{{Code: ReasonStaleTimestamp, Points: 10, Detail: "collected over 24 hours before the request: gov-client-local-ips-timestamp, gov-client-public-ip-timestamp"}}},
		{name: "private_addresses", method: WebAppViaServer, wantValid: true, wantScore: 30,
			set:        map[string]string{"Gov-Client-Public-IP": "10.0.0.5", "Gov-Vendor-Forwarded": "by=203.0.113.6&for=10.0.0.5"},
			wantReason: []Reason{{Code: ReasonPrivateAddress, Points: 30, Detail: "non-public addresses in: gov-client-public-ip, gov-vendor-forwarded"}}},
		{name: "local_loopback_is_no_risk", method: DesktopAppDirect, wantValid: true, set: map[string]string{"Gov-Client-Local-IPs": "127.0.0.1"}},
		{name: "inconsistent", method: MobileAppViaServer, set: map[string]string{"Gov-Vendor-Forwarded": "by=203.0.113.9&for=198.51.100.7"},
			wantScore: 25, wantReason: []Reason{{Code: ReasonInconsistent, Points: 25, Detail: "headers that disagree: gov-vendor-forwarded, gov-vendor-public-ip, gov-client-public-ip"}}},
		{name: "sorted_by_points_then_code", method: DesktopAppViaServer, previous: "0b8a7c6d-1e2f-4a3b-8c9d-0e1f2a3b4c5d",
			set: map[string]string{"Gov-Client-Timezone": "BST", "Gov-Client-Local-IPs-Timestamp": "2026-02-14T21:00:00.000Z"},
			del: []string{"Gov-Client-Screens"}, wantScore: 70,
			wantReason: []Reason{
				{Code: ReasonDeviceChanged, Points: 30, Detail: "gov-client-device-id differs from the user's last call"},
				{Code: ReasonFutureTimestamp, Points: 20, Detail: "timestamps in the future: gov-client-local-ips-timestamp"},
				{Code: ReasonMalformed, Points: 10, Detail: "malformed: gov-client-timezone"},
				{Code: ReasonMissing, Points: 10, Detail: "missing or empty: gov-client-screens"},
			}},
		{name: "capped_at_100", method: DesktopAppViaServer,
			del:       []string{"Gov-Client-Device-ID", "Gov-Client-Local-IPs", "Gov-Client-Local-IPs-Timestamp", "Gov-Client-MAC-Addresses", "Gov-Client-Public-IP", "Gov-Client-Public-Port", "Gov-Client-Screens", "Gov-Client-Timezone", "Gov-Client-User-Agent", "Gov-Client-User-IDs", "Gov-Client-Window-Size"},
			wantScore: 100,
			wantReason: []Reason{{Code: ReasonMissing, Points: 110, Detail: "missing or empty: gov-client-device-id, gov-client-local-ips, gov-client-local-ips-timestamp, " +
				"gov-client-mac-addresses, gov-client-public-ip, gov-client-public-port, gov-client-screens, gov-client-timezone, " +
				"gov-client-user-agent, gov-client-user-ids, gov-client-window-size"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := fullSet(t, tc.method)
			for k, v := range tc.set {
				set(h, k, v)
			}
			for _, k := range tc.del {
				del(h, k)
			}
			r := Validate(h, now)
			got := Assess(r, tc.previous)
			want := &Assessment{ConnectionMethod: string(tc.method), Code: r.Code, Valid: tc.wantValid, Score: tc.wantScore, Reasons: tc.wantReason}
			if want.Reasons == nil {
				want.Reasons = []Reason{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Assess() = %+v\nwant %+v\n(errors %+v, warnings %+v)", got, want, r.Errors, r.Warnings)
			}
			for _, x := range got.Reasons {
				for _, v := range tc.set {
					if len(v) >= 6 && strings.Contains(x.Detail, v) {
						t.Errorf("Detail %q quotes a value", x.Detail)
					}
				}
			}
		})
	}
}

func TestAssessNoHeaders(t *testing.T) {
	t.Parallel()
	want := &Assessment{Code: NoHeaders, Score: 100,
		Reasons: []Reason{{Code: ReasonNoHeaders, Points: 100, Detail: "no Gov-Client-* or Gov-Vendor-* header"}}}
	for name, r := range map[string]*Result{"no_headers": Validate(nil, now), "nil": nil} {
		if got := Assess(r, "beec798b-b366-47fa-b1f8-92cede14a1ce"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Assess() = %+v, want %+v", name, got, want)
		}
	}
}

// TestAssessWithoutMethod: the method is "" and its absence counts as
// missing; nothing else is, since the required set is unknown.
func TestAssessWithoutMethod(t *testing.T) {
	t.Parallel()
	h := fullSet(t, DesktopAppDirect)
	del(h, gccm)
	got := Assess(Validate(h, now), "")
	want := &Assessment{Code: InvalidHeaders, Score: 10,
		Reasons: []Reason{{Code: ReasonMissing, Points: 10, Detail: "missing or empty: gov-client-connection-method"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Assess() = %+v, want %+v", got, want)
	}
}
