#!/bin/bash
# SPDX-License-Identifier: ISC
#
# A slow DID resolution does not stop delivery. The processor resolves the
# identity events of known DIDs against a PLC directory that holds the
# request open (tests/interop/plc_gate.mjs in front of the reference PLC).
# While that one request stays open, other records written meanwhile reach
# the API, and the identity message stays unacknowledged; once the gate
# answers, the resolved handle is applied, the message acked and the queue
# drains. A processor whose loop waited for the resolution would deliver
# nothing before the held request ended.

source tests/lib/common.sh
source tests/lib/interop.sh
t_init identity_resolve_async

ti_require api processor consumer

ti_pipeline interop
MAINQ=community.lexicon.calendar.queue
unset FORWARD_IDENTITY	# the default forwards identity events

ti_start_pds
PLC_URL=$PDS_PLC_URL
export SOURCE_URL=ws://127.0.0.1:$PDS_PORT/xrpc/com.atproto.sync.subscribeRepos
export SOURCE_CURSOR=0

GATE_PORT=$(t_free_port)
GATE=http://127.0.0.1:$GATE_PORT
t_start gate "$NODE" "$IDIR/plc_gate.mjs" "$PLC_URL" "$GATE_PORT"
t_check "PLC gate listens" t_wait_for 20 grep -q "^listening" "$T_DIR/gate.log" ||
    t_done

t_start api "$T_BIN/api"
t_wait_http "$API_URL/health/liveness" 30
t_check "api is ready" t_wait_for 30 curl -sf "$API_URL/health/readiness"
# The processor resolves through the gate; the consumer (signing keys of
# calendar commits) straight from the PLC.
PROC_METRICS=127.0.0.1:$(t_free_port)
PLC_URL=$GATE METRICS_LISTEN=$PROC_METRICS t_start processor "$T_BIN/processor"
PLC_URL=$PLC_URL METRICS_LISTEN=127.0.0.1:$(t_free_port) \
    t_start consumer "$T_BIN/consumer"

LC=("$NODE" "$IDIR/lifecycle.mjs" --info "$T_DIR/pds.json" --state "$T_DIR/state.json")
lc() { "${LC[@]}" "$@" 2>>"$T_DIR/lifecycle.err"; }
get() {	# get PATH: body on stdout, "" unless 200
	curl -sf -m 10 -H "Authorization: Bearer $KEY" \
	    -H "x-tenant-id: $TENANT_ID" "$API_URL$1"
}
by_source() { get "/api/events/by-source?sourceType=bluesky&sourceId=$1"; }
jeq() {	# jeq JQ EXPECTED CMD...: CMD's JSON output has JQ = EXPECTED
	local f=$1 want=$2
	shift 2
	[ "$("$@" | jq -r "$f" 2>/dev/null)" = "$want" ]
}
queue() {	# queue FIELD: a number of the main queue's management record
	curl -s -m 5 -u guest:guest "$T_MGMT_URL/api/queues/$VHOST/$MAINQ" |
	    jq -r ".$1 // -1"
}
unacked() { [ "$(queue messages_unacknowledged)" -ge 1 ]; }
drained() { [ "$(queue messages)" = 0 ]; }
gate_requests() { curl -s -m 5 "$GATE/_gate/requests"; }
held_open() {	# the id of the open held request for DID, if any
	gate_requests | jq -r --arg d "$1" \
	    '[.[] | select(.did == $d and .held and .state == "open")][0].id // empty'
}
is_held() { [ -n "$(held_open "$1")" ]; }
proc_metric() {
	curl -s "http://$PROC_METRICS/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

ALICE=$(lc account alice | jq -r .did)
BOB=$(lc account bob | jq -r .did)
t_check "accounts created" [ -n "$ALICE" ] && [ -n "$BOB" ]
E1=$(lc event alice 3mptasyncev1a "Alice's meetup" | jq -r .uri)
t_check "alice's event reaches the API (alice is now known)" t_wait_for 60 \
    jeq .name "Alice's meetup" by_source "$E1"
# Her account's first identity event came while the API did not know her.
H0=$(get "/api/users/$ALICE" | jq -r .handle)

# --- alice's DID document is held while she changes her handle -------------
t_check "hold alice's DID at the gate" \
    curl -sf -m 5 -X POST "$GATE/_gate/hold?did=$ALICE"
t_check "updateHandle" lc handle alice alice2.test
t_check "the processor asks the PLC for alice's document (held)" \
    t_wait_for 60 is_held "$ALICE"
HELD=$(held_open "$ALICE")
t_eq "  one identity message waits for its resolution" 1 \
    "$(proc_metric atcal_processor_resolving)"

# --- meanwhile, other records keep flowing -----------------------------------
# Both at once: the held request must still be open when they arrive
# (the resolver gives up on it after its 10 s timeout).
lc event bob 3mptasyncev2b "Bob's picnic" >"$T_DIR/e2.json" &
W1=$!
lc rsvp bob 3mptasyncrs1b "$E1" >"$T_DIR/r1.json" &
W2=$!
wait "$W1" "$W2"
E2=$(jq -r .uri "$T_DIR/e2.json")
R1=$(jq -r .uri "$T_DIR/r1.json")
t_check "bob's event and RSVP written" [ -n "$E2" ] && [ -n "$R1" ]
t_check "bob's event reaches the API while the resolution is held" \
    t_wait_for 30 jeq .name "Bob's picnic" by_source "$E2"
t_check "  and his RSVP to alice's event" t_wait_for 30 \
    jeq '.attendees | length' 1 by_source "$E1"
t_eq "  the same DID request was open all along" "open $HELD" \
    "$(gate_requests | jq -r --argjson i "${HELD:-0}" '.[] | select(.id == $i) | "\(.state) \(.id)"')"
t_check "  the identity message is still unacknowledged" t_wait_for 15 unacked
t_eq "  and alice's handle not changed yet" "$H0" \
    "$(get "/api/users/$ALICE" | jq -r .handle)"

# --- the gate answers: the resolved handle is applied, then acked ------------
t_check "release the gate" curl -sf -m 5 -X POST "$GATE/_gate/release"
t_check "the new handle reaches the user" t_wait_for 60 \
    jeq .handle alice2.test get "/api/users/$ALICE"
t_check "  and alice's event" t_wait_for 30 \
    jeq '.source.handle' alice2.test by_source "$E1"
t_check "queue drained (every message acked)" t_wait_for 60 drained
t_eq "nothing waits for a resolution" 0 "$(proc_metric atcal_processor_resolving)"
t_check "the resolution took as long as the gate held it" awk -v d="$ALICE" '
    / event=identity_resolved / && index($0, "uri=" d " ") {
	    for (i = 1; i <= NF; i++) if ($i ~ /^ms=/) ms = substr($i, 4) }
    END { exit !(ms + 0 >= 1000) }' "$T_DIR/processor.log"
t_eq "nothing dead-lettered" 0 "$(curl -s -m 5 -u guest:guest \
    "$T_MGMT_URL/api/queues/$VHOST/community.lexicon.calendar.dlq" | jq -r '.messages // "none"')"
t_check "processor still running" kill -0 "$(t_pid processor)"
t_done
