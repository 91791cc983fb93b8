// Package vendorsim simulates the three vendor APIs loyaltybridge reads from
// and writes to: Convertlab DM Hub loyalty v1, the Houcaller (豪客来) CRM
// openapi and the zvcms (企迈) openapi. It stands in for the real vendors in
// the demo (`loyaltybridge vendorsim`, `loyaltybridge demo`) and in
// integration tests.
//
// The simulators are built from the vendor documents in shared/seeds
// (S000–S003) and the sourced reference shared/vendor-api.md ("VA §n"), not
// from what a client sends. Every quirk those documents list is reproduced;
// where they are silent, the choice made here is stated below as CHOICE.
// Clients must not rely on a CHOICE being what the real vendor does.
//
// Data is generated deterministically from a seed (math/rand/v2 PCG): the
// same Seed and member count give identical data and ids, and the same
// fault decisions for the same sequence of requests (see Faults).
// Each simulator exposes ground-truth accessors that return copies in
// canonical Go values (decimal strings for ids, time.Time instants in UTC,
// "YYYY-MM-DD" strings for calendar dates, "" for JSON null), so tests can
// compare warehouse rows with the vendor's state without reusing any client
// decoding code. Every simulator counts requests per endpoint (Requests,
// ResetRequests) and takes an injectable clock (Now).
//
// # Server
//
// NewServer builds all three from one seed and mounts them:
//
//	/dmhub/...            DM Hub; base_url http://HOST:PORT/dmhub
//	/houcaller/htest/...  Houcaller; base_url http://HOST:PORT/houcaller/htest
//	/zvcms/...            zvcms; base_url http://HOST:PORT/zvcms
//	POST /_sim/mutate     JSON MutateRequest (see its doc) for the demo;
//	                      set_hostile {vendor, mode} switches a hostile mode
//	GET  /_sim/healthz    "ok"
//	GET  /_sim/requests   {"dmhub":{…},"houcaller":{…},"zvcms":{…}} counters
//	GET  /_sim/faults     {"dmhub":{"kinds":{…},"rate_limited":N},…} injected faults
//
// Houcaller members are the DM Hub members' c_houcaller_id values and zvcms
// customers their c_zvcms_id values (same seed ⇒ the cross-vendor keys line up).
//
// # DM Hub (loyalty v1)
//
// Authentication (VA §1.2):
//   - GET /security/accesstoken?grant_type=client_credentials&appid=&secret=
//     → 200 {"error_code":0,"access_token":"…","expires_in":7200} (expires_in =
//     TokenTTL in seconds). error_code is the NUMBER 0.
//   - Bad appid/secret or grant_type ≠ "client_credentials" → HTTP 200
//     {"error_code":"40004","error_description":"the params is illegal"}
//     (error_code a STRING; G-rb cassette). CHOICE: the doc-table typo
//     "client_credential" is rejected.
//   - Only one token per appid is valid: issuing a token invalidates the
//     previous one at once (G-rb issues.md; VA §5 Q4), whatever its
//     remaining lifetime; a token expires TokenTTL after it was issued.
//   - The token is read from the access_token query parameter only; an
//     Authorization: Bearer header is ignored (G-rb).
//   - CHOICE (token error shape): a missing, unknown, superseded or expired
//     token on any API answers HTTP 200 (G-rb: invalid token is a 200) with
//     {"error":{"code":"401001","message":"invalid access_token"}}; the
//     message is "missing access_token" / "access_token superseded by a
//     newer token" / "access_token expired" in those cases. The code is
//     always the string "401001" and the message always contains
//     "access_token".
//
// Error envelopes (VA §1.3):
//   - {"error":{"code":"<string>","message":"…"}}. Validation errors 400005
//     ("Missing field X!") and 400001 ("Invalid X(value)!") — CHOICE: sent with
//     HTTP 400. Business errors (409000 "error info…", 409200 "Not found") are
//     sent with HTTP 200 (S000 §17 documents 409200 with "status: 200 OK").
//   - CHOICE: unknown member on GET membership/{id} (and its sub-resources,
//     point incr/decr, coupon draw) → 200 {"error":{"code":"409200","message":"Not found"}};
//     a non-numeric member id → 400 400001. Unknown coupon id / coupon code → 200 409000.
//   - Unknown path → 404 "404 page not found" (text/plain); known path with
//     the wrong method → 405 with an Allow header.
//
// Paging (VA §1.4): rows, page (1-based), sidx, sord, needTotal.
//   - With needTotal=true the body adds total (= number of PAGES) and records
//     (= number of ROWS); without it they are absent. Past the last page →
//     {"rows":[]}.
//   - CHOICE: default rows 20 (the v1 customers default); rows above MaxRows
//     (default 100, VA §5 Q1) is SILENTLY capped, so a short page does not
//     prove the end unless the client asked for ≤ MaxRows. rows/page < 1 or
//     non-numeric, sord ∉ {asc,desc}, needTotal not a bool → 400 400001.
//   - Member list (undocumented params, VA §5 Q2): sidx ∈ {id, lastUpdated},
//     sord asc/desc (default id asc); ties on lastUpdated are broken by id
//     ascending; any other sidx → 400 400001. With IgnoreSort the vendor
//     ignores sidx/sord entirely (always id asc) to exercise a client's
//     fallback. No lastUpdated filter exists (VA §1.4).
//   - Points (§15) and experience (§16) logs: rows/page/sord/needTotal; order
//     is by record id = creation order (asc default, desc = newest first);
//     sidx is ignored.
//   - Member coupons (§13.6): status filter (exact match on the vendor
//     string), paged like the others; CHOICE: total/records are always
//     present, as in the §13.6 example. Coupon list (§13.1): sidx couponId
//     only (default creation order).
//   - listMembershipByIdentities: CHOICE: at most MaxRows pairs (more →
//     400001, none → 400005); one row per matched member in request order
//     (duplicates collapsed, unmatched pairs skipped); identities = all of the
//     member's identities.
//
// Member payload quirks (S000/S001, VA §1.6, §1.10):
//   - ids are JSON numbers; customerId is null, a small number (S000 §9
//     20526992) or a number above 2^53 (e.g. 4xxxxxxxxxxxxxxxxx, R-customer
//     418615942793357312) emitted as an exact raw JSON number.
//   - "educationBackgro" (truncated key), gender 0/1, point integer, balance
//     null or a number with exactly 2 decimals (e.g. 128.50), birthday
//     "YYYY-MM-DD" (some before 1970, some null), all unset fields JSON null.
//   - level is {"priority","name","id"} for most members; for about 1 in 9
//     ("legacy", S001 format, VA §1.10.2) it is a bare number and the member
//     also has "referrer" and lacks source/contentName/campaignId/country/
//     province/city/county. CHOICE: the bare number is the level PRIORITY (the
//     S001 example "level": 0 is the lowest level, and priority 0 is the
//     lowest); resolve it through GET /loyalty/v1/settings/level/rules.
//   - Custom attributes: "c_houcaller_id" (13-char Houcaller id such as
//     K1H93QDKI00B7, or null), "c_zvcms_id" (18-digit numeric string or
//     null), "c_驱蚊器" (always null, S000 §9), "c_vip_store", sometimes
//     "c_visit_count" (number), and the unprefixed "cm_test2" (S000 §2; bool
//     or null). Custom keys are emitted (sorted) right after "birthday", as in
//     the S000 §9 example.
//   - dateJoin/lastUpdated/dateCreated are "2017-10-31T03:07:47Z"; about 1 in
//     13 members omit the "Z" (still UTC, VA §1.8 input format). Some point
//     records' "date" also lack the Z.
//   - Identities per member (not in the member object): mobile (when the
//     member has one), wechat (openid), sometimes wechat-unionid and
//     taobao-account, and custom types c_houcaller / c_zvcms.
//
// Records (VA §1.6): pointRecord point is the positive magnitude and type
// the sign (1 increase, -1 decrease; VA §5 Q5); CHOICE: status is 1 for
// increases and -1 for decreases (S000 example has type -1, status -1),
// leftPoint = newPoint, expireDate null or one year after date, tenantId 26.
// A member's point equals its newest record's newPoint and the signed deltas
// sum to it. expRecord expValue is the signed change, expType 1.
// Coupon definitions: couponId 20-char string, couponType 1/2/3, validType
// 1 (startDate/endDate) or 2 (startDays/validDays), 1–2 channels, rule with
// goodsLimit sometimes the STRING "null" (VA §1.10.9), sometimes JSON null;
// "store" (stock) is never emitted (VA §1.10.13). Member coupons: couponCode
// 17-digit string, status "notStarted"/"normal"/"used" and the undocumented
// "expired" (VA §5 Q6), uuid ending in a literal "\r\n" (VA §1.10.10),
// barcodeUrl/qrcodeUrl on http://127.0.0.1:8004 (doc artifact), startDate/
// endDate date-only, followed by the parent coupon's fields from couponType on.
//
// Writes (VA §1.5, §1.7) are validated per the documented tables and every
// accepted one is recorded (Writes, with Kind = contract outbound kind):
//   - POST /loyalty/v1/deal: salesChannel, store, orderNo, dateOrder,
//     amountDiscount, amountPaid, dealLines (lineId, productName, qty) are
//     required, and membershipId or identities. Numbers must be JSON numbers;
//     CHOICE: membershipId may also be a numeric string. CHOICE: the old key
//     "dealLine" is not accepted. Unknown member/identities → 400001.
//     Duplicate orderNo → 200 {"error":{"code":"409000",…}} (VA §5 Q7).
//     Success echoes the order with id as a STRING and state "已付款".
//   - dealService/update/ (documented trailing slash; CHOICE: also without),
//     cancel (state "已取消"; CHOICE: cancelling twice → 409000), refund
//     (lines must exist in the order; one refund per order, a second → 409000;
//     refundTotal comes back as a STRING, VA §1.10.8), deleteRefund (refundTotal
//     a number), delete (returns the order without state; the orderNo can then
//     be reused). Unknown order or membershipId mismatch → 409000.
//     CHOICE: no write changes points (the doc only says update/delete/
//     deleteRefund do not; creation's effect is unknown).
//   - appPush/register: provider ∈ {jpush,getui}, appKey, pushId, os ∈
//     {android,ios} required ("Missing field provider!", "Invalid
//     os(winphone)!"); member matched by membershipId, then mobile, else
//     anonymous (membershipId null in the answer).
//   - membership/{id}/point/incr|decr: point (positive integer) and pattern
//     (incr 0–5, decr 0–6, VA §1.9) required; optional date/remark/source/
//     contentName/campaignId/externalId. Applied to the member (new point
//     record, point and lastUpdated updated to the clock). CHOICE: a decrease
//     beyond the balance → 409000. The answer echoes the request (S000).
//   - membership/{id}/coupon/draw and membershipCoupon/{code}/redeem are also
//     served (recorded as coupon-draw / coupon-redeem).
//
// Faults: see "Faults" below (DM Hub bodies listed there).
//
// Rate limit (VA §5 Q3, undocumented): RateLimit requests/s per appid (the
// token's appid; the token endpoint uses its appid parameter), token bucket
// of capacity max(1, RateLimit) on the injected clock. Excess → HTTP 429,
// header Retry-After: <whole seconds ≥ 1>, body
// {"error":{"code":"429001","message":"request frequency exceeds the limit, retry later"}}.
// Order per request: count, latency, rate limit, fault, token, handler.
// 429s are counted in Faults().RateLimited.
//
// Request counter names: token, membership.list, membership.get,
// membership.point, membership.exp, membership.coupon, coupon.list,
// coupon.get, membershipCoupon.get, level.rules, identity.list,
// identity.get, deal.create, deal.update, deal.cancel, deal.refund,
// deal.deleteRefund, deal.delete, appPush.register, point.incr, point.decr,
// coupon.draw, coupon.redeem.
//
// Mutations (UpdateMember, CreateMembers, AddPointRecord, AddExpRecord,
// DrawCoupon, RedeemCoupon) use the injected clock. UpdateMember and point
// changes advance lastUpdated (never backwards: 1 s past the old value if the
// clock is behind). Coupon draws/redemptions and experience changes do NOT
// touch lastUpdated (webhooks are the vendor's only signal for coupons, VA
// §1.4), so an incremental member sync cannot see them. Generated history
// lies in 2017-01-01..2024-12-31 UTC, independent of the clock.
//
// # Houcaller
//
// POST {root}/openapi/v1/{method}, Content-Type application/json, envelope
// {"param":"<HEX>","channel":"hkl-test","timestamp":"<epoch ms>"} (S002, VA
// §2.1). param is the uppercase hex of DES over the compact JSON business
// parameters; default DES/ECB/PKCS5 with the channel's 8-byte key (VA §5
// Q8); options select CBC with a fixed IV and zero padding. Responses are
// plain JSON {"msg":"操作成功","code":0,"data":{…}}; every SmgEvery-th success
// (default 5th) spells the key "smg" (VA §2.2). All errors use HTTP 200 and
// {"code":N,"msg":"…"} with CHOICE codes: 1001 渠道不存在 (unknown channel),
// 1002 param解密失败 (hex/DES/padding failure or non-JSON plaintext — what a
// wrong key produces), 1003 parameter errors (bad envelope, missing
// timestamp, missing memberId/platformId, missing or malformed month), 1004
// 会员不存在, 1005 请求已过期 (only with TimestampWindow). Faults: see
// "Faults" below; 429 body {"code":429,"msg":"请求过于频繁"} with
// Retry-After (per channel). Unknown method → 404.
//   - listCpnItemByMember {memberId | platformId(= the member's openid)}: no
//     paging; data.list items exactly as S002: cpnid filled and cpnId "",
//     cpnids [], mmbid, cpnType a string, status number 0/1/2 plus 3/7 (VA
//     §2.5), cacStatus 0/-1, useTime "" or "YYYY-MM-DD HH:mm:ss".
//   - queryMemberScoRecordForShop {queryType (memberId default | id | openId
//     | unionId | phone), <that field>, month "YYYY-MM" (required), scoType?,
//     hbsBusiType?, page{offset,limit}}: CHOICE: offset is a 0-based ROW
//     offset, limit default 20, capped at 100. data{totalIncScore,
//     totalExpScore (over the whole filtered month), records[{id, mmbId,
//     amount, bizDate, cardNo, consAmt, expScore, incScore, orgCode, remark,
//     scoreAmt (balance after), scoType, hbsBusiType}], page{next, pages}}.
//   - listCpnForShop {}: data.list of coupon definitions (H-detail fields).
//   - Date-times are zoneless China time (UTC+8) "YYYY-MM-DD HH:mm:ss".
//
// # zvcms
//
// V3 POST {root}/v3/crm/customer/allCustomerInfo and
// {root}/v3/crm/coupon/getCustomerCoupons with body {openId, grantCode,
// token, timestamp (epoch s), nonce (positive integer), params{…}} (S003);
// V2 POST {root}/api/v2 with {OpenId, GrantCode, Token, Timestamp, Nonce,
// Action, Params}. CHOICE (signature, VA §5 Q11): token =
// urlencode(base64(HMAC-SHA1(secret, "grantCode=G&nonce=N&openId=O&timestamp=T")))
// — the sorted k=v pairs joined by "&", url.QueryEscape'd, compared exactly;
// V2 signs the same lowerCamel string. System errors: {"status":false,
// "code":"<code>","message":…}: 40001 bad JSON, 40002 bad timestamp/nonce,
// 40003 unknown openId/grantCode, 40004 expired (TimestampWindow), 40005
// 签名错误, 50000/50001 (faults, see "Faults" below), 42900 (429, per
// openId, with Retry-After). Business errors keep
// "status": true (S003): 20001 查询的信息不存在, 20002 missing customerId,
// 20003 invalid parameter. V3 success is {"status":"true","code":"0",…}
// (STRINGS, as in S003). CHOICE: V2 uses the documented types (status bool,
// code int) for success and errors.
//   - getCustomerCoupons {customerId, useStatus?, cardId?}: with cardId data
//     is ONE object; without it an ARRAY (VA §5 Q12). Coupon: cardId,
//     couponId, customerId 18-digit strings, useStatus and templateId
//     strings, couponType string, zoneless China times, updatedAt sometimes
//     with unpadded seconds ("2019-10-15 17:10:2").
//   - allCustomerInfo {customerId | type(1 mobile, 2 cardNo, 4 openId,
//     5 unionId; CHOICE: the value goes in the field of that name), useStatus?,
//     pageNum, pageSize (default 10, cap 100)}: data{customerId, name, mobile,
//     cardNo, gender, birthday, levelName, totalPoints, foreverPoints,
//     soonExpiredPoints, expiredTime, giftBalance, rechargeBalance,
//     totalGiftAmount, totalRechargeAmount (2-decimal numbers), updatedAt
//     (INT epoch seconds), coupons{total,pageNum,pageSize,list}}.
//   - V2 user.user-points-records {user_id (number or string), page,
//     page_size (default 10)}: data{current_page, per_page, last_page, total,
//     item_list[{previous_point, type, sub_type, sub_name, points, desc,
//     created_at, change_text}]}, CHOICE: newest first. Items have no id.
//
// # Faults
//
// Every simulator takes ErrorRate r and a FaultMix. Each request that
// passes the rate limit is faulted with probability r; the kind is drawn
// from FaultMix.Weights (default DefaultFaultWeights: http500, http502,
// busy, truncated and hang, weight 1 each). The draws come from a PCG
// seeded with Seed (one stream per vendor) and every request draws the
// same amount, so the same seed and the same sequence of requests give the
// same faults. Faults() / GET /_sim/faults count them by kind, and the 429s.
// Kinds and bodies (v0/v1: two variants, drawn per request):
//
//   - http500: HTTP 500 with the vendor's JSON error body.
//     DM Hub v0 {"error_code":40201,"error_description":"permission is not
//     enough"} (seen with HTTP 500, G-rb; VA §1.3), v1 {"error":{"code":
//     "500000","message":"Internal Server Error"}} (the documented
//     envelope, VA §1.3; the code is ASSUMED). Houcaller (ASSUMED, no code
//     table, VA §2.2) v0 {"code":500,"msg":"服务器内部错误"}, v1 a Java
//     backend's default error JSON {"timestamp","status":500,"error":
//     "Internal Server Error","message","path"}. zvcms the documented
//     system-error shape (VA §3.2) {"status":false,"code":"50000"|"50001",
//     "message":"服务器内部错误"|"internal error"} (codes ASSUMED; V2 bool/int).
//   - http502: HTTP 502, Content-Type text/html, nginx's "502 Bad Gateway"
//     page (any vendor behind a gateway).
//   - busy: HTTP 200 with the vendor's busy / system error in the body.
//     None of the three documents one, so these are ASSUMPTIONS shaped by
//     each vendor's documented envelope. DM Hub (VA §1.3 envelope; errors
//     with HTTP 200 are documented, §1.10.6) v0 {"error":{"code":"500000",
//     "message":"system busy, please retry later"}}, v1 {"error":{"code":
//     500001,"message":"internal error"}} (numeric code, §14 style).
//     Houcaller (VA §2.2: any code ≠ 0 is a failure) v0 {"code":500000,
//     "msg":"system busy"}, v1 {"code":500,"msg":"系统繁忙,请稍后再试"}.
//     zvcms (VA §3.2: system error = status false; the global code table
//     is not public) V3 v0 {"status":false,"code":"50000","message":"系统繁忙"},
//     v1 {"status":false,"code":"50001","message":"系统繁忙,请稍后重试"}; V2
//     the same with status bool and code int.
//   - truncated: the real answer (its status) with the JSON body cut in
//     half: v0 with a Content-Length that matches the cut body, v1 with
//     the full Content-Length and the connection closed mid-body (the
//     client reads an unexpected EOF). A truncated write IS applied and
//     recorded: the nasty case for exactly-once.
//   - hang: nothing is sent for FaultMix.Hang (default DefaultHang, 60s,
//     past the client's default 30s timeout); then the real answer. When
//     the request's context ends first (client timeout or disconnect,
//     server shutdown), the handler returns at once and the connection is
//     dropped without an answer (http.ErrAbortHandler), so nothing leaks.
//     A write whose client gave up during the hang is not applied.
//   - business (NOT in the default mix; select it explicitly): HTTP 200
//     with a documented business error, which a client must treat as
//     permanent. DM Hub {"error":{"code":409000,"message":"error info"}}
//     (VA §1.3, numeric code as in §14); Houcaller {"code":1003,"msg":
//     "参数错误"} (this simulator's parameter error); zvcms {"status":true,
//     "code":"20003","message":"参数错误"} (S003 business shape). A business
//     error on a read is a permanent failure by policy, so it would end a
//     run for good: it is never injected unless asked for.
//
// The DM Hub token endpoint is never faulted twice in a row, and a
// truncated or business draw there becomes a 502 (a cut token answer would
// rotate the token unseen), so two attempts always yield a token. Faults
// come before the token check: a faulted request never reveals whether its
// token was valid. `loyaltybridge vendorsim` exposes --error-rate, --faults
// (e.g. "busy=2,hang", "default", "all"; ParseFaultWeights), --hang,
// --rate-limit, --token-ttl and --hostile (see Hostile payloads).
//
// # Hostile payloads
//
// With Hostile set (the option, --hostile, SetHostile or POST /_sim/mutate
// set_hostile, per vendor), every successful answer that holds a
// non-empty list of records (DM Hub rows; Houcaller data.list /
// data.records; zvcms data, data.coupons.list, data.item_list) is replaced
// (keys then come out sorted); answers without such a list, errors and
// faults are left alone. No vendor document describes these: they are
// what a client must survive with a clear error and bounded memory.
//   - huge-page: HostileRows records (default: as many as make
//     HugePageBytes, 128 MiB, twice a 64 MiB body cap) whatever page size
//     was asked for, the list's records repeated; streamed, so the
//     simulator's memory stays small. Every page is that large.
//   - huge-field: the first record's first text field among name, cpnName,
//     title, remark, desc, content, sub_name (else a new "remark") holds a
//     10 MB string (HugeFieldBytes).
//   - wrong-types: in the first record every value whose key does not name
//     an id or code changes type: numbers → "N/A", objects → "gold",
//     arrays → "x", booleans → "yes", strings → {"value":"…"}.
//   - endless-body: the list is streamed without end, until the client
//     hangs up (the handler then returns).
//   - endless-pages: every page, whatever page or offset is asked for,
//     holds 100 records (the list's own, repeated) and says there is more
//     (next true; total, records, pages, last_page 1000000): a client
//     that trusts the vendor never stops paging.
//
// Secrets (DM Hub secret, DES key, zvcms secret) are never logged or echoed.
package vendorsim
