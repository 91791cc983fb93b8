package dmhub

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/goccy/go-json"

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
// {priority, name, id} (current) or a bare number (S001, 2017). The bare
// number is read as the priority: S000 documents priority as the small
// 0-based grade ("0为最低"), while level ids are large (422), and S001's
// example value is 0.
type level struct {
	ID       string
	Name     string
	Priority lenient.Int
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
	return nil
}

// decodeMember turns one raw membership object into a members row.
func decodeMember(source string, raw []byte) (warehouse.Member, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return warehouse.Member{}, fmt.Errorf("membership is not a JSON object: %w", err)
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
	targets := []struct {
		key string
		dst json.Unmarshaler
	}{
		{"id", &id}, {"name", &name}, {"mobile", &mobile}, {"email", &email}, {"gender", &gender},
		{"birthday", &bday}, {"membershipCode", &code}, {"customerId", &customer}, {"dateJoin", &join},
		{"lastUpdated", &updated}, {"dateCreated", &created}, {"point", &point}, {"balance", &balance}, {"level", &lvl},
	}
	for _, t := range targets {
		v, ok := fields[t.key]
		if !ok {
			continue
		}
		if err := t.dst.UnmarshalJSON(v); err != nil {
			return warehouse.Member{}, fmt.Errorf("membership %s: field %s: %w", clipID(id.V), t.key, err)
		}
	}
	if id.V == "" {
		return warehouse.Member{}, fmt.Errorf("membership without an id: %s", lenient.Clip(string(raw)))
	}
	custom, err := customAttrs(fields)
	if err != nil {
		return warehouse.Member{}, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return warehouse.Member{}, err
	}
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
		DateJoin:      lenient.TimePtr(join.V, time.UTC),
		LastUpdated:   lenient.TimePtr(updated.V, time.UTC),
		DateCreated:   lenient.TimePtr(created.V, time.UTC),
		CustomAttrs:   custom,
		MemberCode:    code.V,
		CustomerID:    customer.V,
		Raw:           compact.String(),
	}
	if balance.Valid {
		b := balance.V.Round(2)
		m.Balance = &b
	}
	return m, nil
}

// customAttrs is the JSON object of every non-standard key, sorted, with
// the values as the vendor sent them (compacted).
func customAttrs(fields map[string]json.RawMessage) (string, error) {
	keys := make([]string, 0, 8)
	for k := range fields {
		if !standardKeys[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		if err := json.Compact(&b, fields[k]); err != nil {
			return "", fmt.Errorf("custom attribute %s: %w", k, err)
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
