package connectors

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// Mode is how a sync run reads a stream.
type Mode string

// The sync modes.
const (
	// Incremental reads what changed since the committed cursor.
	Incremental Mode = "incremental"
	// Full re-reads everything (a backfill). It does not touch the
	// committed incremental cursor until the run completes.
	Full Mode = "full"
)

// Request asks a stream for its next batch.
type Request struct {
	// Mode of the run.
	Mode Mode
	// Partition selects a sub-stream: "" for a source-wide list, a member
	// key for per-member streams.
	Partition string
	// Cursor is the position reached by the previous batch of this run,
	// exactly as the stream returned it in Batch.Next; nil at the start.
	Cursor json.RawMessage
	// Since is the stream's committed incremental cursor (Batch.Commit of
	// the last completed run), nil when there is none.
	Since json.RawMessage
	// Pages bounds how many vendor pages one Fetch may read.
	Pages int
	// RunStarted is when the run started (zero: the stream fixes the
	// start at the run's first Fetch). A scan that cannot prove it saw
	// every change made while it ran commits no cursor later than this.
	RunStarted time.Time
	// Log receives the stream's warnings (clamped timestamps, page caps);
	// nil discards them.
	Log *slog.Logger
}

// Logger returns req.Log, or a logger that discards everything.
func (req Request) Logger() *slog.Logger { return orDiscard(req.Log) }

// orDiscard returns l, or a logger that discards everything when l is nil.
func orDiscard(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// Batch is what one Fetch produced. Fetch must be safe to repeat with the
// same Request: a task that crashed after Fetch but before its load
// committed is replayed, and loads are idempotent.
type Batch struct {
	Rows     []warehouse.Row
	Next     json.RawMessage // cursor for the next Fetch of this run
	Done     bool            // the run of this (stream, partition) is complete
	Commit   json.RawMessage // when Done: the new incremental cursor; nil keeps the old one
	Pages    int             // vendor pages read
	Total    int64           // estimated total items of the run for progress, 0 if unknown
	Items    int64           // items (e.g. members) consumed, for progress
	Requests int             // vendor requests made
	Fallback bool            // the stream fell back to a full scan (the vendor ignored its sort order)
	Clamped  int             // vendor timestamps beyond now+tolerance, clamped for the cursor
	Rejected int             // records stored in rejected_records instead of their table
}

// Add appends rows to the batch and counts the rejected_records rows
// among them (Rejected).
func (b *Batch) Add(rows []warehouse.Row) {
	b.Rows = append(b.Rows, rows...)
	b.Rejected += Rejected(rows)
}

// Stream reads one vendor collection. Implementations are safe for
// concurrent use.
type Stream interface {
	Fetch(ctx context.Context, req Request) (Batch, error)
}
