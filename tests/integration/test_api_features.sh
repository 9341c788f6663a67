#!/bin/bash
# SPDX-License-Identifier: ISC
#
# The integration API beyond the OpenMeet contract, against a real api and
# a fresh database: the batch endpoint (mixed operations, per-item
# results, 424 and 422 items), the dedup chain (source url, OpenMeet slug,
# rkey across the legacy collection, CID; each scoped to the author's
# DID), concurrency (parallel first writes from one DID, parallel duplicate
# creates), shadow-account claims (convert, merge, 404/409), the read API
# (filters, cursor pagination, visibility, attendees, users) and hostile
# bodies (4xx, nothing stored).

. tests/lib/common.sh
t_init api_features

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
command -v jq >/dev/null || t_skip "jq not installed"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
PORT=$(t_free_port)
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="$DB" API_LISTEN="127.0.0.1:$PORT" API_WORKERS=2 \
    SERVICE_API_KEYS="k-feat" SCHEMA_DIR=schema LOG_LEVEL=info \
    API_BODY_MAX=1048576 API_KEY_RATE_LIMIT=off
t_start api "$API_BIN"
t_wait_http "$BASE/health/liveness" 30
t_check "readiness" t_wait_for 20 sh -c \
    "[ \$(curl -s -o /dev/null -w '%{http_code}' $BASE/health/readiness) = 200 ]"

BODY="$T_DIR/body"
TENANT=t1
# acall METHOD PATH [DATA]: status on stdout, body in $BODY.
acall() {
	local data=${3:-}
	if [ -n "$data" ]; then
		curl -s -m 30 -o "$BODY" -w '%{http_code}' -X "$1" \
		    -H "Authorization: Bearer k-feat" -H "x-tenant-id: $TENANT" \
		    -H 'content-type: application/json' --data-binary "$data" "$BASE$2"
	else
		curl -s -m 30 -o "$BODY" -w '%{http_code}' -X "$1" \
		    -H "Authorization: Bearer k-feat" -H "x-tenant-id: $TENANT" "$BASE$2"
	fi
}
jbody() { jq -r "$1" "$BODY"; }
sql() { psql -X -q -At "$DB" -c "$1"; }

A=did:plc:featorganizer
B=did:plc:featbobbobbob
EVC=community.lexicon.calendar.event
L=abcdefghijklmnop
# event DID RKEY NAME REV [jq object merged into the DTO]
event() {
	jq -cn --arg did "$1" --arg rkey "$2" --arg name "$3" --arg rev "$4" \
	    --argjson extra "${5:-{\}}" '{name: $name,
	    startDate: "2026-08-01T10:00:00Z",
	    source: {type: "bluesky", id: ("at://" + $did + "/'$EVC'/" + $rkey),
	      metadata: {rev: $rev, did: $did, rkey: $rkey}}} * $extra'
}
rsvp() {
	jq -cn --arg did "$1" --arg rkey "$2" --arg ev "$3" --arg st "$4" \
	    --arg rev "$5" '{eventSourceId: $ev, eventSourceType: "bluesky",
	    userDid: $did, status: $st, metadata: {rev: $rev},
	    sourceId: ("at://" + $did + "/community.lexicon.calendar.rsvp/" + $rkey)}'
}

# --- batch ------------------------------------------------------------------
E1="at://$A/$EVC/3mptfeat222za"
BATCH=$(jq -cn --argjson e1 "$(event $A 3mptfeat222za 'Batch One' 3mptfeat222za)" \
    --argjson r1 "$(rsvp $B 3mptfeatr22za "at://$A/$EVC/3mptfeat222za" going 3mptfeatr22za)" \
    --argjson r0 "$(rsvp $B 3mptfeatr222a "at://$A/$EVC/3mptfeat2229a" going 3mptfeatr222a)" \
    '{operations: [{op: "rsvp.upsert", body: $r1}, {op: "event.upsert", body: $e1},
      {op: "rsvp.upsert", body: $r1}, {op: "rsvp.upsert", body: $r0},
      {op: "event.upsert", body: {name: ""}},
      {op: "event.delete", sourceId: "at://did:plc:featorganizer/'$EVC'/3mptfeat2222a", rev: "3mptfeat2222a"}]}')
