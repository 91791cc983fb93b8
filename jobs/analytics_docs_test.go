package jobs_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

const analyticsDoc = "../docs/analytics.md"

var sqlBlock = regexp.MustCompile("(?s)```sql\n(.*?)```")

// docQueries returns the ```sql blocks of docs/analytics.md by their
// "-- query: NAME" first line.
func docQueries(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(analyticsDoc)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range sqlBlock.FindAllStringSubmatch(string(b), -1) {
		first, _, _ := strings.Cut(m[1], "\n")
		name, ok := strings.CutPrefix(first, "-- query: ")
		if !ok {
			t.Errorf("%s: a sql block does not start with \"-- query: NAME\": %q", analyticsDoc, first)
			continue
		}
		out[strings.TrimSpace(name)] = m[1]
	}
	return out
}

// docChecks holds, per documented query, what its result must agree
// with: an aggregate over the query's result (the query is the subquery
// Q) and the same numbers computed independently from the warehouse; both
// are read as one string. A query of the document without a check, or a
// check without a query, fails the test.
var docChecks = map[string]struct{ overResult, reference string }{
	"points_liability_by_level": {
		"SELECT toString((sum(members), sum(points_outstanding), uniqExact(source) >= 2)) FROM (Q)",
		"SELECT toString((count(), sum(point), 1)) FROM loyalty.members_latest"},
	"coupon_redemption_rate": {
		"SELECT toString((sum(issued), sum(redeemed), uniqExact(source), max(redemption_rate) <= 1, max(redemption_rate) > 0)) FROM (Q)",
		"SELECT toString((count(), countIf(status = 'used'), uniqExact(source), 1, 1)) FROM loyalty.member_coupons_latest"},
	"member_growth_by_channel_month": {
		"SELECT toString((sum(new_members), uniqExact(channel) >= 3, uniqExact(month) >= 12)) FROM (Q)",
		"SELECT toString((countIf(isNotNull(ifNull(date_join, date_created))), 1, 1)) FROM loyalty.members_latest"},
	"ledger_activity_per_day": {
		"SELECT toString((sum(entries), sum(net_points), sum(points_earned) - sum(points_spent), uniqExact(source))) FROM (Q)",
		"SELECT toString((count(), sum(delta), sum(delta), uniqExact(source))) FROM loyalty.points_ledger_latest WHERE isNotNull(occurred_at)"},
	"members_in_several_vendors": {
		"SELECT toString((sum(members), max(vendors) >= 3, sumIf(members, vendors >= 2) > 0)) FROM (Q)",
		"SELECT toString((uniqExact(source, member_id), 1, 1)) FROM loyalty.member_identities_latest"},
	"freshness": {
		"SELECT toString((count(), countIf(isNull(last_success_at)), countIf(last_run_status = 'succeeded'))) FROM (Q)",
		"SELECT toString((uniqExact(source, stream), 0, uniqExact(source, stream))) FROM loyalty.sync_runs"},
	"recent_reconcile_runs": {
		"SELECT toString((count(), sum(drifted))) FROM (Q)",
		"SELECT toString((count(), toUInt64(0))) FROM loyalty.reconcile_runs"},
}

