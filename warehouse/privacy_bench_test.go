package warehouse

import (
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse/pii"
)

// BenchmarkRedactMember measures the PII policy's cost per DM Hub member
// row (a simulator-shaped raw of ~700 bytes): none (no policy), keep-only
// work skipped, and hash+mask+drop over typed columns, custom_attrs and raw.
func BenchmarkRedactMember(b *testing.B) {
	raw := `{"id":10034,"name":"欧阳小明","familyName":"欧阳","givenName":"小明","customerId":"20526992","membershipCode":"M12345678",` +
		`"idCard":"31010119900101123X","address":"上海市黄浦区人民路123号","gender":1,"mobile":"13800138000","email":"wang123@qq.com",` +
		`"birthday":"1990-01-02","dateJoin":"2020-01-01T00:00:00Z","lastUpdated":"2024-01-01T00:00:00Z","dateCreated":"2020-01-01T00:00:00Z",` +
		`"createMethod":"外部系统导入","createChannel":"微信","balance":12.5,"level":{"id":422,"name":"青铜会员","priority":0},"point":120,` +
		`"source":"wechat","country":"中国","province":"上海","city":"上海市","county":"黄浦区",` +
		`"c_houcaller_id":"K1H93QDKI00B7","c_zvcms_id":"383933091455959041","c_驱蚊器":null,"c_vip_store":"上海南京西路店","cm_test2":true}`
	m := Member{Common: Common{Source: "s"}, MemberID: "10034", Name: "欧阳小明", Mobile: "13800138000", Email: "wang123@qq.com",
		CustomAttrs: `{"c_houcaller_id":"K1H93QDKI00B7","c_vip_store":"上海南京西路店","c_zvcms_id":"383933091455959041","c_驱蚊器":null,"cm_test2":true}`, Raw: raw}
	for _, bc := range []struct {
		name  string
		block map[string]string
	}{
		{"none", nil},
		{"hash-mask-drop", map[string]string{"mobile": "hash", "email": "mask", "name": "mask", "id_card": "drop", "address": "drop", "c_vip_store": "drop"}},
	} {
		p := pii.New(&config.Config{PIIKey: "0123456789abcdef", Sources: []config.Source{{Name: "s", PII: bc.block}}})
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				redact(p, Members, m.Values())
			}
		})
	}
}
