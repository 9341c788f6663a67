#!/bin/bash
# SPDX-License-Identifier: ISC
#
# api/openapi.yaml against the running server: the served
# /api/openapi.json is the YAML's content; the routes the server is
# configured with (api/api.c) are exactly the documented paths; every
# documented (method, path, status) is produced by a scenario below and
# every answer the scenarios get is documented; undocumented paths are 404.
# Statuses common to authenticated routes (400 no tenant, 401, 403, 413,
# 503 with the database down) are produced for every such route.

. tests/lib/common.sh
t_init api_openapi

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
command -v jq >/dev/null || t_skip "jq not installed"
command -v yq >/dev/null || t_skip "yq not installed"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
MQ=$(t_new_vhost) || t_skip "no RabbitMQ (make services-up)"
PORT=$(t_free_port)
DEADPORT=$(t_free_port)
DEAD=$(t_free_port)
LIVE="http://127.0.0.1:$PORT"
DOWN="http://127.0.0.1:$DEADPORT"
export DATABASE_URL="$DB" API_LISTEN="127.0.0.1:$PORT" API_WORKERS=1 \
    SERVICE_API_KEYS="k-doc,k-doc-other=other" SCHEMA_DIR=schema \
    API_BODY_MAX=65536 LOG_LEVEL=warn METRICS_TOKEN=m-doc \
    API_KEY_RATE_LIMIT=off API_AUTH_FAIL_LIMIT=off
RABBITMQ_URL="$MQ" t_start api "$API_BIN"
DATABASE_URL="postgresql://atcal@127.0.0.1:$DEAD/atcal" RABBITMQ_URL= \
    API_LISTEN="127.0.0.1:$DEADPORT" t_start api_dead "$API_BIN"
t_wait_http "$LIVE/health/liveness" 30
t_wait_http "$DOWN/health/liveness" 30
t_check "readiness" t_wait_for 20 sh -c \
    "[ \$(curl -s -o /dev/null -w '%{http_code}' $LIVE/health/readiness) = 200 ]"

DOC="$T_DIR/doc.json"
t_eq "GET /api/openapi.json -> 200" 200 "$(curl -s -o "$DOC" -w '%{http_code}' "$LIVE/api/openapi.json")"
t_eq "served document is api/openapi.yaml" "$(yq -S -c . api/openapi.yaml)" "$(jq -S -c . "$DOC")"
t_eq "OpenAPI 3" 3.0.3 "$(jq -r .openapi "$DOC")"

# Routes the server is configured with, as regexes; documented paths with
# {params} turned into the same [^/]+ form.
sed -n 's/.*\\troute \([^ ]*\) [a-z_]*\\n".*/\1/p; s/.*\\troute \([^ ]*\) "$/\1/p' api/api.c |
    sed 's/^\^//; s/\$$//' | grep -vx '/\.\*' | sort >"$T_DIR/routes"
jq -r '.paths | keys[]' "$DOC" | sed 's/{[^}]*}/[^\/]+/g' | sort >"$T_DIR/documented"
t_check "server routes found in api/api.c" test -s "$T_DIR/routes"
t_eq "every server route is documented, every documented path served" \
    "$(cat "$T_DIR/documented")" "$(cat "$T_DIR/routes")"

for p in /api/nope /api/integration/nope /api/events/a/b/c /nope /api/users/did:plc:x/y; do
	t_eq "undocumented path $p -> 404" "404 not_found" \
	    "$(curl -s -o "$T_DIR/nf" -w '%{http_code}' -H 'Authorization: Bearer k-doc' \
	    -H 'x-tenant-id: t1' "$LIVE$p") $(jq -r .error "$T_DIR/nf")"
done

SEEN="$T_DIR/seen"
: >"$SEEN"
# hit BASE METHOD TEMPLATE PATH [curl args...]: records "METHOD TEMPLATE
# STATUS"; the body is in $T_DIR/out.
hit() {
	local base=$1 method=$2 tmpl=$3 path=$4 code
	shift 4
	code=$(curl -s -m 20 -o "$T_DIR/out" -w '%{http_code}' -X "$method" "$@" "$base$path")
	echo "$method $tmpl $code" >>"$SEEN"
}
AUTH=(-H 'Authorization: Bearer k-doc' -H 'x-tenant-id: t1')
JSON=(-H 'content-type: application/json')
A=did:plc:docdocdocdoc
EV="at://$A/community.lexicon.calendar.event/3mptdocev2aaa"
EVBODY=$(jq -cn --arg id "$EV" '{name: "Doc", startDate: "2026-12-01", source: {type: "bluesky", id: $id}}')
RSBODY=$(jq -cn --arg ev "$EV" '{eventSourceId: $ev, eventSourceType: "bluesky",
    userDid: "did:plc:docrsvp", sourceId: "at://did:plc:docrsvp/community.lexicon.calendar.rsvp/3mptdocrs2aaa"}')
RS424=$(jq -cn '{eventSourceId: "at://did:plc:nobody/community.lexicon.calendar.event/3mptdocev2zzz",
    eventSourceType: "bluesky", userDid: "did:plc:docrsvp",
    sourceId: "at://did:plc:docrsvp/community.lexicon.calendar.rsvp/3mptdocrs2zzz"}')
