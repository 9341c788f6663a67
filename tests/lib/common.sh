# SPDX-License-Identifier: ISC
#
# Harness for integration scripts (bash; sourced; run from the repo root).
# Each script calls t_init first; everything it creates (processes started
# with t_start, databases from t_new_db, vhosts from t_new_vhost, the temp
# dir $T_DIR) is torn down by the EXIT trap, also when the script dies.
# Results are recorded with t_check/t_eq; t_done prints "N passed, N failed"
# and exits 0 iff nothing failed. Waiting is always polling with a deadline.
#
# The local servers are the ones `make services-up` starts; override with
# T_PG_HOST/T_PG_PORT/T_PG_USER, T_AMQP_PORT, T_MGMT_URL when needed.
# Scripts start the services from $T_BIN (default build/bin).

T_PG_HOST=${T_PG_HOST:-127.0.0.1}
T_PG_PORT=${T_PG_PORT:-5433}
T_PG_USER=${T_PG_USER:-atcal}
T_AMQP_PORT=${T_AMQP_PORT:-5673}
T_MGMT_URL=${T_MGMT_URL:-http://127.0.0.1:15673}
T_MQ_USER=guest
T_MQ_PASS=guest
# Where the service binaries are (make check-asan points it at build-asan/bin).
T_BIN=${T_BIN:-build/bin}

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

declare -A T_PIDS=()
T_PASS=0
T_FAIL=0
T_NAME=
T_DIR=

_t_say() {
	printf '%s: %s\n' "$T_NAME" "$*"
}

# Usage: t_init NAME. Creates $T_DIR, installs the cleanup trap, cd's to
# the repository root.
t_init() {
	T_NAME=$1
	T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/atcal-$T_NAME.XXXXXX") || {
		echo "t_init: mktemp failed" >&2
		exit 1
	}
	: >"$T_DIR/.dbs"
	: >"$T_DIR/.vhosts"
	: >"$T_DIR/.ports"
	cd "$T_ROOT" || exit 1
	trap _t_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	_t_say "dir $T_DIR"
}

_t_cleanup() {
	local rc=$? name db vh
	trap - EXIT
	for name in "${!T_PIDS[@]}"; do
		t_stop "$name" TERM >/dev/null 2>&1
	done
	while read -r db; do
		[ -n "$db" ] || continue
		_t_psql -d postgres -c \
		    "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" \
		    >/dev/null 2>&1 || _t_say "could not drop database $db"
	done <"$T_DIR/.dbs"
	while read -r vh; do
		[ -n "$vh" ] || continue
		curl -s -o /dev/null -m 10 -u "$T_MQ_USER:$T_MQ_PASS" \
		    -X DELETE "$T_MGMT_URL/api/vhosts/$vh" ||
		    _t_say "could not delete vhost $vh"
	done <"$T_DIR/.vhosts"
	if [ "$T_FAIL" -eq 0 ] && { [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; } &&
	    [ -z "${T_KEEP:-}" ]; then
		rm -rf "$T_DIR"
	else
		_t_say "kept $T_DIR for inspection"
	fi
	exit "$rc"
}

_t_psql() {
	psql -X -q -v ON_ERROR_STOP=1 -h "$T_PG_HOST" -p "$T_PG_PORT" \
	    -U "$T_PG_USER" "$@"
}

_t_rand() {
	od -An -N6 -tx1 /dev/urandom | tr -d ' \n'
}

# Creates a fresh database (dropped at exit); echoes its DATABASE_URL.
t_new_db() {
	local db
	db="atcal_t_$(_t_rand)"
	_t_psql -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null || {
		echo "t_new_db: cannot create database on" \
		    "$T_PG_HOST:$T_PG_PORT (make services-up?)" >&2
		return 1
	}
	echo "$db" >>"$T_DIR/.dbs"
	echo "postgresql://$T_PG_USER@$T_PG_HOST:$T_PG_PORT/$db"
}

# Creates a fresh RabbitMQ vhost with guest granted everything (deleted at
# exit); echoes its RABBITMQ_URL.
t_new_vhost() {
	local vh code
	vh="atcal-t-$(_t_rand)"
	code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 \
	    -u "$T_MQ_USER:$T_MQ_PASS" -X PUT "$T_MGMT_URL/api/vhosts/$vh")
	case "$code" in
	201|204) ;;
	*)	echo "t_new_vhost: management API answered '$code'" \
		    "(make services-up?)" >&2
		return 1 ;;
	esac
	echo "$vh" >>"$T_DIR/.vhosts"
	code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 \
	    -u "$T_MQ_USER:$T_MQ_PASS" -X PUT \
	    -H 'content-type: application/json' \
	    -d '{"configure":".*","write":".*","read":".*"}' \
	    "$T_MGMT_URL/api/permissions/$vh/$T_MQ_USER")
	case "$code" in
	201|204) ;;
	*)	echo "t_new_vhost: permissions answered '$code'" >&2
		return 1 ;;
	esac
	echo "amqp://$T_MQ_USER:$T_MQ_PASS@127.0.0.1:$T_AMQP_PORT/$vh"
}

