package dmhub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// The outbound write kinds of DM Hub (CONTRACT.md), in contract order.
const (
	KindDeal         = "deal"
	KindDealUpdate   = "deal-update"
	KindDealCancel   = "deal-cancel"
	KindDealDelete   = "deal-delete"
	KindRefund       = "refund"
	KindRefundDelete = "refund-delete"
	KindPushDevice   = "push-device"
	KindPoints       = "points"
)

// WriteKinds lists the outbound kinds a DM Hub source accepts.
var WriteKinds = []string{KindDeal, KindDealUpdate, KindDealCancel, KindDealDelete, KindRefund, KindRefundDelete,
	KindPushDevice, KindPoints}

// writePaths maps each kind but points to its endpoint (vendor-api.md §1.5).
var writePaths = map[string]string{
	KindDeal:         "/loyalty/v1/deal",
	KindDealUpdate:   "/loyalty/v1/dealService/update/",
	KindDealCancel:   "/loyalty/v1/dealService/cancel",
	KindDealDelete:   "/loyalty/v1/dealService/delete",
	KindRefund:       "/loyalty/v1/dealService/refund",
	KindRefundDelete: "/loyalty/v1/dealService/deleteRefund",
	KindPushDevice:   "/loyalty/v1/appPush/register",
}

// The writer of a DM Hub source.
var _ connectors.Writer = (*Connector)(nil)

// MarkerPrefix starts the externalId loyaltybridge gives a points change
// that has none: "lb-" and 24 hex digits of the SHA-256 of its
// idempotency key. Reconciliation finds the change in the member's points
// log by its externalId.
const MarkerPrefix = "lb-"

// reconcilePages bounds the points-log pages (100 rows, newest first) a
// points reconciliation reads.
const reconcilePages = 20

// Prepare implements connectors.Writer: it checks the required fields and
// types of vendor-api.md §1.5/§1.7, rewrites times to the documented UTC
// form ("2006-01-02T15:04:05"), accepts the legacy "dealLine" as
// "dealLines", and derives the idempotency key when key is "".
func (k *Connector) Prepare(kind string, body json.RawMessage, key string) (connectors.Prepared, error) {
	return PrepareWrite(kind, body, key)
}

// PrepareWrite is Connector.Prepare without a connector (intake checks
// need no credentials).
func PrepareWrite(kind string, body json.RawMessage, key string) (connectors.Prepared, error) {
	f, err := parseFields(body)
	if err != nil {
		return connectors.Prepared{}, err
	}
	if key != "" && strings.TrimSpace(key) == "" {
		return connectors.Prepared{}, &connectors.FieldError{Field: "idempotencyKey", Cause: "must not be blank"}
	}
	var p connectors.Prepared
	switch kind {
	case KindDeal:
		err = f.deal()
		p.OrderNo, p.Opens = f.s("orderNo"), true
		p.Key = "deal:" + p.OrderNo
	case KindDealUpdate:
		err = f.dealUpdate()
		p.OrderNo = f.s("orderNo")
		p.Key = "deal-update:" + p.OrderNo + ":" + digest(body, 16)
	case KindDealCancel, KindDealDelete, KindRefundDelete:
		err = f.orderRef()
		p.OrderNo = f.s("orderNo")
		p.Key = kind + ":" + p.OrderNo
	case KindRefund:
		var lines []string
		lines, err = f.refund()
		p.OrderNo = f.s("orderNo")
		slices.Sort(lines)
		p.Key = "refund:" + p.OrderNo + ":" + strings.Join(lines, ",")
	case KindPushDevice:
		err = f.pushDevice()
		who := f.s("membershipId")
		if who == "" {
			who = "mobile=" + f.s("mobile")
		}
		p.Key = "push-device:" + f.s("provider") + ":" + f.s("appKey") + ":" + f.s("pushId") + ":" + who
	case KindPoints:
		err = f.points(key)
		if err == nil {
			ext := f.s("externalId")
			if key == "" {
				key = "points:" + ext
			}
			if ext == "" {
				f.set("externalId", MarkerPrefix+digest([]byte(key), 24))
			}
		}
	default:
		return connectors.Prepared{}, &connectors.FieldError{Field: "kind",
			Cause: fmt.Sprintf("%q is not an outbound kind of DM Hub (kinds: %s)", kind, strings.Join(WriteKinds, ", "))}
	}
	if err != nil {
		return connectors.Prepared{}, err
	}
	if key != "" {
		p.Key = key
	}
	p.Body, err = json.Marshal(f.m)
	if err != nil {
		return connectors.Prepared{}, err
	}
	return p, nil
}

// digest is the first n hex digits of the SHA-256 of b.
func digest(b []byte, n int) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])[:n]
}

// fields is a write body: raw JSON values by key, checked one by one.
type fields struct {
	m      map[string]json.RawMessage
	prefix string // JSON path of the object, for errors ("dealLines[1].")
}

