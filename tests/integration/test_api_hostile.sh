#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Hostile clients against a real api process (2 Kore workers) and a fresh
# database: HOSTILE_REQUESTS requests (10,000 here, 100,000 in
# `make test-hostile`) from tests/hostile/hostile.c mixing malformed JSON,
# wrong types, oversized and deep bodies, invalid UTF-8, header abuse, bad
# and missing keys, wrong tenants and SQL metacharacters with valid event
# writes. Passes when every answer is one of the documented 4xx (zero 5xx),
# the api and both workers survive without a restart, and the database
# changed by exactly the valid writes answered 202: the seeded tenant's rows
# hash the same before and after, and the hostile tenant holds one event per
# 202.

. tests/lib/common.sh
t_init api_hostile

API_BIN=${API_BIN:-build/bin/api}
HOSTILE_BIN=${HOSTILE_BIN:-build/tests/hostile/hostile}
N=${HOSTILE_REQUESTS:-10000}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
[ -x "$HOSTILE_BIN" ] || t_skip "$HOSTILE_BIN not built (make all)"
command -v jq >/dev/null || t_skip "jq not installed"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
PORT=$(t_free_port)
BASE="http://127.0.0.1:$PORT"
KEY=k-hostile-main-5f1d7a
TKEY=k-hostile-t2-93be04
BODY_MAX=131072
export DATABASE_URL="$DB" API_LISTEN="127.0.0.1:$PORT" API_WORKERS=2 \
    SERVICE_API_KEYS="$KEY,$TKEY=t2" SCHEMA_DIR=schema \
    API_BODY_MAX=$BODY_MAX LOG_LEVEL=warn
t_start api "$API_BIN"
t_wait_http "$BASE/health/liveness" 30
t_check "readiness 200" t_wait_for 20 \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $BASE/health/readiness) = 200 ]"

sql() {
	psql -X -q -At "$DB" -c "$1"
}

# --- seed data in tenant "seed" (the hostile run must leave it alone) ------
post() {
	curl -s -o /dev/null -w '%{http_code}' -m 10 -X POST \
	    -H "Authorization: Bearer $KEY" -H "x-tenant-id: seed" \
	    -H 'content-type: application/json' --data-binary "$2" \
	    "$BASE/api/integration/$1"
}
SEED_DID=did:plc:seedseedseedseedseed
seeded=0
for i in $(seq 1 10); do
	uri="at://$SEED_DID/community.lexicon.calendar.event/3lhseed${i}aa"
	ev=$(jq -cn --arg uri "$uri" --arg n "Seed $i" '{name: $n,
	    startDate: "2026-06-01T10:00:00Z", source: {type: "bluesky",
	    id: $uri, metadata: {rev: "3mptbypluud2a"}}}')
	[ "$(post events "$ev")" = 202 ] && seeded=$((seeded + 1))
	rs=$(jq -cn --arg ev "$uri" --arg did "did:plc:rsvprsvprsvp$i" '{
	    eventSourceId: $ev, eventSourceType: "bluesky", userDid: $did,
	    status: "going", sourceId: ("at://" + $did +
	    "/community.lexicon.calendar.rsvp/3lhrsvpaaaa"),
	    metadata: {rev: "3mptbypluud2a"}}')
	[ "$(post rsvps "$rs")" = 202 ] && seeded=$((seeded + 1))
done
t_eq "seed: 10 events and 10 RSVPs stored" 20 "$seeded"

# One line per table: name, rows outside the hostile tenant and their hash
# (tables without a tenant: all rows).
snapshot() {
	local t q
	for t in $(sql "SELECT table_name FROM information_schema.tables
	    WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
	    ORDER BY 1"); do
		if [ -n "$(sql "SELECT 1 FROM information_schema.columns
		    WHERE table_schema = 'public' AND table_name = '$t'
		    AND column_name = 'tenant_id'")" ]; then
			q="SELECT count(*) || ' ' || coalesce(md5(string_agg(
			    x::text, '|' ORDER BY x::text)), '-') FROM \"$t\" x
			    WHERE tenant_id <> 'hostile'"
		else
			q="SELECT count(*) || ' ' || coalesce(md5(string_agg(
			    x::text, '|' ORDER BY x::text)), '-') FROM \"$t\" x"
		fi
		echo "$t $(sql "$q")"
	done
}
snapshot >"$T_DIR/before"
t_check "snapshot covers events, attendees and users" \
    grep -qE '^(events|attendees|users) [1-9]' "$T_DIR/before"

# --- the hostile run ---------------------------------------------------------
t0=$(date +%s)
"$HOSTILE_BIN" -u "$BASE" -k "$KEY" -K "$TKEY" -t hostile -T seed \
    -n "$N" -c 16 -b "$BODY_MAX" -s "${HOSTILE_SEED:-$$}" \
    >"$T_DIR/hostile.out" 2>"$T_DIR/hostile.err"
rc=$?
echo "hostile: $N requests in $(($(date +%s) - t0)) s"
sed 's/^/     | /' "$T_DIR/hostile.out"
t_eq "every answer documented (hostile exit 0)" 0 "$rc" ||
    sed 's/^/     | /' "$T_DIR/hostile.err"
summary=$(tail -n 1 "$T_DIR/hostile.out")
t_check "all $N requests answered" grep -q "^total=$N " "$T_DIR/hostile.out"
t_check "zero 5xx" grep -q " status_5xx=0 " <<<"$summary"
created=$(sed -n 's/.* valid_created=\([0-9]*\) .*/\1/p' <<<"$summary")
t_check "valid writes were mixed in" test "${created:-0}" -gt 0

# --- survivors ---------------------------------------------------------------
t_check "api parent alive" kill -0 "$(t_pid api)"
t_eq "liveness 200 after the run" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$BASE/health/liveness")"
t_eq "workers started once each (no restart)" 2 \
    "$(grep -c 'worker [0-9]* started' "$T_DIR/api.log")"
t_check "no worker exited or restarted" \
    sh -c "! grep -Eqi 'exited|restarting worker|fatal|sanitizer|runtime error' '$T_DIR/api.log'"
t_check "no 5xx logged" \
    sh -c "! grep -Eq 'status=5[0-9][0-9]' '$T_DIR/api.log'"

# --- the database changed by exactly the valid writes -------------------------
snapshot >"$T_DIR/after"
t_check "rows outside the hostile tenant unchanged" \
    diff "$T_DIR/before" "$T_DIR/after"
t_eq "hostile tenant: one event per valid 202" "$created" \
    "$(sql "SELECT count(*) FROM events WHERE tenant_id = 'hostile'")"
t_eq "hostile tenant: no attendees" 0 \
    "$(sql "SELECT count(*) FROM attendees WHERE tenant_id = 'hostile'")"
t_eq "hostile tenant: only the valid writes' author" \
    "did:plc:hostilehostilehostile" \
    "$(sql "SELECT string_agg(DISTINCT did, ',') FROM users
    WHERE tenant_id = 'hostile'")"
t_eq "hostile events all from the valid writer" 0 \
    "$(sql "SELECT count(*) FROM events WHERE tenant_id = 'hostile' AND
    source_id NOT LIKE 'at://did:plc:hostilehostilehostile/%'")"
t_check "tables still there (no SQL got through)" \
    sql "SELECT count(*) FROM events, users LIMIT 1"

t_done
