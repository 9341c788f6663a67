#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Contract of the integration API against a real api process and a fresh
# Postgres database: auth and tenants, event create/update/delete with rev
# ordering and tombstones, RSVPs (424 before the event, one shadow account
# per DID under concurrency, delete of exactly one RSVP), validation, geo
# strings, malformed JSON, body limit, readiness against a dead database,
# tenant isolation and a clean SIGTERM.

. tests/lib/common.sh
t_init api_contract

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
command -v jq >/dev/null || t_skip "jq not installed"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
PORT=$(t_free_port)
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="$DB" API_LISTEN="127.0.0.1:$PORT" API_WORKERS=2 \
    SERVICE_API_KEYS="k-test-one,k-test-two=t2" SCHEMA_DIR=schema \
    API_BODY_MAX=65536 LOG_LEVEL=info
t_start api "$API_BIN"
t_wait_http "$BASE/health/liveness" 30

BODY="$T_DIR/body"
HDRS="$T_DIR/headers"

# Usage: call METHOD PATH [JSON] [curl args...]; echoes the status code,
# the response body is in $BODY, headers in $HDRS.
call() {
	local method=$1 path=$2 data=${3:-}
	shift 3 2>/dev/null || shift $#
	if [ -n "$data" ]; then
		curl -s -m 10 -o "$BODY" -D "$HDRS" -w '%{http_code}' \
		    -X "$method" -H 'content-type: application/json' \
		    --data-binary "$data" "$@" "$BASE$path"
	else
		curl -s -m 10 -o "$BODY" -D "$HDRS" -w '%{http_code}' \
		    -X "$method" "$@" "$BASE$path"
	fi
}
# Same with a valid key and tenant (TENANT, default t1).
acall() {
	local method=$1 path=$2 data=${3:-}
	call "$method" "$path" "$data" -H "Authorization: Bearer k-test-one" \
	    -H "x-tenant-id: ${TENANT:-t1}"
}
jbody() {
	jq -r "$1" "$BODY"
}
sql() {
	psql -X -q -At "$DB" -c "$1"
}

DID=did:plc:alicealicealice
EV_URI="at://$DID/community.lexicon.calendar.event/3mptbyplj5d2a"
EV_Q="sourceType=bluesky&sourceId=$EV_URI"

# event JSON: name rev [extra top-level members]
event() {
	jq -cn --arg name "$1" --arg rev "$2" --arg uri "$EV_URI" \
	    --arg did "$DID" '{name: $name, description: "about",
	    startDate: "2026-05-01T18:00:00Z", endDate: "2026-05-01T20:00:00Z",
	    type: "in-person", status: "published", visibility: "public",
	    locations: [{"$type": "community.lexicon.location.geo",
	      latitude: "0", longitude: "0", name: "Null Island"},
	      {"$type": "community.lexicon.location.address", country: "FR",
	      locality: "Paris"}],
	    categories: ["meetup"],
	    source: {type: "bluesky", id: $uri, handle: "alice.test",
	      url: "https://example.test/e/1",
	      metadata: {rev: $rev, did: $did, cid: "bafyreiaaa",
	      rkey: "3mptbyplj5d2a",
	      collection: "community.lexicon.calendar.event"},
	      rawRecord: {name: $name}}}'
}

# rsvp JSON: user-did rkey status rev [event-uri]
rsvp() {
	jq -cn --arg did "$1" --arg rkey "$2" --arg status "$3" \
	    --arg rev "$4" --arg ev "${5:-$EV_URI}" '{eventSourceId: $ev,
	    eventSourceType: "bluesky", userDid: $did, status: $status,
	    sourceId: ("at://" + $did + "/community.lexicon.calendar.rsvp/" +
	      $rkey), metadata: {rev: $rev}}'
}

# --- health -----------------------------------------------------------------
t_eq "liveness 200" 200 "$(call GET /health/liveness)"
t_check "readiness 200 once migrated" t_wait_for 20 \
    sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $BASE/health/readiness) = 200 ]"
t_eq "migrations recorded" 1 \
    "$(sql "SELECT count(*) FROM schema_migrations WHERE version = '0003_create_events.sql'")"

# --- auth ---------------------------------------------------------------------
t_eq "missing key -> 401" 401 "$(call GET "/api/events/by-source?$EV_Q" '' -H 'x-tenant-id: t1')"
t_eq "401 body is JSON" unauthorized "$(jbody .error)"
t_eq "bad key -> 401" 401 "$(call GET "/api/events/by-source?$EV_Q" '' \
    -H 'Authorization: Bearer k-test-onf' -H 'x-tenant-id: t1')"
t_eq "?api_key= accepted" 404 "$(call GET "/api/events/by-source?$EV_Q&api_key=k-test-one" '' \
    -H 'x-tenant-id: t1')"
