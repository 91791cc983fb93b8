#!/usr/bin/env bash
# cluster.sh run -- COMMAND...: starts a local two-replica ClickHouse cluster
# (two clickhouse-server processes, one shard "01", replicas r1 and r2) and a
# ZooKeeper (Debian's zookeeper package), all on loopback in a temporary
# folder, runs COMMAND with
#   LOYALTYBRIDGE_TEST_CLUSTER=127.0.0.1:P1,127.0.0.1:P2   (native ports)
#   LOYALTYBRIDGE_TEST_CLUSTER_NAME=lb
# in its environment, then stops everything and deletes the folder.
# Ports: LB_ZK_PORT (default 12181), LB_CLUSTER_PORT1/2 (19101/19102; the
# HTTP and interserver ports are derived). Installs clickhouse-server and
# zookeeper from Debian when they are missing.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

say() { echo "cluster.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[[ ${1:-} == run && ${2:-} == -- && $# -gt 2 ]] || die "usage: $0 run -- COMMAND..."
shift 2

# install what is missing from Debian (idempotent), as services.sh does
missing=()
command -v clickhouse-server >/dev/null || missing+=(clickhouse-server)
[[ -f /usr/share/java/zookeeper.jar ]] || missing+=(zookeeper)
if ((${#missing[@]})); then
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || die "missing ${missing[*]}; run as root or: apt-get install -y ${missing[*]}"
		sudo=(sudo)
	fi
	say "installing from Debian: ${missing[*]}"
	"${sudo[@]}" apt-get update -qq || die "apt-get update failed"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
fi
command -v java >/dev/null || die "java is missing (it comes with the zookeeper package)"

zk_port=${LB_ZK_PORT:-12181}
p1=${LB_CLUSTER_PORT1:-19101}
p2=${LB_CLUSTER_PORT2:-19102}
cluster=lb

busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$zk_port" "$p1" "$p2" $((p1 - 1000)) $((p2 - 1000)) $((p1 + 100)) $((p2 + 100)); do
	busy "$p" && die "127.0.0.1:$p is in use; choose other ports (LB_ZK_PORT, LB_CLUSTER_PORT1, LB_CLUSTER_PORT2)"
done

dir=$(mktemp -d -t lb-cluster.XXXXXX)
pids=()
cleanup() {
	local rc=$?
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	rm -rf "$dir"
	exit $rc
}
trap cleanup EXIT INT TERM

# ---------------------------------------------------------------- ZooKeeper
mkdir -p "$dir/zk/data"
cat >"$dir/zk/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/zk/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
CFG
say "starting ZooKeeper on 127.0.0.1:$zk_port"
java -Dzookeeper.log.dir="$dir/zk" -Dzookeeper.root.logger=INFO,ROLLINGFILE \
	-cp "/usr/share/java/zookeeper.jar:/usr/share/java/*:/etc/zookeeper/conf" \
	org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zk/zoo.cfg" \
	</dev/null >"$dir/zk/stdout.log" 2>&1 &
pids+=($!)

zk_ok() { [[ $( (exec 3<>"/dev/tcp/127.0.0.1/$zk_port"; echo ruok >&3; timeout 2 cat <&3) 2>/dev/null) == imok ]]; }
# ClickHouse 18.16 crashes when ZooKeeper is not up yet: wait for it first
t0=$SECONDS
until zk_ok; do
	if ((SECONDS - t0 > 60)); then
		tail -n 20 "$dir/zk/stdout.log" >&2 || true
		die "ZooKeeper did not come up within 60s"
	fi
	sleep 0.3
done

# ---------------------------------------------------------------- ClickHouse
write_config() { # N TCP_PORT
	local n=$1 port=$2 d=$dir/ch$1
	mkdir -p "$d"/{data,tmp,user_files,format_schemas,log}
	cat >"$d/config.xml" <<CFG
<?xml version="1.0"?>
<yandex>
    <logger><level>information</level><log>$d/log/server.log</log><errorlog>$d/log/error.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$port</tcp_port>
    <http_port>$((port - 1000))</http_port>
    <interserver_http_port>$((port + 100))</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_concurrent_queries>100</max_concurrent_queries>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$d/data/</path>
    <tmp_path>$d/tmp/</tmp_path>
    <user_files_path>$d/user_files/</user_files_path>
    <format_schema_path>$d/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <zookeeper><node><host>127.0.0.1</host><port>$zk_port</port></node></zookeeper>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
    <macros><shard>01</shard><replica>r$n</replica></macros>
    <remote_servers>
        <$cluster>
            <shard>
                <internal_replication>true</internal_replication>
                <replica><host>127.0.0.1</host><port>$p1</port></replica>
                <replica><host>127.0.0.1</host><port>$p2</port></replica>
            </shard>
        </$cluster>
    </remote_servers>
</yandex>
CFG
	cat >"$d/users.xml" <<'CFG'
<?xml version="1.0"?>
<yandex>
    <!-- ON CLUSTER DDL runs in the DDL worker with the default profile, not the
         query's settings: 18.16 needs LowCardinality allowed here -->
    <profiles><default><max_memory_usage>2000000000</max_memory_usage><load_balancing>in_order</load_balancing><allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
CFG
}
for n in 1 2; do
	port=$p1
	[[ $n == 2 ]] && port=$p2
	write_config "$n" "$port"
	say "starting clickhouse-server r$n on 127.0.0.1:$port"
	(cd "$dir/ch$n" && exec clickhouse-server --config-file="$dir/ch$n/config.xml") \
		</dev/null >"$dir/ch$n/log/stdout.log" 2>&1 &
	pids+=($!)
done

answers() { timeout 5 clickhouse-client --host 127.0.0.1 --port "$1" --query "SELECT 1" >/dev/null 2>&1; }
t0=$SECONDS
until zk_ok && answers "$p1" && answers "$p2"; do
	if ((SECONDS - t0 > 90)); then
		for f in "$dir"/zk/stdout.log "$dir"/ch*/log/error.log "$dir"/ch*/log/stdout.log; do
			[[ -s $f ]] && { say "last lines of $f:"; tail -n 15 "$f" >&2; }
		done
		die "the cluster did not come up within 90s"
	fi
	sleep 0.5
done
say "cluster $cluster ready in $((SECONDS - t0))s: replicas 127.0.0.1:$p1 (r1) and 127.0.0.1:$p2 (r2), ZooKeeper 127.0.0.1:$zk_port"

set +e
LOYALTYBRIDGE_TEST_CLUSTER="127.0.0.1:$p1,127.0.0.1:$p2" LOYALTYBRIDGE_TEST_CLUSTER_NAME=$cluster "$@"
rc=$?
set -e
if ((rc != 0)); then
	for f in "$dir"/ch*/log/error.log; do
		[[ -s $f ]] && { say "last lines of $f:"; tail -n 10 "$f" >&2; }
	done
fi
exit $rc