BATCH=$(jq -cn --argjson e "$EVBODY" '{operations: [{op: "event.upsert", body: $e}]}')
BIG=$(head -c 70000 /dev/zero | tr '\0' 'a')

# Valid request of each authenticated route: "METHOD|TEMPLATE|PATH|BODY".
valid() {
	cat <<ROUTES
POST|/api/integration/events|/api/integration/events|$EVBODY
DELETE|/api/integration/events|/api/integration/events?sourceId=at://$A/community.lexicon.calendar.event/3mptdocev2bbb|
DELETE|/api/integration/events/atproto/{did}/{collection}/{rkey}|/api/integration/events/atproto/$A/community.lexicon.calendar.event/3mptdocev2ccc|
POST|/api/integration/rsvps|/api/integration/rsvps|$RSBODY
DELETE|/api/integration/rsvps|/api/integration/rsvps?sourceId=at://did:plc:docrsvp/community.lexicon.calendar.rsvp/3mptdocrs2bbb|
POST|/api/integration/batch|/api/integration/batch|$BATCH
POST|/api/integration/shadow-accounts/claim|/api/integration/shadow-accounts/claim|{"did":"did:plc:docrsvp"}
GET|/api/shadow-accounts|/api/shadow-accounts|
GET|/api/events|/api/events|
GET|/api/events/by-source|/api/events/by-source?sourceId=$EV|
GET|/api/events/{slug}|/api/events/SLUG|
GET|/api/events/{slug}/attendees|/api/events/SLUG/attendees|
GET|/api/users/{did}|/api/users/$A|
POST|/api/integration/identity|/api/integration/identity|{"did":"$A","seq":1}
POST|/api/integration/account|/api/integration/account|{"did":"$A","active":true}
POST|/api/integration/profile|/api/integration/profile|{"did":"$A","operation":"delete","rev":"3mptdocpr2aaa"}
POST|/api/integration/labels|/api/integration/labels|{"labels":[{"src":"did:plc:docmod","uri":"did:plc:docnobody","val":"!hide","cts":"2026-01-01T00:00:00Z"}]}
GET|/api/integration/dlq|/api/integration/dlq|
GET|/api/integration/dlq/{n}|/api/integration/dlq/1|
POST|/api/integration/dlq/replay|/api/integration/dlq/replay|{"filter":"no-such-message"}
DELETE|/api/integration/dlq|/api/integration/dlq|
ROUTES
}
# One dead letter for GET /api/integration/dlq/1 (the first DLQ call
# declares the queue; the api without RABBITMQ_URL answers 503).
curl -s -o /dev/null "${AUTH[@]}" "$LIVE/api/integration/dlq"
jq -nc --arg b "$EVBODY" '{properties: {delivery_mode: 2, headers:
    {"x-reason": "doc", "x-routing-key": "event.create"}}, routing_key:
    "community.lexicon.calendar.dlq", payload: $b, payload_encoding: "string"}' |
    curl -s -m 10 -u guest:guest -H 'content-type: application/json' -d @- \
    "$T_MGMT_URL/api/exchanges/${MQ##*/}/amq.default/publish" >/dev/null

