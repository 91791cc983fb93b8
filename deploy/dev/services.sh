#!/usr/bin/env bash
# Development and CI services for loyaltybridge: Redis and ClickHouse from
# Debian's packages (installed with apt-get when missing), on loopback only,
# with every file (data, logs, pid files, generated config) in one
# project-local folder. Idempotent; `down` stops only what `up` started.
#
#   deploy/dev/services.sh up       install when missing, start, wait until both answer
#   deploy/dev/services.sh down     stop what `up` started (by pid file) and wait for exit
#   deploy/dev/services.sh status   running/stopped, pid, port of each service
#   deploy/dev/services.sh env      `export` lines for the integration tests
#
# Environment:
#   LOYALTYBRIDGE_DATA       data folder (default <repo>/.data)
#   LB_REDIS_PORT            Redis port (default 16379)
#   LB_CLICKHOUSE_PORT       ClickHouse native port (default 19000)
#   LB_CLICKHOUSE_HTTP_PORT  ClickHouse HTTP port (default 18123)
#   LB_WAIT_SECONDS          how long `up` waits for the servers (default 60)
#
# Layout of the data folder:
#   redis/       redis.pid, redis.log, stderr.log, port (and Redis's working dir; nothing is persisted)
#   clickhouse/  clickhouse.pid, port, etc/{config,users}.xml (generated at every start),
#                data/ (tables, kept across restarts), tmp/, user_files/, format_schemas/, log/
#
# This script is also embedded in the binary (deploy/deploy.go) and run from
# a temporary copy by `loyaltybridge demo`, which always sets LOYALTYBRIDGE_DATA.
set -euo pipefail

