package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// markDeleted runs at the successful end of a full run of a stream that
// proves tables (StreamSpec.Proves: it reads them whole, so a row it no
// longer saw is gone at the vendor), before the run is
// recorded as succeeded (a crash repeats it; it is idempotent): every live
// row of the stream's tables that the scan did not load (synced_at before
// the scan's start, warehouse.ScanStart, minus the source's lookback,
// which covers clock skew between workers) gets a tombstone
// (warehouse.MarkDeleted). Incremental
// runs prove nothing about rows they did not read.
func (e *Engine) markDeleted(ctx context.Context, source, stream, mode string, started time.Time) error {
	if connectors.Mode(mode) != connectors.Full || started.IsZero() {
		return nil
	}
	src, err := e.cfg.Source(source)
	if err != nil {
		return err
	}
	// a run resumed from a failed run's position continues its scan
	scan, err := e.wh.ScanStart(ctx, source, stream, started)
	if err != nil {
		return err
	}
	before := scan.Add(-src.Lookback)
	tables, err := provedTables(src, stream)
	if err != nil {
		return err
	}
	for _, t := range tables {
		n, err := e.wh.MarkDeleted(ctx, t, source, stream, before)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", source, stream, err)
		}
		if n > 0 {
			loggerFrom(ctx, e.log).Info("rows no longer at the vendor marked deleted", "source", source, "stream", stream, "table", t.Name, "rows", n)
		}
	}
	return nil
}
