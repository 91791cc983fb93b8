// Package houcaller is the connector of the Houcaller (豪客来) CRM openapi:
// the streams member_coupons, points and coupons of CONTRACT.md.
//
// # Contract
//
// New (or Factory, for the registry) builds a Connector from a
// config.Source; Connector.Stream returns a connectors.Stream per stream
// name. Every Fetch is idempotent for the same Request, reads at most
// Request.Pages vendor pages, and sets Done when its partition is
// exhausted. Every error it returns is a *connectors.Error classified in
// one place (Client.classify), except context cancellation. Rows carry
// Source = the source name and Raw = the vendor's record as compact JSON;
// ids are always strings.
//
//   - member_coupons: per member (Request.Partition = member key);
//     listCpnItemByMember, one unpaged request → member_coupons rows.
//   - points: per member; queryMemberScoRecordForShop month by month,
//     page{offset, limit} until page.next is false → points_ledger rows.
//     A full read walks back from the current month and stops after
//     houcaller.points_empty_months (default 3) empty months in a row.
//     Cursor PointsCursor{month, offset, until[, from, empty]}; commit
//     PointsSince{month}.
//   - coupons: source-wide; listCpnForShop with param `{}` → coupons rows.
//
// A member that the vendor says does not exist is a Permanent error for
// which connectors.IsNotFound is true, so the engine may count it as zero rows.
//
// # Transport [vendor-api.md §2.1, S002]
//
// Every call is POST {base_url}/openapi/v1/{method}, Content-Type
// application/json, body {"param": …, "channel": …, "timestamp": …}:
// param is the DES encryption of the compact UTF-8 JSON of the business
// parameters as uppercase hex, channel the configured channel name, and
// timestamp the current time in epoch milliseconds as a decimal string
// (injectable clock, WithClock). No signature is sent; the vendor shows
// none. Responses are plain JSON.
//
// # Assumptions where the vendor is silent
//
//   - DES scheme: the vendor documents only "DES over the JSON string".
//     Default DES/ECB/PKCS5Padding with the 8-byte key of the channel
//     (Java's "DES" default, vendor-api.md §5 #8); des_mode: cbc with a
//     fixed 8-byte des_iv and des_padding: zero are configurable. Zero
//     padding adds nothing to an aligned plaintext. Keys and IVs are added
//     to the HTTP client's scrub list and never appear in errors.
//   - Errors: there is no error-code table (§2.2). code 0 (number or
//     string) is success; anything else fails with msg, else smg (the
//     vendor's typo). Messages about decryption, keys, signatures or the
//     channel (解密, 加密, 密钥/秘钥, 签名/验签, 渠道, 参数解析, 非法请求,
//     鉴权/认证/授权, and English equivalents) are Auth: our plaintext is
//     always valid JSON, so an undecryptable or unparsable param means the
//     key, mode or padding is wrong. Messages about call frequency (频繁,
//     限流) are RateLimited; 不存在/未找到/查无 are Permanent + connectors.ErrNotFound;
//     every other code is Permanent. HTML, empty, truncated or non-JSON
//     bodies, and envelopes without a code, are Retryable.
//   - Time zone: zoneless "YYYY-MM-DD HH:mm:ss" values are China time
//     (Asia/Shanghai, UTC+8, §5 #13) and stored as UTC. Date-only values
//     (begDate, endDate) are kept as "YYYY-MM-DD" text in start_date /
//     end_date and also stored as instants: starts_at = 00:00:00 and
//     ends_at = 23:59:59 of that China-local day, in UTC.
//   - Member keys: sent as memberId by default; config
//     houcaller.member_key_as: platformId (WithKeyField(KeyPlatformID))
//     sends them as platformId (coupons) and queryType "openId" (points).
//   - Points month: the `month` parameter's format is undocumented
//     ("查询月份", String); "2006-01" (e.g. 2024-05) by default, config
//     houcaller.month_format (WithMonthLayout) to change it; a full run
//     goes back at most houcaller.points_months (default 24) months, and
//     stops after houcaller.points_empty_months (WithEmptyMonthsStop,
//     default 3; negative: never) empty months in a row. offset is a
//     row offset ("起始位置") and
//     limit the source's page_size, both sent as strings as typed.
//     page.pages, when sent, also ends a month; without page, a short page
//     does.
//   - Points rows: delta = |incScore| − |expScore|; pattern = scoType,
//     pattern_name = its documented name, entry_type = hbsBusiType,
//     external_id = srcId, occurred_at = ctime, else bizDate. entry_id is
//     the record's id when it has one, else "h1:" + 128 bits of SHA-256
//     over member key, bizDate, ctime, scoType, hbsBusiType, incScore,
//     expScore, amount, consAmt, scoreAmt, orgCode, cardNo, remark and
//     srcId (joined by 0x1F), with "#n" appended to the n-th repeat of an
//     identical record within one page.
//   - Member coupons: coupon_code = cpnCode, else id; coupon_id = cpnid or
//     cpnId, whichever is non-empty (§2.6); member_id = mmbid or mmbId,
//     else the member key; drawn_at = sellTime, else ctime; redeemed_at =
//     useTime. Status codes map as in docs/normalization.md.
//   - Coupon definitions: coupon_id = id (else cpnId/cpnid), start_date /
//     end_date = the dates of begTime / endTime; Houcaller has no
//     valid_type, which stays empty.
package houcaller