func parseFields(body json.RawMessage) (*fields, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, &connectors.FieldError{Cause: "the line is not a JSON object"}
	}
	return &fields{m: m}, nil
}

func (f *fields) err(name, format string, args ...any) error {
	return &connectors.FieldError{Field: f.prefix + name, Cause: fmt.Sprintf(format, args...)}
}

func (f *fields) present(name string) bool {
	v, ok := f.m[name]
	return ok && string(v) != "null"
}

func (f *fields) set(name string, v any) {
	b, _ := json.Marshal(v)
	f.m[name] = b
}

// s returns a field's text (a string's value, a number's digits), "" if absent.
func (f *fields) s(name string) string {
	v, ok := f.m[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if string(v) == "null" {
		return ""
	}
	return string(v)
}

func (f *fields) str(name string, required bool) error {
	if !f.present(name) {
		if required {
			return f.err(name, "required")
		}
		return nil
	}
	var s string
	if json.Unmarshal(f.m[name], &s) != nil {
		return f.err(name, "must be a string, got %s", clip(f.m[name]))
	}
	if required && strings.TrimSpace(s) == "" {
		return f.err(name, "required (empty)")
	}
	return nil
}

func (f *fields) num(name string, required bool) error {
	if !f.present(name) {
		if required {
			return f.err(name, "required")
		}
		return nil
	}
	v := f.m[name]
	if _, err := strconv.ParseFloat(string(v), 64); err != nil || v[0] == '"' {
		return f.err(name, "must be a number, got %s", clip(v))
	}
	return nil
}

// positiveInt checks a whole number > 0 and returns it.
func (f *fields) positiveInt(name string) (int64, error) {
	if !f.present(name) {
		return 0, f.err(name, "required")
	}
	n, err := strconv.ParseInt(string(f.m[name]), 10, 64)
	if err != nil || n <= 0 {
		return 0, f.err(name, "must be a whole number greater than 0, got %s", clip(f.m[name]))
	}
	return n, nil
}

// memberID checks membershipId: a positive whole number, or one quoted
// (the push document shows it quoted); it is rewritten as a number.
func (f *fields) memberID(required bool) error {
	if !f.present("membershipId") {
		if required {
			return f.err("membershipId", "required")
		}
		return nil
	}
	s := f.s("membershipId")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return f.err("membershipId", "must be a DM Hub member id (a whole number), got %s", clip(f.m["membershipId"]))
	}
	f.set("membershipId", n)
	return nil
}

// timeLayouts are the accepted date-time inputs; a time without a zone
// is UTC (DM Hub's documented form).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// dateTime checks a date-time and rewrites it in UTC, "2006-01-02T15:04:05".
func (f *fields) dateTime(name string, required bool) error {
	if err := f.str(name, required); err != nil || !f.present(name) {
		return err
	}
	s := f.s(name)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			f.set(name, t.UTC().Format("2006-01-02T15:04:05"))
			return nil
		}
	}
	return f.err(name, "must be a date-time such as 2016-11-11T11:11:11 (UTC) or RFC 3339 with a zone, got %q", s)
}

// array checks a non-empty JSON array of objects and returns its items.
func (f *fields) objects(name string) ([]*fields, error) {
	if !f.present(name) {
		return nil, f.err(name, "required")
	}
	var items []json.RawMessage
	if json.Unmarshal(f.m[name], &items) != nil {
		return nil, f.err(name, "must be an array, got %s", clip(f.m[name]))
	}
	if len(items) == 0 {
		return nil, f.err(name, "must not be empty")
	}
	out := make([]*fields, len(items))
	for i, it := range items {
		var m map[string]json.RawMessage
		if json.Unmarshal(it, &m) != nil || m == nil {
			return nil, f.err(fmt.Sprintf("%s[%d]", name, i), "must be an object, got %s", clip(it))
		}
		out[i] = &fields{m: m, prefix: fmt.Sprintf("%s%s[%d].", f.prefix, name, i)}
	}
	return out, nil
}

// first returns the first non-nil error.
func first(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

var dealStrings = []string{"type", "couponCode", "groupId", "paymentTerm", "paymentNo", "shippingMethod", "contactName",
	"contactTel", "shippingProvince", "shippingCity", "shippingCounty", "shippingStreet", "shippingAddress"}

func (f *fields) deal() error {
	if err := first(f.str("salesChannel", true), f.str("store", true), f.str("orderNo", true),
		f.dateTime("dateOrder", true), f.num("amountDiscount", true), f.num("amountPaid", true),
		f.num("amountTotal", false)); err != nil {
		return err
	}
	for _, k := range dealStrings {
		if err := f.str(k, false); err != nil {
			return err
		}
	}
	switch {
	case f.present("membershipId"):
		if err := f.memberID(true); err != nil {
			return err
		}
	case f.present("identities"):
		ids, err := f.objects("identities")
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := first(id.str("type", true), id.str("value", true)); err != nil {
				return err
			}
		}
	default:
		return f.err("membershipId", "required (or identities)")
	}
	return f.dealLines()
}

