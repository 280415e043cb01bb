// Package hmrc holds the wire contract of HMRC's Self Assessment Assist API
// v1.0: the media type and header names, every error code with its exact
// message and HTTP status, the path-parameter formats, and the JSON shapes of
// the responses. Nothing else in the service spells these out, so a change to
// the contract is a change to this package.
package hmrc
