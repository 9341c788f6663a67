# SPDX-License-Identifier: ISC
#
# An RSVP whose event never comes down the stream: against the reference
# PDS, an author writes event E1 (and E2, deleted again) BEFORE the
# consumer starts from the live tip, so neither is ever published. A guest
# then RSVPs to both. The API answers 424 (event unknown); on the RSVP's
# first retry the processor resolves the author's DID through the test's
# PLC directory, fetches E1 with com.atproto.repo.getRecord from the PDS,
# sends it to the API, and the RSVP's next retry lands on it. E1 must end up
# stored field by field with the RSVP among its attendees, fetched exactly
# once; E2's fetch must report the record absent (no resurrection) while
# its RSVP stays on the retry ladder, nothing dead-lettered.

source tests/lib/common.sh
source tests/lib/interop.sh
t_init fetch_event_pds

ti_require api processor consumer

ti_pipeline fetch


ti_start_pds
export PLC_URL=$PDS_PLC_URL
export SOURCE_URL=ws://127.0.0.1:$PDS_PORT/xrpc/com.atproto.sync.subscribeRepos

WRITE=("$NODE" "$IDIR/fetch_write.mjs" --info "$T_DIR/pds.json"
    --state "$T_DIR/state.json" --out "$T_DIR/expected.json")
t_check "events written before anything ingests" "${WRITE[@]}" --step events
E1=$(jq -r .event1.uri "$T_DIR/state.json")
E2=$(jq -r .event2.uri "$T_DIR/state.json")

t_start api "$T_BIN/api"
t_wait_http "$API_URL/health/liveness" 30
t_check "api is ready" t_wait_for 30 curl -sf "$API_URL/health/readiness"
PROC_METRICS=127.0.0.1:$(t_free_port)
METRICS_LISTEN=$PROC_METRICS t_start processor "$T_BIN/processor"
CONS_METRICS=127.0.0.1:$(t_free_port)
# From the live tip: the events already written are never on the stream.
SOURCE_CURSOR= METRICS_LISTEN=$CONS_METRICS t_start consumer \
    "$T_BIN/consumer"
t_check "consumer connected at the live tip" t_wait_for 30 \
    grep -q 'event=source_connected' "$T_DIR/consumer.log"

t_check "RSVPs written" "${WRITE[@]}" --step rsvps
R1=$(jq -r .rsvp1.uri "$T_DIR/state.json")
R2=$(jq -r .rsvp2.uri "$T_DIR/state.json")

metric() {	# metric ADDR SERIES: its value, or "none"
	curl -s -m 5 "http://$1/metrics" |
	    awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f)
	    print "none" }'
}
published() {	# published TYPE: records the consumer published
	metric "$CONS_METRICS" "bsky_firehose_events_total{host=\"127.0.0.1:\
$PDS_PORT\",type=\"$1\",operation=\"create\"}"
}
rsvps_published() {
	[ "$(published rsvp)" = 2 ]
}
t_check "consumer published both RSVPs" t_wait_for 30 rsvps_published

t_check "E1 and the RSVP to it stored within 90s" \
    "$NODE" "$IDIR/expect.mjs" --expected "$T_DIR/expected.json" \
    --api "$API_URL" --key "$KEY" --tenant "$TENANT_ID" --wait 90 \
    --summary "$T_DIR/summary.json"
t_eq "E1 equals what its author wrote" "ok=1 bad=0" \
    "$(jq -r '"ok=\(.events.ok) bad=\(.events.bad)"' "$T_DIR/summary.json")"
t_eq "the RSVP to E1 is an attendee" "ok=1 bad=0" \
    "$(jq -r '"ok=\(.rsvps.ok) bad=\(.rsvps.bad)"' "$T_DIR/summary.json")"
t_eq "deleted E2 was not resurrected (404)" "ok=1 bad=0" \
    "$(jq -r '"ok=\(.deletedEvents.ok) bad=\(.deletedEvents.bad)"' \
    "$T_DIR/summary.json")"

t_eq "the consumer never published an event" 0 \
    "$(published event)"
t_check "the RSVP to E1 was first answered 424" grep -q \
    "event=record_retry uri=$R1 .*status=424" "$T_DIR/processor.log"
t_check "E1 fetched from the PDS and stored" grep -q \
    "event=event_fetch uri=$E1 outcome=stored rsvp=$R1 " \
    "$T_DIR/processor.log"
# The first 424 retries plainly; the fetch follows the second.
fetch_after_first_retry() {
	awk -v r="uri=$R1 " -v e="uri=$E1 outcome=stored" '
	    index($0, "event=record_retry ") && index($0, r) &&
	    index($0, " attempts=1 ") { a = NR }
	    index($0, "event=event_fetch ") && index($0, e) && !b { b = NR }
	    END { exit !(a && b && a < b) }' "$T_DIR/processor.log"
}
t_check "not fetched on the RSVP's first attempt" fetch_after_first_retry
t_eq "E1 fetched exactly once" 1 \
    "$(grep -c "event=event_fetch uri=$E1 " "$T_DIR/processor.log")"

e2_absent() {
	grep -q "event=event_fetch uri=$E2 outcome=absent rsvp=$R2 " \
	    "$T_DIR/processor.log"
}
t_check "E2's fetch reports the record absent" t_wait_for 30 e2_absent
t_check "E2's RSVP stays on the retry ladder" grep -q \
    "event=record_retry uri=$R2 .*attempts=2 " "$T_DIR/processor.log"
fetches() {
	metric "$PROC_METRICS" \
	    "atcal_processor_event_fetches_total{result=\"$1\"}"
}
t_eq "fetches counted: stored" 1 "$(fetches stored)"
t_check "fetches counted: absent" test "$(fetches absent)" -ge 1
t_eq "fetches counted: failed" 0 "$(fetches failed)"

queue_messages() {
	curl -s -m 5 -u guest:guest \
	    "$T_MGMT_URL/api/queues/$VHOST/$1" | jq -r '.messages // "none"'
}
t_eq "nothing dead-lettered" 0 \
    "$(queue_messages community.lexicon.calendar.dlq)"
t_check "processor still running" kill -0 "$(t_pid processor)"
t_check "consumer dropped no record" \
    bash -c "! grep -q 'event=record_dropped' '$T_DIR/consumer.log'"

t_done
