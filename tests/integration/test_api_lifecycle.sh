#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Identity, account, profile and label endpoints against a real api and a
# fresh database: unknown DIDs cost no write, handles change everywhere,
# deactivation hides and reactivation restores a user's events and RSVPs,
# deletion removes them for good (a replayed create stays out), profiles
# (create, partial update, delete, blob URLs from the PDS), per-DID event
# order and replay idempotence, labels (!hide, negation, expiry, the
# configurable values, users), 422s naming the bad fields, and the cost of an
# unknown DID in the database (one index probe, no transaction id).

. tests/lib/common.sh
t_init api_lifecycle

API_BIN=${API_BIN:-$T_BIN/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
command -v jq >/dev/null || t_skip "jq not installed"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
PORT=$(t_free_port)
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="$DB" API_LISTEN="127.0.0.1:$PORT" API_WORKERS=2 \
    SERVICE_API_KEYS="k-life" SCHEMA_DIR=schema LOG_LEVEL=info \
    API_KEY_RATE_LIMIT=off API_HIDE_LABELS="spam, gore"
t_start api "$API_BIN"
t_wait_http "$BASE/health/liveness" 30
t_check "readiness" t_wait_for 20 sh -c \
    "[ \$(curl -s -o /dev/null -w '%{http_code}' $BASE/health/readiness) = 200 ]"

BODY="$T_DIR/body"
TENANT=t1
acall() {	# acall METHOD PATH [DATA]: status on stdout, body in $BODY
	if [ -n "${3:-}" ]; then
		curl -s -m 30 -o "$BODY" -w '%{http_code}' -X "$1" \
		    -H "Authorization: Bearer k-life" -H "x-tenant-id: $TENANT" \
		    -H 'content-type: application/json' --data-binary "$3" "$BASE$2"
	else
		curl -s -m 30 -o "$BODY" -w '%{http_code}' -X "$1" \
		    -H "Authorization: Bearer k-life" -H "x-tenant-id: $TENANT" "$BASE$2"
	fi
}
jbody() { jq -r "$1" "$BODY"; }
sql() { psql -X -q -At "$DB" -c "$1"; }

A=did:plc:lifeorganizer1
B=did:plc:lifeattendee22
U=did:plc:lifeunknown333
EVC=community.lexicon.calendar.event
RVC=community.lexicon.calendar.rsvp
E1="at://$A/$EVC/3mptlife222za"
R1="at://$B/$RVC/3mptlifer22za"
CID=bafkreibjfgx2gprinfvicegelk5kosd6y2frmqpqzwqkg7usac74l3t2v4
event() {	# event RKEY NAME REV
	jq -cn --arg rkey "$1" --arg name "$2" --arg rev "$3" '{name: $name,
	    startDate: "2026-08-01T10:00:00Z", source: {type: "bluesky",
	    id: ("at://'$A'/'$EVC'/" + $rkey), metadata: {rev: $rev,
	    did: "'$A'", rkey: $rkey}}}'
}
visible() {	# visible URI: by-source status
	acall GET "/api/events/by-source?sourceType=bluesky&sourceId=$1"
}
listed() {	# number of events the listing shows
	acall GET "/api/events" >/dev/null
	jbody '.events | length'
}

t_eq "event create" 202 "$(acall POST /api/integration/events \
    "$(event 3mptlife222za 'Life One' 3mptlife222za)")"
SLUG=$(jbody .slug)
t_eq "rsvp create" 202 "$(acall POST /api/integration/rsvps "$(jq -cn \
    '{eventSourceId: "'$E1'", eventSourceType: "bluesky", userDid: "'$B'",
    status: "going", sourceId: "'$R1'", metadata: {rev: "3mptlifer22za"}}')")"

# --- unknown DIDs cost no write ---------------------------------------------
# Every row version of the tables a lifecycle write could touch: an
# insert, update or delete changes it (xmin is the writing transaction).
writes() {
	sql "SELECT (SELECT string_agg(id || ':' || xmin, ',' ORDER BY id)
	    FROM users) || '|' || (SELECT string_agg(id || ':' || xmin, ','
	    ORDER BY id) FROM events) || '|' || (SELECT string_agg(id || ':' ||
	    xmin, ',' ORDER BY id) FROM attendees) || '|' ||
	    (SELECT count(*) FROM labels)"
}
W0=$(writes)
t_eq "identity of an unknown DID -> 200" 200 "$(acall POST \
    /api/integration/identity '{"did":"'$U'","handle":"x.test","seq":1}')"
t_eq "answer says unknown" false "$(jbody .known)"
t_eq "account of an unknown DID" 200 "$(acall POST /api/integration/account \
    '{"did":"'$U'","active":false,"status":"deactivated","seq":2}')"
