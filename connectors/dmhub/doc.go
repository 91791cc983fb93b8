// Package dmhub is the connector of Convertlab DM Hub's loyalty API: the
// streams members, levels, coupons, identities, points, experience and
// member_coupons of CONTRACT.md, and the outbound writes (writer.go).
//
// New (or Factory, for the registry) builds a Connector from a
// config.Source. Connector.Stream serves the source-wide streams
// (members, levels, coupons, identities); Connector.MemberStream serves
// the per-member ones (points, experience, member_coupons), which the
// engine runs over the members synced into ClickHouse. Every error is a
// *connectors.Error classified in one place (classify.go), except context
// cancellation. Rows carry Source = the source name and Raw = the
// vendor's record as compact JSON.
//
// Files: client.go (access token, envelope, requests), token.go (the
// access token shared through Redis), classify.go, connector.go,
// factory.go, normalize.go (member decoding), one stream_<name>.go per
// stream, and the shared readers pager.go (list paging), ledger.go
// (per-member ledgers) and scan.go (field-by-field JSON scan).
package dmhub
