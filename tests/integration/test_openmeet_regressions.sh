#!/bin/bash
# SPDX-License-Identifier: ISC
#
# One regression check per failure of OpenMeet's ingestion (the list in
# ../shared/notes/openmeet.md "What went wrong"), each named
# openmeet_NN_<failure>, proven against a real api process and a fresh
# database. Failures owned by other services are checked at the API's side
# of them here (1: replays after a reconnect are harmless; 2: no handle is
# ever required; 15: parallel delivery is safe); their own tests live with
# the consumer and processor.

. tests/lib/common.sh
t_init openmeet_regressions

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
command -v jq >/dev/null || t_skip "jq not installed"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
PORT=$(t_free_port)
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="$DB" API_LISTEN="127.0.0.1:$PORT" API_WORKERS=2 \
    SERVICE_API_KEYS="k-om-secret-1,k-om-secret-2=other" SCHEMA_DIR=schema \
    LOG_LEVEL=info
t_start api "$API_BIN"
t_wait_http "$BASE/health/liveness" 30
t_check "readiness" t_wait_for 20 sh -c \
    "[ \$(curl -s -o /dev/null -w '%{http_code}' $BASE/health/readiness) = 200 ]"

BODY="$T_DIR/body"
acall() {
	local data=${3:-}
	if [ -n "$data" ]; then
		curl -s -m 30 -o "$BODY" -w '%{http_code}' -X "$1" \
		    -H "Authorization: Bearer k-om-secret-1" -H "x-tenant-id: om" \
		    -H 'content-type: application/json' --data-binary "$data" "$BASE$2"
	else
		curl -s -m 30 -o "$BODY" -w '%{http_code}' -X "$1" \
		    -H "Authorization: Bearer k-om-secret-1" -H "x-tenant-id: om" "$BASE$2"
	fi
}
jbody() { jq -r "$1" "$BODY"; }
sql() { psql -X -q -At "$DB" -c "$1"; }

A=did:plc:omorganizer
EVC=community.lexicon.calendar.event
RSC=community.lexicon.calendar.rsvp
# event RKEY NAME REV [extra]: as the processor maps a record.
event() {
	jq -cn --arg a "$A" --arg rkey "$1" --arg name "$2" --arg rev "$3" \
	    --argjson extra "${4:-{\}}" '{name: $name,
	    startDate: "2026-10-01T18:00:00Z", type: "in-person",
	    status: "published", visibility: "public", categories: [],
	    source: {type: "bluesky", id: ("at://" + $a + "/'$EVC'/" + $rkey),
	      metadata: {rev: $rev, did: $a, rkey: $rkey,
	      collection: "'$EVC'", cid: ("bafy" + $rkey), time_us: 1783175888085434},
	      rawRecord: {"$type": "'$EVC'", name: $name}}} * $extra'
}
rsvp() {
	jq -cn --arg did "$1" --arg rkey "$2" --arg ev "$3" --arg rev "$4" \
	    --arg st "${5:-}" '{eventSourceId: $ev, eventSourceType: "bluesky",
	    userDid: $did, sourceId: ("at://" + $did + "/'$RSC'/" + $rkey),
	    metadata: {rev: $rev, rkey: $rkey, collection: "'$RSC'"}}
	    + (if $st == "" then {} else {status: $st} end)'
}
E1="at://$A/$EVC/3mptomqev222a"

# 1
acall POST /api/integration/events "$(event 3mptomqev222a 'Replayed' 3mptomqev222a)" >/dev/null
acall POST /api/integration/rsvps "$(rsvp did:plc:omreplay 3mptomqrs222a "$E1" 3mptomqrs222a)" >/dev/null
BEFORE=$(sql "SELECT count(*) || '/' || max(rev) FROM events UNION ALL SELECT count(*) || '/' || max(rev) FROM attendees")
for i in 1 2 3; do
	acall POST /api/integration/events "$(event 3mptomqev222a 'Replayed' 3mptomqev222a)" >/dev/null
	acall POST /api/integration/rsvps "$(rsvp did:plc:omreplay 3mptomqrs222a "$E1" 3mptomqrs222a)" >/dev/null
done
t_eq "openmeet_01_no_cursor: replaying from a cursor after a reconnect changes nothing" \
    "$BEFORE" "$(sql "SELECT count(*) || '/' || max(rev) FROM events UNION ALL SELECT count(*) || '/' || max(rev) FROM attendees")"