t_eq "batch -> 200" 200 "$(acall POST /api/integration/batch "$BATCH")"
t_eq "per-item statuses in request order" "0:424 1:202 2:202 3:424 4:422 5:202" \
    "$(jbody '[.results[] | "\(.index):\(.status)"] | join(" ")')"
t_eq "424 items are retryable" "true true" "$(jbody '[.results[] | select(.status == 424) | .retryable] | join(" ")')"
t_eq "422 item names its fields" "name source startDate" "$(jbody '.results[4].errors | keys | join(" ")')"
t_eq "RSVP after its event in the same batch stored" 1 \
    "$(sql "SELECT count(*) FROM attendees WHERE source_id LIKE 'at://$B/%3mptfeatr22za' AND event_id IS NOT NULL")"
t_eq "batch of 501 -> 4xx" 413 "$(acall POST /api/integration/batch \
    "$(jq -cn '{operations: [range(501) | {op: "event.delete", sourceId: "at://did:plc:x/a.b.c/k\(.)"}]}')")"
t_eq "batch without operations -> 422" 422 "$(acall POST /api/integration/batch '{"ops":[]}')"

# --- dedup chain ----------------------------------------------------------------
t_eq "web event with author in metadata" 202 "$(acall POST /api/integration/events \
    '{"name":"OM native","startDate":"2026-08-02","source":{"type":"web","id":"https://om.test/x/1","url":"https://om.test/events/om-native-1","metadata":{"did":"'$A'","cid":"bafyfeatcid"}}}')"
NATIVE_SLUG=$(jbody .slug)
t_eq "bluesky record with that source url -> same event" 202 \
    "$(acall POST /api/integration/events "$(event $A 3mptfeat2223a 'From PDS' 3mptfeat2223a '{"source":{"url":"https://om.test/events/om-native-1"}}')")"
t_eq "matched by source_url, slug follows the name" "from-pds-${NATIVE_SLUG##*-}" "$(jbody .slug)"
t_eq "one row for both" 1 "$(sql "SELECT count(*) FROM events WHERE tenant_id = 't1' AND author_did = '$A' AND source_type = 'web'")"
t_eq "the matched event is now linked to the record's rkey" 3mptfeat2223a \
    "$(sql "SELECT rkey FROM events WHERE tenant_id = 't1' AND source_id = 'https://om.test/x/1'")"
acall POST /api/integration/events '{"name":"Slugged","startDate":"2026-08-03","source":{"type":"web","id":"https://om.test/x/2","metadata":{"did":"'$A'"}}}' >/dev/null
SL=$(jbody .slug)
t_eq "record whose uris name an OpenMeet slug -> that event" "$SL" "$(
    acall POST /api/integration/events "$(event $A 3mptfeat2224a 'Slugged' 3mptfeat2224a \
    "{\"source\":{\"rawRecord\":{\"uris\":[{\"uri\":\"https://om.test/events/$SL\"}]}}}")" >/dev/null; jbody .slug)"
t_eq "slug fallback scoped to the DID: another author's record is a new event" 2 "$(
    acall POST /api/integration/events "$(event $B 3mptfeat2225a 'Slugged' 3mptfeat2225a \
    "{\"source\":{\"rawRecord\":{\"uris\":[{\"uri\":\"https://om.test/events/$SL\"}]}}}")" >/dev/null
    sql "SELECT count(*) FROM events WHERE tenant_id = 't1' AND name = 'Slugged'")"
t_eq "legacy smokesignal record with the same rkey -> same event (rkey)" 1 "$(
    acall POST /api/integration/events "$(jq -cn --arg a $A '{name: "Legacy", startDate: "2026-08-01",
      source: {type: "bluesky", id: ("at://" + $a + "/events.smokesignal.calendar.event/3mptfeat222za"),
      metadata: {rev: "3mptfeat2z26a"}}}')" >/dev/null
    sql "SELECT count(*) FROM events WHERE tenant_id = 't1' AND rkey = '3mptfeat222za'")"
t_eq "... updated by it" Legacy "$(sql "SELECT name FROM events WHERE tenant_id = 't1' AND rkey = '3mptfeat222za'")"
t_eq "rkey fallback scoped to the DID: B's record with A's rkey is new" 2 "$(
    acall POST /api/integration/events "$(event $B 3mptfeat222za 'B same rkey' 3mptfeat222za)" >/dev/null
    sql "SELECT count(*) FROM events WHERE tenant_id = 't1' AND rkey = '3mptfeat222za'")"
