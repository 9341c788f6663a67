#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Labels end to end: a small labeler (tests/interop/label_server.mjs, real
# subscribeLabels frames) -> `consumer labels` -> processor -> api. A !hide
# label on an event hides it from the read API; its negation restores it;
# a !takedown on the author's DID hides the author's events.

source tests/lib/common.sh
source tests/lib/interop.sh
t_init labels_hide

ti_require api processor consumer

ti_pipeline labels

LP=$(t_free_port)
LABEL_PORT=$LP t_start labeler "$NODE" "$IDIR/label_server.mjs"
t_wait_http "http://127.0.0.1:$LP/" 30
t_start api "$T_BIN/api"
t_wait_http "$API_URL/health/liveness" 30
t_check "api is ready" t_wait_for 30 curl -sf "$API_URL/health/readiness"
METRICS_LISTEN=127.0.0.1:$(t_free_port) t_start processor "$T_BIN/processor"
LABELER_HOSTS="ws://127.0.0.1:$LP" METRICS_LISTEN=127.0.0.1:$(t_free_port) \
    t_start labels "$T_BIN/consumer" labels

MOD=did:plc:ar7c4by46qjdydhdevvrndac
AUTHOR=did:plc:2a7ygipkrbh544aqhcav53oy
EV=at://$AUTHOR/community.lexicon.calendar.event/3lbfm7k2kkc2a
status() {
	curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
	    -H "x-tenant-id: $TENANT_ID" \
	    "$API_URL/api/events/by-source?sourceType=bluesky&sourceId=$EV"
}
status_is() { [ "$(status)" = "$1" ]; }
emit() {	# emit SEQ VAL NEG CTS [URI]
	curl -sf -m 5 -X POST "http://127.0.0.1:$LP/emit" -d "{\"seq\":$1,
	    \"labels\":[{\"src\":\"$MOD\",\"uri\":\"${5:-$EV}\",\"val\":\"$2\",
	    \"neg\":$3,\"cts\":\"$4\"}]}" >/dev/null
}

t_eq "event written through the API" 202 "$(curl -s -o /dev/null -w '%{http_code}' \
    -X POST -H "Authorization: Bearer $KEY" -H "x-tenant-id: $TENANT_ID" \
    -H 'content-type: application/json' "$API_URL/api/integration/events" \
    -d "{\"name\":\"Labelled\",\"startDate\":\"2026-09-01T10:00:00Z\",
    \"source\":{\"type\":\"bluesky\",\"id\":\"$EV\",\"metadata\":{\"rev\":\"3lbfm7k2kkc2a\"}}}")"
t_check "visible before any label" status_is 200

t_check "labeler emits !hide" emit 1 '!hide' false 2026-01-02T03:04:05.000Z
t_check "the event is hidden" t_wait_for 60 status_is 404
t_check "labeler emits the negation" emit 2 '!hide' true 2026-01-03T00:00:00.000Z
t_check "the event is back" t_wait_for 60 status_is 200
t_check "!takedown on the author" emit 3 '!takedown' false \
    2026-01-04T00:00:00.000Z "$AUTHOR"
t_check "the author's event is hidden" t_wait_for 60 status_is 404
t_eq "labels stored" 2 "$(psql -X -q -At "$DATABASE_URL" -c \
    "SELECT count(*) FROM labels WHERE tenant_id = '$TENANT_ID'")"
dlq=$(curl -s -m 5 -u guest:guest \
    "$T_MGMT_URL/api/queues/${RABBITMQ_URL##*/}/community.lexicon.calendar.dlq" |
    jq -r '.messages // 0')
t_eq "nothing dead-lettered" 0 "$dlq"
t_done
