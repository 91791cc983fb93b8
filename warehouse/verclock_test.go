package warehouse_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestVersionsIgnoreProcessClock: a process whose clock is 10 minutes
// ahead or behind loads a record with a version from the server's clock,
// so a later load by a process with the true clock wins after FINAL (with
// the process's own clock, the skewed load won for 10 minutes).
func TestVersionsIgnoreProcessClock(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		cfg, wh := warehousetest.ClickHouse(t)
		ctx := context.Background()
		skewed, err := warehouse.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = skewed.Close() })
		skewed.SetClock(func() time.Time { return time.Now().Add(skew) })
		first := warehouse.Level{Common: warehouse.Common{Source: "s"}, LevelID: "1", Name: "loaded by the skewed process"}
		if err := skewed.Load(ctx, []warehouse.Row{first}); err != nil {
			t.Fatal(err)
		}
		// the server's now() has whole seconds, so a corrected version is
		// within half a second of the server's time: loads less than a
		// second apart may still be ordered either way (verclock.go)
		time.Sleep(1100 * time.Millisecond)
		second := warehouse.Level{Common: warehouse.Common{Source: "s"}, LevelID: "1", Name: "loaded later with the true clock"}
		if err := wh.Load(ctx, []warehouse.Row{second}); err != nil {
			t.Fatal(err)
		}
		var name string
		var ver uint64
		if err := wh.Conn().QueryRow(ctx, "SELECT name, ver FROM "+wh.Q("levels")+" FINAL WHERE source = 's'").Scan(&name, &ver); err != nil {
			t.Fatal(err)
		}
		if name != second.Name {
			t.Errorf("clock %s off: FINAL kept %q, want the later load %q", skew, name, second.Name)
		}
		if d := time.Since(time.Unix(0, int64(ver))); d < -3*time.Second || d > time.Minute {
			t.Errorf("clock %s off: version %d is %s from now, want the server's time", skew, ver, d)
		}
	}
}
