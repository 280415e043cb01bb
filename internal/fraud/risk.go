package fraud

import (
	"cmp"
	"slices"
	"strings"
)

// weight is what one finding under reason adds to the score, and how the
// reason's Detail begins. The score adds the points up and stops at 100: a
// handful of serious findings should reach the top, a few doubtful ones not.
//
//	NO_HEADERS        100  per request  nothing identifies the device or user at all
//	INCONSISTENT       25  per check    the forwarded chain contradicts the IP headers: made up or rewritten
//	FUTURE_TIMESTAMP   20  per header   a clock ahead of ours by minutes is fabricated or badly wrong
//	PRIVATE_ADDRESS    15  per header   a public address is the evidence HMRC traces; a private one hides it
//	MISSING_HEADERS    10  per header   each is a part of the device's identity HMRC cannot check
//	MALFORMED_VALUES   10  per problem  a broken value is as good as a missing one
//	STALE_TIMESTAMP     5  per header   values cached rather than collected; often a lazy client, not fraud
//	DEVICE_CHANGED     30  per request  the classic sign of another device on the account, but new
//	                                    devices and cleared storage are common, so not decisive alone
//
// Advisory findings (Multi-Factor or License-IDs missing, a doubtful format,
// an unneeded or unknown header) add nothing: they say little about risk.
func weight(reason string) (points int, lead string) {
	switch reason {
	case ReasonNoHeaders:
		return 100, ""
	case ReasonInconsistent:
		return 25, "headers that disagree: "
	case ReasonFutureTimestamp:
		return 20, "timestamps in the future: "
	case ReasonPrivateAddress:
		return 15, "non-public addresses in: "
	case ReasonMissing:
		return 10, "missing or empty: "
	case ReasonMalformed:
		return 10, "malformed: "
	case ReasonStaleTimestamp:
		return 5, "collected over 24 hours before the request: "
	case ReasonDeviceChanged:
		return 30, ""
	}
	return 0, ""
}

// Assess scores r from 0 (no sign of risk) to 100 and says why.
// previousDeviceID is the device id of the same user's last call, "" when
// unknown. Each Issue counts under its Reason; each Reason lists the headers
// (never their values), and their points may add up to more than the Score,
// which stops at 100. A nil r is taken as a request with no headers.
func Assess(r *Result, previousDeviceID string) *Assessment {
	if r == nil {
		r = &Result{Code: NoHeaders}
	}
	a := &Assessment{
		ConnectionMethod: string(r.Method),
		Code:             r.Code,
		Valid:            r.Code == ValidHeaders || r.Code == PotentiallyInvalidHeaders,
		Reasons:          []Reason{},
	}
	if r.Code == NoHeaders {
		p, _ := weight(ReasonNoHeaders)
		a.Reasons = append(a.Reasons, Reason{Code: ReasonNoHeaders, Points: p,
			Detail: "no Gov-Client-* or Gov-Vendor-* header"})
	}
	byCode := map[string]int{} // index in a.Reasons
	names := map[string][]string{}
	for _, is := range slices.Concat(r.Errors, r.Warnings) {
		p, _ := weight(is.Reason)
		if p == 0 {
			continue
		}
		i, ok := byCode[is.Reason]
		if !ok {
			i = len(a.Reasons)
			byCode[is.Reason] = i
			a.Reasons = append(a.Reasons, Reason{Code: is.Reason})
		}
		a.Reasons[i].Points += p
		for _, h := range is.Headers {
			if !slices.Contains(names[is.Reason], h) {
				names[is.Reason] = append(names[is.Reason], h)
			}
		}
	}
	for i := range a.Reasons {
		if ns, ok := names[a.Reasons[i].Code]; ok {
			_, lead := weight(a.Reasons[i].Code)
			a.Reasons[i].Detail = lead + strings.Join(ns, ", ")
		}
	}
	if previousDeviceID != "" && r.DeviceID != "" && !strings.EqualFold(previousDeviceID, r.DeviceID) {
		p, _ := weight(ReasonDeviceChanged)
		a.Reasons = append(a.Reasons, Reason{Code: ReasonDeviceChanged, Points: p,
			Detail: "gov-client-device-id differs from the user's last call"})
	}
	slices.SortFunc(a.Reasons, func(x, y Reason) int {
		return cmp.Or(cmp.Compare(y.Points, x.Points), cmp.Compare(x.Code, y.Code))
	})
	for _, x := range a.Reasons {
		a.Score += x.Points
	}
	a.Score = min(a.Score, 100)
	return a
}
