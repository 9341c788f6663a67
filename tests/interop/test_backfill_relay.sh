# SPDX-License-Identifier: ISC
#
# Backfill in relay mode: repositories enumerated with
# com.atproto.sync.listReposByCollection on a relay, fetched from each
# one's PDS. The reference PDS does not serve that method, so
# tests/interop/relay_server.mjs plays the relay: it pages (2 repos a page)
# through the PDS's real repositories holding the collection, and refuses
# everything else. Calendar accounts and bystander accounts (no calendar
# record) are written first. The first `consumer backfill` run is SIGKILLed
# while the relay holds its third page of events: the stored cursor must be
# where the relay's second page ended, and the restarted run (kind
# detected: auto) must continue from it, never asking for the first page
# again. At the end every calendar repository is done exactly once, no
# bystander listed, every record published once and present in the API.

source tests/lib/common.sh
source tests/lib/interop.sh
t_init backfill_relay

ti_require api processor consumer

ACCTS=${RELAY_ACCOUNTS:-6}
PER=${RELAY_PER:-20}
BYSTANDERS=3
EVENT=community.lexicon.calendar.event
RSVP=community.lexicon.calendar.rsvp

ti_pipeline relay
export METRICS_LISTEN=off

ti_start_pds
# Relay mode finds each repository's PDS in its DID document.
export PLC_URL=$PDS_PLC_URL

W=("$NODE" "$IDIR/backfill_write.mjs" --info "$T_DIR/pds.json"
    --state "$T_DIR/state.json" --out "$T_DIR/expected.json" --tag r)
t_check "seed $ACCTS calendar accounts x $PER records" "${W[@]}" \
    --mode seed --accounts "$ACCTS" --per "$PER"
t_check "add $BYSTANDERS accounts without calendar records" "${W[@]}" \
    --mode bystanders --accounts "$BYSTANDERS"

PDS_URL=http://127.0.0.1:$PDS_PORT RELAY_INFO_FILE=$T_DIR/relay.json \
    RELAY_PAGE_MAX=2 RELAY_HOLD_AFTER=2 \
    t_start relay "$NODE" "$IDIR/relay_server.mjs"
t_wait_for 30 test -s "$T_DIR/relay.json" ||
    { t_check "relay starts" false; t_done; }
RELAY_HOST=127.0.0.1:$(jq -r .port "$T_DIR/relay.json")
RELAY=http://$RELAY_HOST

t_start api "$T_BIN/api"
t_wait_http "$API_URL/health/liveness" 30
t_start processor "$T_BIN/processor"

psqlq() {
	psql -X -qtA "$DATABASE_URL" -c "$1"
}
export BACKFILL_SOURCE_URL=$RELAY BACKFILL_CONCURRENCY=2

# Run 1: the relay answers two pages of events, then holds the third.
BACKFILL_SOURCE_KIND=relay t_start backfill "$T_BIN/consumer" backfill
t_check "relay holds the third page" t_wait_for 60 \
    grep -q 'relay_server: holding' "$T_DIR/relay.log"
t_stop backfill KILL
CUR=$(sed -n "s/.*list n=2 collection=$EVENT .* next=\(.*\)$/\1/p" \
    "$T_DIR/relay.log")
t_check "second page ended with a cursor" test -n "$CUR" -a "$CUR" != -
t_eq "stored enumeration cursor is the second page's" "$CUR|false" \
    "$(psqlq "SELECT cursor || '|' || done FROM backfill_enumerations
    WHERE host = '$RELAY_HOST' AND scope = '$EVENT'")"
t_eq "repositories of the two pages stored" 4 \
    "$(psqlq "SELECT count(*) FROM backfill_repos")"
MARK=$(wc -l <"$T_DIR/relay.log")

# Run 2: kind detected, enumeration resumed, every repository fetched.
BACKFILL_SOURCE_KIND=auto t_start backfill "$T_BIN/consumer" backfill
backfill_exited() {
	! kill -0 "$(t_pid backfill)" 2>/dev/null
}
t_check "restarted backfill finishes" t_wait_for 180 backfill_exited
t_check "restarted run completed" \
    grep -q 'event=backfill_finished .*complete=true' "$T_DIR/backfill.log"
