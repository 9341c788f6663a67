#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Project-local PostgreSQL 15 and RabbitMQ for development and tests.
# All state lives under .state/ in the repository; everything listens on
# loopback only, on ports that do not collide with system-wide servers:
#   Postgres   127.0.0.1:5433   trust auth, superuser role atcal, db atcal
#   RabbitMQ   127.0.0.1:5673   guest/guest; management :15673,
#              prometheus :15693, epmd :4370, distribution :25673
# `up` is idempotent and returns only when both answer (polled, deadline).
#
# A second, private pair (the fault suite restarts its own broker and
# database mid-stream without disturbing anyone else's) comes from
# SERVICES_STATE and SERVICES_{PG,RMQ,RMQ_MGMT,RMQ_PROM,RMQ_DIST,RMQ_EPMD}_PORT.
#
# Usage: scripts/services.sh up|down|status|reset|restart-postgres|restart-rabbitmq

set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${SERVICES_STATE:-$ROOT/.state}

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${SERVICES_PG_PORT:-5433}
PG_LINK=$STATE/pg

# .state/pg is a directory, or (root with a checkout user postgres cannot
# reach, e.g. under /root) a symlink to one under /var/tmp.
pg_paths() {
	PG_DIR=$PG_LINK
	[ ! -L "$PG_LINK" ] || PG_DIR=$(readlink -f "$PG_LINK")
	PG_DATA=$PG_DIR/data
	PG_LOG=$PG_DIR/postgres.log
}
pg_paths

RMQ_BIN=/usr/lib/rabbitmq/bin
RMQ_DIR=$STATE/rabbitmq
RMQ_PORT=${SERVICES_RMQ_PORT:-5673}
RMQ_MGMT_PORT=${SERVICES_RMQ_MGMT_PORT:-15673}
RMQ_PROM_PORT=${SERVICES_RMQ_PROM_PORT:-15693}
RMQ_DIST_PORT=${SERVICES_RMQ_DIST_PORT:-25673}
RMQ_EPMD_PORT=${SERVICES_RMQ_EPMD_PORT:-4370}
RMQ_NODE=rabbit@localhost

DEADLINE_S=${SERVICES_DEADLINE_S:-90}

die() {
	echo "services: $*" >&2
	exit 1
}

say() {
	echo "services: $*"
}

is_root() {
	[ "$(id -u)" = 0 ]
}