t_eq "  unknown" false "$(jbody .known)"
t_eq "profile of an unknown DID" 200 "$(acall POST /api/integration/profile \
    '{"did":"'$U'","rev":"3mptlife222zb","operation":"create","record":{}}')"
t_eq "  unknown" false "$(jbody .known)"
t_check "no user row was made" [ "$(sql "SELECT count(*) FROM users WHERE did = '$U'")" = 0 ]
t_eq "no tuple written for unknown DIDs" "$W0" "$(writes)"
t_check "unknown DIDs counted" sh -c "curl -s $BASE/metrics | grep -q \
    'atcal_api_lifecycle_messages_total{kind=\"identity\",outcome=\"unknown_did\"} 1'"

# --- identity ---------------------------------------------------------------
t_eq "identity hint only -> asks to resolve" "true true" "$(acall POST \
    /api/integration/identity '{"did":"'$A'","handle":"evil.test","seq":5}' \
    >/dev/null; jbody '"\(.known) \(.resolve)"')"
t_eq "  the hint is not stored" "" "$(sql "SELECT coalesce(handle, '') FROM users WHERE did = '$A'")"
IDN='{"did":"'$A'","handle":"organizer.test","seq":10,"time":"2026-01-01T00:00:10.000Z","resolved":true,"pds":"http://localhost:2583"}'
t_eq "resolved identity applies" "200 true" "$(acall POST \
    /api/integration/identity "$IDN") $(jbody .applied)"
visible "$E1" >/dev/null
t_eq "handle shows on the event's creator and source" \
    "organizer.test organizer.test" "$(jbody '"\(.creator.handle) \(.source.handle)"')"
t_eq "replayed identity is stale" false "$(acall POST \
    /api/integration/identity "$IDN" >/dev/null; jbody .applied)"
t_eq "older identity is stale" false "$(acall POST /api/integration/identity \
    '{"did":"'$A'","handle":"old.test","seq":9,"time":"2026-01-01T00:00:09.000Z","resolved":true}' \
    >/dev/null; jbody .applied)"
t_eq "unverified handle -> handle.invalid" handle.invalid "$(acall POST \
    /api/integration/identity '{"did":"'$B'","handle":"","seq":3,"resolved":true}' \
    >/dev/null; jbody .handle)"

# --- account: deactivate hides, activate restores, order per DID ----------
ACC() { echo '{"did":"'$1'","active":'$2',"status":"'$3'","seq":'$4',"time":"'$5'"}'; }
t_eq "events listed before" 1 "$(listed)"
t_eq "deactivate" "200 true" "$(acall POST /api/integration/account \
    "$(ACC $A false deactivated 20 2026-01-01T00:00:20.000Z)") $(jbody .applied)"
t_eq "  event hidden (by-source)" 404 "$(visible "$E1")"
t_eq "  event hidden (listing)" 0 "$(listed)"
t_eq "  by slug" 404 "$(acall GET "/api/events/$SLUG")"
t_eq "  user still shown with its status" "deactivated false" "$(acall GET \
    /api/users/$A >/dev/null; jbody '"\(.atproto.status) \(.atproto.active)"')"
t_eq "older activation is stale" false "$(acall POST /api/integration/account \
    "$(ACC $A true active 15 2026-01-01T00:00:15.000Z)" >/dev/null; jbody .applied)"
t_eq "  still hidden" 404 "$(visible "$E1")"
t_eq "reactivate" true "$(acall POST /api/integration/account \
    "$(ACC $A true active 30 2026-01-01T00:00:30.000Z)" >/dev/null; jbody .applied)"
t_eq "  event back" 200 "$(visible "$E1")"
t_eq "  with its RSVP" 1 "$(jbody '.attendees | length')"
t_eq "attendee deactivated" true "$(acall POST /api/integration/account \
    "$(ACC $B false suspended 40 2026-01-01T00:00:40.000Z)" >/dev/null; jbody .applied)"
visible "$E1" >/dev/null
t_eq "  RSVP hidden" 0 "$(jbody '.attendees | length')"
t_eq "  attendees endpoint too" 0 "$(acall GET /api/events/$SLUG/attendees \
    >/dev/null; jbody '.attendees | length')"
t_eq "attendee back" 1 "$(acall POST /api/integration/account \
    "$(ACC $B true active 41 2026-01-01T00:00:41.000Z)" >/dev/null; visible "$E1" \
    >/dev/null; jbody '.attendees | length')"
t_check "last_seen_at is the newest event's time" [ "$(sql "SELECT last_seen_at \
    = '2026-01-01T00:00:30Z' FROM users WHERE did = '$A'")" = t ]

