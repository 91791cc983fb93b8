package houcaller

import (
	"fmt"
	"strings"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// KeyField says which vendor field a member key (Request.Partition) is.
type KeyField string

// The member key fields.
const (
	// KeyMemberID sends the key as `memberId` (the Houcaller member id,
	// e.g. K1H93QDKI00B7). It is the default.
	KeyMemberID KeyField = "memberId"
	// KeyPlatformID sends the key as `platformId` to listCpnItemByMember
	// and as queryType "openId" to queryMemberScoRecordForShop: the
	// coupon items call the member's WeChat openid its "平台ID" [S002].
	KeyPlatformID KeyField = "platformId"
)

// DefaultPageSize is the points page `limit` when the source sets no
// page_size.
const DefaultPageSize = 100

// DefaultMonthsBack is how many months before the current one a full
// points sync starts (config houcaller.points_months).
const DefaultMonthsBack = 24

// DefaultMonthLayout is the Go layout of the `month` parameter of
// queryMemberScoRecordForShop (config houcaller.month_format). The vendor
// documents the field only as "查询月份" (String); "2006-01" is an
// assumption (see doc.go).
const DefaultMonthLayout = "2006-01"

type options struct {
	key         KeyField
	now         func() time.Time
	monthsBack  int
	emptyStop   int
	monthLayout string
}

// Option configures a Connector.
type Option func(*options)

// WithKeyField selects the vendor field member keys are sent as.
func WithKeyField(f KeyField) Option { return func(o *options) { o.key = f } }

// WithClock sets the clock used for the envelope timestamp and the points
// month window (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithMonthsBack sets how many months before the current one a full
// points sync starts (default DefaultMonthsBack).
func WithMonthsBack(n int) Option { return func(o *options) { o.monthsBack = n } }

// WithEmptyMonthsStop makes a full points read stop going back after n
// consecutive months without a record (n <= 0: never; default
// DefaultEmptyMonthsStop).
func WithEmptyMonthsStop(n int) Option { return func(o *options) { o.emptyStop = n } }

// WithMonthLayout sets the Go time layout of the points `month`
// parameter (default DefaultMonthLayout, e.g. "200601" for 202405).
func WithMonthLayout(layout string) Option { return func(o *options) { o.monthLayout = layout } }

// Compile-time checks: the connector and its factory fit the registry.
var (
	_ connectors.Connector = (*Connector)(nil)
	_ connectors.Factory   = Factory
)

// Connector serves the streams of one Houcaller source.
type Connector struct {
	src      string
	pageSize int
	c        *Client
	opts     options
}

// New builds a connector from the source's configuration. hc carries the
// source's rate limiter and timeout; the DES key and IV are added to its
// scrub list. Configuration errors name the source, never the key.
func New(src *config.Source, hc *httpapi.Client, opts ...Option) (*Connector, error) {
	o := options{key: KeyMemberID, now: time.Now, monthsBack: DefaultMonthsBack, emptyStop: DefaultEmptyMonthsStop,
		monthLayout: DefaultMonthLayout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.key != KeyMemberID && o.key != KeyPlatformID {
		return nil, fmt.Errorf("%s: unknown member key field %q (want %s or %s)", src.Name, o.key, KeyMemberID, KeyPlatformID)
	}
	if o.monthsBack < 0 || o.monthLayout == "" {
		return nil, fmt.Errorf("%s: months back must be ≥ 0 and the month layout non-empty", src.Name)
	}
	cr := CredentialsOf(src)
	if strings.TrimSpace(cr.Channel) == "" {
		return nil, fmt.Errorf("%s: houcaller credentials need a channel", src.Name)
	}
	cph, err := NewCipher([]byte(cr.DESKey.Reveal()), cr.DESMode, cr.DESPadding, []byte(cr.DESIV.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	hc.Secrets = append(hc.Secrets, cr.DESKey.Reveal(), cr.DESIV.Reveal())
	c := &Client{source: src.Name, base: trimBase(src.BaseURL), channel: cr.Channel, cipher: cph, hc: hc, now: o.now}
	return &Connector{src: src.Name, pageSize: src.PageSize, c: c, opts: o}, nil
}

// Client returns the connector's API client.
func (k *Connector) Client() *Client { return k.c }

// Stream implements connectors.Connector: member_coupons, points or
// coupons.
func (k *Connector) Stream(name string) (connectors.Stream, error) {
	switch name {
	case StreamMemberCoupons:
		return &memberCouponsStream{c: k.c, source: k.src, key: k.opts.key}, nil
	case StreamPoints:
		return &pointsStream{c: k.c, source: k.src, key: k.opts.key, now: k.opts.now,
			monthsBack: k.opts.monthsBack, emptyStop: k.opts.emptyStop, layout: k.opts.monthLayout, pageSize: k.pageSize}, nil
	case StreamCoupons:
		return &couponsStream{c: k.c, source: k.src}, nil
	}
	return nil, fmt.Errorf("%s: %w %q (houcaller streams: %s)", k.src, connectors.ErrUnknownStream, name,
		strings.Join(Spec.StreamNames(), ", "))
}
