package warehouse_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// benchMember is a deterministic normalized member row of about 1.1 KB
// (raw about 800 B of camelCase vendor JSON, as perf-facts' rows), the
// shape a DM Hub members sync loads.
func benchMember(i int) warehouse.Member {
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	join := ts.Add(-time.Duration(i%1000) * 24 * time.Hour)
	bal := decimal.New(int64(i%100000), -2)
	prio := int32(i % 5)
	id := fmt.Sprintf("m%09d", i)
	mobile := fmt.Sprintf("138%08d", i%100000000)
	raw := fmt.Sprintf(`{"id":%q,"name":"会员%d","mobile":%q,"email":"u%d@example.com","gender":"%s","birthday":"19%02d-%02d-%02d",`+
		`"level":{"id":"L%d","name":"Level %d","priority":%d},"point":%d,"balance":"%s","dateJoin":%q,"lastUpdated":%q,`+
		`"customAttrs":{"c_houcaller_id":"H%07d","c_store":"S%04d","c_channel":"wechat-mini-program"},"memberCode":"MC%08d",`+
		`"customerId":"C%09d","address":{"province":"广东省","city":"深圳市","district":"南山区","street":"科技园南区%d号"},`+
		`"tags":["vip","coupon-lover","store-%d"],"remark":"synthetic member %d for the loader benchmark, padded to a realistic size"}`,
		id, i, mobile, i, []string{"m", "f", "u"}[i%3], 50+i%50, 1+i%12, 1+i%28, i%5, i%5, i%5, i%50000, bal.StringFixed(2),
		join.Format(time.RFC3339), ts.Format(time.RFC3339), i, i%5000, i, i, i%997, i%300, i)
	return warehouse.Member{Common: warehouse.Common{Source: "bench"}, MemberID: id, Name: fmt.Sprintf("会员%d", i), Mobile: mobile,
		Email: fmt.Sprintf("u%d@example.com", i), Gender: []string{"m", "f", "u"}[i%3],
		Birthday: fmt.Sprintf("19%02d-%02d-%02d", 50+i%50, 1+i%12, 1+i%28), LevelID: fmt.Sprintf("L%d", i%5),
		LevelName: fmt.Sprintf("Level %d", i%5), LevelPriority: &prio, Point: int64(i % 50000), Balance: &bal, DateJoin: &join,
		LastUpdated: &ts, CustomAttrs: fmt.Sprintf(`{"c_houcaller_id":"H%07d","c_store":"S%04d"}`, i, i%5000),
		MemberCode: fmt.Sprintf("MC%08d", i), CustomerID: fmt.Sprintf("C%09d", i), DateCreated: &join, Raw: raw}
}

// loaderBenchRows is the number of member rows of one round.
func loaderBenchRows() int {
	if s := os.Getenv("LOYALTYBRIDGE_BENCH_ROWS"); s != "" {
		var n int
		if _, err := fmt.Sscan(s, &n); err == nil && n > 0 {
			return n
		}
	}
	return 100_000
}

