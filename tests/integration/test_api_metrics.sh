#!/bin/bash
# SPDX-License-Identifier: ISC
#
# GET /metrics of a real api process (2 Kore workers counting into one
# shared registry): the METRICS_TOKEN bearer check, OpenMeet's metric names
# (event_integration_*, rsvp_integration_*) and atcal_api_* with the values
# the requests made here must produce, identical from whichever worker
# renders them; liveness and readiness unchanged.

. tests/lib/common.sh
t_init api_metrics

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
command -v jq >/dev/null || t_skip "jq not installed"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
PORT=$(t_free_port)
BASE="http://127.0.0.1:$PORT"
KEY=k-metrics-a1b2c3
SLOW=k-metrics-slow-d4e5f6
TOKEN=scrape-token-0a9b8c
SLOW_FP=$(printf '%s' "$SLOW" | sha256sum | cut -c1-8)
export DATABASE_URL="$DB" API_LISTEN="127.0.0.1:$PORT" API_WORKERS=2 \
    SERVICE_API_KEYS="$KEY,$SLOW" SERVICE_API_KEY_RATE="$SLOW_FP:0.1:1" \
    METRICS_TOKEN="$TOKEN" SCHEMA_DIR=schema LOG_LEVEL=info
t_start api "$API_BIN"
t_wait_http "$BASE/health/liveness" 30
t_check "readiness 200" t_wait_for 20 \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $BASE/health/readiness) = 200 ]"

M="$T_DIR/metrics"
scrape() {
	curl -s -m 10 -o "$M" -w '%{http_code}' "$@" "$BASE/metrics"
}
# Usage: value 'name{labels}' -> the sample's value (empty when absent).
value() {
	awk -v k="$1" '$1 == k { print $2 }' "$M"
}
req() {
	local key=$1 method=$2 path=$3
	shift 3
	curl -s -o /dev/null -m 10 -w '%{http_code}' -X "$method" \
	    -H "Authorization: Bearer $key" -H "x-tenant-id: t1" \
	    -H 'content-type: application/json' "$@" "$BASE$path"
}
DID=did:plc:metricsmetrics
EV="at://$DID/community.lexicon.calendar.event/3lhmetricsaa"
event() {
	jq -cn --arg uri "$EV" --arg rev "$1" --arg name "$2" '{name: $name,
	    startDate: "2026-06-01T10:00:00Z", source: {type: "bluesky",
	    id: $uri, metadata: {rev: $rev}}}'
}
rsvp() {
	jq -cn --arg ev "$EV" '{eventSourceId: $ev, eventSourceType: "bluesky",
	    userDid: "did:plc:metricsrsvp", status: "going",
	    sourceId: "at://did:plc:metricsrsvp/community.lexicon.calendar.rsvp/3lhr",
	    metadata: {rev: "3mptbypluud2a"}}'
}

# --- token ------------------------------------------------------------------
t_eq "no token -> 401" 401 "$(scrape)"
t_eq "wrong token -> 401" 401 "$(scrape -H "Authorization: Bearer x$TOKEN")"
t_eq "token -> 200" 200 "$(scrape -H "Authorization: Bearer $TOKEN")"
t_check "Prometheus text format" grep -q '^# TYPE atcal_api_requests_total counter$' "$M"

# --- traffic with known effects ----------------------------------------------
for i in $(seq 1 40); do
	req "$KEY" DELETE "/api/integration/events?sourceId=bad" >/dev/null
done
t_eq "event create 202" 202 "$(req "$KEY" POST /api/integration/events \
    --data-binary "$(event 3mptbypluud2a Metrics)")"
t_eq "same rev again 202 (stale)" 202 "$(req "$KEY" POST \
    /api/integration/events --data-binary "$(event 3mptbypluud2a Metrics)")"
t_eq "newer rev 202 (update)" 202 "$(req "$KEY" POST /api/integration/events \
    --data-binary "$(event 3mptbyplzzz2a "Metrics v2")")"