t_eq "openmeet_01_no_cursor: the cursor table exists for the consumer" 1 \
    "$(sql "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ingest_cursors'")"

# 2
t_eq "openmeet_02_dlq_pileup_no_handle: an RSVP from a DID with no known handle is stored" 202 \
    "$(acall POST /api/integration/rsvps "$(rsvp did:plc:omnohandle 3mptomqrs223a "$E1" 3mptomqrs223a)")"
t_eq "openmeet_02_dlq_pileup_no_handle: its shadow shows the DID as name" "did:plc:omnohandle shadow" \
    "$(acall GET /api/users/did:plc:omnohandle >/dev/null; jbody '"\(.displayName) \(.accountStatus)"')"

# 3
t_eq "openmeet_03_geo_strings: string coordinates accepted" 202 "$(acall POST /api/integration/events \
    "$(event 3mptomqev223a 'Geo' 3mptomqev223a '{"locations":[{"$type":"community.lexicon.location.geo","latitude":"48.8566","longitude":"2.3522"}],"location":{"lat":"48.8566","lon":"2.3522"}}')")"
t_eq "openmeet_03_geo_strings: kept as given" '"48.8566" "2.3522"' "$(
    acall GET "/api/events/by-source?sourceId=at://$A/$EVC/3mptomqev223a" >/dev/null
    jbody '"\(.locations[0].latitude|tojson) \(.locations[0].longitude|tojson)"')"

# 4
CURLS=()
for i in a b c d e f g h; do
	curl -s -o /dev/null -m 20 -H "Authorization: Bearer k-om-secret-1" -H 'x-tenant-id: om' \
	    -H 'content-type: application/json' \
	    --data-binary "$(rsvp did:plc:omnewdid "3mptomrs4${i}22a" "$E1" "3mptomrs4${i}22a")" \
	    "$BASE/api/integration/rsvps" &
	CURLS+=($!)
done
wait "${CURLS[@]}"
t_eq "openmeet_04_shadow_duplicates: concurrent first RSVPs of a DID make one shadow" 1 \
    "$(sql "SELECT count(*) FROM users WHERE tenant_id = 'om' AND did = 'did:plc:omnewdid'")"
t_eq "openmeet_04_shadow_duplicates: (tenant, provider, DID) is unique in the schema" 1 \
    "$(sql "SELECT count(*) FROM pg_constraint WHERE conname = 'users_tenant_provider_did_key'")"
sql "INSERT INTO users (tenant_id, slug, did, provider, is_shadow) VALUES ('om', 'real-erin', 'did:plc:omerin', 'email', false)"
acall POST /api/integration/events "$(jq -cn '{name: "Erin", startDate: "2026-10-02",
    source: {type: "bluesky", id: "at://did:plc:omerin/'$EVC'/3mptomqev224a", metadata: {rev: "3mptomqev224a"}}}')" >/dev/null
t_eq "openmeet_04_shadow_duplicates: a DID linked to a real user gets no shadow; the event is hers" "1 real-erin" \
    "$(sql "SELECT (SELECT count(*) FROM users WHERE tenant_id = 'om' AND did = 'did:plc:omerin') || ' ' || (SELECT u.slug FROM events e JOIN users u ON u.id = e.creator_id WHERE e.name = 'Erin')")"

# 5
E5="at://$A/$EVC/3mptomqev225a"
t_eq "openmeet_05_rsvp_before_event: answered 424, not 400" 424 \
    "$(acall POST /api/integration/rsvps "$(rsvp did:plc:omearly 3mptomqrs225a "$E5" 3mptomqrs225a)")"
t_eq "openmeet_05_rsvp_before_event: retryable, nothing stored" "true 0" \
    "$(jbody .retryable) $(sql "SELECT count(*) FROM attendees WHERE source_id LIKE '%3mptomqrs225a'")"
acall POST /api/integration/events "$(event 3mptomqev225a 'Late event' 3mptomqev225a)" >/dev/null
t_eq "openmeet_05_rsvp_before_event: the retry after the event succeeds" 202 \
    "$(acall POST /api/integration/rsvps "$(rsvp did:plc:omearly 3mptomqrs225a "$E5" 3mptomqrs225a)")"