func (f *fields) dealLines() error {
	if !f.present("dealLines") && f.present("dealLine") {
		f.m["dealLines"] = f.m["dealLine"] // the 2017 name (vendor-api.md §1.10)
		delete(f.m, "dealLine")
	}
	lines, err := f.objects("dealLines")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, l := range lines {
		if err := first(l.str("lineId", true), l.str("productName", true), l.num("qty", true),
			l.str("productId", false), l.str("skuId", false), l.str("category", false),
			l.num("priceUnit", false), l.num("priceSubTotal", false)); err != nil {
			return err
		}
		id := l.s("lineId")
		if seen[id] {
			return l.err("lineId", "%q appears twice in the order", id)
		}
		seen[id] = true
	}
	return nil
}

func (f *fields) dealUpdate() error {
	if err := first(f.memberID(true), f.str("orderNo", true), f.dateTime("dateOrder", false),
		f.num("amountDiscount", false), f.num("amountPaid", false), f.num("amountTotal", false)); err != nil {
		return err
	}
	for _, k := range append([]string{"salesChannel", "store"}, dealStrings...) {
		if err := f.str(k, false); err != nil {
			return err
		}
	}
	return f.dealLines()
}

func (f *fields) orderRef() error { return first(f.memberID(true), f.str("orderNo", true)) }

func (f *fields) refund() ([]string, error) {
	if err := first(f.memberID(true), f.str("orderNo", true), f.dateTime("dateRefund", true),
		f.num("refundTotal", true), f.str("reason", false)); err != nil {
		return nil, err
	}
	lines, err := f.objects("refundLines")
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(lines))
	for i, l := range lines {
		if err := l.str("lineId", true); err != nil {
			return nil, err
		}
		ids[i] = l.s("lineId")
	}
	return ids, nil
}

func (f *fields) pushDevice() error {
	if err := first(f.str("provider", true), f.str("appKey", true), f.str("pushId", true), f.str("os", true),
		f.memberID(false), f.str("mobile", false)); err != nil {
		return err
	}
	if p := f.s("provider"); p != "jpush" && p != "getui" {
		return f.err("provider", "must be jpush or getui, got %q", p)
	}
	if o := f.s("os"); o != "android" && o != "ios" {
		return f.err("os", "must be android or ios, got %q", o)
	}
	return nil
}

func (f *fields) points(key string) error {
	if err := first(f.memberID(true), f.str("direction", true)); err != nil {
		return err
	}
	dir := f.s("direction")
	if dir != "incr" && dir != "decr" {
		return f.err("direction", "must be incr or decr, got %q", dir)
	}
	if _, err := f.positiveInt("point"); err != nil {
		return err
	}
	maxPattern := int64(5)
	if dir == "decr" {
		maxPattern = 6
	}
	if !f.present("pattern") {
		return f.err("pattern", "required")
	}
	if p, err := strconv.ParseInt(string(f.m["pattern"]), 10, 64); err != nil || p < 0 || p > maxPattern {
		return f.err("pattern", "must be a whole number 0..%d for %s, got %s", maxPattern, dir, clip(f.m["pattern"]))
	}
	if err := first(f.dateTime("date", false), f.str("remark", false), f.str("source", false),
		f.str("contentName", false), f.str("campaignId", false), f.str("externalId", false)); err != nil {
		return err
	}
	if key == "" && f.s("externalId") == "" {
		return f.err("idempotencyKey", "required for points (or externalId): a points change has no natural key")
	}
	return nil
}

func clip(v json.RawMessage) string { return connectors.Truncate(string(v), 40) }

