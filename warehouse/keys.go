package warehouse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// KeyLister lists member or identity keys (config.KeySource) in batches,
// streaming them: from the members rows of another source, from a file
// (one key per line), or from a ClickHouse query returning one column.
// It implements connectors.KeyLister.
type KeyLister struct {
	w *Warehouse
	// Dir resolves relative file paths (the config file's folder).
	Dir string
}

// Keys returns a key lister resolving relative files against dir.
func (w *Warehouse) Keys(dir string) *KeyLister { return &KeyLister{w: w, Dir: dir} }

// memberColumns are member fields stored as columns; any other field is a
// custom attribute read from custom_attrs.
var memberColumns = map[string]string{"member_id": "member_id", "mobile": "mobile", "email": "email",
	"member_code": "member_code", "customer_id": "customer_id"}

// ListKeys implements connectors.KeyLister. Keys from a source or a query
// come sorted and de-duplicated: the first call (cursor "") copies them
// into a key snapshot in one query, and each call reads one range of it
// (see newSnapshot: O(N) ClickHouse work per pass, not a DISTINCT over
// the members table per batch); the cursor names the snapshot and the
// position. Keys from a file come in file order, with the byte offset as
// the cursor.
func (k *KeyLister) ListKeys(ctx context.Context, spec *config.KeySource, cursor string, limit int) ([]string, string, error) {
	return k.list(ctx, spec, time.Time{}, cursor, limit)
}

// ListChangedKeys implements connectors.ChangedKeyLister: for a
// from_source key source, only the keys of that source's members whose
// row was loaded at or after since (synced_at, whole seconds); for a file
// or a query, every key.
func (k *KeyLister) ListChangedKeys(ctx context.Context, spec *config.KeySource, since time.Time, cursor string, limit int) ([]string, string, error) {
	return k.list(ctx, spec, since, cursor, limit)
}

func (k *KeyLister) list(ctx context.Context, spec *config.KeySource, since time.Time, cursor string, limit int) ([]string, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("member keys: limit %d", limit)
	}
	switch {
	case spec.FromSource != "", spec.Query != "":
		var keys []string
		next, err := k.w.pageSnapshot(ctx, cursor, limit, func() (string, error) { return k.snapshot(ctx, spec, since) }, "k",
			func(scan func(...any) error) error {
				var s string
				if err := scan(&s); err != nil {
					return err
				}
				keys = append(keys, s)
				return nil
			})
		if err != nil {
			return nil, "", fmt.Errorf("member keys: %w", err)
		}
		return keys, next, nil
	case spec.File != "":
		return k.fromFile(spec.File, cursor, limit)
	}
	return nil, "", errors.New("key source: none of from_source, file, query is set")
}

// snapshot copies the distinct keys of a from_source or query key source
// (sorted) into a key snapshot, in one query.
func (k *KeyLister) snapshot(ctx context.Context, spec *config.KeySource, since time.Time) (string, error) {
	if spec.Query != "" {
		col, err := k.queryColumn(ctx, spec.Query)
		if err != nil {
			return "", err
		}
		return k.w.newSnapshot(ctx, "k", "SELECT DISTINCT toString(`"+strings.ReplaceAll(col, "`", "")+"`) AS k FROM ("+spec.Query+
			") WHERE k != '' ORDER BY k")
	}
	expr, ok := memberColumns[spec.Field]
	args := []any{}
	if !ok {
		// custom attributes are compact JSON written by us, so
		// visitParamExtract* (18.16's only JSON functions) are exact
		expr = "if(visitParamExtractString(custom_attrs, ?) != '', visitParamExtractString(custom_attrs, ?), visitParamExtractRaw(custom_attrs, ?))"
		args = append(args, spec.Field, spec.Field, spec.Field)
	}
	where := "source = ?"
	args = append(args, spec.FromSource)
	if !since.IsZero() {
		where += " AND synced_at >= ?"
		args = append(args, since.UTC().Truncate(time.Second))
	}
	// is_deleted is tested outside FINAL: a filter ClickHouse moves to
	// PREWHERE would drop a tombstone before the merge and revive the
	// version it replaced
	return k.w.newSnapshot(ctx, "k", "SELECT DISTINCT k FROM (SELECT "+expr+" AS k, is_deleted FROM "+k.w.Q("members")+" FINAL WHERE "+where+
		") WHERE is_deleted = 0 AND k NOT IN ('', 'null') ORDER BY k", args...)
}

// queryColumn returns the name of the single column a key query returns.
func (k *KeyLister) queryColumn(ctx context.Context, query string) (string, error) {
	rows, err := k.w.conn.Query(ctx, "SELECT * FROM ("+query+") LIMIT 0")
	if err != nil {
		return "", fmt.Errorf("member_keys query: %w", err)
	}
	defer rows.Close()
	cols := rows.Columns()
	if len(cols) != 1 {
		return "", fmt.Errorf("member_keys query returns %d columns, want exactly one", len(cols))
	}
	return cols[0], nil
}

// fromFile reads up to limit keys (non-empty lines, trimmed; lines
// starting with # are comments) from the byte offset cursor.
func (k *KeyLister) fromFile(path, cursor string, limit int) ([]string, string, error) {
	if !filepath.IsAbs(path) && k.Dir != "" {
		path = filepath.Join(k.Dir, path)
	}
	var off int64
	if cursor != "" {
		var err error
		if off, err = strconv.ParseInt(cursor, 10, 64); err != nil || off < 0 {
			return nil, "", fmt.Errorf("member keys file %s: bad cursor %q", path, cursor)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("member keys: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, "", fmt.Errorf("member keys file %s: %w", path, err)
	}
	r := bufio.NewReaderSize(f, 64<<10)
	var keys []string
	for len(keys) < limit {
		line, err := r.ReadString('\n')
		off += int64(len(line))
		if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") {
			keys = append(keys, s)
		}
		if errors.Is(err, io.EOF) {
			return keys, "", nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("member keys file %s: %w", path, err)
		}
	}
	// peek: at EOF there is no next batch
	if _, err := r.Peek(1); errors.Is(err, io.EOF) {
		return keys, "", nil
	}
	return keys, strconv.FormatInt(off, 10), nil
}