# 6
CURLS=()
for i in 1 2 3 4 5 6 7 8; do
	curl -s -o "$T_DIR/race.$i" -w '%{http_code}\n' -m 20 -H "Authorization: Bearer k-om-secret-1" \
	    -H 'x-tenant-id: om' -H 'content-type: application/json' \
	    --data-binary "$(event 3mptomqev226a 'Raced' 3mptomqev226a)" \
	    "$BASE/api/integration/events" >>"$T_DIR/race.codes" &
	CURLS+=($!)
done
wait "${CURLS[@]}"
t_eq "openmeet_06_unique_race_errors: 8 concurrent identical creates all answer 202" \
    "8 202" "$(sort "$T_DIR/race.codes" | uniq -c | awk '{print $1, $2}')"
t_eq "openmeet_06_unique_race_errors: one row" 1 \
    "$(sql "SELECT count(*) FROM events WHERE source_id = 'at://$A/$EVC/3mptomqev226a'")"

# 7
acall POST /api/integration/events "$(jq -cn '{name: "Mallory same rkey", startDate: "2026-10-03",
    source: {type: "bluesky", id: "at://did:plc:ommallory/'$EVC'/3mptomqev222a",
    metadata: {rev: "3mptomqev227a", cid: "bafy3mptomqev222a"}}}')" >/dev/null
t_eq "openmeet_07_dedup_not_scoped: another user's record with the same rkey and CID is its own event" \
    "Replayed|Mallory same rkey" \
    "$(sql "SELECT string_agg(name, '|' ORDER BY id) FROM events WHERE rkey = '3mptomqev222a'")"
t_eq "openmeet_07_dedup_not_scoped: (tenant, source type, source id) is unique in the schema" 1 \
    "$(sql "SELECT count(*) FROM pg_constraint WHERE conname = 'events_tenant_source_key'")"

# 8
acall POST /api/integration/rsvps "$(rsvp did:plc:omeight 3mptomqrs22xa "$E1" 3mptomqrs22xa)" >/dev/null
acall POST /api/integration/rsvps "$(rsvp did:plc:omeight 3mptomqrs22xb "$E5" 3mptomqrs22xb)" >/dev/null
acall DELETE "/api/integration/rsvps?sourceId=at://did:plc:omeight/$RSC/3mptomqrs22xz" >/dev/null
t_eq "openmeet_08_rsvp_delete_all: deleting an unknown RSVP cancels nothing else" 2 \
    "$(sql "SELECT count(*) FROM attendees WHERE source_id LIKE 'at://did:plc:omeight/%' AND deleted_at IS NULL AND status = 'going'")"
acall DELETE "/api/integration/rsvps?sourceId=at://did:plc:omeight/$RSC/3mptomqrs22xa&rev=3mptomqrs22ya" >/dev/null
t_eq "openmeet_08_rsvp_delete_all: deleting one RSVP touches exactly that one" "3mptomqrs22xb" \
    "$(sql "SELECT split_part(source_id, '/', 5) FROM attendees WHERE source_id LIKE 'at://did:plc:omeight/%' AND deleted_at IS NULL")"

# 9
acall POST /api/integration/events "$(event 3mptomqev22ya 'Lossless' 3mptomqev22ya '{"locations":[
    {"$type":"community.lexicon.location.address","country":"FR","locality":"Lyon"},
    {"$type":"community.lexicon.location.geo","latitude":"0","longitude":"0"},
    {"$type":"community.lexicon.location.fsq","fsq_place_id":"4b0588"},
    {"$type":"community.lexicon.location.hthree","value":"8a1fb46622dffff"},
    {"$type":"community.lexicon.calendar.event#uri","uri":"https://meet.test/x"}]}')" >/dev/null
acall GET "/api/events/by-source?sourceId=at://$A/$EVC/3mptomqev22ya" >/dev/null
t_eq "openmeet_09_lossy_mapping: all five location kinds kept, 0 coordinates kept" \
    'address geo fsq hthree event#uri "0"' \
    "$(jbody '[.locations[]."$type" | split(".") | last] + [.locations[1].latitude | tojson] | join(" ")')"
