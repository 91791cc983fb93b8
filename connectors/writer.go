package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Writer delivers outbound writes (orders, refunds, push devices, points
// changes) to one vendor account. A connector whose vendor accepts writes
// implements it; jobs/outbound owns everything around it (durable log,
// idempotency, ordering, retries). Implementations are safe for concurrent
// use.
type Writer interface {
	// Prepare validates one write of kind at intake, before anything is
	// stored: body is the vendor's own request body as the caller sent it,
	// key the caller's idempotencyKey ("" when none). It returns the body to
	// send (normalized, e.g. times in UTC, with any marker reconciliation
	// needs), the idempotency key (key, or one derived from the body) and
	// the ordering scope. A rejected write is a *FieldError.
	Prepare(kind string, body json.RawMessage, key string) (Prepared, error)
	// Deliver sends one prepared write once; it never resends in place.
	// When w.MaybeApplied is true an earlier attempt may have reached the
	// vendor, and Deliver reconciles first (the rule is per kind) so the
	// vendor applies the write at most once. Errors are *Error values
	// (Permanent: the write can never succeed; Retryable or RateLimited:
	// it was not applied, try again later) or wrap ErrOutcomeUnknown (the
	// request may have been applied).
	Deliver(ctx context.Context, w Write) (Delivery, error)
}

// AnswerReconciler is implemented by a Writer some of whose kinds (those
// ReconcilesByAnswer reports true for) reconcile an earlier attempt only by
// reading the vendor's answer to the resend ("order exists", "already
// refunded"), with no look-up before sending: for those, Deliver with
// MaybeApplied sends exactly what Deliver without it sends. The outbound
// worker then learns whether an earlier attempt may have reached the vendor
// while the first request is in flight, and when one may have and the call
// failed, it retries with MaybeApplied instead of reading the failure as
// final. A Writer that does not implement it is asked nothing: every
// attempt learns that first.
type AnswerReconciler interface {
	ReconcilesByAnswer(kind string) bool
}

// Prepared is a validated write, ready to be stored.
type Prepared struct {
	Body json.RawMessage // what Deliver will send
	Key  string          // idempotency key
	// OrderNo groups writes that must reach the vendor in intake order
	// (the writes about one order); "" for writes that need no order.
	OrderNo string
	// Opens is true for the write that creates the order (a deal): the
	// other writes of OrderNo need it delivered first.
	Opens bool
}

// Write is one delivery attempt of a stored write.
type Write struct {
	ID   string
	Kind string
	Body json.RawMessage // Prepared.Body
	// MaybeApplied: an earlier attempt may have reached the vendor
	// (timeout, reset, 5xx, truncated answer, or a crash mid-call).
	MaybeApplied bool
}

// Delivery is a vendor acknowledgement.
type Delivery struct {
	Response json.RawMessage // the vendor's answer (never carries our credentials)
	// Reconciled is true when the write was found already applied (after
	// an unknown outcome) instead of being applied by this call.
	Reconciled bool
}

// ErrOutcomeUnknown is wrapped by delivery errors after which the vendor
// may or may not have applied the write: the request was sent and no
// definite answer came back. It is its own error class: the next attempt
// must reconcile before resending.
var ErrOutcomeUnknown = errors.New("outcome unknown: the request may have reached the vendor")

// FieldError rejects one write at intake: Field names the offending field
// (a JSON path such as "dealLines[2].qty"), Cause says what is wrong.
type FieldError struct {
	Field string
	Cause string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Cause
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Cause)
}