# Echoes a free 127.0.0.1 TCP port below the ephemeral range (so it cannot
# be taken by an outgoing connection meanwhile), never the same twice in
# one script.
t_free_port() {
	local port i
	for i in $(seq 1 200); do
		port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
		grep -qx "$port" "$T_DIR/.ports" 2>/dev/null && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
		    ! ss -Htan "sport = :$port" 2>/dev/null | grep -q .; then
			echo "$port" >>"$T_DIR/.ports"
			echo "$port"
			return 0
		fi
	done
	echo "t_free_port: no free port found" >&2
	return 1
}

# Usage: t_start NAME CMD... Runs CMD in the background in its own process
# group (so helpers it forks die with it), output in $T_DIR/NAME.log
# (appended: a restarted process keeps one log). Must not be called in $().
t_start() {
	local name=$1
	shift
	if [ -n "${T_PIDS[$name]:-}" ] && kill -0 "${T_PIDS[$name]}" 2>/dev/null
	then
		_t_say "t_start: $name is already running"
		return 1
	fi
	echo "=== $(date -u +%FT%TZ) start: $*" >>"$T_DIR/$name.log"
	# Not a process group leader here (no job control), so setsid execs
	# in place and $! is the command's own pid.
	setsid "$@" >>"$T_DIR/$name.log" 2>&1 </dev/null &
	T_PIDS[$name]=$!
	_t_say "started $name pid ${T_PIDS[$name]}"
}

# Echoes the pid of a process started with t_start.
t_pid() {
	echo "${T_PIDS[$1]:-}"
}

# Usage: t_stop NAME [SIGNAL]. Signals the process (default TERM), waits up
# to 20 s for it (then KILLs), and KILLs whatever is left in its group.
t_stop() {
	local name=$1 sig=${2:-TERM} pid i
	pid=${T_PIDS[$name]:-}
	[ -n "$pid" ] || return 0
	kill -s "$sig" "$pid" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		_t_say "$name ignored SIG$sig for 20 s; killing"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	kill -KILL -- "-$pid" 2>/dev/null
	unset 'T_PIDS[$name]'
	_t_say "stopped $name (SIG$sig)"
	return 0
}

# Usage: t_wait_for SECS CMD... Polls CMD until it succeeds; returns 1 at
# the deadline.
t_wait_for() {
	local secs=$1 end
	shift
	end=$(($(date +%s) + secs))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
	return 0
}

_t_http_answers() {
	curl -s -o /dev/null -m 2 "$1"
}

# Usage: t_wait_http URL [SECS]. Polls until URL answers with any HTTP
# status; at the deadline records a failure and ends the script.
t_wait_http() {
	local url=$1 secs=${2:-30}
	if ! t_wait_for "$secs" _t_http_answers "$url"; then
		_t_record 1 "$url answers within ${secs}s"
		t_done
	fi
}

_t_record() {
	if [ "$1" -eq 0 ]; then
		T_PASS=$((T_PASS + 1))
		printf 'ok   - %s\n' "$2"
	else
		T_FAIL=$((T_FAIL + 1))
		printf 'FAIL - %s\n' "$2"
	fi
}

# Usage: t_check DESC CMD... Runs CMD and records pass/fail; its output is
# shown only on failure.
t_check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	_t_record "$rc" "$desc"
	if [ "$rc" -ne 0 ] && [ -n "$out" ]; then
		printf '%s\n' "$out" | tail -n 40 | sed 's/^/     | /'
	fi
	return "$rc"
}

# Usage: t_eq DESC EXPECTED ACTUAL.
t_eq() {
	if [ "$2" = "$3" ]; then
		_t_record 0 "$1"
		return 0
	fi
	_t_record 1 "$1"
	printf '     | expected: %s\n     | actual:   %s\n' "$2" "$3"
	return 1
}

# Usage: t_skip REASON. Ends the script as skipped (exit 77).
t_skip() {
	_t_say "SKIP: $*"
	exit 77
}

# Prints "N passed, N failed" and exits 0 iff nothing failed. On failure the
# tail of every process log is shown.
t_done() {
	local f
	if [ "$T_FAIL" -ne 0 ]; then
		for f in "$T_DIR"/*.log; do
			[ -f "$f" ] || continue
			echo "----- last lines of $f"
			tail -n 30 "$f"
		done
	fi
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
	exit
}