// Deliver implements connectors.Writer. The request is sent once: no
// in-place retry (a retry after an unknown outcome is the caller's, and
// it reconciles). A rejected access token is refreshed and the request
// repeated, as the vendor refused it before applying it.
func (k *Connector) Deliver(ctx context.Context, w connectors.Write) (connectors.Delivery, error) {
	f, err := parseFields(w.Body)
	if err != nil {
		return connectors.Delivery{}, &connectors.Error{Class: connectors.Permanent, Source: k.src.Name, Op: w.Kind, Err: err}
	}
	path, body := writePaths[w.Kind], w.Body
	if w.Kind == KindPoints {
		dir, member := f.s("direction"), f.s("membershipId")
		path = "/loyalty/v1/membership/" + url.PathEscape(member) + "/point/" + dir
		delete(f.m, "direction")
		delete(f.m, "membershipId")
		if body, err = json.Marshal(f.m); err != nil {
			return connectors.Delivery{}, err
		}
		if w.MaybeApplied {
			found, err := k.findPointsChange(ctx, member, f.s("externalId"))
			if err != nil {
				return connectors.Delivery{}, err
			}
			if found != nil {
				return connectors.Delivery{Response: found, Reconciled: true}, nil
			}
		}
	}
	if path == "" {
		return connectors.Delivery{}, &connectors.Error{Class: connectors.Permanent, Source: k.src.Name, Op: w.Kind,
			Message: "not an outbound kind of DM Hub"}
	}
	resp, err := k.c.postOnce(ctx, path, body)
	if err != nil && w.MaybeApplied && alreadyDone(w.Kind, err) {
		// A retry answered "order exists" / "already cancelled" / "already
		// refunded" / "not found" after a delete: the earlier attempt landed.
		return connectors.Delivery{Response: resp, Reconciled: true}, nil
	}
	if err != nil {
		return connectors.Delivery{}, err
	}
	return connectors.Delivery{Response: resp}, nil
}

// ReconcilesByAnswer implements connectors.AnswerReconciler: every kind
// but points reconciles by the vendor's answer to the resend (alreadyDone);
// a points change is looked up in the member's points log before sending.
func (k *Connector) ReconcilesByAnswer(kind string) bool {
	return kind != KindPoints && writePaths[kind] != ""
}

// alreadyDone reports whether a retried write's business error means an
// earlier attempt was applied. DM Hub answers every such case with the
// generic 409000 (vendor-api.md §1.3); only a retry may read it so: on a
// first attempt 409000 is a conflict.
func alreadyDone(kind string, err error) bool {
	var ce *connectors.Error
	if !errors.As(err, &ce) || ce.Class != connectors.Permanent || ce.Code != "409000" {
		return false
	}
	switch kind {
	case KindDeal, KindDealCancel, KindDealDelete, KindRefund, KindRefundDelete:
		return true
	}
	return false
}

// findPointsChange looks for a points record with the given externalId in
// the member's points log, newest first; nil when absent.
func (k *Connector) findPointsChange(ctx context.Context, member, marker string) (json.RawMessage, error) {
	if marker == "" {
		return nil, nil
	}
	for page := 1; page <= reconcilePages; page++ {
		q := url.Values{"rows": {"100"}, "page": {strconv.Itoa(page)}, "sord": {"desc"}}
		body, err := k.c.Get(ctx, "/loyalty/v1/membership/"+url.PathEscape(member)+"/point", q)
		if err != nil {
			return nil, err
		}
		var list struct {
			Rows []json.RawMessage `json:"rows"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, &connectors.Error{Class: connectors.Retryable, Source: k.src.Name, Op: "GET points log",
				Message: "undecodable points log"}
		}
		for _, r := range list.Rows {
			var rec struct {
				ExternalID lenient.String `json:"externalId"`
			}
			if json.Unmarshal(r, &rec) == nil && rec.ExternalID.V == marker {
				return r, nil
			}
		}
		if len(list.Rows) < 100 {
			return nil, nil
		}
	}
	return nil, nil
}

// postOnce sends one write through Client.Post, which sends a write once
// (no in-place retry; only a request whose token the vendor rejected is
// repeated, as the vendor refused it before doing anything). A failure
// after the request may have reached the vendor wraps
// connectors.ErrOutcomeUnknown; a failure before it (no token, refused
// connection, rate limited) does not.
func (c *Client) postOnce(ctx context.Context, path string, body []byte) (json.RawMessage, error) {
	out, err := c.Post(ctx, path, body)
	if err == nil {
		return out, nil
	}
	op := http.MethodPost + " " + path
	var ce *connectors.Error
	switch {
	case errors.As(err, &ce) && ce.Op == op:
		// the vendor's answer, or the transport failing on our request:
		// 5xx, an HTML page, a truncated or invalid body, a timeout or a
		// reset may all follow a write the vendor applied
		if ce.Class == connectors.Retryable && !notSent(err) {
			return nil, unknownOutcome(err)
		}
		return nil, err
	case ctx.Err() != nil:
		return nil, unknownOutcome(err) // stopped mid-call: it may have been sent
	}
	return nil, err // before sending: token store, request building
}

// notSent reports a transport error that proves the request never left:
// the connection was refused or could not be dialled.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// outcomeUnknown keeps the classified error and adds the unknown-outcome
// class (errors.Is(err, connectors.ErrOutcomeUnknown)).
type outcomeUnknown struct{ err error }

func (e *outcomeUnknown) Error() string { return e.err.Error() + " (outcome unknown)" }
func (e *outcomeUnknown) Unwrap() []error {
	return []error{e.err, connectors.ErrOutcomeUnknown}
}

func unknownOutcome(err error) error { return &outcomeUnknown{err: err} }
