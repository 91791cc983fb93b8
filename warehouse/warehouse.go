package warehouse

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse/pii"
)

// Warehouse is the ClickHouse side of loyaltybridge: schema, loads,
// checkpoints and run records. It is safe for concurrent use.
type Warehouse struct {
	conn driver.Conn
	db   string
	// legacy is true on servers older than 19.x, which need
	// allow_experimental_low_cardinality_type to create LowCardinality
	// columns.
	legacy bool
	now    func() time.Time
	// observer is told about every inserted batch (observe.go).
	observer atomic.Pointer[loadObserver]
	// cluster is clickhouse.cluster: DDL runs ON CLUSTER (cluster.go).
	cluster string
	// privacy is the PII policy Load applies (privacy.go).
	privacy atomic.Pointer[pii.Policy]
	// vc corrects the versions of loaded rows for this process's clock
	// offset to the server's (verclock.go).
	vc verClock
}

// SetClock sets the clock of the times the warehouse stamps (synced_at of
// loaded rows and tombstones); default time.Now. Call it before use. It is
// how tests run a worker whose clock is off (docs/reliability.md).
func (w *Warehouse) SetClock(now func() time.Time) { w.now = now }

// Open connects (native protocol) and pings. It does not need the
// database to exist: every statement names it explicitly. The pool holds
// cfg.MaxOpenConns connections (config sizes it to the worker's
// concurrency), all of them kept idle between tasks.
func Open(ctx context.Context, cfg config.ClickHouse) (*Warehouse, error) {
	opts := &clickhouse.Options{
		Addr: cfg.Addr,
		Auth: clickhouse.Auth{Database: "default", Username: cfg.Username, Password: cfg.Password.Reveal()},
		Settings: clickhouse.Settings{
			"max_execution_time": 300,
		},
		DialTimeout:     cfg.DialTimeout,
		MaxOpenConns:    poolSize(cfg.MaxOpenConns),
		MaxIdleConns:    poolSize(cfg.MaxOpenConns),
		ConnMaxLifetime: time.Hour,
	}
	if cfg.Cluster != "" {
		// inserts into a Distributed table return once they are stored
		opts.Settings["insert_distributed_sync"] = 1
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout+5*time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("clickhouse %s: %w", strings.Join(cfg.Addr, ","), err)
	}
	w := &Warehouse{conn: conn, db: cfg.Database, now: time.Now, cluster: cfg.Cluster}
	if v, err := conn.ServerVersion(); err == nil && v.Version.Major < 19 {
		w.legacy = true
	}
	return w, nil
}

// poolSize is the configured pool size (config.ClickHouse.MaxOpenConns,
// sized to the worker's concurrency), 8 when built in code without one.
func poolSize(n int) int {
	if n <= 0 {
		return 8
	}
	return n
}

// Close releases the connections.
func (w *Warehouse) Close() error { return w.conn.Close() }

// Conn exposes the connection for ad-hoc queries (status, tests).
func (w *Warehouse) Conn() driver.Conn { return w.conn }

// Database is the configured database name.
func (w *Warehouse) Database() string { return w.db }

// Q qualifies a table name with the database.
func (w *Warehouse) Q(table string) string { return "`" + w.db + "`.`" + table + "`" }

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one embedded schema step.
type Migration struct {
	Version    string // the file name without .sql, e.g. "0001_init"
	Statements []string
}

// Migrations returns the embedded migrations in order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []Migration
	for _, n := range names {
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		m := Migration{Version: strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql")}
		var cur strings.Builder
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "--") {
				continue
			}
			cur.WriteString(line)
			cur.WriteByte('\n')
			if strings.HasSuffix(strings.TrimSpace(line), ";") {
				if s := strings.TrimSpace(cur.String()); s != ";" {
					m.Statements = append(m.Statements, strings.TrimSuffix(s, ";"))
				}
				cur.Reset()
			}
		}
		if s := strings.TrimSpace(cur.String()); s != "" {
			m.Statements = append(m.Statements, s)
		}
		out = append(out, m)
	}
	return out, nil
}

// Migrate creates the database and applies every migration not yet
// recorded in schema_migrations. Every statement is idempotent (IF NOT
// EXISTS; an ADD COLUMN that finds the column, exception 44 or 15,
// counts as done), so an interrupted or concurrent migrate is safe to run again.
// It returns the versions it applied.
func (w *Warehouse) Migrate(ctx context.Context) ([]string, error) {
	if err := w.execDDL(ctx, "CREATE DATABASE IF NOT EXISTS `"+w.db+"`"); err != nil {
		return nil, fmt.Errorf("migrate: create database %s: %w", w.db, err)
	}
	if err := w.execDDL(ctx, "CREATE TABLE IF NOT EXISTS "+w.Q("schema_migrations")+
		" (version String, applied_at DateTime) ENGINE = ReplacingMergeTree ORDER BY version"); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	done := map[string]bool{}
	rows, err := w.conn.Query(ctx, "SELECT version FROM "+w.Q("schema_migrations"))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		done[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	ddlCtx := ctx
	if w.legacy {
		ddlCtx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	}
	var applied []string
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		for i, st := range m.Statements {
			if err := w.execDDL(ddlCtx, st); err != nil {
				return applied, fmt.Errorf("migrate %s statement %d: %w", m.Version, i+1, err)
			}
		}
		b, err := w.conn.PrepareBatch(ctx, "INSERT INTO "+w.Q("schema_migrations")+" (version, applied_at)")
		if err != nil {
			return applied, err
		}
		if err := b.Append(m.Version, w.now().UTC().Truncate(time.Second)); err != nil {
			_ = b.Abort()
			return applied, err
		}
		if err := b.Send(); err != nil {
			return applied, fmt.Errorf("migrate %s: record: %w", m.Version, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// ClickHouse's exception codes for ADD COLUMN of a column that exists:
// 44 (ILLEGAL_COLUMN) on 18.16, 15 (DUPLICATE_COLUMN) on current releases.
// 18.16 has no ADD COLUMN IF NOT EXISTS, so a repeated migration meets them.
const (
	codeIllegalColumn   = 44
	codeDuplicateColumn = 15
)

// alreadyDone reports a migration statement error that means the
// statement's effect is already there: ADD COLUMN of an existing column.
func alreadyDone(err error) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && (ex.Code == codeIllegalColumn || ex.Code == codeDuplicateColumn) &&
		strings.Contains(ex.Message, "already exists")
}

// ErrOutOfRange is returned for a time a ClickHouse DateTime cannot hold;
// clickhouse-go would otherwise wrap it silently.
var ErrOutOfRange = errors.New("time out of the DateTime range 1970..2105")