acall POST /api/integration/events '{"name":"CID native","startDate":"2026-08-02","source":{"type":"web","id":"https://om.test/x/3","metadata":{"did":"'$A'","cid":"bafyfeatcid2"}}}' >/dev/null
t_eq "CID fallback finds an unlinked event of the same author" "1 By CID" "$(
    acall POST /api/integration/events "$(event $A 3mptfeat2227a 'By CID' 3mptfeat2227a '{"source":{"metadata":{"cid":"bafyfeatcid2"}}}')" >/dev/null
    sql "SELECT count(*) || ' ' || max(name) FROM events WHERE tenant_id = 't1' AND (cid = 'bafyfeatcid2' OR name = 'By CID')")"
t_check "dedup matches logged with their method" grep -q 'dedup=source_url' "$T_DIR/api.log"

# --- concurrency ------------------------------------------------------------------
NEWDID=did:plc:featconcurrent
CURLS=()
for i in 1 2 3 4 5 6 7 8 9 10; do
	curl -s -o /dev/null -m 20 -H "Authorization: Bearer k-feat" -H 'x-tenant-id: t1' \
	    -H 'content-type: application/json' \
	    --data-binary "$(event $NEWDID "3mptfeatc2${L:$i:1}aa" "Par $i" "3mptfeatc2${L:$i:1}aa")" \
	    "$BASE/api/integration/events" &
	CURLS+=($!)
	curl -s -o /dev/null -m 20 -H "Authorization: Bearer k-feat" -H 'x-tenant-id: t1' \
	    -H 'content-type: application/json' \
	    --data-binary "$(jq -cn --argjson e "$(event $NEWDID 3mptfeatdupaa 'Dup' 3mptfeatdupaa)" '{operations: [{op: "event.upsert", body: $e}]}')" \
	    "$BASE/api/integration/batch" &
	CURLS+=($!)
done
wait "${CURLS[@]}"
t_eq "parallel first writes from one DID: one shadow" 1 \
    "$(sql "SELECT count(*) FROM users WHERE tenant_id = 't1' AND did = '$NEWDID'")"
t_eq "parallel duplicate creates: one event" 1 \
    "$(sql "SELECT count(*) FROM events WHERE tenant_id = 't1' AND rkey = '3mptfeatdupaa'")"
t_eq "all 11 events of that DID stored" 11 \
    "$(sql "SELECT count(*) FROM events WHERE tenant_id = 't1' AND author_did = '$NEWDID'")"
t_check "no 5xx during the races" sh -c "! grep -q 'status=5' '$T_DIR/api.log'"

# --- read API -------------------------------------------------------------------------
TENANT=t2
for i in 1 2 3 4 5; do
	acall POST /api/integration/events "$(event $A "3mptfeatl2${L:$i:1}aa" "Listed $i" "3mptfeatl2${L:$i:1}aa" \
	    "{\"startDate\":\"2026-09-0${i}T10:00:00Z\",\"description\":\"about picnic $i\",\"type\":\"$([ $i -le 2 ] && echo online || echo in-person)\"}")" >/dev/null
done
acall POST /api/integration/events "$(event $A 3mptfeatl2gaa Private 3mptfeatl2gaa '{"visibility":"private","startDate":"2026-09-06"}')" >/dev/null
acall POST /api/integration/events "$(event $B 3mptfeatl2haa 'By B' 3mptfeatl2haa '{"startDate":"2026-09-07","status":"cancelled"}')" >/dev/null
acall DELETE "/api/integration/events?sourceId=at://$A/$EVC/3mptfeatl2faa&rev=3mptfeatl2jaa" >/dev/null
t_eq "list -> 200" 200 "$(acall GET /api/events)"
t_eq "only live public events, by start date" "Listed 1|Listed 2|Listed 3|Listed 4|By B" \
    "$(jbody '[.events[].name] | join("|")')"