t_eq "missing x-tenant-id -> 400" 400 "$(call GET "/api/events/by-source?$EV_Q" '' \
    -H 'Authorization: Bearer k-test-one')"
t_eq "key restricted to t2 used for t1 -> 403" 403 "$(call GET "/api/events/by-source?$EV_Q" '' \
    -H 'Authorization: Bearer k-test-two' -H 'x-tenant-id: t1')"
t_eq "key restricted to t2 used for t2 -> 404 (allowed)" 404 "$(call GET "/api/events/by-source?$EV_Q" '' \
    -H 'Authorization: Bearer k-test-two' -H 'x-tenant-id: t2')"
t_check "service key never logged" sh -c "! grep -q k-test- '$T_DIR/api.log'"

# --- RSVP before its event ---------------------------------------------------------
t_eq "RSVP before the event -> 424" 424 \
    "$(acall POST /api/integration/rsvps "$(rsvp did:plc:bobbobbobbob 3mptbyplj5d2b going 3mptbyplj5d2b)")"
t_eq "424 body" "event_not_yet_known true" "$(jbody '"\(.error) \(.retryable)"')"
t_check "424 carries Retry-After: 5" grep -qi '^retry-after: 5' "$HDRS"

# --- create, read -------------------------------------------------------------------
t_eq "create event -> 202" 202 "$(acall POST /api/integration/events "$(event 'Launch Party' 3mptbyplj5d2c)")"
SLUG=$(jbody .slug)
t_eq "create answer" "true launch-party-" "$(jbody .success) ${SLUG%????????????}"
t_eq "by-source -> 200" 200 "$(acall GET "/api/events/by-source?$EV_Q")"
t_eq "by-source fields" "$SLUG|Launch Party|2026-05-01T18:00:00.000Z|in-person|published|public" \
    "$(jbody '[.slug,.name,.startDate,.type,.status,.visibility]|join("|")')"
t_eq "creator is a shadow account" "$DID alice.test true" \
    "$(jbody '"\(.creator.did) \(.creator.handle) \(.creator.isShadowAccount)"')"
t_eq "all locations kept, geo strings as given" '2 "0" "0"' \
    "$(jbody '"\(.locations|length) \(.location.latitude|tojson) \(.location.longitude|tojson)"')"
t_eq "source echoed" "bluesky $EV_URI 3mptbyplj5d2c" \
    "$(jbody '"\(.source.type) \(.source.id) \(.source.metadata.rev)"')"

# --- rev ordering --------------------------------------------------------------------
t_eq "update with newer rev -> 202" 202 "$(acall POST /api/integration/events "$(event 'Launch Party v2' 3mptbyplj5d2e)")"
acall GET "/api/events/by-source?$EV_Q" >/dev/null
t_eq "newer rev applied, slug follows the name, suffix kept" \
    "Launch Party v2 launch-party-v2-${SLUG##*-}" "$(jbody '"\(.name) \(.slug)"')"
t_eq "update with older rev -> 202" 202 "$(acall POST /api/integration/events "$(event 'Launch Party OLD' 3mptbyplj5d2d)")"
t_check "older rev answer says stale" grep -q stale "$BODY"
acall GET "/api/events/by-source?$EV_Q" >/dev/null
t_eq "older rev ignored" "Launch Party v2" "$(jbody .name)"
t_eq "same rev replay ignored" 202 "$(acall POST /api/integration/events "$(event 'Launch Party SAME' 3mptbyplj5d2e)")"
acall GET "/api/events/by-source?$EV_Q" >/dev/null
t_eq "same rev did not apply" "Launch Party v2" "$(jbody .name)"

# --- RSVPs ------------------------------------------------------------------------
t_eq "RSVP after the event -> 202" 202 \
    "$(acall POST /api/integration/rsvps "$(rsvp did:plc:bobbobbobbob 3mptbyplj5d2b going 3mptbyplj5d2b)")"
t_check "attendeeId is a number" jq -e '.attendeeId | type == "number"' "$BODY"
t_eq "second RSVP (other user) -> 202" 202 \
    "$(acall POST /api/integration/rsvps "$(rsvp did:plc:carolcarolcarol 3mptbyplj5d2f interested 3mptbyplj5d2f)")"
acall GET "/api/events/by-source?$EV_Q" >/dev/null
t_eq "both attendees visible" "did:plc:bobbobbobbob:going:confirmed did:plc:carolcarolcarol:interested:maybe" \
    "$(jbody '[.attendees[]|"\(.did):\(.status):\(.attendeeStatus)"]|join(" ")')"
