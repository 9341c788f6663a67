# SPDX-License-Identifier: ISC
#
# Cut-over of a backfill with the live stream, forced into its worst
# order. The backfill runs in its own process and does not buffer live
# events; it relies on the API's per-record rev ordering and tombstones.
# This test proves that choice: the backfill's messages (snapshot rev R)
# are published into a holding vhost; then an event is updated and another
# deleted (revs > R) and the live pipeline applies both; only THEN are the
# held backfill messages delivered. The stale snapshot must neither
# resurrect the deleted event nor undo the update, and every other
# snapshot record must land.

source tests/lib/common.sh
source tests/lib/interop.sh
t_init backfill_cutover

ti_require api processor consumer

ti_pipeline cutover
HOLD_URL=$(t_new_vhost) || { t_check "create vhost" false; t_done; }
HOLD=${HOLD_URL##*/}
export VERIFY_SIGNATURES=off METRICS_LISTEN=off

ti_start_pds
PORT=$PDS_PORT
W=("$NODE" "$IDIR/backfill_write.mjs" --info "$T_DIR/pds.json"
    --state "$T_DIR/state.json" --out "$T_DIR/expected.json" --tag c)
t_check "seed 2 accounts x 20 records" "${W[@]}" --mode seed --accounts 2 \
    --per 20

t_start api "$T_BIN/api"
t_wait_http "$API_URL/health/liveness" 30
t_start processor "$T_BIN/processor"
SOURCE_URL=ws://127.0.0.1:$PORT/xrpc/com.atproto.sync.subscribeRepos \
    SOURCE_CURSOR= t_start live "$T_BIN/consumer"
t_check "live consumer connected" t_wait_for 30 \
    grep -q 'event=source_connected' "$T_DIR/live.log"

t_check "backfill into the holding vhost completes" env \
    RABBITMQ_URL="$HOLD_URL" BACKFILL_SOURCE_URL="http://127.0.0.1:$PORT" \
    "$T_BIN/consumer" backfill

# Writes after the snapshot: update (op 0) then delete (op 1).
t_check "update one event, delete another" "${W[@]}" --mode churn --ops 2
X=$(jq -r '[.events | to_entries[] | select(.value.name | test("upd"))]
    | .[0].key' "$T_DIR/expected.json")
Y=$(jq -r '.deleted[0]' "$T_DIR/expected.json")
jq --arg x "$X" '{events: {($x): .events[$x]}, rsvps: {}, deleted:
    .deleted}' "$T_DIR/expected.json" >"$T_DIR/live_only.json"
expect() {
	"$NODE" "$IDIR/expect.mjs" --expected "$1" --api "$API_URL" \
	    --key "$KEY" --tenant "$TENANT_ID" --wait "$2"
}
t_check "live update and delete applied first" expect "$T_DIR/live_only.json" 60

held() {
	curl -s -m 5 -u guest:guest \
	    "$T_MGMT_URL/api/queues/$HOLD/community.lexicon.calendar.queue" |
	    jq -r '.messages // 0'
}
held_is() {
	[ "$(held)" = "$1" ]
}
t_check "all 40 snapshot records held" t_wait_for 15 held_is 40
curl -s -m 10 -u guest:guest -X POST -H 'content-type: application/json' \
    -d '{"count":1000,"ackmode":"ack_requeue_false","encoding":"auto"}' \
    "$T_MGMT_URL/api/queues/$HOLD/community.lexicon.calendar.queue/get" |
    jq -c '.[] | {properties: {delivery_mode: 2, content_type:
    "application/json", message_id: .properties.message_id},
    routing_key, payload, payload_encoding: "string"}' \
    >"$T_DIR/held.jsonl"
t_eq "held messages are backfill creates" "40 40" \
    "$(jq -s '[length, (map(select((.payload | fromjson) as $b |
    $b.backfill == true and $b.commit.operation == "create" and
    (.routing_key | test("^(event|rsvp)\\.backfill$")))) | length)] |
    join(" ")' -r "$T_DIR/held.jsonl")"
t_check "the held snapshot holds the deleted event" \
    grep -q "\"message_id\":\"${Y}#" "$T_DIR/held.jsonl"
sent=0
while read -r m; do
	curl -sf -m 5 -u guest:guest -X POST -H 'content-type: application/json' \
	    -d "$m" "$T_MGMT_URL/api/exchanges/$VHOST/community.lexicon.calendar/publish" |
	    grep -q '"routed":true' && sent=$((sent + 1))
done <"$T_DIR/held.jsonl"
t_eq "stale snapshot delivered after the live writes" 40 "$sent"

t_check "final state: update kept, delete not resurrected, all else in" \
    expect "$T_DIR/expected.json" 120
t_check "the API ignored stale snapshot writes" \
    grep -q 'stale' "$T_DIR/api.log"

t_done
