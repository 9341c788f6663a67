#!/bin/bash
# SPDX-License-Identifier: ISC
#
# The api survives its database going away: readiness turns 503 (OpenMeet
# failure 13), writes answer 503 (the processor retries them), and both
# recover by themselves when the database is reachable again, without a
# restart. The outage is a TCP proxy (socat) between api and Postgres
# being stopped, which drops every open connection.

. tests/lib/common.sh
t_init api_db_recovery

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
command -v socat >/dev/null || t_skip "socat not installed"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
PROXY=$(t_free_port)
PORT=$(t_free_port)
BASE="http://127.0.0.1:$PORT"
T_PG_PORT_REAL=${T_PG_PORT}

proxy_up() {
	t_start proxy socat "TCP-LISTEN:$PROXY,bind=127.0.0.1,fork,reuseaddr" \
	    "TCP:$T_PG_HOST:$T_PG_PORT_REAL"
	t_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PROXY"
}
status() {
	curl -s -o /dev/null -m 10 -w '%{http_code}' "$@"
}
ready_is() {
	[ "$(status "$BASE/health/readiness")" = "$1" ]
}
write() {
	status -H 'Authorization: Bearer k-rec' -H 'x-tenant-id: t1' \
	    -H 'content-type: application/json' --data-binary \
	    "{\"name\":\"$1\",\"startDate\":\"2026-05-01T18:00:00Z\",\"source\":{\"type\":\"web\",\"id\":\"https://e.test/$1\"}}" \
	    "$BASE/api/integration/events"
}
read_name() {
	curl -s -m 10 -H 'Authorization: Bearer k-rec' -H 'x-tenant-id: t1' \
	    "$BASE/api/events/by-source?sourceType=web&sourceId=https://e.test/$1" |
	    jq -r .name
}

proxy_up
export DATABASE_URL="${DB/:$T_PG_PORT_REAL\//:$PROXY/}" \
    API_LISTEN="127.0.0.1:$PORT" API_WORKERS=1 SERVICE_API_KEYS=k-rec
t_start api "$API_BIN"
t_wait_http "$BASE/health/liveness" 30

t_check "ready through the proxy" t_wait_for 20 ready_is 200
t_eq "write while up -> 202" 202 "$(write before)"

t_stop proxy
t_check "readiness 503 while the database is away" t_wait_for 20 ready_is 503
t_eq "write while down -> 503" 503 "$(write during)"
t_eq "liveness still 200" 200 "$(status "$BASE/health/liveness")"

proxy_up
t_check "readiness 200 again without a restart" t_wait_for 30 ready_is 200
t_eq "write after recovery -> 202" 202 "$(write after)"
t_eq "data written before the outage is there" before "$(read_name before)"
t_eq "and the new write" after "$(read_name after)"
t_check "the api process never restarted" kill -0 "$(t_pid api)"
t_done
