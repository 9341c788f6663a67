# SPDX-License-Identifier: ISC
#
# Backfill against two reference PDS instances at once. 2,000 calendar
# records (events and RSVPs) across 20 accounts are written BEFORE anything
# ingests; live consumers then follow each PDS from its live tip, and
# `consumer backfill` runs over both hosts (rate-limited so it takes a
# while) while writes go on: updates, deletes and creates, hitting repos
# both before and after their snapshot. The backfill is SIGKILLed in the
# middle and restarted: stored progress must resume (fewer repos pending,
# none missing). At the end the API must hold every record exactly as last
# written, deleted ones absent, and the progress tables must show every
# repository done with its snapshot rev.

source tests/lib/common.sh
source tests/lib/interop.sh
t_init backfill_pds

ti_require api processor consumer

ACCTS1=${BACKFILL_ACCOUNTS1:-12}
ACCTS2=${BACKFILL_ACCOUNTS2:-8}
PER=${BACKFILL_PER:-100}
CHURN=${BACKFILL_CHURN:-60}
WAIT_S=${BACKFILL_WAIT_S:-240}

ti_pipeline backfill
export VERIFY_SIGNATURES=off

for n in 1 2; do
	PDS_INFO_FILE=$T_DIR/pds$n.json PDS_DATA_DIR=$T_DIR/pds$n \
	    LOG_ENABLED=false t_start pds$n "$NODE" "$IDIR/pds.mjs"
done
for n in 1 2; do
	if ! t_wait_for 60 test -s "$T_DIR/pds$n.json"; then
		t_check "reference PDS $n starts" false
		t_done
	fi
done
P1=$(jq -r .pdsPort "$T_DIR/pds1.json")
P2=$(jq -r .pdsPort "$T_DIR/pds2.json")

writer() {	# writer N MODE ARGS...
	local n=$1 mode=$2
	shift 2
	"$NODE" "$IDIR/backfill_write.mjs" --info "$T_DIR/pds$n.json" \
	    --state "$T_DIR/state$n.json" --out "$T_DIR/expected$n.json" \
	    --mode "$mode" --seed "$n" --tag "p$n" "$@"
}

t_check "seed PDS 1: $ACCTS1 accounts x $PER records" \
    writer 1 seed --accounts "$ACCTS1" --per "$PER"
t_check "seed PDS 2: $ACCTS2 accounts x $PER records" \
    writer 2 seed --accounts "$ACCTS2" --per "$PER"
seeded=$(jq -s '[.[] | (.events | length) + (.rsvps | length)] | add' \
    "$T_DIR/expected1.json" "$T_DIR/expected2.json")
t_eq "records written before the pipeline starts" \
    $(((ACCTS1 + ACCTS2) * PER)) "$seeded"

t_start api "$T_BIN/api"
t_wait_http "$API_URL/health/liveness" 30
METRICS_LISTEN=off t_start processor "$T_BIN/processor"
# Live consumers from each PDS's live tip: they never see the seed.
for n in 1 2; do
	port=$P1
	[ "$n" = 2 ] && port=$P2
	SOURCE_URL=ws://127.0.0.1:$port/xrpc/com.atproto.sync.subscribeRepos \
	    SOURCE_CURSOR= METRICS_LISTEN=off t_start live$n "$T_BIN/consumer"
done
for n in 1 2; do
	t_check "live consumer $n connected" t_wait_for 30 \
	    grep -q 'event=source_connected' "$T_DIR/live$n.log"
done

export BACKFILL_SOURCE_URL=http://127.0.0.1:$P1,http://127.0.0.1:$P2
export BACKFILL_CONCURRENCY=2 BACKFILL_RATE=3
BF=("$T_BIN/consumer" backfill)
METRICS_LISTEN=off t_start backfill "${BF[@]}"
t_start churn1 bash -c "$(declare -f writer); NODE=$NODE IDIR=$IDIR \
    T_DIR=$T_DIR writer 1 churn --ops $CHURN --pace 150"
t_start churn2 bash -c "$(declare -f writer); NODE=$NODE IDIR=$IDIR \
    T_DIR=$T_DIR writer 2 churn --ops $CHURN --pace 150"