# Success of each route, in an order that makes each one valid.
SLUG=
while IFS='|' read -r m t p b; do
	p=${p//SLUG/$SLUG}
	if [ -n "$b" ]; then
		hit "$LIVE" "$m" "$t" "$p" "${AUTH[@]}" "${JSON[@]}" --data-binary "$b"
	else
		hit "$LIVE" "$m" "$t" "$p" "${AUTH[@]}"
	fi
	[ -n "$SLUG" ] || SLUG=$(jq -r '.slug // empty' "$T_DIR/out")
	# Common failures of every authenticated route.
	DATA=()
	[ -z "$b" ] || DATA=("${JSON[@]}" --data-binary "$b")
	hit "$LIVE" "$m" "$t" "$p" "${DATA[@]}"
	hit "$LIVE" "$m" "$t" "$p" -H 'Authorization: Bearer k-doc' "${DATA[@]}"
	hit "$LIVE" "$m" "$t" "$p" -H 'Authorization: Bearer k-doc-other' \
	    -H 'x-tenant-id: t1' "${DATA[@]}"
	[ "$m" != POST ] || hit "$LIVE" "$m" "$t" "$p" "${AUTH[@]}" "${JSON[@]}" \
	    --data-binary "{\"name\":\"$BIG\"}"
	if [ -n "$b" ]; then
		hit "$DOWN" "$m" "$t" "$p" "${AUTH[@]}" "${JSON[@]}" --data-binary "$b"
	else
		hit "$DOWN" "$m" "$t" "$p" "${AUTH[@]}"
	fi
done < <(valid)

# Route-specific answers.
hit "$LIVE" GET /health/liveness /health/liveness
hit "$LIVE" GET /health/readiness /health/readiness
hit "$DOWN" GET /health/readiness /health/readiness
hit "$LIVE" GET /api/openapi.json /api/openapi.json
hit "$LIVE" GET /metrics /metrics -H 'Authorization: Bearer m-doc'
hit "$LIVE" GET /metrics /metrics
hit "$LIVE" POST /api/integration/events /api/integration/events "${AUTH[@]}" "${JSON[@]}" --data-binary '{"name":'
hit "$LIVE" POST /api/integration/events /api/integration/events "${AUTH[@]}" "${JSON[@]}" --data-binary '{}'
hit "$LIVE" DELETE /api/integration/events "/api/integration/events?sourceId=bad" "${AUTH[@]}"
hit "$LIVE" DELETE /api/integration/events/atproto/{did}/{collection}/{rkey} \
    /api/integration/events/atproto/notadid/x/y "${AUTH[@]}"
hit "$LIVE" POST /api/integration/rsvps /api/integration/rsvps "${AUTH[@]}" "${JSON[@]}" --data-binary '[1'
hit "$LIVE" POST /api/integration/rsvps /api/integration/rsvps "${AUTH[@]}" "${JSON[@]}" --data-binary '{}'
hit "$LIVE" POST /api/integration/rsvps /api/integration/rsvps "${AUTH[@]}" "${JSON[@]}" --data-binary "$RS424"
hit "$LIVE" DELETE /api/integration/rsvps "/api/integration/rsvps?sourceId=" "${AUTH[@]}"
hit "$LIVE" POST /api/integration/batch /api/integration/batch "${AUTH[@]}" "${JSON[@]}" --data-binary 'x'
hit "$LIVE" POST /api/integration/batch /api/integration/batch "${AUTH[@]}" "${JSON[@]}" --data-binary '{}'
hit "$LIVE" POST /api/integration/shadow-accounts/claim /api/integration/shadow-accounts/claim \
    "${AUTH[@]}" "${JSON[@]}" --data-binary '{"did":'
hit "$LIVE" POST /api/integration/shadow-accounts/claim /api/integration/shadow-accounts/claim \
    "${AUTH[@]}" "${JSON[@]}" --data-binary '{"did":"nope"}'
hit "$LIVE" POST /api/integration/shadow-accounts/claim /api/integration/shadow-accounts/claim \
    "${AUTH[@]}" "${JSON[@]}" --data-binary '{"did":"did:plc:nobodyatall"}'
psql -X -q "$DB" -c "INSERT INTO users (tenant_id, slug, did, provider) VALUES ('t1', 'doc-real', 'did:plc:docother', 'email')"
hit "$LIVE" POST /api/integration/shadow-accounts/claim /api/integration/shadow-accounts/claim \
    "${AUTH[@]}" "${JSON[@]}" --data-binary "{\"did\":\"$A\",\"userSlug\":\"doc-real\"}"
hit "$LIVE" GET /api/shadow-accounts "/api/shadow-accounts?limit=0" "${AUTH[@]}"
hit "$LIVE" GET /api/events "/api/events?from=never" "${AUTH[@]}"
hit "$LIVE" GET /api/events/by-source "/api/events/by-source" "${AUTH[@]}"
hit "$LIVE" GET /api/events/by-source "/api/events/by-source?sourceId=at://$A/x.y.z/none" "${AUTH[@]}"
hit "$LIVE" GET /api/events/{slug} /api/events/no-such-slug "${AUTH[@]}"
hit "$LIVE" GET /api/events/{slug}/attendees /api/events/no-such-slug/attendees "${AUTH[@]}"
hit "$LIVE" GET /api/users/{did} /api/users/did:plc:nobodyatall "${AUTH[@]}"
for r in identity account profile labels; do
	hit "$LIVE" POST /api/integration/$r /api/integration/$r "${AUTH[@]}" \
	    "${JSON[@]}" --data-binary '{"did":1}'
done
hit "$LIVE" GET /api/integration/dlq "/api/integration/dlq?limit=0" "${AUTH[@]}"
hit "$LIVE" GET /api/integration/dlq/{n} /api/integration/dlq/99 "${AUTH[@]}"
hit "$LIVE" POST /api/integration/dlq/replay /api/integration/dlq/replay "${AUTH[@]}" \
    "${JSON[@]}" --data-binary '{"all":'
hit "$LIVE" POST /api/integration/dlq/replay /api/integration/dlq/replay "${AUTH[@]}" \
    "${JSON[@]}" --data-binary '{}'
hit "$LIVE" POST /api/integration/dlq/replay /api/integration/dlq/replay "${AUTH[@]}" \
    "${JSON[@]}" --data-binary '{"index":99}'

sort -u "$SEEN" >"$T_DIR/seen.sorted"
jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] |
    .key as $m | .value.responses | keys[] | "\($m | ascii_upcase) \($p) \(.)"' \
    "$DOC" | sort -u >"$T_DIR/doc.triples"
t_eq "every documented status was produced" "" \
    "$(comm -23 "$T_DIR/doc.triples" "$T_DIR/seen.sorted")"
t_eq "every status produced is documented" "" \
    "$(comm -13 "$T_DIR/doc.triples" "$T_DIR/seen.sorted")"
t_done