# clickhouse-server lives in /usr/sbin, which a non-login PATH may lack.
export PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd -P)
data=${LOYALTYBRIDGE_DATA:-$root/.data}
[[ $data == /* ]] || data=$PWD/$data
# One spelling per folder (pid checks compare paths): resolve ./, .. and links.
if [[ ${1:-} == up ]]; then mkdir -p "$data"; fi
if [[ -d $data ]]; then data=$(cd "$data" && pwd -P); fi
redis_port=${LB_REDIS_PORT:-16379}
ch_port=${LB_CLICKHOUSE_PORT:-19000}
ch_http_port=${LB_CLICKHOUSE_HTTP_PORT:-18123}
wait_seconds=${LB_WAIT_SECONDS:-60}

redis_dir=$data/redis
ch_dir=$data/clickhouse
redis_pid=$redis_dir/redis.pid
ch_pid=$ch_dir/clickhouse.pid
redis_log=$redis_dir/redis.log
redis_stderr=$redis_dir/stderr.log
ch_log=$ch_dir/log/server.log
ch_errlog=$ch_dir/log/error.log
ch_stderr=$ch_dir/log/stderr.log

say() { printf 'services: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

for v in redis_port ch_port ch_http_port wait_seconds; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number, got '${!v}'"
done
((redis_port != ch_port && redis_port != ch_http_port && ch_port != ch_http_port)) ||
	die "the ports must differ (redis $redis_port, clickhouse $ch_port, clickhouse http $ch_http_port)"

# ---------------------------------------------------------------- processes

# ours NAME PIDFILE: the pid file names a live process that is this data
# folder's server (not a zombie, not a recycled pid of something else).
ours() {
	local name=$1 pidfile=$2 pid state
	[[ -f $pidfile ]] || return 1
	pid=$(<"$pidfile") || return 1
	pid=${pid//[[:space:]]/}
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	state=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
	[[ -n $state && $state != Z* ]] || return 1
	case $name in
	redis)
		# redis-server retitles itself "redis-server 127.0.0.1:PORT"; its cwd is --dir.
		[[ $(ps -o comm= -p "$pid" 2>/dev/null) == redis-server* ]] || return 1
		[[ ! -e /proc/$pid/cwd || $(readlink "/proc/$pid/cwd") == "$(cd "$redis_dir" 2>/dev/null && pwd -P)" ]]
		;;
	clickhouse)
		[[ $(ps -o args= -p "$pid" 2>/dev/null) == *"--config-file=$ch_dir/etc/config.xml"* ]]
		;;
	esac
}

pid_of() { tr -d '[:space:]' <"$1"; }

# port_busy PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# who_listens PORT: a hint naming the process on a port (when ss is there).
who_listens() {
	command -v ss >/dev/null || return 0
	ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/ (\1)/p' | head -n 1
}

# The probes are bounded by `timeout`: a hung or stopped server accepts the
# TCP connection and then never answers (clickhouse-client would wait 300s).
redis_answers() {
	[[ $(timeout 5 redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null </dev/null) == PONG ]]
}
ch_answers() {
	timeout 5 clickhouse-client --host 127.0.0.1 --port "$ch_port" \
		--connect_timeout 2 --receive_timeout 4 --send_timeout 4 --query 'SELECT 1' \
		</dev/null >/dev/null 2>&1
}

running_port() { # dir: the port recorded by the start that is running now
	if [[ -f $1/port ]]; then tr -d '[:space:]' <"$1/port"; fi
}

# ---------------------------------------------------------------- install

install_missing() {
	local missing=()
	command -v redis-server >/dev/null || missing+=(redis-server)
	command -v redis-cli >/dev/null || missing+=(redis-tools)
	command -v clickhouse-server >/dev/null || missing+=(clickhouse-server)
	command -v clickhouse-client >/dev/null || missing+=(clickhouse-client)
	((${#missing[@]} == 0)) && return 0

	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || die "missing ${missing[*]}; run as root or install them: apt-get install -y ${missing[*]}"
		sudo=(sudo)
	fi
	say "installing from Debian: ${missing[*]}"
	# The packages' postinst would start the system-wide services (Redis on
	# 6379, ClickHouse on 9000 with /var/lib/clickhouse) where no init system
	# stops them: forbid that for the duration of the install, as Docker
	# images do with policy-rc.d.
	local policy=/usr/sbin/policy-rc.d added_policy=
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# temporary, from loyaltybridge deploy/dev/services.sh\nexit 101\n' |
			"${sudo[@]}" tee "$policy" >/dev/null && "${sudo[@]}" chmod 755 "$policy" && added_policy=1
	fi
	local ok=1
	export DEBIAN_FRONTEND=noninteractive
	if ! "${sudo[@]}" apt-get update -qq; then
		ok=
		say "apt-get update failed"
	elif ! "${sudo[@]}" apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" >&2; then
		ok=
		say "apt-get install -y ${missing[*]} failed"
	fi
	if [[ -n $added_policy ]]; then "${sudo[@]}" rm -f "$policy"; fi
	[[ -n $ok ]] || die "could not install ${missing[*]} from Debian"
	for b in redis-server redis-cli clickhouse-server clickhouse-client; do
		command -v "$b" >/dev/null || die "$b is still missing after apt-get install"
	done
}

# ---------------------------------------------------------------- ClickHouse config

# Only keys that ClickHouse 18.16 knows. No interserver_http_port: without
# it 18.16 opens no interserver port. Unknown keys would be ignored silently.
write_clickhouse_config() {
	mkdir -p "$ch_dir"/{etc,data,tmp,user_files,format_schemas,log}
	cat >"$ch_dir/etc/config.xml.new" <<EOF
<?xml version="1.0"?>
<!-- Generated by deploy/dev/services.sh at every start: edit the script, not this file. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$ch_log</log>
        <errorlog>$ch_errlog</errorlog>
        <size>10M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$ch_port</tcp_port>
    <http_port>$ch_http_port</http_port>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>200</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$ch_dir/data/</path>
    <tmp_path>$ch_dir/tmp/</tmp_path>
    <user_files_path>$ch_dir/user_files/</user_files_path>
    <format_schema_path>$ch_dir/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <max_table_size_to_drop>0</max_table_size_to_drop>
    <max_partition_size_to_drop>0</max_partition_size_to_drop>
</yandex>
EOF
	cat >"$ch_dir/etc/users.xml.new" <<'EOF'
<?xml version="1.0"?>
<!-- Generated by deploy/dev/services.sh at every start: edit the script, not this file. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
	mv -f "$ch_dir/etc/config.xml.new" "$ch_dir/etc/config.xml"
	mv -f "$ch_dir/etc/users.xml.new" "$ch_dir/etc/users.xml"
}

# ---------------------------------------------------------------- start

# check_port NAME PORT: fail before starting when another program has the port.
check_port() {
	if port_busy "$2"; then
		die "127.0.0.1:$2 is already in use$(who_listens "$2"), not by this data folder's $1 ($data). Stop that program, or choose other ports (LB_REDIS_PORT, LB_CLICKHOUSE_PORT, LB_CLICKHOUSE_HTTP_PORT)."
	fi
}

# already_running NAME DIR PORT: the service of this data folder runs; make
# sure it runs on the requested port.
already_running() {
	local have
	have=$(running_port "$2")
	if [[ -n $have && $have != "$3" ]]; then
		die "$1 of $data already runs on port $have, not $3: run '$0 down' first, or use another LOYALTYBRIDGE_DATA"
	fi
}

start_redis() {
	if ours redis "$redis_pid"; then
		already_running redis "$redis_dir" "$redis_port"
		return 0
	fi
	rm -f "$redis_pid" "$redis_dir/port"
	check_port redis "$redis_port"
	mkdir -p "$redis_dir"
	say "starting redis-server on 127.0.0.1:$redis_port (log $redis_log)"
	# fds 0-2 and the lock (9) are closed/redirected: the daemon must not
	# hold the caller's pipes (a Go exec.Cmd would wait for it forever).
	redis-server --port "$redis_port" --bind 127.0.0.1 --protected-mode yes \
		--daemonize yes --pidfile "$redis_pid" --logfile "$redis_log" --dir "$redis_dir" \
		--save "" --appendonly no \
		</dev/null >>"$redis_stderr" 2>&1 9>&- ||
		fail redis "$redis_stderr" "$redis_log" "redis-server exited with status $?"
	echo "$redis_port" >"$redis_dir/port"
}

start_clickhouse() {
	if ours clickhouse "$ch_pid"; then
		already_running clickhouse "$ch_dir" "$ch_port"
		return 0
	fi
	rm -f "$ch_pid" "$ch_dir/port"
	check_port clickhouse "$ch_port"
	check_port "clickhouse (http)" "$ch_http_port"
	write_clickhouse_config
	say "starting clickhouse-server on 127.0.0.1:$ch_port, http $ch_http_port (logs in $ch_dir/log)"
	# --daemon: forks, writes --pid-file, redirects its stdout/stderr to
	# log/stdout.log and log/stderr.log, and chdirs to data/cores.
	(cd "$ch_dir" && exec clickhouse-server --config-file="$ch_dir/etc/config.xml" \
		--pid-file="$ch_pid" --daemon) </dev/null >>"$ch_stderr" 2>&1 9>&- ||
		fail clickhouse "$ch_stderr" "clickhouse-server exited with status $?"
	echo "$ch_port" >"$ch_dir/port"
}

# fail NAME LOG... MESSAGE: report a start failure with the logs' tails.
fail() {
	local name=$1 msg=${*: -1} log
	say "$name: $msg"
	for log in "${@:2:$#-2}"; do
		[[ -s $log ]] || continue
		say "last lines of $log:"
		tail -n 20 "$log" | sed 's/^/    /' >&2
	done
	exit 1
}

# wait_for NAME PIDFILE CHECK LOG...: until CHECK succeeds; fail at once if
# the server has died, or after wait_seconds.
wait_for() {
	local name=$1 pidfile=$2 check=$3 start=$SECONDS
	shift 3
	until $check; do
		if [[ -f $pidfile ]] && ! ours "$name" "$pidfile"; then
			fail "$name" "$@" "exited during start-up"
		fi
		if [[ ! -f $pidfile ]] && ((SECONDS - start >= 10)); then
			fail "$name" "$@" "did not start (no pid file $pidfile after 10s)"
		fi
		if ((SECONDS - start >= wait_seconds)); then
			fail "$name" "$@" "did not answer on 127.0.0.1 within ${wait_seconds}s (LB_WAIT_SECONDS)"
		fi
		sleep 0.2
	done
}

lock() {
	mkdir -p "$data"
	command -v flock >/dev/null || return 0
	exec 9>"$data/.services.lock"
	flock -w "$((wait_seconds + 60))" 9 || die "another services.sh holds $data/.services.lock"
}

up() {
	lock
	install_missing
	start_redis
	start_clickhouse
	local t0=$SECONDS
	wait_for redis "$redis_pid" redis_answers "$redis_log" "$redis_stderr"
	wait_for clickhouse "$ch_pid" ch_answers "$ch_errlog" "$ch_stderr" "$ch_log"
	say "ready: redis 127.0.0.1:$redis_port (pid $(pid_of "$redis_pid")), clickhouse 127.0.0.1:$ch_port (pid $(pid_of "$ch_pid")), waited $((SECONDS - t0))s; data in $data"
}

# ---------------------------------------------------------------- stop

stop_one() { # name pidfile dir
	local name=$1 pidfile=$2 dir=$3 pid
	if ! ours "$name" "$pidfile"; then
		if [[ -f $pidfile ]]; then say "$name: removing stale pid file $pidfile"; fi
		rm -f "$pidfile" "$dir/port"
		say "$name is not running"
		return 0
	fi
	pid=$(pid_of "$pidfile")
	say "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for ((i = 0; i < 150; i++)); do # 30 s
		ours "$name" "$pidfile" || break
		sleep 0.2
	done
	if ours "$name" "$pidfile"; then
		say "$name did not stop within 30s: sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			ours "$name" "$pidfile" || break
			sleep 0.1
		done
	fi
	rm -f "$pidfile" "$dir/port"
}

down() {
	[[ -d $data ]] || {
		say "nothing to stop: $data does not exist"
		return 0
	}
	lock
	stop_one clickhouse "$ch_pid" "$ch_dir"
	stop_one redis "$redis_pid" "$redis_dir"
}

# ---------------------------------------------------------------- status, env

status() {
	local name pidfile dir port answers
	for name in redis clickhouse; do
		if [[ $name == redis ]]; then
			pidfile=$redis_pid dir=$redis_dir port=$redis_port
		else
			pidfile=$ch_pid dir=$ch_dir port=$ch_port
		fi
		if ours "$name" "$pidfile"; then
			port=$(running_port "$dir")
			if [[ -z $port ]]; then port=$([[ $name == redis ]] && echo "$redis_port" || echo "$ch_port"); fi
			answers=answering
			if [[ $name == redis ]]; then
				[[ $port != "$redis_port" ]] || redis_answers || answers="NOT answering"
			else
				[[ $port != "$ch_port" ]] || ch_answers || answers="NOT answering"
			fi
			printf '%-10s running  pid %-8s 127.0.0.1:%-6s %s\n' "$name" "$(pid_of "$pidfile")" "$port" "$answers"
		else
			printf '%-10s stopped  %-12s 127.0.0.1:%s\n' "$name" "" "$port"
		fi
	done
	printf '%-10s %s\n' data "$data"
}

env_lines() {
	printf 'export LOYALTYBRIDGE_TEST_REDIS=127.0.0.1:%s\n' "$redis_port"
	printf 'export LOYALTYBRIDGE_TEST_CLICKHOUSE=127.0.0.1:%s\n' "$ch_port"
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
env) env_lines ;;
*)
	echo "usage: $0 up|down|status|env" >&2
	exit 2
	;;
esac