t_eq "openmeet_09_lossy_mapping: no placeholder description" null "$(jbody .description)"
t_eq "openmeet_09_lossy_mapping: raw record kept" "community.lexicon.calendar.event" "$(jbody '.source.rawRecord."$type"')"
acall POST /api/integration/rsvps "$(rsvp did:plc:omnine 3mptomqrs22ya "at://$A/$EVC/3mptomqev22ya" 3mptomqrs22ya)" >/dev/null
t_eq "openmeet_09_lossy_mapping: RSVP without status defaults to going" "going confirmed" \
    "$(sql "SELECT status || ' ' || attendee_status FROM attendees WHERE source_id LIKE 'at://did:plc:omnine/%'")"

# 10
t_eq "openmeet_10_notifications: ingestion writes only events, attendees and users" "" \
    "$(sql "SELECT string_agg(relname, ' ') FROM pg_stat_user_tables WHERE n_tup_ins > 0 AND relname NOT IN ('events', 'attendees', 'users', 'schema_migrations')")"

# 11
seq -f '%05g' 1 300 | xargs -P 16 -I{} curl -s -o /dev/null -w '%{http_code}\n' -m 20 \
    -X DELETE -H "Authorization: Bearer k-om-secret-1" -H 'x-tenant-id: om' \
    "$BASE/api/integration/events?sourceId=at://$A/$EVC/3mptomb{}&rev=3mptomqev22za" \
    >"$T_DIR/burst.codes"
t_eq "openmeet_11_backfill_throttled: 300 fast integration writes from one address, no 429" \
    "300 202" "$(sort "$T_DIR/burst.codes" | uniq -c | awk '{print $1, $2}')"

# 12
acall POST /api/integration/events "$(event 3mptomqev22aa 'SECRET-BODY-TEXT' 3mptomqev22aa '{"startDate":"never"}')" >/dev/null
t_check "openmeet_12_log_without_cause: one line with uri and cause for the rejected record" \
    grep -q "request_rejected.*uri=\"at://$A/$EVC/3mptomqev22aa\".*cause=validation_failed" "$T_DIR/api.log"
t_check "openmeet_12_log_without_cause: never the body or the key" \
    sh -c "! grep -qE 'SECRET-BODY-TEXT|k-om-secret' '$T_DIR/api.log'"

# 13
DEAD=$(t_free_port)
PORT2=$(t_free_port)
DATABASE_URL="postgresql://atcal@127.0.0.1:$DEAD/atcal" API_LISTEN="127.0.0.1:$PORT2" \
    t_start api_dead "$API_BIN"
t_wait_http "http://127.0.0.1:$PORT2/health/liveness" 30
t_eq "openmeet_13_readiness_lies: readiness is 503 while the database is down" 503 \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/health/readiness")"

# 14
t_eq "openmeet_14_key_not_constant_time: a key differing in its last byte is refused" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer k-om-secret-3' \
    -H 'x-tenant-id: om' "$BASE/api/events")"
t_eq "openmeet_14_key_not_constant_time: a prefix of a key is refused" 401 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer k-om-secret' \
    -H 'x-tenant-id: om' "$BASE/api/events")"
t_check "openmeet_14_key_not_constant_time: keys compared with atc_ct_equal only" \
    grep -q atc_ct_equal api/auth.c

# 15
CURLS=()
for w in 1 2 3 4; do
	jq -cn --arg a "$A" --argjson w "$w" '{operations: [range(50) | . as $i |
	    {op: "event.upsert", body: {name: "P\($w)-\($i)", startDate: "2026-11-01",
	    source: {type: "bluesky", id: "at://did:plc:ompar\($w)/'$EVC'/3mptompar\($i + 100)a"}}}]}' |
	    curl -s -o "$T_DIR/par.$w" -m 60 -H "Authorization: Bearer k-om-secret-1" -H 'x-tenant-id: om' \
	    -H 'content-type: application/json' --data-binary @- "$BASE/api/integration/batch" &
	CURLS+=($!)
done
wait "${CURLS[@]}"
t_eq "openmeet_15_serial_processing: 4 parallel batches of 50 all applied" "200" \
    "$(cat "$T_DIR"/par.* | jq -s '[.[].results[] | select(.status == 202)] | length')"
t_eq "openmeet_15_serial_processing: 200 distinct events, 4 shadows" "200 4" \
    "$(sql "SELECT count(*) || ' ' || count(DISTINCT creator_id) FROM events WHERE author_did LIKE 'did:plc:ompar%'")"
t_done
