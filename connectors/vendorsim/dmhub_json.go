package vendorsim

import (
	"encoding/json"
	"slices"
	"strconv"
)

// numID renders a decimal id string as a raw JSON number (exact for any
// int64, including values above 2^53).
func numID(s string) any {
	if s == "" {
		return nil
	}
	return json.Number(s)
}

func optFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return json.Number(strconv.FormatFloat(*p, 'f', -1, 64))
}

// memberJSON renders a membership in the documented shape, including the
// legacy (S001) variant and custom attributes.
func memberJSON(m *dmMember) jsonObj {
	var balance any
	if m.Balance != nil {
		balance = money(*m.Balance)
	}
	var level any
	if m.LegacyLevel {
		level = m.LevelPriority
	} else {
		level = jsonObj{{"priority", m.LevelPriority}, {"name", m.LevelName}, {"id", json.Number(m.LevelID)}}
	}
	o := jsonObj{
		{"address", nullStr(m.Address)},
		{"balance", balance},
		{"birthday", nullStr(m.Birthday)},
	}
	keys := make([]string, 0, len(m.CustomAttrs))
	for k := range m.CustomAttrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		o = append(o, jsonField{k, m.CustomAttrs[k]})
	}
	o = append(o,
		jsonField{"createChannel", nullStr(m.CreateChannel)},
		jsonField{"createMethod", nullStr(m.CreateMethod)},
		jsonField{"customerId", numID(m.CustomerID)},
		jsonField{"dateCreated", dmTime(m.DateCreated, m.NoZ)},
		jsonField{"dateJoin", dmTime(m.DateJoin, m.NoZ)},
		jsonField{"educationBackgro", nullStr(m.EducationBackground)},
		jsonField{"email", nullStr(m.Email)},
		jsonField{"familyName", nullStr(m.FamilyName)},
		jsonField{"gender", m.Gender},
		jsonField{"id", json.Number(m.ID)},
		jsonField{"idCard", nullStr(m.IDCard)},
		jsonField{"img", nullStr(m.Img)},
		jsonField{"income", nullStr(m.Income)},
		jsonField{"industry", nullStr(m.Industry)},
		jsonField{"givenName", nullStr(m.GivenName)},
		jsonField{"lastUpdated", dmTime(m.LastUpdated, m.NoZ)},
		jsonField{"level", level},
		jsonField{"membershipCode", nullStr(m.MembershipCode)},
		jsonField{"mobile", nullStr(m.Mobile)},
		jsonField{"name", nullStr(m.Name)},
		jsonField{"point", m.Point},
	)
	if m.LegacyLevel {
		o = append(o, jsonField{"referrer", nullStr(m.Referrer)})
		return o
	}
	return append(o,
		jsonField{"source", nullStr(m.Source)},
		jsonField{"contentName", nullStr(m.ContentName)},
		jsonField{"campaignId", nullStr(m.CampaignID)},
		jsonField{"country", nullStr(m.Country)},
		jsonField{"province", nullStr(m.Province)},
		jsonField{"city", nullStr(m.City)},
		jsonField{"county", nullStr(m.County)},
	)
}

func identitiesJSON(ids []DMHubIdentity) []jsonObj {
	out := make([]jsonObj, 0, len(ids))
	for _, id := range ids {
		out = append(out, jsonObj{{"name", nullStr(id.Name)}, {"type", id.Type}, {"value", id.Value}})
	}
	return out
}

func pointJSON(p *DMHubPointRecord) jsonObj {
	return jsonObj{
		{"id", json.Number(p.ID)},
		{"contentName", nullStr(p.ContentName)},
		{"campaignId", nullStr(p.CampaignID)},
		{"date", dmTime(p.Date, p.DateNoZ)},
		{"dateCreated", dmTime(p.DateCreated, false)},
		{"leftPoint", p.LeftPoint},
		{"lastUpdated", dmTime(p.LastUpdated, false)},
		{"pattern", p.Pattern},
		{"source", nullStr(p.Source)},
		{"newPoint", p.NewPoint},
		{"tenantId", p.TenantID},
		{"membershipId", json.Number(p.MemberID)},
		{"point", p.Point},
		{"oldPoint", p.OldPoint},
		{"type", p.Type},
		{"status", p.Status},
		{"expireDate", dmTimePtr(p.ExpireDate)},
		{"remark", nullStr(p.Remark)},
		{"externalId", nullStr(p.ExternalID)},
	}
}

func expJSON(e *DMHubExpRecord) jsonObj {
	return jsonObj{
		{"id", json.Number(e.ID)},
		{"tenantId", e.TenantID},
		{"dateCreated", dmTime(e.DateCreated, false)},
		{"membershipId", json.Number(e.MemberID)},
		{"lastUpdated", dmTime(e.LastUpdated, false)},
		{"expType", e.ExpType},
		{"expValue", e.ExpValue},
		{"oldExp", e.OldExp},
		{"remark", nullStr(e.Remark)},
		{"dateObtain", dmTime(e.DateObtain, false)},
		{"externalId", nullStr(e.ExternalID)},
		{"newExp", e.NewExp},
	}
}