t_eq "RSVP older rev ignored" 202 \
    "$(acall POST /api/integration/rsvps "$(rsvp did:plc:bobbobbobbob 3mptbyplj5d2b notgoing 3mptbyplj5d2a)")"
acall GET "/api/events/by-source?$EV_Q" >/dev/null
t_eq "bob still going" going "$(jbody '.attendees[]|select(.did=="did:plc:bobbobbobbob")|.status')"
t_eq "RSVP delete -> 202" 202 "$(acall DELETE \
    "/api/integration/rsvps?sourceType=bluesky&sourceId=at://did:plc:bobbobbobbob/community.lexicon.calendar.rsvp/3mptbyplj5d2b&rev=3mptbyplj5d2g")"
acall GET "/api/events/by-source?$EV_Q" >/dev/null
t_eq "RSVP delete removed only that RSVP" "did:plc:carolcarolcarol" "$(jbody '[.attendees[].did]|join(" ")')"
t_eq "RSVP delete of an unknown RSVP -> 202" 202 "$(acall DELETE \
    "/api/integration/rsvps?sourceId=at://did:plc:bobbobbobbob/community.lexicon.calendar.rsvp/3mptbyplj5zzz")"
t_eq "replayed older RSVP create does not resurrect" 202 \
    "$(acall POST /api/integration/rsvps "$(rsvp did:plc:bobbobbobbob 3mptbyplj5d2b going 3mptbyplj5d2b)")"
acall GET "/api/events/by-source?$EV_Q" >/dev/null
t_eq "still only carol" 1 "$(jbody '.attendees|length')"

# OpenMeet failure 4: concurrent first RSVPs of one new DID make one shadow.
CURLS=()
for i in 1 2 3 4 5 6 7 8; do
	curl -s -o /dev/null -m 10 -H "Authorization: Bearer k-test-one" \
	    -H 'x-tenant-id: t1' -H 'content-type: application/json' \
	    --data-binary "$(rsvp did:plc:daved4vedave "3mptbyplj5h2$i" going 3mptbyplj5d2h)" \
	    "$BASE/api/integration/rsvps" &
	CURLS+=($!)
done
wait "${CURLS[@]}"
t_eq "concurrent RSVPs from a new DID: one shadow account" 1 \
    "$(sql "SELECT count(*) FROM users WHERE tenant_id = 't1' AND did = 'did:plc:daved4vedave'")"
t_eq "... and 8 attendee rows" 8 \
    "$(sql "SELECT count(*) FROM attendees WHERE tenant_id = 't1' AND source_id LIKE 'at://did:plc:daved4vedave/%' AND deleted_at IS NULL")"
sql "INSERT INTO users (tenant_id, slug, did, handle, provider, is_shadow) VALUES ('t1', 'erin-real', 'did:plc:erinerinerin', 'erin.test', 'bluesky', false)"
acall POST /api/integration/rsvps "$(rsvp did:plc:erinerinerin 3mptbyplj5k2a going 3mptbyplj5k2a)" >/dev/null
t_eq "a DID linked to a real user gets no shadow" "1 0" \
    "$(sql "SELECT count(*) || ' ' || count(*) FILTER (WHERE is_shadow) FROM users WHERE tenant_id = 't1' AND did = 'did:plc:erinerinerin'")"

# --- validation ------------------------------------------------------------------------
t_eq "invalid event -> 422" 422 "$(acall POST /api/integration/events \
    '{"startDate":"2026-02-30T10:00:00Z","type":"party","status":"maybe","visibility":"everyone","categories":[1],"locations":[{"lat":"north","lon":"200"}],"source":{"type":"myspace","id":5}}')"
t_eq "422 names every bad field" \
    "categories[0] locations[0].lat locations[0].lon name source.id source.type startDate status type visibility" \
    "$(jbody '.errors|keys|join(" ")')"
t_eq "invalid RSVP -> 422" 422 "$(acall POST /api/integration/rsvps \
    '{"eventSourceId":"at://nope","eventSourceType":"bluesky","userDid":"alice","status":"maybe","sourceId":"x"}')"
t_eq "RSVP 422 names every bad field" "eventSourceId sourceId status userDid" \
    "$(jbody '.errors|keys|join(" ")')"
t_eq "numeric lat/lon and date-only startDate accepted" 202 "$(acall POST /api/integration/events \
    '{"name":"Numbers","startDate":"2026-06-01","location":{"lat":0,"lon":-0.5,"description":"here"},"source":{"type":"web","id":"https://example.test/x"}}')"
t_eq "malformed JSON -> 400" 400 "$(acall POST /api/integration/events '{"name": "x",')"
t_eq "malformed JSON error" malformed_json "$(jbody .error)"
BIG=$(head -c 70000 /dev/zero | tr '\0' 'a')
t_eq "body over API_BODY_MAX -> 413" 413 "$(acall POST /api/integration/events "{\"name\":\"$BIG\"}")"
t_eq "unknown route -> JSON 404" not_found "$(call GET /nope >/dev/null; jbody .error)"