t_check "auto detected a relay" grep -q \
    "event=backfill_source host=$RELAY_HOST kind=relay probe=ok" \
    "$T_DIR/backfill.log"
run2() {
	tail -n +"$((MARK + 1))" "$T_DIR/relay.log"
}
t_eq "run 2 asked for events from the stored cursor" "cursor=$CUR" \
    "$(run2 | grep " collection=$EVENT .* limit=2000 " | head -n 1 |
    grep -o 'cursor=[^ ]*')"
t_eq "run 2 never asked for the first page of events again" 0 \
    "$(run2 | grep -c " collection=$EVENT cursor=- limit=2000 ")"
pages() {	# pages NSID: listReposByCollection pages served for it
	grep -c " collection=$1 .* limit=2000 " "$T_DIR/relay.log"
}
t_eq "events enumerated in pages of 2" $(((ACCTS + 1) / 2)) \
    "$(pages $EVENT)"
t_eq "RSVPs enumerated in pages of 2" $(((ACCTS + 1) / 2)) "$(pages $RSVP)"
t_eq "the four calendar collections' enumerations finished" 4 \
    "$(psqlq "SELECT count(*) FROM backfill_enumerations WHERE
    host = '$RELAY_HOST' AND done AND cursor IS NULL")"
t_eq "the relay was only asked to enumerate" 0 \
    "$(grep -c 'relay_server: unsupported' "$T_DIR/relay.log")"

t_eq "exactly the calendar repositories listed, each once" \
    "$(jq -r '.accounts[].did' "$T_DIR/state.json" | sort | paste -sd,)" \
    "$(psqlq "SELECT string_agg(did, ',' ORDER BY did) FROM
    backfill_repos")"
BYSTANDER_DIDS=$(jq -r '.bystanders | join(",")' "$T_DIR/state.json")
t_check "bystanders exist on the PDS" test -n "$BYSTANDER_DIDS"
t_eq "no bystander listed" 0 "$(psqlq "SELECT count(*) FROM backfill_repos
    WHERE did = ANY (string_to_array('$BYSTANDER_DIDS', ','))")"
t_eq "every repository done with a snapshot rev" "$ACCTS" \
    "$(psqlq "SELECT count(*) FROM backfill_repos WHERE done_at IS NOT
    NULL AND rev IS NOT NULL AND error IS NULL")"
t_eq "every record published exactly once" $((ACCTS * PER)) \
    "$(psqlq "SELECT sum(records) FROM backfill_repos")"

t_check "API holds every record within 120s" \
    "$NODE" "$IDIR/expect.mjs" --expected "$T_DIR/expected.json" \
    --api "$API_URL" --key "$KEY" --tenant "$TENANT_ID" --wait 120 \
    --summary "$T_DIR/summary.json"
t_check "every RSVP is an attendee" jq -e \
    '.rsvps.bad == 0 and .rsvps.ok > 0 and .events.bad == 0' \
    "$T_DIR/summary.json"
t_eq "each event stored exactly once" \
    "$(jq -r '.events | length' "$T_DIR/expected.json")" \
    "$(psqlq "SELECT count(*) FROM events WHERE deleted_at IS NULL")"

queue_messages() {
	curl -s -m 5 -u guest:guest \
	    "$T_MGMT_URL/api/queues/$VHOST/$1" | jq -r '.messages // "none"'
}
main_queue_empty() {
	[ "$(queue_messages community.lexicon.calendar.queue)" = 0 ]
}
t_check "main queue drained" t_wait_for 30 main_queue_empty
t_eq "nothing dead-lettered" 0 \
    "$(queue_messages community.lexicon.calendar.dlq)"
t_check "backfill dropped no record" \
    bash -c "! grep -q 'event=record_dropped' '$T_DIR/backfill.log'"

t_done