# Runs a command as the owner of the Postgres cluster: user postgres when we
# are root (initdb and postgres refuse root), ourselves otherwise.
as_pg() {
	if is_root; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_open() {
	# bash's /dev/tcp is not in POSIX sh; use a tiny bash child.
	bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# ---------------------------------------------------------------- Postgres

pg_running() {
	[ -f "$PG_DATA/PG_VERSION" ] &&
	    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_init() {
	[ -f "$PG_DATA/PG_VERSION" ] && return 0
	mkdir -p "$STATE"
	if is_root && [ ! -e "$PG_LINK" ] &&
	    ! runuser -u postgres -- test -x "$STATE"; then
		real=/var/tmp/atcal-pg-$(echo "$ROOT" | sha1sum | cut -c1-12)
		say "user postgres cannot reach $STATE; data in $real"
		mkdir -p "$real"
		ln -s "$real" "$PG_LINK"
		pg_paths
	fi
	mkdir -p "$PG_DIR"
	if is_root; then
		chown postgres: "$PG_DIR"
		runuser -u postgres -- test -w "$PG_DIR" ||
		    die "user postgres cannot write $PG_DIR"
	fi
	say "initdb $PG_DATA"
	as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U atcal -E UTF8 \
	    --locale=C.UTF-8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
	    { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
	# A disposable development cluster: durability is traded for speed.
	cat >>"$PG_DATA/postgresql.conf" <<EOF

# atcal local development cluster (scripts/services.sh)
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
}

pg_up() {
	if ! pg_running && port_open "$PG_PORT"; then
		# Another checkout's cluster (same settings) is as good as ours.
		psql_q -d postgres -tAc 'SELECT 1' >/dev/null 2>&1 ||
		    die "127.0.0.1:$PG_PORT is taken by another process:" \
		    "$(ss -Hltnp "sport = :$PG_PORT" 2>/dev/null)"
		say "reusing the Postgres already on 127.0.0.1:$PG_PORT" \
		    "(not started from this checkout)"
	elif ! pg_running; then
		pg_init
		say "starting postgres on 127.0.0.1:$PG_PORT"
		if is_root; then
			touch "$PG_LOG"
			chown postgres: "$PG_LOG"
		fi
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w \
		    -t "$DEADLINE_S" start >/dev/null ||
		    { tail -n 20 "$PG_LOG" >&2; die "postgres did not start"; }
	fi
	end=$(($(date +%s) + DEADLINE_S))
	until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; do
		[ "$(date +%s)" -lt "$end" ] || die "postgres not ready"
		sleep 0.2
	done
	if [ "$(psql_q -d postgres -tAc \
	    "SELECT 1 FROM pg_database WHERE datname = 'atcal'")" != 1 ]; then
		psql_q -d postgres -c "CREATE DATABASE atcal" >/dev/null
	fi
	say "postgres ready: postgresql://atcal@127.0.0.1:$PG_PORT/atcal"
}

psql_q() {
	psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U atcal "$@"
}

pg_down() {
	if pg_running; then
		say "stopping postgres"
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w \
		    -t "$DEADLINE_S" stop >/dev/null
	fi
}

# ---------------------------------------------------------------- RabbitMQ

# Every rabbitmq script reads these; HOME holds the erlang cookie.
rmq_env() {
	export HOME="$RMQ_DIR"
	export RABBITMQ_NODENAME="$RMQ_NODE"
	export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
	export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
	export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
	export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
	export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
	export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
	export RABBITMQ_PID_FILE="$RMQ_DIR/rabbit.pid"
	export RABBITMQ_DIST_PORT="$RMQ_DIST_PORT"
	export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
	export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
	export ERL_EPMD_PORT="$RMQ_EPMD_PORT"
	export ERL_EPMD_ADDRESS=127.0.0.1
	export ERL_CRASH_DUMP="$RMQ_DIR/erl_crash.dump"
}

rmq_init() {
	mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
	chmod 700 "$RMQ_DIR"
	if [ ! -f "$RMQ_DIR/.erlang.cookie" ]; then
		od -An -N16 -tx1 /dev/urandom | tr -d ' \n' \
		    >"$RMQ_DIR/.erlang.cookie"
		chmod 400 "$RMQ_DIR/.erlang.cookie"
	fi
	# Empty: keep /etc/rabbitmq/rabbitmq-env.conf out of the picture.
	: >"$RMQ_DIR/rabbitmq-env.conf"
	echo "[]." >"$RMQ_DIR/advanced.config"
	echo "[rabbitmq_management,rabbitmq_prometheus]." \
	    >"$RMQ_DIR/enabled_plugins"
	cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# atcal local broker (scripts/services.sh); loopback only
listeners.tcp.default = 127.0.0.1:$RMQ_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $RMQ_MGMT_PORT
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $RMQ_PROM_PORT
loopback_users.guest = true
log.console = false
log.file.level = warning
EOF
}

rmq_running() {
	[ -d "$RMQ_DIR" ] || return 1
	(rmq_env; "$RMQ_BIN/rabbitmqctl" -q -n "$RMQ_NODE" ping \
	    >/dev/null 2>&1)
}

rmq_mgmt_ready() {
	curl -fsS -o /dev/null -m 2 -u guest:guest \
	    "http://127.0.0.1:$RMQ_MGMT_PORT/api/overview" 2>/dev/null
}

rmq_up() {
	if ! rmq_running && port_open "$RMQ_PORT" && rmq_mgmt_ready; then
		# Another checkout's broker (same settings) is as good as ours.
		say "reusing the RabbitMQ already on 127.0.0.1:$RMQ_PORT" \
		    "(not started from this checkout)"
		return 0
	fi
	rmq_init
	if ! rmq_running; then
		for p in $RMQ_PORT $RMQ_MGMT_PORT $RMQ_DIST_PORT; do
			if port_open "$p"; then
				die "127.0.0.1:$p is taken by another process:" \
				    "$(ss -Hltnp "sport = :$p" 2>/dev/null)"
			fi
		done
		say "starting rabbitmq on 127.0.0.1:$RMQ_PORT"
		(
			rmq_env
			cd "$RMQ_DIR"
			# setsid: the broker must outlive this script and not
			# receive the caller's terminal signals.
			setsid "$RMQ_BIN/rabbitmq-server" \
			    >"$RMQ_DIR/startup.log" 2>&1 </dev/null &
		)
	fi
	end=$(($(date +%s) + DEADLINE_S))
	until rmq_running && rmq_mgmt_ready; do
		if [ "$(date +%s)" -ge "$end" ]; then
			tail -n 30 "$RMQ_DIR/startup.log" >&2 || true
			die "rabbitmq not ready within ${DEADLINE_S}s"
		fi
		sleep 0.5
	done
	say "rabbitmq ready: amqp://guest:guest@127.0.0.1:$RMQ_PORT/" \
	    "(management http://127.0.0.1:$RMQ_MGMT_PORT)"
}

rmq_down() {
	if rmq_running; then
		say "stopping rabbitmq"
		(rmq_env; "$RMQ_BIN/rabbitmqctl" -q -n "$RMQ_NODE" \
		    shutdown >/dev/null 2>&1) || true
	fi
	# Our private epmd outlives the node; stop it too once the node has
	# unregistered (epmd refuses -kill while nodes are registered).
	if [ -d "$RMQ_DIR" ] && port_open "$RMQ_EPMD_PORT"; then
		end=$(($(date +%s) + DEADLINE_S))
		while epmd -port "$RMQ_EPMD_PORT" -names 2>/dev/null |
		    grep -q '^name '; do
			[ "$(date +%s)" -lt "$end" ] || break
			sleep 0.2
		done
		epmd -port "$RMQ_EPMD_PORT" -kill >/dev/null 2>&1 || true
	fi
}

status() {
	rc=0
	if pg_running; then
		say "postgres: running on 127.0.0.1:$PG_PORT"
	else
		say "postgres: stopped"
		rc=1
	fi
	if rmq_running; then
		say "rabbitmq: running on 127.0.0.1:$RMQ_PORT"
	else
		say "rabbitmq: stopped"
		rc=1
	fi
	return $rc
}

case "${1:-}" in
up)
	mkdir -p "$STATE"
	pg_up
	rmq_up
	;;
down)
	pg_down
	rmq_down
	;;
status)
	status
	;;
restart-postgres)
	pg_down
	pg_up
	;;
restart-rabbitmq)
	rmq_down
	rmq_up
	;;
reset)
	pg_down
	rmq_down
	rm -rf "$PG_DIR" "$PG_LINK" "$RMQ_DIR"
	say "state removed"
	;;
*)
	echo "usage: $0 up|down|status|reset|restart-postgres|restart-rabbitmq" >&2
	exit 2
	;;
esac
