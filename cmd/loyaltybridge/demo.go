package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/deploy"
)

//go:embed demo.yaml
var demoConfig []byte

func newDemoCmd(g *globals) *cobra.Command {
	f := &simFlags{}
	var dataDir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start Redis, ClickHouse, the simulators and a worker; sync everything; print what landed",
		Long: "One command for a fresh machine: installs (Debian apt) and starts Redis and ClickHouse on loopback\n" +
			"with data under --data, serves the built-in vendor simulators, runs a worker in this process,\n" +
			"runs a full sync and an incremental sync, checks the warehouse against the simulator's data,\n" +
			"reconciles a sample with the vendor's own totals and ends with analyst answers and the freshness\n" +
			"view. Run it again: loads are idempotent, nothing is duplicated.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if !cmd.Flags().Changed("log-level") {
				g.logLevel = "warn" // the demo prints its own story
			}
			return runDemo(cmd.Context(), g, f, dataDir, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.register(cmd, "127.0.0.1:0")
	cmd.Flags().StringVar(&dataDir, "data", "", "data folder of the services (default $LOYALTYBRIDGE_DATA or ./.data)")
	return cmd
}

func runDemo(ctx context.Context, g *globals, f *simFlags, dataDir string, out, errOut io.Writer) error {
	if dataDir == "" {
		dataDir = os.Getenv("LOYALTYBRIDGE_DATA")
	}
	if dataDir == "" {
		dataDir = ".data"
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	step := func(format string, args ...any) { fmt.Fprintf(out, "==> "+format+"\n", args...) }

	step("starting Redis and ClickHouse (data in %s)", abs)
	addrs, err := deploy.ServicesUp(ctx, abs, errOut)
	if err != nil {
		return err
	}
	sim, err := startSim(f)
	if err != nil {
		return err
	}
	defer func() { _ = sim.stop() }()
	step("vendor simulators on %s (seed %d, %d DM Hub members)", sim.url, f.seed, f.members)

	// one database per simulated data set, so a second run with the same
	// flags reloads the same data (and shows nothing duplicates), while
	// other flags never mix with it
	db := "loyalty_demo"
	if f.seed != 42 || f.members != 500 {
		db = fmt.Sprintf("loyalty_demo_s%d_m%d", f.seed, f.members)
	}
	env := map[string]string{"LB_DEMO_DATABASE": db, "LB_DEMO_REDIS": addrs.Redis, "LB_DEMO_CLICKHOUSE": addrs.ClickHouse, "LB_DEMO_SIM": sim.url,
		"LB_DEMO_DMHUB_SECRET": "sim-dmhub-secret", "LB_DEMO_HOUCALLER_KEY": "hklsim01", "LB_DEMO_ZVCMS_GRANT": "sim-grant",
		"LB_DEMO_ZVCMS_SECRET": "sim-zvcms-secret"}
	cfg, err := config.Parse("demo.yaml (built in)", demoConfig, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, builtin.Kinds())
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, g.logger())
	if err != nil {
		return err
	}
	defer a.close()
	applied, err := a.wh.Migrate(ctx)
	if err != nil {
		return err
	}
	step("ClickHouse database %s ready (migrations applied now: %d)", cfg.ClickHouse.Database, len(applied))

	wctx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan error, 1)
	go func() { workerDone <- a.engine.RunWorker(wctx, a.rdb) }()
	defer func() {
		stopWorker()
		<-workerDone
	}()

	for _, src := range cfg.Sources {
		step("full sync of %s: streams %s", src.Name, strings.Join(src.EnabledStreams(), ", "))
		refs, err := a.engine.StartSync(ctx, src.Name, nil, connectors.Full)
		if err != nil {
			return err
		}
		if err := waitRuns(ctx, a.engine, refs, errOut, out); err != nil {
			return err
		}
	}
	if err := demoCheck(ctx, a, sim, out); err != nil {
		return err
	}

	// an incremental run after the vendor changed a few members
	full := total(sim.sim.DMHub.Requests())
	sim.sim.DMHub.ResetRequests()
	members := sim.sim.DMHub.Members()
	n := min(5, len(members))
	for i, m := range members[:n] {
		if _, err := sim.sim.DMHub.UpdateMember(m.ID); err != nil {
			return err
		}
		if _, err := sim.sim.DMHub.AddPointRecord(m.ID, int64(10*(i+1)), 2); err != nil {
			return err
		}
	}
	step("the vendor changed %d members and added points to them; incremental sync of demo-dmhub", n)
	refs, err := a.engine.StartSync(ctx, "demo-dmhub", nil, connectors.Incremental)
	if err != nil {
		return err
	}
	if err := waitRuns(ctx, a.engine, refs, errOut, out); err != nil {
		return err
	}
	inc := total(sim.sim.DMHub.Requests())
	fmt.Fprintf(out, "DM Hub requests: full sync %d, incremental sync %d (%.1f%%)\n", full, inc, 100*float64(inc)/float64(max(full, 1)))
	if err := demoCheck(ctx, a, sim, out); err != nil {
		return err
	}
	step("outbound writes to demo-dmhub: deals, refunds and push-device registrations through the intake of `push` and `serve`, delivered by the worker")
	if err := demoOutbound(ctx, a, sim, "demo-dmhub", out); err != nil {
		return err
	}
	if err := demoQuery(ctx, a, out); err != nil {
		return err
	}
	step("loyaltybridge status")
	rep, err := buildStatus(ctx, a, time.Now())
	if err != nil {
		return err
	}
	printStatus(out, rep)
	step("loyaltybridge reconcile demo-dmhub --sample 20 (the warehouse against the vendor's own totals)")
	if err := demoReconcile(ctx, a, "demo-dmhub", out); err != nil {
		return err
	}
	step("what analysts ask (docs/analytics.md)")
	if err := printAnswers(ctx, a, out); err != nil {
		return err
	}
	step("done. Redis and ClickHouse keep running (data in %s); `deploy/dev/services.sh down` stops them", abs)
	return nil
}