t_eq "rsvp 202" 202 "$(req "$KEY" POST /api/integration/rsvps \
    --data-binary "$(rsvp)")"
t_eq "event delete 202" 202 "$(req "$KEY" DELETE \
    "/api/integration/events?sourceId=$EV&rev=3mptbyqaaaa2a")"
t_eq "bad key 401" 401 "$(req wrong-key DELETE /api/integration/events)"
t_eq "slow key: first 422" 422 "$(req "$SLOW" DELETE \
    "/api/integration/events?sourceId=bad")"
t_eq "slow key: then 429" 429 "$(req "$SLOW" DELETE \
    "/api/integration/events?sourceId=bad")"

t_eq "scrape 200" 200 "$(scrape -H "Authorization: Bearer $TOKEN")"
t_eq "requests by route/method/status (40 + the slow key's one)" 41 \
    "$(value 'atcal_api_requests_total{route="api_events",method="DELETE",status="422"}')"
t_eq "event processed: create" 1 \
    "$(value 'event_integration_processed_total{tenant="t1",source_type="bluesky",operation="create"}')"
t_eq "event processed: stale" 1 \
    "$(value 'event_integration_processed_total{tenant="t1",source_type="bluesky",operation="stale"}')"
t_eq "event processed: update" 1 \
    "$(value 'event_integration_processed_total{tenant="t1",source_type="bluesky",operation="update"}')"
t_eq "event processed: delete" 1 \
    "$(value 'event_integration_processed_total{tenant="t1",source_type="bluesky",operation="delete"}')"
t_eq "rsvp processed: create" 1 \
    "$(value 'rsvp_integration_processed_total{tenant="t1",source_type="bluesky",operation="create"}')"
t_check "dedup matches by method (the update and the stale write)" \
    test "$(value 'event_integration_deduplication_matches_total{tenant="t1",method="source_id"}')" -ge 2
t_eq "event processing histogram" 4 \
    "$(value 'event_integration_processing_duration_seconds_count')"
t_eq "rsvp processing histogram" 1 \
    "$(value 'rsvp_integration_processing_duration_seconds_count')"
t_eq "auth failures" 1 "$(value 'atcal_api_auth_failures_total{reason="bad_key"}')"
t_eq "rate limited, by key fingerprint" 1 \
    "$(value "atcal_api_rate_limited_total{key=\"$SLOW_FP\"}")"
t_eq "db calls timed" 5 "$(value 'atcal_api_db_duration_seconds_count')"
t_eq "no db errors" 0 "$(value 'atcal_api_db_errors_total')"
t_check "request latency histogram by route" grep -q \
    '^atcal_api_request_duration_seconds_bucket{route="api_events",le="+Inf"} ' "$M"
for name in event_integration_processed_total \
    event_integration_deduplication_matches_total \
    event_integration_processing_duration_seconds \
    rsvp_integration_processed_total \
    rsvp_integration_processing_duration_seconds atcal_api_requests_total \
    atcal_api_request_duration_seconds atcal_api_db_duration_seconds \
    atcal_api_db_errors_total atcal_api_shadow_accounts_created_total \
    atcal_api_auth_failures_total atcal_api_rate_limited_total; do
	t_check "metric $name exported" grep -q "^# TYPE $name " "$M"
done
t_check "no key text in metrics" sh -c "! grep -q '$SLOW\|$KEY' '$M'"

# Any worker renders the same registry: five scrapes, one value.
vals=""
for i in 1 2 3 4 5; do
	scrape -H "Authorization: Bearer $TOKEN" >/dev/null
	vals="$vals $(value 'atcal_api_requests_total{route="api_events",method="DELETE",status="422"}')"
done
t_eq "same counts from every scrape" " 41 41 41 41 41" "$vals"

# --- health unchanged ---------------------------------------------------------
t_eq "liveness 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health/liveness")"
t_eq "readiness 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health/readiness")"
t_check "fault switch off by default (nothing logged)" \
    sh -c "! grep -q test_faults '$T_DIR/api.log'"

t_done