// TestAnalyticsQueries runs every query of docs/analytics.md on the three
// simulators' data synced into ClickHouse (18.16 in CI), as the demo
// syncs it, and checks each result against the same numbers computed
// independently; then a reconcile of every source finds no drift.
func TestAnalyticsQueries(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 80, extra: threeVendors,
		sourceYML: "    identity_keys: {from_source: acme-dmhub, field: mobile, type: mobile}"})
	for _, src := range []string{"acme-dmhub", "acme-houcaller", "acme-zvcms"} {
		for _, r := range b.syncSource(t, src, connectors.Full) {
			if r.Status != warehouse.RunSucceeded {
				t.Fatalf("%s/%s: %s %s", src, r.Stream, r.Status, r.Error)
			}
		}
		if d := drifts(b.reconcile(t, src, jobs.ReconcileOptions{Sample: 10})); len(d) != 0 {
			t.Errorf("%s: drift after a clean sync: %v", src, d)
		}
	}
	db := "`" + b.cfg.ClickHouse.Database + "`."
	ctx := context.Background()
	qs := docQueries(t)
	for name := range docChecks {
		if _, ok := qs[name]; !ok {
			t.Errorf("%s has no query %q", analyticsDoc, name)
		}
	}
	for name, q := range qs {
		c, ok := docChecks[name]
		if !ok {
			t.Errorf("query %q of %s has no check in docChecks", name, analyticsDoc)
			continue
		}
		q = strings.ReplaceAll(q, "loyalty.", db)
		var n uint64
		if err := b.wh.Conn().QueryRow(ctx, "SELECT count() FROM ("+q+")").Scan(&n); err != nil {
			t.Errorf("%s: %v\n%s", name, err, q)
			continue
		}
		var got, want string
		if err := b.wh.Conn().QueryRow(ctx, strings.Replace(c.overResult, "(Q)", "("+q+")", 1)).Scan(&got); err != nil {
			t.Errorf("%s: check: %v", name, err)
			continue
		}
		if err := b.wh.Conn().QueryRow(ctx, strings.ReplaceAll(c.reference, "loyalty.", db)).Scan(&want); err != nil {
			t.Errorf("%s: reference: %v", name, err)
			continue
		}
		t.Logf("%s: %d rows; checked %s", name, n, got)
		if n == 0 || got != want {
			t.Errorf("%s: %d rows; result gives %s, the warehouse %s", name, n, got, want)
		}
	}
}

var (
	docHeading = regexp.MustCompile("^### `(\\w+)`$")
	docColumn  = regexp.MustCompile("^\\| `(\\w+)` \\| ([^|]+?) \\|")
	docSameAs  = regexp.MustCompile("^Same columns as `(\\w+)`\\.$")
)

// TestAnalyticsDocsMatchSchema: every table and view of the migrated
// database is described in docs/analytics.md with exactly its columns, in
// order, with their types (a view may say "Same columns as `t`.").
func TestAnalyticsDocsMatchSchema(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	rows, err := wh.Conn().Query(ctx, "SELECT table, name, type FROM system.columns WHERE database = ?", wh.Database())
	if err != nil {
		t.Fatal(err)
	}
	schema := map[string][]string{}
	for rows.Next() {
		var table, name, typ string
		if err := rows.Scan(&table, &name, &typ); err != nil {
			t.Fatal(err)
		}
		schema[table] = append(schema[table], name+" "+typ)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(analyticsDoc)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]string{}
	same := map[string]string{}
	cur := ""
	for _, line := range strings.Split(string(b), "\n") {
		if m := docHeading.FindStringSubmatch(line); m != nil {
			cur = m[1]
			docs[cur] = []string{}
			continue
		}
		if strings.HasPrefix(line, "#") {
			cur = ""
		}
		if cur == "" {
			continue
		}
		if m := docColumn.FindStringSubmatch(line); m != nil {
			docs[cur] = append(docs[cur], m[1]+" "+m[2])
		} else if m := docSameAs.FindStringSubmatch(line); m != nil {
			same[cur] = m[1]
		}
	}
	for table, cols := range schema {
		d, ok := docs[table]
		if !ok {
			t.Errorf("table %s is not described in %s", table, analyticsDoc)
			continue
		}
		if s, ok := same[table]; ok {
			d = docs[s]
		}
		if !slices.Equal(d, cols) {
			t.Errorf("%s: %s lists columns\n%s\nthe schema has\n%s", table, analyticsDoc, strings.Join(d, ", "), strings.Join(cols, ", "))
		}
	}
	for table := range docs {
		if _, ok := schema[table]; !ok {
			t.Errorf("%s describes %s, which migrate does not create", analyticsDoc, table)
		}
	}
	if len(schema) < 20 {
		t.Errorf("only %d tables in the schema", len(schema))
	}
}