psqlq() {
	psql -X -qtA "$DATABASE_URL" -c "$1"
}
repos_done_at_least() {
	[ "$(psqlq "SELECT count(*) FROM backfill_repos WHERE done_at IS
	    NOT NULL")" -ge "$1" ]
}
t_check "backfill marks repos done" t_wait_for 90 repos_done_at_least 6
t_stop backfill KILL
done_before=$(psqlq "SELECT count(*) FROM backfill_repos WHERE done_at IS
    NOT NULL")
t_eq "enumeration of both hosts stored and finished" "2" \
    "$(psqlq "SELECT count(*) FROM backfill_enumerations WHERE done")"
t_eq "every repository enumerated" $((ACCTS1 + ACCTS2)) \
    "$(psqlq "SELECT count(*) FROM backfill_repos")"

METRICS_LISTEN=off t_start backfill "${BF[@]}"
backfill_exited() {
	! kill -0 "$(t_pid backfill)" 2>/dev/null
}
t_check "restarted backfill finishes" t_wait_for 180 backfill_exited
t_check "restarted run resumed with only the pending repos" \
    grep -q "repos_pending=$((ACCTS1 + ACCTS2 - done_before)) " \
    "$T_DIR/backfill.log"
t_check "restarted run completed" \
    grep -q 'event=backfill_finished .*complete=true' "$T_DIR/backfill.log"
t_eq "every repository done with a snapshot rev" $((ACCTS1 + ACCTS2)) \
    "$(psqlq "SELECT count(*) FROM backfill_repos WHERE done_at IS NOT
    NULL AND rev IS NOT NULL AND error IS NULL")"
t_check "both hosts progressed in one run" test "$(psqlq "SELECT
    count(DISTINCT host) FROM backfill_repos")" = 2

for n in 1 2; do
	t_check "churn writer $n finishes" t_wait_for 120 \
	    bash -c "! kill -0 $(t_pid churn$n) 2>/dev/null"
	t_check "churn writer $n succeeded" \
	    grep -q 'backfill_write.mjs: done mode=churn' "$T_DIR/churn$n.log"
done
t_check "writes hit repos during the backfill (updates and deletes)" \
    bash -c "grep -q 'op=update' '$T_DIR/churn1.log' &&
    grep -q 'op=delete' '$T_DIR/churn2.log'"

EXP=$T_DIR/expected.json
jq -s '{events: (.[0].events + .[1].events),
    rsvps: (.[0].rsvps + .[1].rsvps),
    deleted: (.[0].deleted + .[1].deleted)}' \
    "$T_DIR/expected1.json" "$T_DIR/expected2.json" >"$EXP"
t_check "expected state has deletes" jq -e '(.deleted | length) > 10' "$EXP"

t_check "API reflects every record within ${WAIT_S}s" \
    "$NODE" "$IDIR/expect.mjs" --expected "$EXP" --api "$API_URL" \
    --key "$KEY" --tenant "$TENANT_ID" --wait "$WAIT_S" \
    --summary "$T_DIR/summary.json"
summary() {
	jq -r "\"ok=\(.$1.ok) bad=\(.$1.bad)\"" "$T_DIR/summary.json" \
	    2>/dev/null
}
t_eq "live events equal what was last written" \
    "ok=$(jq -r '.events | length' "$EXP") bad=0" "$(summary events)"
t_eq "deleted events answer 404 (no resurrection)" \
    "ok=$(jq -r '[.deleted[] | select(test("calendar.event/"))] | length' \
    "$EXP") bad=0" "$(summary deletedEvents)"
t_eq "deleted RSVPs are not attendees" \
    "ok=$(jq -r '[.deleted[] | select(test("calendar.rsvp/"))] | length' \
    "$EXP") bad=0" "$(summary deletedRsvps)"
t_check "every RSVP of a live event is an attendee" \
    jq -e '.rsvps.bad == 0 and .rsvps.ok > 100' "$T_DIR/summary.json"
t_eq "each live event stored exactly once" \
    "$(jq -r '.events | length' "$EXP")" \
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
