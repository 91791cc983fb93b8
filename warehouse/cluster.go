package warehouse

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// distributedTables are the entity tables that get a Distributed table
// over a Replicated "<name>_local" table on a cluster, sharded by their
// ReplacingMergeTree key (so every version of a record lands on one
// shard and FINAL still deduplicates). Every other table (run state,
// checkpoints, outbound writes, rejected records, ...) is replicated to
// every node of the cluster under its own name.
//
// The sharding key of each is a prefix of its ORDER BY key (every version
// of a record goes to one shard); the ledgers shard by member, so a
// member's entries sit together.
var distributedTables = map[string]string{
	Members.Name:          "source, member_id",
	MemberIdentities.Name: "source, type, value",
	PointsLedger.Name:     "source, member_id",
	ExperienceLedger.Name: "source, member_id",
	Coupons.Name:          "source, coupon_id",
	MemberCoupons.Name:    "source, coupon_code",
	Levels.Name:           "source, level_id",
}

// LocalSuffix names the Replicated table under a Distributed entity table.
const LocalSuffix = "_local"

var (
	createDB    = regexp.MustCompile(`(?is)^\s*CREATE\s+DATABASE\s+(IF\s+NOT\s+EXISTS\s+)?(\S+)\s*$`)
	createTable = regexp.MustCompile("(?is)^\\s*CREATE\\s+TABLE\\s+(IF\\s+NOT\\s+EXISTS\\s+)?(\\{db\\}\\.|`?\\w+`?\\.)?`?(\\w+)`?\\s*\\((.*)\\)\\s*ENGINE\\s*=\\s*(\\w+)(?:\\s*\\(([^)]*)\\))?(.*)$")
	createView  = regexp.MustCompile("(?is)^\\s*CREATE\\s+(MATERIALIZED\\s+)?VIEW\\s+(IF\\s+NOT\\s+EXISTS\\s+)?((?:\\{db\\}\\.|`?\\w+`?\\.)?`?\\w+`?)(.*)$")
	alterTable  = regexp.MustCompile("(?is)^\\s*ALTER\\s+TABLE\\s+(\\{db\\}\\.|`?\\w+`?\\.)?`?(\\w+)`?\\s+(.*)$")
	// columnComment matches a column's COMMENT '...': ClickHouse 18.16
	// cannot create the second replica of a table with column comments
	// ("Table structure in ZooKeeper is too different"), so the cluster
	// schema goes without them.
	columnComment = regexp.MustCompile(`(?s)\s+COMMENT\s+'(?:[^'\\]|\\.|'')*'`)
	dropTable     = regexp.MustCompile("(?is)^\\s*DROP\\s+(TABLE|VIEW)\\s+(IF\\s+EXISTS\\s+)?(\\{db\\}\\.|`?\\w+`?\\.)?`?(\\w+)`?\\s*$")
)