t_eq "last page has a null cursor" null "$(jbody .cursor)"
acall GET "/api/events?limit=2" >/dev/null
P1=$(jbody '[.events[].name] | join("|")')
C1=$(jbody .cursor)
acall GET "/api/events?limit=2&cursor=$C1" >/dev/null
P2=$(jbody '[.events[].name] | join("|")')
C2=$(jbody .cursor)
acall GET "/api/events?limit=2&cursor=$C2" >/dev/null
t_eq "cursor pagination covers everything once" "Listed 1|Listed 2 Listed 3|Listed 4 By B null" \
    "$P1 $P2 $(jbody '[.events[].name] | join("|")') $(jbody .cursor)"
t_eq "filter from/to" "Listed 2|Listed 3" "$(acall GET '/api/events?from=2026-09-02&to=2026-09-04' >/dev/null; jbody '[.events[].name] | join("|")')"
t_eq "filter mode" "Listed 1|Listed 2" "$(acall GET '/api/events?mode=online' >/dev/null; jbody '[.events[].name] | join("|")')"
t_eq "filter status" "By B" "$(acall GET '/api/events?status=cancelled' >/dev/null; jbody '[.events[].name] | join("|")')"
t_eq "filter creator" "By B" "$(acall GET "/api/events?creator=$B" >/dev/null; jbody '[.events[].name] | join("|")')"
t_eq "filter text" "Listed 3" "$(acall GET '/api/events?q=PICNIC%203' >/dev/null; jbody '[.events[].name] | join("|")')"
t_eq "bad filters -> 422 naming each" "cursor from limit mode" \
    "$(acall GET '/api/events?from=yesterday&mode=party&limit=0&cursor=abc' >/dev/null; jbody '.errors | keys | join(" ")')"
acall GET "/api/events?q=Listed%201" >/dev/null
SLUG1=$(jbody '.events[0].slug')
acall POST /api/integration/rsvps "$(rsvp $B 3mptfeatrz2za "at://$A/$EVC/3mptfeatl2baa" interested 3mptfeatrz2za)" >/dev/null
t_eq "event by slug" "Listed 1 1" "$(acall GET "/api/events/$SLUG1" >/dev/null; jbody '"\(.name) \(.attendees | length)"')"
t_eq "attendees by slug" "$B interested maybe" \
    "$(acall GET "/api/events/$SLUG1/attendees" >/dev/null; jbody '.attendees[0] | "\(.did) \(.status) \(.attendeeStatus)"')"
PRIV=$(sql "SELECT slug FROM events WHERE tenant_id = 't2' AND name = 'Private'")
t_eq "private event not readable by slug" 404 "$(acall GET "/api/events/$PRIV")"
t_eq "unknown slug -> 404" 404 "$(acall GET /api/events/no-such-event-x)"
t_eq "user by DID: shadow" "true shadow $A" \
    "$(acall GET "/api/users/$A" >/dev/null; jbody '"\(.isShadowAccount) \(.accountStatus) \(.displayName)"')"
t_eq "unknown user -> 404" 404 "$(acall GET /api/users/did:plc:nobodyhere)"
t_eq "other tenant sees none of it" 0 "$(TENANT=t9 acall GET /api/events >/dev/null; jbody '.events | length')"

# --- shadow accounts and claims ---------------------------------------------------------
t_eq "shadow list" "$B $A" "$(acall GET /api/shadow-accounts >/dev/null; jbody '[.shadowAccounts[].did] | sort | join(" ")')"
t_eq "claim in place -> 200" 200 "$(acall POST /api/integration/shadow-accounts/claim "{\"did\":\"$B\",\"handle\":\"bob.test\"}")"
t_eq "claim answer" "false false" "$(jbody '"\(.merged) \(.alreadyClaimed)"')"
t_eq "user is claimed" "false claimed bob.test" \
    "$(acall GET "/api/users/$B" >/dev/null; jbody '"\(.isShadowAccount) \(.accountStatus) \(.handle)"')"
t_eq "claim again -> 200 alreadyClaimed" "200 true" \
    "$(acall POST /api/integration/shadow-accounts/claim "{\"did\":\"$B\"}") $(jbody .alreadyClaimed)"