# --- profile ----------------------------------------------------------------
PROF='{"did":"'$A'","rev":"3mptlifep22za","operation":"create","record":{"displayName":"Org","description":"We meet","avatar":{"$type":"blob","ref":{"$link":"'$CID'"},"mimeType":"image/png","size":4}}}'
t_eq "profile create" true "$(acall POST /api/integration/profile "$PROF" >/dev/null; jbody .applied)"
acall GET /api/users/$A >/dev/null
t_eq "profile shown" "Org|We meet|Org" "$(jbody '"\(.profile.displayName)|\(.profile.description)|\(.displayName)"')"
t_eq "avatar URL from the PDS" \
    "http://localhost:2583/xrpc/com.atproto.sync.getBlob?did=$A&cid=$CID" \
    "$(jbody .profile.avatarUrl)"
t_eq "partial update drops absent fields" "Org2|null|null" "$(acall POST \
    /api/integration/profile '{"did":"'$A'","rev":"3mptlifep22zc","operation":"update","record":{"displayName":"Org2"}}' \
    >/dev/null; acall GET /api/users/$A >/dev/null; jbody '"\(.profile.displayName)|\(.profile.description)|\(.profile.avatarUrl)"')"
t_eq "older profile replay is stale" false "$(acall POST \
    /api/integration/profile "$PROF" >/dev/null; jbody .applied)"
t_eq "profile delete" "true" "$(acall POST /api/integration/profile \
    '{"did":"'$A'","rev":"3mptlifep22zd","operation":"delete"}' >/dev/null; jbody .applied)"
t_eq "  profile gone, account stays" "true null active" "$(acall GET /api/users/$A \
    >/dev/null; jbody '"\(.profile.deleted) \(.profile.displayName) \(.atproto.status)"')"
t_eq "  events unaffected" 200 "$(visible "$E1")"

