package warehouse

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestClusterDDL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		stmt string
		want []string
	}{
		{"database", "CREATE DATABASE IF NOT EXISTS `loy`", []string{"CREATE DATABASE IF NOT EXISTS `loy` ON CLUSTER `c1`"}},
		{"entity table", "CREATE TABLE IF NOT EXISTS `loy`.levels (\n source LowCardinality(String),\n ver UInt64 COMMENT 'it''s \\'the\\' version'\n) ENGINE = ReplacingMergeTree(ver)\nORDER BY (source, level_id)",
			[]string{
				"CREATE TABLE IF NOT EXISTS `loy`.`levels_local` ON CLUSTER `c1` (\n source LowCardinality(String),\n ver UInt64\n) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/loy/levels_local', '{replica}', ver)\nORDER BY (source, level_id)",
				"CREATE TABLE IF NOT EXISTS `loy`.`levels` ON CLUSTER `c1` AS `loy`.`levels_local` ENGINE = Distributed(`c1`, `loy`, `levels_local`, cityHash64(source, level_id))",
			}},
		{"state table", "CREATE TABLE IF NOT EXISTS `loy`.`schema_migrations` (version String, applied_at DateTime) ENGINE = ReplacingMergeTree ORDER BY version",
			[]string{"CREATE TABLE IF NOT EXISTS `loy`.`schema_migrations` ON CLUSTER `c1` (version String, applied_at DateTime) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/loy/schema_migrations', '{shard}-{replica}') ORDER BY version"}},
		{"memory table", "CREATE TABLE `loy`.tmp (x UInt8) ENGINE = Memory",
			[]string{"CREATE TABLE `loy`.`tmp` ON CLUSTER `c1` (x UInt8) ENGINE = Memory"}},
		{"view", "CREATE VIEW IF NOT EXISTS `loy`.members_latest AS SELECT * FROM `loy`.members FINAL",
			[]string{"CREATE VIEW IF NOT EXISTS `loy`.members_latest ON CLUSTER `c1` AS SELECT * FROM `loy`.members FINAL"}},
		{"alter entity", "ALTER TABLE `loy`.members ADD COLUMN is_deleted UInt8 DEFAULT 0",
			[]string{
				"ALTER TABLE `loy`.`members_local` ON CLUSTER `c1` ADD COLUMN is_deleted UInt8 DEFAULT 0",
				"DROP TABLE IF EXISTS `loy`.`members` ON CLUSTER `c1`",
				"CREATE TABLE IF NOT EXISTS `loy`.`members` ON CLUSTER `c1` AS `loy`.`members_local` ENGINE = Distributed(`c1`, `loy`, `members_local`, cityHash64(source, member_id))",
			}},
		{"alter state", "ALTER TABLE `loy`.sync_runs ADD COLUMN x UInt8",
			[]string{"ALTER TABLE `loy`.`sync_runs` ON CLUSTER `c1` ADD COLUMN x UInt8"}},
		{"drop entity", "DROP TABLE IF EXISTS `loy`.coupons",
			[]string{"DROP TABLE IF EXISTS `loy`.`coupons` ON CLUSTER `c1`", "DROP TABLE IF EXISTS `loy`.`coupons_local` ON CLUSTER `c1`"}},
		{"insert select unchanged", "INSERT INTO `loy`.members SELECT * FROM `loy`.members_old", []string{"INSERT INTO `loy`.members SELECT * FROM `loy`.members_old"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ClusterDDL(tc.stmt, "c1", "loy"); !slices.Equal(got, tc.want) {
				t.Errorf("ClusterDDL(%q)\n got: %q\nwant: %q", tc.stmt, got, tc.want)
			}
			if got := ClusterDDL(tc.stmt, "", "loy"); !slices.Equal(got, []string{tc.stmt}) {
				t.Errorf("without a cluster the statement must stay as is, got %q", got)
			}
		})
	}
}

// Every migration statement rewrites to statements that name the cluster
// (except data statements), and each entity table's sharding key is a
// prefix of its ORDER BY key, so FINAL still deduplicates per shard.
func TestClusterDDLCoversMigrations(t *testing.T) {
	t.Parallel()
	migs, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	orderBy := regexp.MustCompile(`(?is)ORDER\s+BY\s+\(([^)]*)\)`)
	seen := map[string]bool{}
	for _, m := range migs {
		for _, st := range m.Statements {
			st = strings.ReplaceAll(st, "{db}", "`loy`")
			out := ClusterDDL(st, "c1", "loy")
			for _, q := range out {
				isDDL := regexp.MustCompile(`(?i)^\s*(CREATE|ALTER|DROP)\b`).MatchString(q)
				if isDDL && !strings.Contains(q, "ON CLUSTER `c1`") {
					t.Errorf("%s: %q is not ON CLUSTER", m.Version, q)
				}
			}
			mt := createTable.FindStringSubmatch(st)
			if mt == nil {
				continue
			}
			key, ok := distributedTables[mt[3]]
			if !ok {
				continue
			}
			seen[mt[3]] = true
			ob := orderBy.FindStringSubmatch(mt[7])
			if ob == nil || !strings.HasPrefix(strings.Join(strings.Fields(ob[1]), " "), key) {
				t.Errorf("%s: the sharding key (%s) of %s is not a prefix of its ORDER BY %v", m.Version, key, mt[3], ob)
			}
			if len(out) != 2 {
				t.Errorf("%s: entity table %s gives %d statements, want local + Distributed", m.Version, mt[3], len(out))
			}
		}
	}
	for name := range distributedTables {
		if !seen[name] {
			t.Errorf("no migration creates the entity table %s", name)
		}
	}
}