// ClusterDDL rewrites one migration statement for a ClickHouse cluster
// (clickhouse.cluster): CREATE DATABASE/TABLE/VIEW, ALTER and DROP run ON
// CLUSTER; a MergeTree-family engine becomes its Replicated form; an entity
// table becomes "<name>_local" (Replicated, path
// /clickhouse/tables/{shard}/DB/<name>_local, replica {replica}) plus a
// Distributed table "<name>" over it, so every query and insert keeps
// using the table's own name. Other tables are replicated to every node
// (path /clickhouse/tables/all/DB/<name>, replica {shard}-{replica});
// column comments are dropped (18.16 cannot replicate them). An
// ALTER of an entity table alters the local table ON CLUSTER and
// re-creates the Distributed table (ClickHouse refuses ALTER ... ON CLUSTER
// on a Distributed table of a replicated shard). Other statements (INSERT
// ... SELECT data migrations) are returned unchanged. db is the database
// name that replaces {db}; cluster "" returns the statement as is.
func ClusterDDL(stmt, cluster, db string) []string {
	if cluster == "" {
		return []string{stmt}
	}
	on := " ON CLUSTER `" + cluster + "`"
	qdb := "`" + db + "`"
	switch {
	case createDB.MatchString(stmt):
		return []string{strings.TrimSpace(stmt) + on}
	case createTable.MatchString(stmt):
		m := createTable.FindStringSubmatch(stmt)
		ifne, name, cols, engine, args, rest := m[1], m[3], columnComment.ReplaceAllString(m[4], ""), m[5], m[6], m[7]
		if !strings.HasSuffix(engine, "MergeTree") || strings.HasPrefix(engine, "Replicated") {
			return []string{fmt.Sprintf("CREATE TABLE %s%s.`%s`%s (%s) ENGINE = %s%s%s", ifne, qdb, name, on, cols, engine, parens(args), rest)}
		}
		local, path, replica := name, "/clickhouse/tables/all/"+db+"/"+name, "{shard}-{replica}"
		if _, ok := distributedTables[name]; ok {
			local, path, replica = name+LocalSuffix, "/clickhouse/tables/{shard}/"+db+"/"+name+LocalSuffix, "{replica}"
		}
		rargs := "'" + path + "', '" + replica + "'"
		if strings.TrimSpace(args) != "" {
			rargs += ", " + args
		}
		out := []string{fmt.Sprintf("CREATE TABLE %s%s.`%s`%s (%s) ENGINE = Replicated%s(%s)%s", ifne, qdb, local, on, cols, engine, rargs, rest)}
		if _, ok := distributedTables[name]; ok {
			out = append(out, distributed(ifne, qdb, db, name, cluster, on))
		}
		return out
	case createView.MatchString(stmt):
		m := createView.FindStringSubmatch(stmt)
		return []string{"CREATE " + m[1] + "VIEW " + m[2] + m[3] + on + m[4]}
	case alterTable.MatchString(stmt):
		m := alterTable.FindStringSubmatch(stmt)
		name, rest := m[2], m[3]
		if _, ok := distributedTables[name]; !ok {
			return []string{fmt.Sprintf("ALTER TABLE %s.`%s`%s %s", qdb, name, on, rest)}
		}
		// the Distributed table takes its columns from the local one
		// when it is created again
		return []string{
			fmt.Sprintf("ALTER TABLE %s.`%s%s`%s %s", qdb, name, LocalSuffix, on, rest),
			fmt.Sprintf("DROP TABLE IF EXISTS %s.`%s`%s", qdb, name, on),
			distributed("IF NOT EXISTS ", qdb, db, name, cluster, on),
		}
	case dropTable.MatchString(stmt):
		m := dropTable.FindStringSubmatch(stmt)
		out := []string{fmt.Sprintf("DROP %s %s%s.`%s`%s", m[1], m[2], qdb, m[4], on)}
		if _, ok := distributedTables[m[4]]; ok && strings.EqualFold(m[1], "TABLE") {
			out = append(out, fmt.Sprintf("DROP TABLE %s%s.`%s%s`%s", m[2], qdb, m[4], LocalSuffix, on))
		}
		return out
	}
	return []string{stmt}
}

func distributed(ifne, qdb, db, name, cluster, on string) string {
	key := "cityHash64(" + distributedTables[name] + ")"
	return fmt.Sprintf("CREATE TABLE %s%s.`%s`%s AS %s.`%s%s` ENGINE = Distributed(`%s`, `%s`, `%s%s`, %s)",
		ifne, qdb, name, on, qdb, name, LocalSuffix, cluster, db, name, LocalSuffix, key)
}

func parens(args string) string {
	if args == "" {
		return ""
	}
	return "(" + args + ")"
}

// execDDL runs one schema statement, rewritten for the cluster when one is
// configured.
func (w *Warehouse) execDDL(ctx context.Context, stmt string) error {
	for _, q := range ClusterDDL(strings.ReplaceAll(stmt, "{db}", "`"+w.db+"`"), w.cluster, w.db) {
		if err := w.conn.Exec(ctx, q); err != nil && !alreadyDone(err) {
			return err
		}
	}
	return nil
}
