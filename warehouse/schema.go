package warehouse

import (
	"context"
	"fmt"
	"strings"
)

// NotMigratedError reports a database that lacks embedded migrations:
// read-only commands refuse to run on it rather than change its schema.
type NotMigratedError struct {
	Database string
	Missing  []string // versions, in order
}

func (e *NotMigratedError) Error() string {
	return fmt.Sprintf("database %s is not migrated (missing %s): run `loyaltybridge migrate`",
		e.Database, strings.Join(e.Missing, ", "))
}

// CheckSchema verifies, without running any DDL, that schema_migrations
// records every embedded migration. It returns a *NotMigratedError naming
// the missing versions (all of them when the database or the table does
// not exist yet).
func (w *Warehouse) CheckSchema(ctx context.Context) error {
	migs, err := Migrations()
	if err != nil {
		return err
	}
	var n uint64
	if err := w.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'schema_migrations'",
		w.db).Scan(&n); err != nil {
		return fmt.Errorf("schema check: %w", err)
	}
	done := map[string]bool{}
	if n > 0 {
		rows, err := w.conn.Query(ctx, "SELECT version FROM "+w.Q("schema_migrations"))
		if err != nil {
			return fmt.Errorf("schema check: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return fmt.Errorf("schema check: %w", err)
			}
			done[v] = true
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("schema check: %w", err)
		}
	}
	var missing []string
	for _, m := range migs {
		if !done[m.Version] {
			missing = append(missing, m.Version)
		}
	}
	if len(missing) > 0 {
		return &NotMigratedError{Database: w.db, Missing: missing}
	}
	return nil
}
