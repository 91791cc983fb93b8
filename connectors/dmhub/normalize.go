package dmhub

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/shopspring/decimal"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// standardKeys are the membership attributes DM Hub documents (S000 member
// model, plus the "新增字段" of the current page). Every other key, c_*
// custom attributes and undocumented ones alike, goes to custom_attrs.
var standardKeys = map[string]bool{
	"id": true, "name": true, "familyName": true, "givenName": true, "customerId": true, "membershipCode": true,
	"idCard": true, "address": true, "educationBackgro": true, "img": true, "gender": true, "mobile": true,
	"email": true, "birthday": true, "dateJoin": true, "createMethod": true, "createChannel": true,
	"industry": true, "income": true, "balance": true, "referrer": true, "lastUpdated": true, "level": true,
	"point": true, "source": true, "contentName": true, "campaignId": true, "country": true, "province": true,
	"city": true, "county": true, "dateCreated": true, "tenantId": true,
}

// level is `level` in either documented shape: an object
// {priority, name, id} (current) or a bare number (S001, 2017). Decoded
// alone, the bare number is read as the priority: S000 documents priority
// as the small 0-based grade ("0为最低"), while level ids are large (422),
// and S001's example value is 0. The members stream then resolves it
// against the tenant's level rules (resolveLevel).
type level struct {
	ID       string
	Name     string
	Priority lenient.Int
	Bare     bool // sent as a bare number
}

func (l *level) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*l = level{}
	if len(b) > 0 && b[0] == '{' {
		var o struct {
			ID       lenient.String `json:"id"`
			Name     lenient.String `json:"name"`
			Priority lenient.Int    `json:"priority"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		l.ID, l.Name, l.Priority = o.ID.V, o.Name.V, o.Priority
		return nil
	}
	if err := l.Priority.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("level: %w", err)
	}
	l.Bare = l.Priority.Valid
	return nil
}

// decodeMember turns one raw membership object into a members row.
func decodeMember(source string, raw []byte) (warehouse.Member, error) {
	m, _, err := decodeMemberLevel(source, raw)
	return m, err
}

// decodeMemberLevel is decodeMember, also returning the level as sent.
func decodeMemberLevel(source string, raw []byte) (warehouse.Member, level, error) {
	if err := connectors.CheckRecordSize("member", raw); err != nil {
		return warehouse.Member{}, level{}, err
	}
	var (
		id                                lenient.String
		name, mobile, email, gender, bday lenient.String
		code, customer                    lenient.String
		join, updated, created            lenient.String
		point                             lenient.Int
		balance                           lenient.Decimal
		lvl                               level
	)
	targets := map[string]json.Unmarshaler{
		"id": &id, "name": &name, "mobile": &mobile, "email": &email, "gender": &gender, "birthday": &bday,
		"membershipCode": &code, "customerId": &customer, "dateJoin": &join, "lastUpdated": &updated,
		"dateCreated": &created, "point": &point, "balance": &balance, "level": &lvl,
	}
	var custom []attr
	err := eachField(raw, func(key string, val []byte) error {
		if t, ok := targets[key]; ok {
			if err := t.UnmarshalJSON(val); err != nil {
				return fmt.Errorf("field %s: %w", key, err)
			}
			return nil
		}
		if !standardKeys[key] {
			custom = append(custom, attr{key, val})
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, errNotObject) {
			return warehouse.Member{}, level{}, fmt.Errorf("membership is not a JSON object: %w", err)
		}
		return warehouse.Member{}, level{}, fmt.Errorf("membership %s: %w", clipID(id.V), err)
	}
	if id.V == "" {
		return warehouse.Member{}, level{}, fmt.Errorf("membership without an id: %s", lenient.Clip(string(raw)))
	}
	customJSON, err := customAttrs(custom)
	if err != nil {
		return warehouse.Member{}, level{}, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return warehouse.Member{}, level{}, err
	}
	var times lenient.Times
	m := warehouse.Member{
		Common:        warehouse.Common{Source: source},
		MemberID:      id.V,
		Name:          name.V,
		Mobile:        mobile.V,
		Email:         email.V,
		Gender:        gender.V,
		Birthday:      lenient.Date(bday.V),
		LevelID:       lvl.ID,
		LevelName:     lvl.Name,
		LevelPriority: int32Ptr(lvl.Priority),
		Point:         point.V,
		DateJoin:      times.Parse("dateJoin", join.V, time.UTC),
		LastUpdated:   times.Parse("lastUpdated", updated.V, time.UTC),
		DateCreated:   times.Parse("dateCreated", created.V, time.UTC),
		CustomAttrs:   customJSON,
		MemberCode:    code.V,
		CustomerID:    customer.V,
		Raw:           compact.String(),
	}
	if err := times.Err(); err != nil {
		return warehouse.Member{}, level{}, fmt.Errorf("membership %s: %w", clipID(id.V), err)
	}
	if balance.Valid {
		b := balance.V.Round(2)
		if b.Abs().GreaterThanOrEqual(maxBalance) {
			return warehouse.Member{}, level{}, fmt.Errorf("membership %s: field balance: %s does not fit Decimal(18, 2)", clipID(id.V), lenient.Clip(b.String()))
		}
		m.Balance = &b
	}
	return m, lvl, nil
}

// maxBalance bounds what the balance column, Decimal(18, 2), holds.
var maxBalance = decimal.New(1, 16)

type attr struct {
	key string
	val []byte
}

// customAttrs is the JSON object of the non-standard keys, sorted, with
// the values as the vendor sent them (compacted). A key sent twice keeps
// its last value, as a JSON decoder would.
func customAttrs(fields []attr) (string, error) {
	slices.SortStableFunc(fields, func(a, b attr) int { return strings.Compare(a.key, b.key) })
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i+1 < len(fields) && fields[i+1].key == f.key {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(f.key)
		b.Write(kb)
		b.WriteByte(':')
		if err := json.Compact(&b, f.val); err != nil {
			return "", fmt.Errorf("custom attribute %s: %w", f.key, err)
		}
	}
	b.WriteByte('}')
	return b.String(), nil
}

func clipID(id string) string {
	if id == "" {
		return "(no id)"
	}
	return lenient.Clip(id)
}

func int32Ptr(n lenient.Int) *int32 {
	if !n.Valid || n.V < -1<<31 || n.V > 1<<31-1 {
		return nil
	}
	v := int32(n.V)
	return &v
}
