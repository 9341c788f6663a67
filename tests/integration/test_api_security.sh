#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Security settings of a real api process: service keys from the
# environment and a key file at once (rotation), tenant-restricted keys,
# keys never logged (fingerprints instead), per-key token buckets with a
# per-key override and Retry-After, the default limit letting a 5,000-request
# backfill burst through (OpenMeet failure 11), failed authentication limited
# per client address, every input limit answered with a 4xx naming it, and
# bad security settings refused at start.

. tests/lib/common.sh
t_init api_security

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
command -v jq >/dev/null || t_skip "jq not installed"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
PORT=$(t_free_port)
BASE="http://127.0.0.1:$PORT"
OLD=k-env-old-3b9f0c2d
NEW=k-file-new-77e1a0b4
TKEY=k-file-t2-c0ffee11
fp() {
	printf '%s' "$1" | sha256sum | cut -c1-8
}
printf '# rotated keys (a Kubernetes secret)\n%s\n\n  %s=t2|t3  \n' \
    "$NEW" "$TKEY" >"$T_DIR/keys"
export DATABASE_URL="$DB" API_LISTEN="127.0.0.1:$PORT" API_WORKERS=2 \
    SERVICE_API_KEYS="$OLD" SERVICE_API_KEYS_FILE="$T_DIR/keys" \
    SERVICE_API_KEY_RATE="$(fp "$OLD"):2:3" SCHEMA_DIR=schema \
    API_BODY_MAX=131072 LOG_LEVEL=info

# --- bad settings are refused, naming the setting, never echoing a key -----
# Usage: refused PATTERN VAR=VALUE...: --check-config fails and says PATTERN.
refused() {
	local pat=$1
	shift
	! env "$@" "$API_BIN" --check-config >"$T_DIR/cc.out" 2>&1 &&
	    grep -q -- "$pat" "$T_DIR/cc.out"
}
t_check "valid settings pass --check-config" "$API_BIN" --check-config
printf 'good-key\nbad key with spaces\n' >"$T_DIR/badkeys"
t_check "key file with a bad line refused, naming file and line" \
    refused 'SERVICE_API_KEYS_FILE line 2' SERVICE_API_KEYS_FILE="$T_DIR/badkeys"
t_check "...without echoing key text" \
    sh -c "! grep -q 'spaces' '$T_DIR/cc.out'"
t_check "missing key file refused" \
    refused "$T_DIR/nope" SERVICE_API_KEYS_FILE="$T_DIR/nope"
t_check "same key in env and file refused" refused twice \
    SERVICE_API_KEYS="$NEW"
t_check "no key at all refused" refused 'no service key' \
    SERVICE_API_KEYS= SERVICE_API_KEYS_FILE=
t_check "bad API_KEY_RATE_LIMIT refused" refused API_KEY_RATE_LIMIT \
    API_KEY_RATE_LIMIT=fast
t_check "bad API_AUTH_FAIL_LIMIT refused" refused API_AUTH_FAIL_LIMIT \
    API_AUTH_FAIL_LIMIT=0:5
t_check "unknown fingerprint in SERVICE_API_KEY_RATE refused" \
    refused 'SERVICE_API_KEY_RATE.*fingerprint' \
    SERVICE_API_KEY_RATE=00000000:1:1
t_check "bad ATCAL_TEST_FAULTS refused" refused ATCAL_TEST_FAULTS \
    ATCAL_TEST_FAULTS=error500=200
t_check "JSON depth above the cap refused" refused API_JSON_DEPTH_MAX \
    API_JSON_DEPTH_MAX=1000

t_start api "$API_BIN"
t_wait_http "$BASE/health/liveness" 30
t_check "readiness 200" t_wait_for 20 \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $BASE/health/readiness) = 200 ]"

BODY="$T_DIR/body"
HDRS="$T_DIR/headers"
# Usage: req KEY TENANT METHOD PATH [curl args...]; echoes the status.
req() {
	local key=$1 tenant=$2 method=$3 path=$4
	shift 4
	curl -s -m 20 -o "$BODY" -D "$HDRS" -w '%{http_code}' -X "$method" \
	    -H "Authorization: Bearer $key" -H "x-tenant-id: $tenant" \
	    -H 'content-type: application/json' "$@" "$BASE$path"
}
jbody() {
	jq -r "$1" "$BODY"
}
# DELETE with an invalid sourceId: authenticated and rate limited, then
# 422, writing nothing.
BAD_DEL="/api/integration/events?sourceId=not-an-at-uri"
event() {
	jq -cn --arg uri "at://did:plc:secsecsecsec/community.lexicon.calendar.event/$1" \
	    '{name: "Sec", startDate: "2026-06-01T10:00:00Z",
	    source: {type: "bluesky", id: $uri}}'
}

