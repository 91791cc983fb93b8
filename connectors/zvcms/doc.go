// Package zvcms is the connector of the zvcms (企迈云商 / 安徽智迈) openapi:
// the streams members, member_coupons and points of CONTRACT.md.
//
// # Contract
//
// New (or Factory, for the registry) builds a Connector from a
// config.Source; Connector.Stream returns a connectors.Stream per stream
// name. All three streams are per member: Request.Partition is the
// customerId (member_keys). Every Fetch is idempotent for the same
// Request, reads at most Request.Pages vendor pages, and sets Done when the
// member is exhausted. Every error it returns is a *connectors.Error
// classified in one place (Client.classify), except context cancellation.
// Rows carry Source = the source name and Raw = the vendor's record as
// compact JSON; ids are always strings.
//
//   - members: V3 crm/customer/allCustomerInfo (pageNum/pageSize) → one
//     members row (profile, point = totalPoints, balance = the sum of
//     rechargeBalance and giftBalance, the other balances in custom_attrs)
//     and the customer's coupon list → member_coupons rows, in the same
//     Batch. Cursor MembersCursor{page_num}.
//   - member_coupons: V3 crm/coupon/getCustomerCoupons by customerId; one
//     unpaged request; `data` is one coupon object or an array.
//   - points: V2 user.user-points-records (page/page_size, item_list) →
//     points_ledger rows. Cursor PointsCursor{page}.
//
// A customer the vendor says does not exist ("查询的信息不存在") is a
// Permanent error for which connectors.IsNotFound is true: the engine should count
// that member as having no rows rather than fail the run.
//
// # Transport [vendor-api.md §3.1, S003, Z-pts2]
//
// V3: POST {base_url}/v3/crm/{module}/{action} with body {openId,
// grantCode, token, timestamp, nonce, params}. V2: POST {base_url}/api/v2
// with {OpenId, GrantCode, Token, Timestamp, Nonce, Action, Params}.
// timestamp is epoch seconds and nonce a random positive integer, both as
// strings (WithClock, WithNonce inject them).
//
// # Assumptions where the vendor is silent
//
//   - Signature: the 《数字签名sign》 page is not public. The default token
//     is urlencode(base64(HMAC-SHA1(secret, "grantCode=…&nonce=…&openId=…
//     &timestamp=…"))): the public fields as k=v pairs sorted by key and
//     joined by "&", keyed by credentials.secret, URL-encoded with
//     url.QueryEscape and placed in the JSON body as is (the vendor's
//     example token is URL-encoded inside JSON). signer: sha1 selects
//     urlencode(base64(SHA-1(secret + pairs))) instead; WithSigner plugs in
//     any other scheme. V2 signs the same lowerCamel text. Secret and grant
//     code are added to the HTTP client's scrub list.
//   - Errors: the global return-code table is not public (§5 #12). Success
//     is code "0" (string or number) only; any other code fails even when
//     status is true [S003]. Messages about the signature or credentials
//     (签名/验签, 令牌/token, 授权, grantCode, openId, 密钥/秘钥, 鉴权/认证,
//     权限, 非法请求, signature, sign error, unauthorized) are Auth;
//     频繁/限流 are RateLimited; 不存在/未找到/查无 are Permanent +
//     connectors.ErrNotFound; other codes are Retryable when status is false (the
//     vendor's "system error") and Permanent when status is true (a
//     business error). HTML, empty, truncated or non-JSON bodies, and
//     envelopes without a code, are Retryable.
//   - Time zone: zoneless "YYYY-MM-DD HH:mm:ss" values, also with
//     single-digit fields ("2019-10-15 17:10:2"), are Asia/Shanghai (UTC+8,
//     §5 #13) and stored as UTC. allCustomerInfo's updatedAt is typed int:
//     10–11 digits are epoch seconds, more are milliseconds. A date-only
//     validity bound is stored as text and as 00:00:00 / 23:59:59 of that
//     China day in UTC.
//   - allCustomerInfo: its published table lists only points and balances;
//     profile fields are read under the names of the vendor's member
//     look-up gatherCustomerInfo (username, mobile, gender, memberLevel,
//     memberLevelName, customerId, cardNo; plus email, birthday, createdAt),
//     at the top level or in a nested customerInfo/baseInfo object. The
//     coupon list is read from couponList (or coupons), as an array or an
//     object with list/data/records and total. A page with fewer coupons
//     than page_size ends the member, so page_size must not exceed the
//     vendor's cap. Gender is kept as the vendor's code (0 unknown, 1 male,
//     2 female); member_code = cardNo; point = totalPoints truncated to an
//     integer; balance = rechargeBalance + giftBalance (yuan, 2 places).
//     The members row's raw is the whole `data` object of page 1.
//   - points: user_id is the customerId (an 18-digit id fits an int64 and
//     is sent as a JSON number). type 1 (奖励积分) is +|points|, type 2
//     (消耗积分) −|points|. entry_id is the entry's id if the vendor ever
//     sends one, else "h1:" + 128 bits of SHA-256 over customer id,
//     created_at, type, sub_type, points, previous_point, desc and
//     change_text, with "#n" for the n-th repeat within a page.
//   - Coupons: coupon_code = cardId (券编码), coupon_id = couponId, drawn_at
//     = createdAt; there is no redemption time. useStatus maps as in
//     docs/normalization.md; 5 (转赠超时, gift timed out) is unused.
package zvcms
