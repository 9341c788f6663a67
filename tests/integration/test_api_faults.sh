#!/bin/bash
# SPDX-License-Identifier: ISC
#
# The TEST-ONLY fault switch of the api (issue 5): announced loudly at
# start; ATCAL_TEST_FAULTS=error500=20 answers 500 to about a fifth of
# integration writes and nothing else; ATCAL_TEST_FAULTS_FILE switches
# error500 and stall on and off without a restart.

. tests/lib/common.sh
t_init api_faults

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
KEY=k-faults-1f2e3d
export DATABASE_URL="$DB" API_WORKERS=2 SERVICE_API_KEYS="$KEY" \
    SCHEMA_DIR=schema LOG_LEVEL=info

# Usage: write BASE -> status of one integration write (an invalid DELETE:
# 422 when no fault hits it, nothing stored).
write() {
	curl -s -o /dev/null -m 20 -w '%{http_code}' -X DELETE \
	    -H "Authorization: Bearer $KEY" -H 'x-tenant-id: t1' \
	    "$1/api/integration/events?sourceId=bad"
}

# --- ATCAL_TEST_FAULTS=error500=20 --------------------------------------------
PORT=$(t_free_port)
A="http://127.0.0.1:$PORT"
API_LISTEN="127.0.0.1:$PORT" ATCAL_TEST_FAULTS=error500=20 \
    t_start api_env "$API_BIN"
t_wait_http "$A/health/liveness" 30
t_check "enabled switch logged loudly (warn, TEST ONLY)" grep -q \
    'level=warn svc=api event=test_faults_enabled spec="error500=20".*TEST ONLY' \
    "$T_DIR/api_env.log"
n500=0
n422=0
for i in $(seq 1 400); do
	case $(write "$A") in
	500) n500=$((n500 + 1)) ;;
	422) n422=$((n422 + 1)) ;;
	esac
done
echo "error500=20: $n500 of 400 writes answered 500"
# 80 expected, binomial sd 8: 50..110 is beyond 3.5 sd.
t_check "about 20% of writes answered 500 ($n500/400)" \
    test "$n500" -ge 50 -a "$n500" -le 110
t_eq "every other write answered normally" 400 $((n500 + n422))
t_eq "reads and probes are not faulted" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$A/health/readiness")"
t_stop api_env

# --- ATCAL_TEST_FAULTS_FILE toggles without a restart ---------------------------
PORT=$(t_free_port)
B="http://127.0.0.1:$PORT"
F="$T_DIR/faults"
API_LISTEN="127.0.0.1:$PORT" ATCAL_TEST_FAULTS_FILE="$F" \
    t_start api_file "$API_BIN"
t_wait_http "$B/health/liveness" 30
t_check "file switch logged at start" grep -q \
    "event=test_faults_enabled .*file=$F" "$T_DIR/api_file.log"
t_eq "missing file: no faults" 422 "$(write "$B")"
echo "error500=100" >"$F"
t_check "error500=100 in the file: writes fail within 3 s" t_wait_for 5 \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H 'Authorization: Bearer $KEY' -H 'x-tenant-id: t1' '$B/api/integration/events?sourceId=bad') = 500 ]"
# Each worker rereads the file at most once a second, on its next request
# (connections spread over the workers): past that, all of them fail.
sleep 1.2
t_eq "...both workers (the next writes too)" "500 500 500 500" \
    "$(echo $(write "$B") $(write "$B") $(write "$B") $(write "$B"))"
t_eq "...probes unaffected" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$B/health/readiness")"
: >"$F"
t_check "emptied file: writes succeed again" t_wait_for 5 \
    sh -c "for i in 1 2 3 4; do [ \$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H 'Authorization: Bearer $KEY' -H 'x-tenant-id: t1' '$B/api/integration/events?sourceId=bad') = 422 ] || exit 1; done"
echo "stall=1500" >"$F"
t_check "stall=1500: a write stalls at least 1.5 s" t_wait_for 15 \
    sh -c "s=\$(date +%s%N); curl -s -o /dev/null -X DELETE -H 'Authorization: Bearer $KEY' -H 'x-tenant-id: t1' '$B/api/integration/events?sourceId=bad'; [ \$(((\$(date +%s%N) - s) / 1000000)) -ge 1500 ]"
: >"$F"
t_check "stall switched off" t_wait_for 10 \
    sh -c "s=\$(date +%s%N); curl -s -o /dev/null -X DELETE -H 'Authorization: Bearer $KEY' -H 'x-tenant-id: t1' '$B/api/integration/events?sourceId=bad'; [ \$(((\$(date +%s%N) - s) / 1000000)) -lt 500 ]"
t_check "each change logged" grep -q 'event=test_faults_changed .*stall_ms=1500' \
    "$T_DIR/api_file.log"
t_check "no worker restarted" test "$(grep -c 'worker [0-9]* started' \
    "$T_DIR/api_file.log")" -eq 2

t_done
