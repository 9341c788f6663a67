#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Identity and account lifecycle end to end against the reference PDS and
# PLC: consumer (FORWARD_IDENTITY at its default, on) -> processor
# (resolves identity events of known DIDs against the test PLC, on its
# resolver thread) -> api. A handle change
# reaches the user and event views; a profile is created, updated and
# deleted; deactivation hides the author's events and reactivation brings
# them back; identity events of a DID the API does not know cost no
# write; replaying the whole stream (cursor reset to 0) changes nothing;
# an admin account deletion removes the author's events.

source tests/lib/common.sh
source tests/lib/interop.sh
t_init identity_lifecycle

ti_require api processor consumer

ti_pipeline interop
# FORWARD_IDENTITY is left unset: forwarding is the default.
unset FORWARD_IDENTITY

ti_start_pds
PDS_URL=$(jq -r .pdsUrl "$T_DIR/pds.json")
export SOURCE_URL=ws://127.0.0.1:$PDS_PORT/xrpc/com.atproto.sync.subscribeRepos
export SOURCE_CURSOR=0
export PLC_URL=$PDS_PLC_URL

t_start api "$T_BIN/api"
t_wait_http "$API_URL/health/liveness" 30
t_check "api is ready" t_wait_for 30 curl -sf "$API_URL/health/readiness"
PROC_METRICS=127.0.0.1:$(t_free_port)
METRICS_LISTEN=$PROC_METRICS t_start processor "$T_BIN/processor"
CONSUMER_METRICS=127.0.0.1:$(t_free_port)
METRICS_LISTEN=$CONSUMER_METRICS t_start consumer "$T_BIN/consumer"

LC=("$NODE" "$IDIR/lifecycle.mjs" --info "$T_DIR/pds.json" --state "$T_DIR/state.json")
lc() { "${LC[@]}" "$@" 2>>"$T_DIR/lifecycle.err"; }
get() {	# get PATH: body on stdout, "" unless 200
	curl -sf -m 10 -H "Authorization: Bearer $KEY" \
	    -H "x-tenant-id: $TENANT_ID" "$API_URL$1"
}
by_source() { get "/api/events/by-source?sourceType=bluesky&sourceId=$1"; }
sql() { psql -X -q -At "$DATABASE_URL" -c "$1"; }
jeq() {	# jeq JQ EXPECTED CMD...: CMD's JSON output has JQ = EXPECTED
	local f=$1 want=$2
	shift 2
	[ "$("$@" | jq -r "$f" 2>/dev/null)" = "$want" ]
}

ALICE=$(lc account alice | jq -r .did)
BOB=$(lc account bob | jq -r .did)
t_check "accounts created" [ -n "$ALICE" ] && [ -n "$BOB" ]
E1=$(lc event alice 3mptlifeev2aa "Lifecycle meetup" | jq -r .uri)
R1=$(lc rsvp bob 3mptlifers2aa "$E1" | jq -r .uri)
t_check "event and RSVP written" [ -n "$E1" ] && [ -n "$R1" ]
t_check "event with its RSVP reaches the API" t_wait_for 60 \
    jeq '.attendees | length' 1 by_source "$E1"

# --- handle change -----------------------------------------------------------
t_check "updateHandle" lc handle alice alice2.test
t_check "new handle on the user" t_wait_for 60 jeq .handle alice2.test get "/api/users/$ALICE"
t_check "  and on the event (creator and source)" t_wait_for 30 \
    jeq '"\(.creator.handle) \(.source.handle)"' "alice2.test alice2.test" by_source "$E1"
t_check "  and the PDS from the DID document" t_wait_for 10 \
    jeq .atproto.pds "$PDS_URL" get "/api/users/$ALICE"

# --- profile -------------------------------------------------------------------
AV=$(lc profile alice '{"displayName":"Alice","description":"hosts things","avatar":true}' | jq -r .avatar)
t_check "profile with avatar written" [ -n "$AV" ] && [ "$AV" != null ]
t_check "profile shows" t_wait_for 60 jeq '"\(.profile.displayName)|\(.profile.description)"' \
    "Alice|hosts things" get "/api/users/$ALICE"
t_eq "avatar URL built from the PDS" \
    "$PDS_URL/xrpc/com.atproto.sync.getBlob?did=$ALICE&cid=$AV" \
    "$(get "/api/users/$ALICE" | jq -r .profile.avatarUrl)"
t_check "profile update (partial: description and avatar dropped)" \
    lc profile alice '{"displayName":"Alice B"}'
t_check "  shows" t_wait_for 60 jeq '"\(.profile.displayName)|\(.profile.description)|\(.profile.avatarCid)"' \
    "Alice B|null|null" get "/api/users/$ALICE"
t_check "profile delete" lc unprofile alice
t_check "  profile gone, account active" t_wait_for 60 \
    jeq '"\(.profile.deleted) \(.atproto.status)"' "true active" get "/api/users/$ALICE"