func channelsJSON(cs []DMHubCouponChannel) []jsonObj {
	out := make([]jsonObj, 0, len(cs))
	for _, c := range cs {
		out = append(out, jsonObj{{"couponId", c.CouponID}, {"couponChannel", c.CouponChannel}, {"url", nullStr(c.URL)}})
	}
	return out
}

func ruleJSON(c *DMHubCoupon) jsonObj {
	var goods any
	switch {
	case c.GoodsLimitNullString:
		goods = "null"
	case c.GoodsLimit != "":
		goods = c.GoodsLimit
	}
	return jsonObj{
		{"amountLimit", optFloat(c.AmountLimit)},
		{"discount", optFloat(c.Discount)},
		{"freeFee", optFloat(c.FreeFee)},
		{"goodsLimit", goods},
	}
}

func couponJSON(c *DMHubCoupon) jsonObj {
	var valid jsonObj
	if c.ValidType == 2 {
		valid = jsonObj{{"startDays", c.StartDays}, {"validDays", c.ValidDays}}
	} else {
		valid = jsonObj{{"startDate", c.StartDate}, {"endDate", c.EndDate}}
	}
	return jsonObj{
		{"channels", channelsJSON(c.Channels)},
		{"couponId", c.ID},
		{"couponLabel", nullStr(c.Label)},
		{"couponName", c.Name},
		{"couponSubLabel", nullStr(c.SubLabel)},
		{"couponType", c.Type},
		{"drawLimit", c.DrawLimit},
		{"note", nullStr(c.Note)},
		{"rule", ruleJSON(c)},
		{"total", c.Total},
		{"validDate", valid},
		{"validType", c.ValidType},
	}
}

// memberCouponJSON renders a membershipCoupon followed by its parent coupon's
// fields (starting at couponType), as documented in §13.4.
func memberCouponJSON(mc *DMHubMemberCoupon, c *DMHubCoupon) jsonObj {
	o := jsonObj{
		{"dateDraw", dmTime(mc.DateDraw, false)},
		{"endDate", mc.EndDate},
		{"couponId", mc.CouponID},
		{"qrcodeUrl", mc.QrcodeURL},
		{"membershipId", json.Number(mc.MemberID)},
		{"barcodeUrl", mc.BarcodeURL},
		{"dateRedeem", dmTimePtr(mc.DateRedeem)},
		{"uuid", mc.UUID},
		{"startDate", mc.StartDate},
		{"couponCode", mc.Code},
		{"status", mc.Status},
	}
	if c == nil {
		return o
	}
	return append(o,
		jsonField{"couponType", c.Type},
		jsonField{"couponName", c.Name},
		jsonField{"couponLabel", nullStr(c.Label)},
		jsonField{"couponSubLabel", nullStr(c.SubLabel)},
		jsonField{"note", nullStr(c.Note)},
		jsonField{"channels", channelsJSON(c.Channels)},
		jsonField{"rule", jsonObj{
			{"goodsLimit", ruleJSON(c)[3].v},
			{"freeFee", optFloat(c.FreeFee)},
			{"discount", optFloat(c.Discount)},
			{"amountLimit", optFloat(c.AmountLimit)},
		}},
	)
}

func levelRuleJSON(l DMHubLevel) jsonObj {
	cond := func(enabled bool, month, number int) jsonObj {
		return jsonObj{{"enabled", enabled}, {"month", month}, {"number", number}}
	}
	var rules jsonObj
	switch l.Priority {
	case 0:
		rules = jsonObj{
			{"consumption", cond(false, 12, 5000)},
			{"consumptionTotal", cond(false, 12, 5000)},
			{"desp", "默认最低等级"},
			{"frequency", cond(false, 12, 5000)},
			{"frequencyTotal", cond(false, 12, 5000)},
			{"points", cond(false, 12, 5000)},
			{"pointsTotal", cond(false, 12, 5000)},
		}
	default:
		rules = jsonObj{{"pointsTotal", cond(true, 12, 1000*l.Priority*l.Priority)}}
		if l.Priority%2 == 0 {
			rules = jsonObj{}
		}
	}
	return jsonObj{
		{"desp", nil},
		{"id", json.Number(l.ID)},
		{"isForever", l.IsForever},
		{"name", l.Name},
		{"operator", l.Operator},
		{"priority", l.Priority},
		{"rules", rules},
		{"status", l.Status},
	}
}

// dmError is the documented DM Hub error envelope {"error":{"code","message"}}.
// code is a string unless numeric is set (the §14 variant).
func dmError(code string, numeric bool, msg string) jsonObj {
	var c any = code
	if numeric {
		c = json.Number(code)
	}
	return jsonObj{{"error", jsonObj{{"code", c}, {"message", msg}}}}
}
