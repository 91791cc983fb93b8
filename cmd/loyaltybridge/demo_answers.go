package main

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shopspring/decimal"

	"github.com/loyaltybridge/loyaltybridge/jobs"
)

// demoAnswers are the analyst questions the demo ends with: two of
// docs/analytics.md's queries and the freshness view, verbatim (a test
// compares them with the document's ```sql blocks). "loyalty." is the
// document's database; the demo's replaces it.
var demoAnswers = []struct{ title, sql string }{
	{"Points liability by level (docs/analytics.md)", `-- query: points_liability_by_level
SELECT
    source,
    if(level_name != '', level_name, visitParamExtractString(custom_attrs, 'levelName')) AS level,
    count() AS members,
    sum(point) AS points_outstanding,
    round(avg(point), 1) AS avg_points
FROM loyalty.members_latest
GROUP BY source, level
ORDER BY source, points_outstanding DESC
`},
	{"Members seen in several vendors, through member_identities (docs/analytics.md)", `-- query: members_in_several_vendors
SELECT
    1 + length(other_sources) AS vendors,
    arrayStringConcat(arraySort(other_sources), ' + ') AS also_in,
    count() AS members
FROM
(
    SELECT source, member_id, groupUniqArrayIf(other_source, other_source != '' AND other_source != source) AS other_sources
    FROM
    (
        SELECT source, member_id, value FROM loyalty.member_identities_latest
    )
    ALL LEFT JOIN
    (
        SELECT DISTINCT other_source, value
        FROM
        (
            SELECT source AS other_source, member_id AS value FROM loyalty.members_latest
            UNION ALL
            SELECT source AS other_source, mobile AS value FROM loyalty.members_latest WHERE mobile != ''
            UNION ALL
            SELECT source AS other_source, member_id AS value FROM loyalty.member_coupons_latest
            UNION ALL
            SELECT source AS other_source, member_id AS value FROM loyalty.points_ledger_latest
        )
    ) USING (value)
    GROUP BY source, member_id
)
GROUP BY vendors, also_in
ORDER BY vendors DESC, members DESC
`},
	{"Freshness: is the data current? (the freshness view)", `-- query: freshness
SELECT source, stream, last_success_at, last_run_status, newest_record_at, lag_seconds, rejected_since_success
FROM loyalty.freshness
ORDER BY source, stream
`},
}

// demoReconcile reconciles a sample of the DM Hub source with the
// simulator and prints the report.
func demoReconcile(ctx context.Context, a *app, source string, out io.Writer) error {
	rep, err := a.engine.Reconcile(ctx, source, jobs.ReconcileOptions{Sample: 20})
	if err != nil {
		return err
	}
	printReconcile(out, rep)
	if rep.Failed() || rep.Drifted() > 0 {
		return fmt.Errorf("reconcile %s: %d drifted checks after a clean sync (run %s)", source, rep.Drifted(), rep.RunID)
	}
	return nil
}

// printAnswers runs the demo's analyst queries and prints each result.
func printAnswers(ctx context.Context, a *app, out io.Writer) error {
	for _, q := range demoAnswers {
		sql := strings.ReplaceAll(q.sql, "loyalty.", "`"+a.wh.Database()+"`.")
		fmt.Fprintf(out, "\n%s:\n\n", q.title)
		if err := printQuery(ctx, a, sql, out); err != nil {
			return fmt.Errorf("%s: %w", q.title, err)
		}
	}
	return nil
}

// printQuery prints any query's result as an aligned table.
func printQuery(ctx context.Context, a *app, sql string, out io.Writer) error {
	rows, err := a.wh.Conn().Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(rows.Columns(), "\t"))
	types := rows.ColumnTypes()
	for rows.Next() {
		vals := make([]any, len(types))
		for i, ct := range types {
			vals[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(vals...); err != nil {
			return err
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = cell(reflect.ValueOf(v).Elem().Interface())
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	_ = tw.Flush()
	return rows.Err()
}

func cell(v any) string {
	switch x := v.(type) {
	case *time.Time:
		if x == nil {
			return "-"
		}
		return x.UTC().Format("2006-01-02 15:04:05")
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05")
	case *int64:
		if x == nil {
			return "-"
		}
		return fmt.Sprint(*x)
	case decimal.Decimal:
		return x.String()
	}
	return fmt.Sprint(v)
}
