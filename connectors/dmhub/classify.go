package dmhub

import (
	"net/http"
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// This file is DM Hub's classification table (vendor-api.md §1.2, §1.3):
// data read by httpapi.Client.Classify, the one classifier of every vendor.
// docs/errors.md renders it.

// Busy, internal and throttling messages shared by every DM Hub endpoint:
// matched only when the code is not in the table.
var dmhubMessages = []httpapi.Rule{
	{Match: []string{"too many", "rate limit", "frequen", "频繁", "限流"}, Class: connectors.RateLimited, Doc: "§5 Q3"},
	{Match: []string{"busy", "繁忙", "稍后", "internal error", "内部错误", "timeout", "超时"}, Class: connectors.Retryable, Doc: "issue 8"},
}

// apiPolicy classifies the loyalty API's answers.
var apiPolicy = httpapi.Policy{
	Parse: parseEnvelope,
	// the API authenticates by access token only: a 401 rejects the token
	// (retried with the newest), never the app's credentials
	TokenStatuses: []int{http.StatusUnauthorized},
	Unknown:       connectors.Retryable,
	Codes: []httpapi.Rule{
		{Code: "400001", Class: connectors.Permanent, Doc: "§1.3 invalid value"},
		{Code: "400005", Class: connectors.Permanent, Doc: "§1.3 required field missing"},
		{Code: "C0002", Class: connectors.Permanent, Doc: "§1.3 customer field validation"},
		{Code: "409224", Class: connectors.Permanent, Doc: "§1.3 identity is last one"},
		{Code: "409200", NotFound: true, Doc: "§1.3 not found (HTTP 200)"},
		{Code: "409225", NotFound: true, Doc: "§1.3 identity not found"},
		// 409000 "error info" is the generic business failure of writes
		// (§1.3: deal/coupon calls, duplicate orderNo §5 Q7); on a read it
		// is undocumented and the simulator's fault: retried.
		{Code: "409000", Class: connectors.Retryable, Write: connectors.Permanent, Doc: "§1.3 generic business failure"},
		// 40201 "permission is not enough" with HTTP 500 (§1.3, G-rb): a
		// vendor fault, never "not found".
		{Code: "40201", Class: connectors.Retryable, Doc: "§1.3 permission is not enough (HTTP 500)"},
		{Code: "429001", Class: connectors.RateLimited, Doc: "§5 Q3 (simulator: frequency exceeded)"},
		{Code: "429", Class: connectors.RateLimited, Doc: "§5 Q3"},
		// invalid, expired or superseded access token: HTTP 200 with the
		// error inside (§1.2, G-rb); 401001 is the simulator's code, the
		// others are the codes DM Hub-style gateways use for it.
		{Code: "401001", Token: true, Doc: "§1.2 invalid access token (simulator code)"},
		{Code: "401", Token: true, Doc: "§1.2 invalid access token"},
		{Code: "40001", Token: true, Doc: "§1.2 invalid access token"},
		{Code: "40014", Token: true, Doc: "§1.2 invalid access token"},
		{Code: "41001", Token: true, Doc: "§1.2 missing access token"},
		{Code: "42001", Token: true, Doc: "§1.2 access token expired"},
		{Code: "40004", Class: connectors.Permanent, Doc: "§1.2 the params is illegal"},
	},
	Messages: dmhubMessages,
}

// tokenPolicy classifies the token endpoint's answers: there, a rejection
// of the parameters is a rejection of our credentials.
var tokenPolicy = httpapi.Policy{
	Parse:   parseEnvelope,
	Unknown: connectors.Retryable,
	Codes: []httpapi.Rule{
		{Code: "40004", Class: connectors.Auth, Doc: "§1.2 the params is illegal (wrong appid/secret)"},
		{Code: "40201", Class: connectors.Retryable, Doc: "§1.3 permission is not enough (HTTP 500)"},
		{Code: "429001", Class: connectors.RateLimited, Doc: "§5 Q3"},
	},
	Messages: dmhubMessages,
}

// envelope is the error part of any DM Hub body: {"error":{code,message}}
// on the API, {"error_code","error_description"} on the token endpoint
// (and some 500s). Codes arrive as strings or numbers.
type envelope struct {
	Error *struct {
		Code    lenient.String `json:"code"`
		Message lenient.String `json:"message"`
	} `json:"error"`
	ErrorCode        *lenient.String `json:"error_code"`
	ErrorDescription lenient.String  `json:"error_description"`
}

// parseEnvelope: a body with an `error` object or a non-zero `error_code`
// is an error; any other JSON (the bare resource, {"rows":[…]}, a token)
// is a success whose payload is the whole body.
func parseEnvelope(body []byte) httpapi.Envelope {
	var env envelope
	_ = json.Unmarshal(body, &env) // best effort: the body may be an array
	switch {
	case env.Error != nil:
		code, msg := strings.TrimSpace(env.Error.Code.V), strings.TrimSpace(env.Error.Message.V)
		if code == "" && msg == "" {
			msg = "error without a code"
		}
		return httpapi.Envelope{Code: code, Message: msg}
	case env.ErrorCode != nil && env.ErrorCode.V != "0" && strings.TrimSpace(env.ErrorCode.V) != "":
		return httpapi.Envelope{Code: strings.TrimSpace(env.ErrorCode.V), Message: env.ErrorDescription.V}
	}
	return httpapi.Envelope{OK: true, Data: body}
}