# --- deactivate / activate ----------------------------------------------------
t_check "deactivateAccount" lc deactivate alice
t_check "deactivated: the event leaves the read API" t_wait_for 60 \
    sh -c "! curl -sf -H 'Authorization: Bearer $KEY' -H 'x-tenant-id: $TENANT_ID' \
    '$API_URL/api/events/by-source?sourceType=bluesky&sourceId=$E1' >/dev/null"
t_eq "  user status" deactivated "$(get "/api/users/$ALICE" | jq -r .atproto.status)"
t_check "activateAccount" lc activate alice
t_check "reactivated: the event is back with its RSVP" t_wait_for 60 \
    jeq '.attendees | length' 1 by_source "$E1"

# --- a DID the API does not know ---------------------------------------------
ignored() {
	curl -s "http://$PROC_METRICS/metrics" | awk '/^bsky_event_processor_events_processed_total\{/ &&
	    /type="identity"/ && /status="ignored"/ { n += $NF } END { print n + 0 }'
}
fingerprint() {
	sql "SELECT (SELECT string_agg(id || ':' || xmin, ',' ORDER BY id) FROM users)
	    || '|' || (SELECT string_agg(id || ':' || xmin, ',' ORDER BY id) FROM events)
	    || '|' || (SELECT string_agg(id || ':' || xmin, ',' ORDER BY id) FROM attendees)"
}
queue_empty() {
	[ "$(curl -s -m 5 -u guest:guest "$T_MGMT_URL/api/queues/$VHOST/community.lexicon.calendar.queue" |
	    jq -r '.messages // 1')" = 0 ]
}
t_check "queue drained" t_wait_for 60 queue_empty
I0=$(ignored)
F0=$(fingerprint)
CAROL=$(lc account carol | jq -r .did)
t_check "unknown DID changes its handle" lc handle carol carol2.test
t_check "  its identity events are ignored (counted)" t_wait_for 60 \
    sh -c "[ \$(curl -s http://$PROC_METRICS/metrics | awk '/^bsky_event_processor_events_processed_total\\{/ && /type=\"identity\"/ && /status=\"ignored\"/ { n += \$NF } END { print n + 0 }') -ge $((I0 + 2)) ]"
t_check "queue drained" t_wait_for 60 queue_empty
t_eq "  no row written for it" "$F0" "$(fingerprint)"
t_eq "  no user for it" 0 "$(sql "SELECT count(*) FROM users WHERE did = '$CAROL'")"

# --- replaying the whole stream changes nothing --------------------------------
snapshot() {
	sql "SELECT did, handle, account_status, account_active, pds,
	    profile_rev, profile_display_name, profile_deleted_at IS NOT NULL,
	    last_seen_at FROM users ORDER BY did"
	sql "SELECT source_id, name, source_handle, rev, deleted_at IS NULL
	    FROM events ORDER BY source_id"
	sql "SELECT source_id, status, rev, deleted_at IS NULL FROM attendees
	    ORDER BY source_id"
}
consumed_past() {	# the restarted consumer has read more than N frames
	[ "$(curl -s "http://$CONSUMER_METRICS/metrics" | awk '/^atcal_consumer_frames_total/ { n += $NF } END { print n + 0 }')" -gt "$1" ]
}
replay() {	# replay N: restart the consumer from cursor 0, wait till applied
	t_stop consumer
	sql "DELETE FROM ingest_cursors"
	METRICS_LISTEN=$CONSUMER_METRICS t_start consumer "$T_BIN/consumer"
	t_check "replay $1 read the stream again" t_wait_for 60 consumed_past 15
	t_check "queue drained after replay $1" t_wait_for 90 queue_empty
}
# The first pass dropped what bob did before the API knew him (his
# account's first identity and account events); a replay may add those,
# after which every further replay is a no-op.
replay 1
S0=$(snapshot)
F0=$(fingerprint)
t_eq "  bob's early identity now applied" bob.test "$(get "/api/users/$BOB" | jq -r .handle)"
replay 2
t_eq "second replay changed no state" "$S0" "$(snapshot)"
t_eq "second replay wrote no row" "$F0" "$(fingerprint)"

# --- admin deletion removes ------------------------------------------------------
t_check "admin deleteAccount" lc delete alice
t_check "deleted: the event is gone" t_wait_for 60 \
    sh -c "[ \"\$(psql -X -q -At '$DATABASE_URL' -c \"SELECT deleted_at IS NOT NULL AND name IS NULL FROM events WHERE source_id = '$E1'\")\" = t ]"
t_eq "  404 from the read API" "" "$(by_source "$E1")"
t_eq "  user status deleted" deleted "$(get "/api/users/$ALICE" | jq -r .atproto.status)"

t_eq "nothing dead-lettered" 0 "$(curl -s -m 5 -u guest:guest \
    "$T_MGMT_URL/api/queues/$VHOST/community.lexicon.calendar.dlq" | jq -r '.messages // "none"')"
t_check "processor still running" kill -0 "$(t_pid processor)"
t_done