# --- keys: env and file at once, tenants, fingerprints in logs -------------
t_eq "new key (file) accepted" 202 \
    "$(req "$NEW" t1 POST /api/integration/events --data-binary "$(event 3lhaaa1)")"
t_eq "old key (env) accepted at the same time" 422 \
    "$(req "$OLD" t1 DELETE "$BAD_DEL")"
t_eq "restricted key (file) in its tenant" 422 \
    "$(req "$TKEY" t3 DELETE "$BAD_DEL")"
t_eq "restricted key outside its tenants -> 403" 403 \
    "$(req "$TKEY" t1 DELETE "$BAD_DEL")"
t_eq "unknown key -> 401" 401 "$(req "${NEW}x" t1 DELETE "$BAD_DEL")"
t_check "start log names keys by fingerprint" grep -q \
    "keys_loaded count=3 fingerprints=$(fp "$OLD"),$(fp "$NEW"),$(fp "$TKEY")" \
    "$T_DIR/api.log"
t_check "request lines carry the key fingerprint" \
    grep -q "key=$(fp "$TKEY")" "$T_DIR/api.log"
t_check "no key text in any log line" \
    sh -c "! grep -Eq '$OLD|$NEW|$TKEY' '$T_DIR/api.log'"

# --- per-key token bucket (override 2/s, burst 3 for the old key) ----------
codes=""
for i in 1 2 3 4 5 6; do
	codes="$codes$(req "$OLD" t1 DELETE "$BAD_DEL") "
done
t_check "old key: burst of 3 passes, then 429 ($codes)" \
    sh -c "echo '$codes' | grep -Eq '^(422 ){2,3}429 '"
t_eq "429 names the limit" "rate_limited key_rate" \
    "$(jbody '.error + " " + .limit')"
t_check "429 carries Retry-After in whole seconds" \
    grep -Eqi '^retry-after: [1-9][0-9]*' "$HDRS"
t_eq "another key is not affected" 422 "$(req "$NEW" t1 DELETE "$BAD_DEL")"
t_check "the bucket refills (2/s)" t_wait_for 5 \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -X DELETE -H 'Authorization: Bearer $OLD' -H 'x-tenant-id: t1' '$BASE$BAD_DEL') = 422 ]"

# --- OpenMeet failure 11: defaults never starve a backfill -----------------
# 5,000 event writes from one key in one burst (32 in flight) through the
# single-record endpoint, default limits: every one must be 202.
cfg="$T_DIR/burst.curl"
for i in $(seq 1 5000); do
	printf 'url = "%s/api/integration/events"\n' "$BASE"
	printf 'header = "Authorization: Bearer %s"\n' "$NEW"
	printf 'header = "x-tenant-id: backfill"\n'
	printf 'header = "content-type: application/json"\n'
	printf 'data-binary = "{\\"name\\":\\"Backfill %d\\",\\"startDate\\":\\"2026-06-01T10:00:00Z\\",\\"source\\":{\\"type\\":\\"bluesky\\",\\"id\\":\\"at://did:plc:backfillbackfill/community.lexicon.calendar.event/3lhbf%07daa\\",\\"metadata\\":{\\"rev\\":\\"3mptbypluud2a\\"}}}"\n' "$i" "$i"
	printf 'output = "/dev/null"\n'
	printf 'write-out = "%%{http_code} %%{errormsg}\\n"\n'
	[ "$i" -lt 5000 ] && printf 'next\n'
done >"$cfg"
t0=$(date +%s)
curl -s -S --parallel --parallel-max 32 -K "$cfg" >"$T_DIR/burst.codes" \
    2>"$T_DIR/burst.err"
echo "backfill burst: 5000 requests in $(($(date +%s) - t0)) s"
t_eq "backfill burst: 5000 of 5000 answered 202" 5000 \
    "$(grep -c '^202 $' "$T_DIR/burst.codes")" ||
    sort "$T_DIR/burst.codes" | uniq -c | sed 's/^/     | /'