sql "INSERT INTO users (tenant_id, slug, provider, first_name) VALUES ('t2', 'alice-real', 'email', 'Alice')"
NEV=$(sql "SELECT count(*) FROM events e JOIN users u ON u.id = e.creator_id WHERE e.tenant_id = 't2' AND u.did = '$A'")
t_eq "merge into a real user -> 200" 200 "$(acall POST /api/integration/shadow-accounts/claim "{\"did\":\"$A\",\"userSlug\":\"alice-real\"}")"
t_eq "events moved with the merge" "true $NEV" "$(jbody '"\(.merged) \(.eventsMoved)"')"
t_eq "the shadow is gone, the real user holds the DID" "alice-real false" \
    "$(sql "SELECT slug || ' ' || is_shadow FROM users WHERE tenant_id = 't2' AND did = '$A'")"
t_eq "later writes of that DID go to the real user, no new shadow" "alice-real 0" "$(
    acall POST /api/integration/events "$(event $A 3mptfeatl2iaa 'After claim' 3mptfeatl2iaa)" >/dev/null
    sql "SELECT (SELECT u.slug FROM events e JOIN users u ON u.id = e.creator_id WHERE e.tenant_id = 't2' AND e.name = 'After claim') || ' ' || (SELECT count(*) FROM users WHERE tenant_id = 't2' AND did = '$A' AND is_shadow)")"
t_eq "claim of an unknown DID -> 404" 404 "$(acall POST /api/integration/shadow-accounts/claim '{"did":"did:plc:nobodyhere"}')"
sql "INSERT INTO users (tenant_id, slug, did, provider) VALUES ('t2', 'carol-real', 'did:plc:carolother', 'email')"
acall POST /api/integration/rsvps "$(rsvp did:plc:featdan 3mptfeatrz22a "at://$A/$EVC/3mptfeatl2baa" going 3mptfeatrz22a)" >/dev/null
t_eq "merge into a user linked to another DID -> 409" 409 \
    "$(acall POST /api/integration/shadow-accounts/claim '{"did":"did:plc:featdan","userSlug":"carol-real"}')"
t_eq "claim with a bad DID -> 422" 422 "$(acall POST /api/integration/shadow-accounts/claim '{"did":"bob"}')"

# --- hostile bodies: 4xx and nothing stored -------------------------------------------------
TENANT=hostile
t_eq "invalid JSON -> 400" 400 "$(acall POST /api/integration/events '{"name": "x", ]')"
t_eq "wrong types -> 422" 422 "$(acall POST /api/integration/events '{"name": 5, "startDate": [], "source": "bluesky", "locations": {"a": 1}}')"
head -c 10485760 /dev/zero | tr '\0' 'a' | sed 's/^/{"name":"/; s/$/"}/' >"$T_DIR/big.json"
t_eq "10 MB body -> 413" 413 "$(curl -s -m 60 -o "$BODY" -w '%{http_code}' -H "Authorization: Bearer k-feat" \
    -H "x-tenant-id: hostile" -H 'content-type: application/json' --data-binary @"$T_DIR/big.json" \
    "$BASE/api/integration/events")"
DEEP=$(printf '%.0s[' $(seq 1 5000))
t_check "deep nesting -> 4xx" sh -c "c=\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer k-feat' \
    -H 'x-tenant-id: hostile' --data-binary '{\"name\":$DEEP' '$BASE/api/integration/events'); [ \$c -ge 400 ] && [ \$c -lt 500 ]"
t_eq "invalid UTF-8 -> 400" 400 "$(acall POST /api/integration/events "$(printf '{"name":"\xff\xfe"}')")"
t_eq "SQL metacharacters in a sourceId -> 422" 422 \
    "$(acall DELETE "/api/integration/events?sourceId=at://did:plc:x/a.b.c/k'%3B%20DROP%20TABLE%20events%3B--")"
t_eq "nothing stored for the hostile tenant" 0 \
    "$(sql "SELECT count(*) FROM events WHERE tenant_id = 'hostile'")"
t_eq "unicode and SQL metacharacters in a valid body are stored verbatim" "Ünïcødé 🎉 '; DROP TABLE events; --" "$(
    acall POST /api/integration/events "$(event did:plc:featuni 3mptfeatu2baa "Ünïcødé 🎉 '; DROP TABLE events; --" 3mptfeatu2baa)" >/dev/null
    acall GET "/api/events/by-source?sourceId=at://did:plc:featuni/$EVC/3mptfeatu2baa" >/dev/null; jbody .name)"
t_eq "events table intact" 1 "$(sql "SELECT count(*) FROM events WHERE tenant_id = 'hostile'")"
t_done