// demoCheck compares the members table with the simulator's own data.
func demoCheck(ctx context.Context, a *app, sim *simServer, out io.Writer) error {
	want := sim.sim.DMHub.Members()
	q := "SELECT member_id, name, mobile, email, point, birthday, toString(last_updated) FROM " + a.wh.Q("members") +
		" FINAL WHERE source = 'demo-dmhub'"
	rows, err := a.wh.Conn().Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	type rec struct {
		name, mobile, email, birthday, updated string
		point                                  int64
	}
	got := map[string]rec{}
	for rows.Next() {
		var id string
		var r rec
		if err := rows.Scan(&id, &r.name, &r.mobile, &r.email, &r.point, &r.birthday, &r.updated); err != nil {
			return err
		}
		got[id] = r
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var raw uint64
	if err := a.wh.Conn().QueryRow(ctx, "SELECT count() FROM "+a.wh.Q("members")+" WHERE source = 'demo-dmhub'").Scan(&raw); err != nil {
		return err
	}
	diff := 0
	for _, m := range want {
		r, ok := got[m.ID]
		if !ok || r.name != m.Name || r.mobile != m.Mobile || r.email != m.Email || r.point != m.Point || r.birthday != m.Birthday ||
			r.updated != m.LastUpdated.UTC().Format("2006-01-02 15:04:05") {
			diff++
		}
	}
	fmt.Fprintf(out, "members: %d rows after FINAL (%d stored rows before merges), simulator has %d; %d differ\n",
		len(got), raw, len(want), diff)
	if diff > 0 || len(got) != len(want) {
		return fmt.Errorf("the warehouse does not match the simulator: %d members differ, %d rows vs %d", diff, len(got), len(want))
	}
	return nil
}

func total(m map[string]int64) int64 {
	var n int64
	for k, v := range m {
		if k != "token" {
			n += v
		}
	}
	return n
}

func demoQuery(ctx context.Context, a *app, out io.Writer) error {
	if err := demoCounts(ctx, a, out); err != nil {
		return err
	}
	q := "SELECT if(level_name != '', level_name, concat('(old format) priority ', toString(level_priority))) AS level, count() AS members, sum(point) AS points, countIf(birthday < '1970-01-01' AND birthday != '') AS born_before_1970 FROM " +
		a.wh.Q("members") + " FINAL WHERE source = 'demo-dmhub' GROUP BY level ORDER BY members DESC"
	fmt.Fprintf(out, "\nSample analyst query:\n  %s\n\n", q)
	rows, err := a.wh.Conn().Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "level\tmembers\tpoints\tborn_before_1970\t")
	for rows.Next() {
		var lvl string
		var n, born uint64
		var pts int64
		if err := rows.Scan(&lvl, &n, &pts, &born); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", lvl, n, pts, born)
	}
	_ = tw.Flush()
	fmt.Fprintln(out)
	return rows.Err()
}

// demoCounts prints what landed, per table and source.
func demoCounts(ctx context.Context, a *app, out io.Writer) error {
	fmt.Fprintln(out, "\nWhat landed (rows after FINAL):")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\tsource\trows")
	for _, table := range []string{"members", "member_identities", "points_ledger", "experience_ledger", "coupons", "member_coupons", "levels"} {
		rows, err := a.wh.Conn().Query(ctx, "SELECT source, count() FROM "+a.wh.Q(table)+" FINAL GROUP BY source ORDER BY source")
		if err != nil {
			return err
		}
		for rows.Next() {
			var src string
			var n uint64
			if err := rows.Scan(&src, &n); err != nil {
				rows.Close()
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\n", table, src, n)
		}
		rows.Close()
	}
	_ = tw.Flush()
	q := "SELECT source, status, count() AS coupons FROM " + a.wh.Q("member_coupons") + " FINAL GROUP BY source, status ORDER BY source, coupons DESC"
	fmt.Fprintf(out, "\nOne coupon model across three vendors:\n  %s\n\n", q)
	rows, err := a.wh.Conn().Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "source\tstatus\tcoupons")
	for rows.Next() {
		var src, st string
		var n uint64
		if err := rows.Scan(&src, &st, &n); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\n", src, st, n)
	}
	_ = tw.Flush()
	return rows.Err()
}