t_eq "backfill burst: every event stored" 5000 \
    "$(psql -X -q -At "$DB" -c "SELECT count(*) FROM events
    WHERE tenant_id = 'backfill'")"

# --- failed authentication per client address (default 1/s, burst 20) -----
# A loaded machine may take over a second for these, refilling a token or
# two: 20 answers 401, then 429s (an occasional refilled 401 among them),
# the last one 429.
codes=""
for i in $(seq 1 30); do
	codes="$codes$(req "wrong-$i" t1 DELETE "$BAD_DEL" --interface 127.0.0.9) "
done
t_check "20 failures answered 401, then 429 ($codes)" \
    sh -c "echo '$codes' | grep -Eq '^(401 ){20}(401 |429 )*429 $' &&
    [ \$(echo '$codes' | grep -o 429 | wc -l) -ge 5 ]"
t_eq "blocked address names the limit" "auth_failures" "$(jbody .limit)"
t_check "blocked address gets Retry-After" grep -qi '^retry-after: 1' "$HDRS"
t_eq "a valid key from the blocked address is refused too" 429 \
    "$(req "$NEW" t1 DELETE "$BAD_DEL" --interface 127.0.0.9)"
t_eq "other addresses are not affected" 422 \
    "$(req "$NEW" t1 DELETE "$BAD_DEL" --interface 127.0.0.10)"
t_check "the address may try again a second later" t_wait_for 5 \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.9 -X DELETE -H 'Authorization: Bearer $NEW' -H 'x-tenant-id: t1' '$BASE$BAD_DEL') = 422 ]"

# --- input limits: each a 4xx naming the limit ------------------------------
limit_is() {
	local want_status=$1 want_limit=$2 got=$3
	[ "$got" = "$want_status" ] &&
	    [ "$(jbody '.error + " " + .limit')" = "limit $want_limit" ]
}
deep=$(printf '%.0s[' $(seq 1 33))$(printf '%.0s]' $(seq 1 33))
t_check "33 levels of nesting -> 422 json_depth" limit_is 422 json_depth \
    "$(req "$NEW" t1 POST /api/integration/events --data-binary "$deep")"
t_eq "...with the bound" 32 "$(jbody .max)"
long=$(head -c 65537 /dev/zero | tr '\0' 'a')
t_check "65,537-byte string -> 413 string_length" limit_is 413 string_length \
    "$(req "$NEW" t1 POST /api/integration/events \
    --data-binary "{\"name\":\"$long\"}")"
arr="[$(seq -s, 1 1001)]"
t_check "1,001 array items -> 413 array_size" limit_is 413 array_size \
    "$(req "$NEW" t1 POST /api/integration/events \
    --data-binary "{\"categories\":$arr}")"
{ printf '{'; head -c 140000 /dev/zero | tr '\0' ' '; printf '}'; } \
    >"$T_DIR/big.json"
t_check "body over API_BODY_MAX -> 413 body_size" limit_is 413 body_size \
    "$(req "$NEW" t1 POST /api/integration/events --data-binary "@$T_DIR/big.json")"
ops="{\"operations\":[$(printf '{},%.0s' $(seq 1 500)){}]}"
t_check "501 batch items -> 413 batch_items" limit_is 413 batch_items \
    "$(req "$NEW" t1 POST /api/integration/batch --data-binary "$ops")"
pad=$(head -c 20000 /dev/zero | tr '\0' 'h')
t_check "20 KB of headers -> 431 header_size" limit_is 431 header_size \
    "$(req "$NEW" t1 DELETE "$BAD_DEL" -H "X-Pad: $pad")"
many=()
for i in $(seq 1 30); do many+=(-H "X-Many-$i: $i"); done
t_check "30 headers -> 431 header_count" limit_is 431 header_count \
    "$(req "$NEW" t1 DELETE "$BAD_DEL" "${many[@]}")"
pad=$(head -c 40000 /dev/zero | tr '\0' 'h')
code=$(req "$NEW" t1 DELETE "$BAD_DEL" -H "X-Pad: $pad")
t_check "40 KB of headers: dropped by Kore (got '$code'), never served" \
    sh -c "[ '$code' = 000 ] || [ '$code' -ge 400 -a '$code' -lt 500 ]"
t_eq "still serving afterwards" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health/liveness")"
t_eq "no worker restarted" 2 "$(grep -c 'worker [0-9]* started' "$T_DIR/api.log")"

t_done