# --- tenant isolation ---------------------------------------------------------------------
t_eq "other tenant does not see t1's event" 404 "$(TENANT=t3 acall GET "/api/events/by-source?$EV_Q")"
t_eq "same source in t3 -> 202" 202 "$(TENANT=t3 acall POST /api/integration/events "$(event 'T3 copy' 3mptbyplj5d2a)")"
TENANT=t3 acall GET "/api/events/by-source?$EV_Q" >/dev/null
t_eq "t3 sees its own copy, no attendees" "T3 copy 0" "$(jbody '"\(.name) \(.attendees|length)"')"
acall GET "/api/events/by-source?$EV_Q" >/dev/null
t_eq "t1 unchanged" "Launch Party v2" "$(jbody .name)"
t_eq "t3 has its own shadow creator" 2 "$(sql "SELECT count(*) FROM users WHERE did = '$DID'")"

# --- delete, tombstone -------------------------------------------------------------------------
t_eq "delete by atproto path -> 202" 202 "$(acall DELETE \
    "/api/integration/events/atproto/$DID/community.lexicon.calendar.event/3mptbyplj5d2a?sourceType=bluesky&rev=3mptbyplj5d2m")"
t_eq "deleted event -> 404" 404 "$(acall GET "/api/events/by-source?$EV_Q")"
t_eq "replayed older create -> 202" 202 "$(acall POST /api/integration/events "$(event 'Zombie' 3mptbyplj5d2e)")"
t_check "replay answer says stale" grep -q stale "$BODY"
t_eq "replayed older create does not resurrect" 404 "$(acall GET "/api/events/by-source?$EV_Q")"
t_eq "tombstone keeps the delete's rev" "3mptbyplj5d2m deleted" \
    "$(sql "SELECT rev || ' ' || CASE WHEN deleted_at IS NULL THEN 'live' ELSE 'deleted' END FROM events WHERE tenant_id = 't1' AND source_id = '$EV_URI'")"
t_eq "t3 copy untouched by t1's delete" 200 "$(TENANT=t3 acall GET "/api/events/by-source?$EV_Q")"
t_eq "delete by query of t3 copy -> 202" 202 "$(TENANT=t3 acall DELETE "/api/integration/events?$EV_Q&rev=3mptbyplj5d2b")"
t_eq "t3 copy gone" 404 "$(TENANT=t3 acall GET "/api/events/by-source?$EV_Q")"
t_eq "delete of a never-seen event -> 202 (tombstone)" 202 "$(acall DELETE \
    "/api/integration/events?sourceType=bluesky&sourceId=at://$DID/community.lexicon.calendar.event/3mptbyplj5n2a&rev=3mptbyplj5n2b")"
t_eq "late create older than that delete stays deleted" 404 "$(
    EV_URI="at://$DID/community.lexicon.calendar.event/3mptbyplj5n2a"
    acall POST /api/integration/events "$(event Late 3mptbyplj5n2a)" >/dev/null
    acall GET "/api/events/by-source?sourceId=$EV_URI")"
t_eq "delete with a bad sourceId -> 422" 422 "$(acall DELETE "/api/integration/events?sourceId=nope")"

# --- readiness against a dead database --------------------------------------------------------
DEAD=$(t_free_port)
PORT2=$(t_free_port)
DATABASE_URL="postgresql://atcal@127.0.0.1:$DEAD/atcal" API_LISTEN="127.0.0.1:$PORT2" \
    t_start api_dead "$API_BIN"
t_wait_http "http://127.0.0.1:$PORT2/health/liveness" 30
t_eq "dead DB: liveness 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/health/liveness")"
t_eq "dead DB: readiness 503" 503 "$(curl -s -o "$BODY" -w '%{http_code}' "http://127.0.0.1:$PORT2/health/readiness")"
t_eq "dead DB: 503 body" database_unavailable "$(jbody .error)"
t_eq "dead DB: writes answer 503" 503 "$(curl -s -o /dev/null -w '%{http_code}' \
    -H 'Authorization: Bearer k-test-one' -H 'x-tenant-id: t1' \
    --data-binary "$(event x 3mptbyplj5d2z)" "http://127.0.0.1:$PORT2/api/integration/events")"

# --- shutdown ------------------------------------------------------------------------------------
PID=$(t_pid api)
t_stop api TERM
t_check "SIGTERM stops the api" sh -c "! kill -0 $PID 2>/dev/null"
t_check "no worker died from the sandbox" sh -c "! grep -q 'sandbox violation' '$T_DIR/api.log'"
t_done