// BenchmarkLoaderVsNative loads the same member rows, side by side in
// every round (one b.N iteration is one round of every method, each into
// a freshly truncated table), through:
//
//   - loader/batch=N: Warehouse.Load called with N rows at a time (1,000
//     is what a task of 10 pages of 100 members inserted before; the
//     worker's default insert size is config.DefaultInsertRows);
//   - native: clickhouse-client --query 'INSERT … FORMAT Native' reading
//     the same rows, pre-encoded in ClickHouse's Native format (the
//     server's own limit here; the file is made once, outside the timer).
//
// It reports rows/s of each and each loader's ratio to native. Set
// LOYALTYBRIDGE_BENCH_ROWS to change the rows per round (default 100k).
// Needs LOYALTYBRIDGE_TEST_CLICKHOUSE and clickhouse-client on PATH.
func BenchmarkLoaderVsNative(b *testing.B) {
	cfg, wh := warehousetest.ClickHouse(b)
	client, err := exec.LookPath("clickhouse-client")
	if err != nil {
		b.Skip("clickhouse-client is not on PATH")
	}
	ctx := context.Background()
	n := loaderBenchRows()
	rows := make([]warehouse.Row, n)
	for i := range rows {
		rows[i] = benchMember(i)
	}
	cols := strings.Join(warehouse.Members.Columns, ", ")
	// the Native file: the rows loaded once, read back in Native format
	if err := wh.Load(ctx, rows); err != nil {
		b.Fatal(err)
	}
	native := filepath.Join(b.TempDir(), "members.native")
	host, port := splitAddr(b, cfg)
	chArgs := func(q string) []string { return []string{"--host", host, "--port", port, "--query", q} }
	out, err := os.Create(native)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(client, chArgs(fmt.Sprintf("SELECT %s FROM %s ORDER BY member_id FORMAT Native", cols, wh.Q("members")))...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("export Native: %v: %s", err, stderr.String())
	}
	_ = out.Close()

	truncate := func() {
		if err := wh.Conn().Exec(ctx, "TRUNCATE TABLE "+wh.Q("members")); err != nil {
			b.Fatal(err)
		}
	}
	count := func(method string) {
		var got uint64
		if err := wh.Conn().QueryRow(ctx, "SELECT count() FROM "+wh.Q("members")).Scan(&got); err != nil {
			b.Fatal(err)
		}
		if got != uint64(n) {
			b.Fatalf("%s: %d rows in members, want %d", method, got, n)
		}
	}
	type method struct {
		name string
		run  func()
	}
	loader := func(batch int) method {
		return method{fmt.Sprintf("loader_%dk", batch/1000), func() {
			for i := 0; i < n; i += batch {
				if err := wh.Load(ctx, rows[i:min(i+batch, n)]); err != nil {
					b.Fatal(err)
				}
			}
		}}
	}
	methods := []method{
		{"native", func() {
			in, err := os.Open(native)
			if err != nil {
				b.Fatal(err)
			}
			defer in.Close()
			cmd := exec.Command(client, chArgs(fmt.Sprintf("INSERT INTO %s (%s) FORMAT Native", wh.Q("members"), cols))...)
			var stderr bytes.Buffer
			cmd.Stdin, cmd.Stderr = in, &stderr
			if err := cmd.Run(); err != nil {
				b.Fatalf("clickhouse-client Native insert: %v: %s", err, stderr.String())
			}
		}},
		loader(1000),
		loader(config.DefaultInsertRows),
	}
	elapsed := make([]time.Duration, len(methods))
	cpu := make([]time.Duration, len(methods)) // client CPU: this process, or clickhouse-client
	b.ResetTimer()
	for b.Loop() {
		for i, m := range methods {
			b.StopTimer()
			truncate()
			b.StartTimer()
			start, cpu0 := time.Now(), clientCPU()
			m.run()
			elapsed[i] += time.Since(start)
			cpu[i] += clientCPU() - cpu0
			b.StopTimer()
			count(m.name)
			b.StartTimer()
		}
	}
	b.StopTimer()
	truncate() // a cheap DROP DATABASE at cleanup on a busy server
	rate := func(i int) float64 { return float64(n) * float64(b.N) / elapsed[i].Seconds() }
	for i, m := range methods {
		b.ReportMetric(rate(i), m.name+"_rows/s")
		if i > 0 {
			b.ReportMetric(rate(i)/rate(0), m.name+"/native")
		}
		us := float64(cpu[i].Microseconds()) / float64(n*b.N)
		b.ReportMetric(us, m.name+"_client_cpu_us/row")
		// also logged: the figures stay visible if the cleanup fails
		b.Logf("%s: %d rows × %d rounds, %.0f rows/s, %.3f of native, client CPU %.2f us/row", m.name, n, b.N, rate(i), rate(i)/rate(0), us)
	}
}

// clientCPU is the CPU time used so far by this process and its
// finished children (clickhouse-client): user plus system.
func clientCPU() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

func splitAddr(b *testing.B, cfg config.ClickHouse) (host, port string) {
	b.Helper()
	a := cfg.Addr[0]
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		b.Fatalf("clickhouse address %q has no port", a)
	}
	return a[:i], a[i+1:]
}
