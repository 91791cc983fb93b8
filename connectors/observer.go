package connectors

import "time"

// Observer is told about every HTTP attempt a vendor client makes
// (httpapi.Observer is this interface; it lives here so that Deps can carry
// it without an import cycle).
type Observer interface {
	// Request: source name, endpoint (a stable low-cardinality name such as
	// "GET /loyalty/v1/membership" without ids or query), result class
	// ("ok", "retryable", "rate_limited", "permanent", "auth",
	// "not_found"), HTTP status (0 if none), elapsed time.
	Request(source, endpoint, class string, status int, elapsed time.Duration)
}