# --- labels -------------------------------------------------------------------
MOD=did:plc:lifemoderator1
LBL() { echo '{"labels":[{"src":"'$MOD'","uri":"'$1'","val":"'$2'","neg":'$3',"cts":"'$4'"'${5:+,\"exp\":\"$5\"}'}]}'; }
t_eq "!hide label" "200 1" "$(acall POST /api/integration/labels \
    "$(LBL "$E1" '!hide' false 2026-01-02T00:00:00.000Z)") $(jbody .applied)"
t_eq "  event hidden" 404 "$(visible "$E1")"
t_eq "  listing too" 0 "$(listed)"
t_eq "older negation is stale" 0 "$(acall POST /api/integration/labels \
    "$(LBL "$E1" '!hide' true 2026-01-01T00:00:00.000Z)" >/dev/null; jbody .applied)"
t_eq "  still hidden" 404 "$(visible "$E1")"
t_eq "negation lifts it" 200 "$(acall POST /api/integration/labels \
    "$(LBL "$E1" '!hide' true 2026-01-03T00:00:00.000Z)" >/dev/null; visible "$E1")"
t_eq "configured value (API_HIDE_LABELS) hides" 404 "$(acall POST \
    /api/integration/labels "$(LBL "$E1" gore false 2026-01-04T00:00:00.000Z)" \
    >/dev/null; visible "$E1")"
t_eq "expired label stops applying" 200 "$(acall POST /api/integration/labels \
    "$(LBL "$E1" gore false 2026-01-05T00:00:00.000Z 2026-01-06T00:00:00.000Z)" \
    >/dev/null; visible "$E1")"
t_eq "other values do not hide" 200 "$(acall POST /api/integration/labels \
    "$(LBL "$E1" nudity false 2026-01-05T00:00:00.000Z)" >/dev/null; visible "$E1")"
t_eq "!takedown on a user hides the user" 404 "$(acall POST \
    /api/integration/labels "$(LBL "$B" '!takedown' false 2026-01-05T00:00:00.000Z)" \
    >/dev/null; acall GET /api/users/$B)"
visible "$E1" >/dev/null
t_eq "  and the user's RSVPs" 0 "$(jbody '.attendees | length')"
t_eq "label on the RSVP itself" 0 "$(acall POST /api/integration/labels \
    "$(LBL "$B" '!takedown' true 2026-01-06T00:00:00.000Z)" >/dev/null; acall POST \
    /api/integration/labels "$(LBL "$R1" spam false 2026-01-06T00:00:00.000Z)" \
    >/dev/null; visible "$E1" >/dev/null; jbody '.attendees | length')"
t_eq "bad labels -> 422 naming fields" "422 labels[0].cts labels[0].src" \
    "$(acall POST /api/integration/labels '[{"src":"x","uri":"'$E1'","val":"a"}]') $(jbody '.errors | keys | join(" ")')"

# --- validation, auth ---------------------------------------------------------
t_eq "identity 422" "422 did" "$(acall POST /api/integration/identity '{"seq":1}') $(jbody '.errors | keys | join(" ")')"
t_eq "account 422" "422 active" "$(acall POST /api/integration/account '{"did":"'$A'"}') $(jbody '.errors | keys | join(" ")')"
t_eq "profile 422" "422 operation" "$(acall POST /api/integration/profile '{"did":"'$A'"}') $(jbody '.errors | keys | join(" ")')"
t_eq "GET -> 405" 405 "$(acall GET /api/integration/account)"
t_eq "no key -> 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H "x-tenant-id: t1" -d '{}' $BASE/api/integration/account)"
t_eq "malformed JSON -> 400" 400 "$(acall POST /api/integration/identity '{')"

# --- account deletion removes -------------------------------------------------
t_eq "account deleted" "true 1 1" "$(acall POST /api/integration/account \
    "$(ACC $A false deleted 50 2026-01-01T00:00:50.000Z)" >/dev/null; jbody \
    '"\(.applied) \(.eventsRemoved) \(.known)"' | sed 's/true$/1/')"
t_eq "  event removed (tombstone)" "404 t" "$(visible "$E1") $(sql \
    "SELECT deleted_at IS NOT NULL AND name IS NULL FROM events WHERE source_id = '$E1'")"
t_eq "  a replayed create does not resurrect it" 404 "$(acall POST \
    /api/integration/events "$(event 3mptlife222za 'Life One' 3mptlife222za)" \
    >/dev/null; visible "$E1")"
t_eq "  reactivation does not bring it back" 404 "$(acall POST \
    /api/integration/account "$(ACC $A true active 60 2026-01-01T00:01:00.000Z)" \
    >/dev/null; visible "$E1")"
t_eq "deleted attendee's RSVPs removed" "1" "$(acall POST /api/integration/account \
    "$(ACC $B false deleted 70 2026-01-01T00:01:10.000Z)" >/dev/null; jbody .rsvpsRemoved)"
t_check "  RSVP row tombstoned" [ "$(sql "SELECT deleted_at IS NOT NULL FROM attendees WHERE source_id = '$R1'")" = t ]

# --- what an unknown DID costs the database ---------------------------------
# The whole network's identity, account and profile traffic reaches these
# functions (FORWARD_IDENTITY is on by default): for a DID no user has, each
# must be one index probe of users, without writing (no transaction id is
# ever assigned). Checked on a table big enough for the planner to prefer
# the index, with the plans auto_explain logs for the nested statements.
sql "INSERT INTO users (tenant_id, slug, did, is_shadow) SELECT 'bulk',
    'bulk-' || g, 'did:plc:' || substr(md5(g::text), 1, 24), true
    FROM generate_series(1, 20000) g; ANALYZE users" >/dev/null
if [ "$(sql "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" = t ]; then
	psql -X -q -At "$DB" >"$T_DIR/unknown_plans.log" 2>&1 <<-SQL
	LOAD 'auto_explain';
	SET auto_explain.log_min_duration = 0;
	SET auto_explain.log_nested_statements = on;
	SET client_min_messages = log;
	BEGIN;
	SELECT 'identity=' || (atcal_identity('bulk', '{"did":"$U","handle":"x.test","seq":1}') ->> 'known');
	SELECT 'account=' || (atcal_account('bulk', '{"did":"$U","active":false,"seq":2}') ->> 'known');
	SELECT 'profile=' || (atcal_profile('bulk', '{"did":"$U","rev":"3mptlife222zc","operation":"create","record":{}}') ->> 'known');
	SELECT 'xid=' || coalesce(txid_current_if_assigned()::text, 'none');
	COMMIT;
	SQL
	t_eq "unknown DID: all three answer unknown" \
	    "identity=false account=false profile=false" \
	    "$(grep -E '^(identity|account|profile)=' "$T_DIR/unknown_plans.log" |
	    tr '\n' ' ' | sed 's/ $//')"
	t_eq "  with one index probe each" 3 "$(grep -c \
	    'Index Only Scan using users_tenant_did_idx on users' "$T_DIR/unknown_plans.log")"
	t_eq "  and nothing else scanned" 0 \
	    "$(grep -Ec 'Seq Scan|Index Scan|Bitmap' "$T_DIR/unknown_plans.log")"
	t_eq "  and no transaction id (no write)" xid=none \
	    "$(grep '^xid=' "$T_DIR/unknown_plans.log")"
else
	_t_say "not a superuser: the unknown-DID plan checks need auto_explain"
fi

t_done
