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
// come sorted and de-duplicated, with the last key as the cursor; keys
// from a file come in file order, with the byte offset as the cursor.
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
	switch {
	case spec.FromSource != "":
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
		q := "SELECT DISTINCT k FROM (SELECT " + expr + " AS k FROM " + k.w.Q("members") + " FINAL WHERE " + where + ")" +
			" WHERE k NOT IN ('', 'null') AND k > ? ORDER BY k LIMIT ?"
		return k.sorted(ctx, q, append(args, cursor, limit)...)
	case spec.Query != "":
		col, err := k.queryColumn(ctx, spec.Query)
		if err != nil {
			return nil, "", err
		}
		q := "SELECT DISTINCT toString(`" + strings.ReplaceAll(col, "`", "") + "`) AS k FROM (" + spec.Query + ") WHERE k != '' AND k > ? ORDER BY k LIMIT ?"
		return k.sorted(ctx, q, cursor, limit)
	case spec.File != "":
		return k.fromFile(spec.File, cursor, limit)
	}
	return nil, "", errors.New("key source: none of from_source, file, query is set")
}

func (k *KeyLister) sorted(ctx context.Context, q string, args ...any) ([]string, string, error) {
	rows, err := k.w.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("member keys: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, "", err
		}
		keys = append(keys, s)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	limit := args[len(args)-1].(int)
	if len(keys) < limit {
		return keys, "", nil
	}
	return keys, keys[len(keys)-1], nil
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
