#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# Commit signatures against the reference PDS and PLC (tests/interop/
# pds.mjs): records written through the PDS are signed with keys the local
# PLC publishes. A consumer with VERIFY_SIGNATURES=calendar and PLC_URL at
# that PLC verifies every calendar commit and publishes every op (nothing
# dropped, failures 0). A second consumer whose PLC is unreachable still
# publishes every op, unverified (one signature_unverified line per commit
# and the "unresolved" failure counter), rather than losing records during
# a directory outage, and moves its cursor to the end of the stream.
# Rejection of commits that were checked and failed is unit-tested
# (tests/consumer/test_verify.c).

source tests/lib/common.sh
t_init verify_signatures_pds

IDIR=tests/interop
NODE=$IDIR/node_modules/.bin/node
BIN=${T_BIN:-build/bin}
[ -x "$NODE" ] ||
    t_skip "$IDIR/node_modules missing: run scripts/deps.sh --test"
for b in api consumer; do
	if [ ! -x "$BIN/$b" ]; then
		t_check "$BIN/$b is built" false
		t_done
	fi
done

ACCOUNTS=2
EVENTS=4

DB1=$(t_new_db) && DB2=$(t_new_db) && VH1=$(t_new_vhost) &&
    VH2=$(t_new_vhost) || { t_check "databases and vhosts" false; t_done; }
for db in "$DB1" "$DB2"; do
	SERVICE_API_KEYS=unused DATABASE_URL=$db "$BIN/api" migrate \
	    >>"$T_DIR/migrate.log" 2>&1
done
t_eq "schema applied to both databases" 2 \
    "$(grep -c migrated "$T_DIR/migrate.log")"

PDS_INFO_FILE=$T_DIR/pds.json PDS_DATA_DIR=$T_DIR/pds LOG_ENABLED=false \
    t_start pds "$NODE" "$IDIR/pds.mjs"
if ! t_wait_for 60 test -s "$T_DIR/pds.json"; then
	t_check "reference PDS starts" false
	t_done
fi
PDS_PORT=$(jq -r .pdsPort "$T_DIR/pds.json")
PLC_LOCAL=$(jq -r .plcUrl "$T_DIR/pds.json")

# Everything written first, then both consumers replay it from cursor 0.
"$NODE" "$IDIR/write.mjs" --info "$T_DIR/pds.json" \
    --state "$T_DIR/state.json" --out "$T_DIR/expected.json" --phase 1 \
    --accounts "$ACCOUNTS" --events "$EVENTS" --bulk 20 \
    2>"$T_DIR/writer.log"
t_eq "records written through the PDS" 0 "$?"
OPS=$(sed -n 's/.*done phase=1 ops=\([0-9]*\).*/\1/p' "$T_DIR/writer.log")
WANT=$((OPS - ACCOUNTS))	# every calendar op, account creations aside
t_check "the writer made calendar ops ($WANT)" test "$WANT" -gt 20

M1=$(t_free_port)
M2=$(t_free_port)
export SOURCE_URL=ws://127.0.0.1:$PDS_PORT/xrpc/com.atproto.sync.subscribeRepos
export SOURCE_CURSOR=0 LOG_LEVEL=info VERIFY_SIGNATURES=calendar
# Calendar records only: the counts below are of calendar ops (identity
# forwarding, on by default, has tests/interop/test_identity_lifecycle.sh).
export FORWARD_IDENTITY=false
RABBITMQ_URL=$VH1 DATABASE_URL=$DB1 PLC_URL=$PLC_LOCAL \
    METRICS_LISTEN=127.0.0.1:$M1 t_start good "$BIN/consumer"
# Port 9 (discard) on loopback: nothing listens, connections are refused.
RABBITMQ_URL=$VH2 DATABASE_URL=$DB2 PLC_URL=http://127.0.0.1:9 \
    METRICS_LISTEN=127.0.0.1:$M2 t_start nokey "$BIN/consumer"

queue_len() {	# vhost url
	curl -s -m 5 -u guest:guest \
	    "$T_MGMT_URL/api/queues/${1##*/}/community.lexicon.calendar.queue" |
	    jq -r '.messages // 0'
}
metric() {	# port, series (exact, labels included)
	curl -s -m 5 "http://127.0.0.1:$1/metrics" |
	    awk -v s="$2" '$1 == s { print $2 }'
}
cursor() {	# database url
	psql -X -Atq "$1" -c "SELECT max(seq) FROM ingest_cursors" 2>/dev/null
}
good_done() {
	[ "$(queue_len "$VH1")" -ge "$WANT" ]
}
unverified() {
	grep -c 'event=signature_unverified' "$T_DIR/nokey.log"
}
nokey_done() {
	[ "$(queue_len "$VH2")" -ge "$WANT" ] && [ -n "$(cursor "$DB2")" ] &&
	    [ "$(cursor "$DB2")" = "$(cursor "$DB1")" ]
}

t_check "verifying consumer publishes every calendar op" \
    t_wait_for 90 good_done
t_eq "exactly one message per op" "$WANT" "$(queue_len "$VH1")"
t_eq "no record dropped by the verifying consumer" 0 \
    "$(grep -c 'event=record_dropped' "$T_DIR/good.log")"
VERIFIED=$(metric "$M1" atcal_consumer_signature_verified_total)
t_check "calendar commits verified (${VERIFIED:-none})" \
    test "${VERIFIED%.*}" -gt 0
for r in commit did_document unresolved mismatch; do
	t_eq "no $r failure" 0 "$(metric "$M1" \
	    "atcal_consumer_signature_failures_total{reason=\"$r\"}")"
done
SUM=$(metric "$M1" atcal_consumer_signature_verify_seconds_sum)
CNT=$(metric "$M1" atcal_consumer_signature_verify_seconds_count)
echo "verification: $CNT commits, $(awk -v s="$SUM" -v n="$CNT" \
    'BEGIN { printf "%.0f", (n > 0 ? s * 1e6 / n : 0) }') us per commit" \
    "on average (first lookup of each DID included)"
HITS=$(metric "$M1" atcal_didres_cache_hits_total)
MISSES=$(metric "$M1" atcal_didres_cache_misses_total)
t_eq "one PLC lookup per account, cache hits after" "$ACCOUNTS" "$MISSES"
t_check "cache answered the other commits ($HITS hits)" \
    test "${HITS%.*}" -gt 0

# A directory outage must not lose records: the relay has checked them,
# so they go on unverified, each commit logged and counted.
t_check "unreachable directory: every calendar op still published, cursor moves" \
    t_wait_for 120 nokey_done
t_eq "exactly one message per op" "$WANT" "$(queue_len "$VH2")"
t_eq "nothing dropped" 0 "$(grep -c 'event=record_dropped' "$T_DIR/nokey.log")"
t_check "each unverified commit logged ($(unverified))" test "$(unverified)" -gt 0
t_check "failures counted as unresolved" \
    test "$(metric "$M2" \
    'atcal_consumer_signature_failures_total{reason="unresolved"}' |
    cut -d. -f1)" -gt 0
t_check "both consumers still running" \
    kill -0 "$(t_pid good)" "$(t_pid nokey)"
t_check "no sanitizer report" bash -c \
    "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
    '$T_DIR/good.log' '$T_DIR/nokey.log'"
t_done
