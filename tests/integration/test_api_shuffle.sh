#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Convergence: one recorded stream of operations (event creates, updates,
# deletes and re-creates, RSVPs before and after their event, RSVP deletes
# before their create, an RSVP to an event that never comes) is applied in
# 100 random orders with random duplicates, each into its own tenant,
# through the batch endpoint in random chunk sizes and the single-record
# endpoints. 424 answers are retried at the end, as the processor would.
# Every tenant's database state (everything but ids and timestamps) must
# equal the first one, and the first must be the expected final state.

. tests/lib/common.sh
t_init api_shuffle

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
command -v jq >/dev/null || t_skip "jq not installed"
RUNS=${SHUFFLE_RUNS:-100}

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
PORT=$(t_free_port)
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="$DB" API_LISTEN="127.0.0.1:$PORT" API_WORKERS=2 \
    SERVICE_API_KEYS="k-shuffle" SCHEMA_DIR=schema LOG_LEVEL=warn \
    API_KEY_RATE_LIMIT=off
t_start api "$API_BIN"
t_wait_http "$BASE/health/liveness" 30
t_check "readiness" t_wait_for 20 sh -c \
    "[ \$(curl -s -o /dev/null -w '%{http_code}' $BASE/health/readiness) = 200 ]"

A=did:plc:shuffleorganizer
B=did:plc:shufflebobbobbo
C=did:plc:shufflecarolcar
D=did:plc:shuffledavedave
EVC=community.lexicon.calendar.event
RSC=community.lexicon.calendar.rsvp
B32=234567abcdefghijklmnopqrstuvwxyz
# rev N: a valid TID, increasing with N.
rev() {
	local n=$1
	echo "3mptbyplj${B32:$((n / 1024 % 32)):1}${B32:$((n / 32 % 32)):1}${B32:$((n % 32)):1}a"
}
ev_uri() { echo "at://$1/$EVC/$2"; }
rs_uri() { echo "at://$1/$RSC/$2"; }

# ev_put DID RKEY NAME REVN [description]
ev_put() {
	jq -cn --arg did "$1" --arg uri "$(ev_uri "$1" "$2")" --arg name "$3" \
	    --arg rev "$(rev "$4")" --arg rkey "$2" --arg desc "${5:-}" \
	    '{op: "event.upsert", body: ({name: $name,
	    startDate: "2026-07-01T18:00:00Z", type: "hybrid",
	    locations: [{"$type": "community.lexicon.location.geo",
	      latitude: "0", longitude: "0"},
	      {"$type": "community.lexicon.location.fsq", fsq_place_id: "x1"}],
	    source: {type: "bluesky", id: $uri, metadata: {rev: $rev,
	      did: $did, rkey: $rkey, cid: ("bafy" + $rev)},
	      rawRecord: {name: $name, extra: {kept: true}}}}
	    + (if $desc == "" then {} else {description: $desc} end))}'
}
ev_del() {
	jq -cn --arg uri "$(ev_uri "$1" "$2")" --arg rev "$(rev "$3")" \
	    '{op: "event.delete", sourceId: $uri, rev: $rev}'
}
# rs_put DID RKEY EVENT-DID EVENT-RKEY STATUS REVN
rs_put() {
	jq -cn --arg did "$1" --arg uri "$(rs_uri "$1" "$2")" \
	    --arg ev "$(ev_uri "$3" "$4")" --arg st "$5" --arg rev "$(rev "$6")" \
	    '{op: "rsvp.upsert", body: ({eventSourceId: $ev,
	    eventSourceType: "bluesky", userDid: $did, sourceId: $uri,
	    metadata: {rev: $rev}} + (if $st == "" then {} else
	    {status: $st} end))}'
}
rs_del() {
	jq -cn --arg uri "$(rs_uri "$1" "$2")" --arg rev "$(rev "$3")" \
	    '{op: "rsvp.delete", sourceId: $uri, rev: $rev}'
}


# Each stream line is "METHOD<TAB>PATH<TAB>SINGLE-BODY<TAB>BATCH-ITEM":
# the same operation for the single-record endpoints and for the batch.
restify() {
	local item op sid
	while IFS= read -r item; do
		op=$(jq -r .op <<<"$item")
		sid=$(jq -r '.sourceId // ""' <<<"$item")
		case "$op" in
		event.upsert) printf 'POST\t/api/integration/events\t%s\t%s\n' \
		    "$(jq -c .body <<<"$item")" "$item" ;;
		rsvp.upsert) printf 'POST\t/api/integration/rsvps\t%s\t%s\n' \
		    "$(jq -c .body <<<"$item")" "$item" ;;
		event.delete) printf 'DELETE\t/api/integration/events?sourceId=%s&rev=%s\t-\t%s\n' \
		    "$sid" "$(jq -r .rev <<<"$item")" "$item" ;;
		rsvp.delete) printf 'DELETE\t/api/integration/rsvps?sourceId=%s&rev=%s\t-\t%s\n' \
		    "$sid" "$(jq -r .rev <<<"$item")" "$item" ;;
		esac
	done
}

# Applies the lines of file $1 for tenant $2 in random chunks (a chunk of
# one goes to the single-record endpoint half of the time); lines answered
# 424 are appended to $3, anything but 202/424 to $T_DIR/bad.
apply() {
	local in=$1 ten=$2 retry=$3 lines=() i j size st sts body
	mapfile -t lines <"$in"
	i=0
	while [ "$i" -lt "${#lines[@]}" ]; do
		size=$((RANDOM % 6 + 1))
		[ $((i + size)) -le "${#lines[@]}" ] || size=$((${#lines[@]} - i))
		if [ "$size" -eq 1 ] && [ $((RANDOM % 2)) -eq 0 ]; then
			IFS=$'\t' read -r m p b _ <<<"${lines[$i]}"
			if [ "$m" = POST ]; then
				sts=$(curl -s -m 20 -o /dev/null -w '%{http_code}' \
				    -H "Authorization: Bearer k-shuffle" \
				    -H "x-tenant-id: $ten" -H 'content-type: application/json' \
				    --data-binary "$b" "$BASE$p")
			else
				sts=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -X DELETE \
				    -H "Authorization: Bearer k-shuffle" \
				    -H "x-tenant-id: $ten" "$BASE$p")
			fi
		else
			body='{"operations":['
			for ((j = i; j < i + size; j++)); do
				[ "$j" -eq "$i" ] || body+=','
				body+=${lines[$j]##*$'\t'}
			done
			body+=']}'
			sts=$(curl -s -m 30 -H "Authorization: Bearer k-shuffle" \
			    -H "x-tenant-id: $ten" -H 'content-type: application/json' \
			    --data-binary "$body" "$BASE/api/integration/batch" |
			    jq -r '.results[].status' | tr '\n' ' ')
		fi
		j=$i
		for st in $sts; do
			case "$st" in
			202) ;;
			424) printf '%s\n' "${lines[$j]}" >>"$retry" ;;
			*) printf 'BAD %s %s\n' "$st" "${lines[$j]}" >>"$T_DIR/bad" ;;
			esac
			j=$((j + 1))
		done
		[ "$j" -eq $((i + size)) ] ||
		    echo "BAD short answer at $i: $sts" >>"$T_DIR/bad"
		i=$((i + size))
	done
}

STREAM="$T_DIR/stream"
{
	ev_put $A e1 "E1 v1" 1 "first"
	ev_put $A e1 "E1 v2" 2
	ev_put $A e2 "E2" 3 "second"
	rs_put $B r1 $A e1 going 4
	rs_put $C r2 $A e1 interested 5
	rs_put $B r1 $A e1 notgoing 6
	ev_del $A e2 7
	ev_put $A e3 "E3" 8
	rs_put $C r3 $A e3 "" 9
	ev_del $A e3 10
	rs_put $C r4 $A e2 going 11
	rs_del $C r2 12
	ev_put $B e4 "E4 by B" 13
	rs_put $A r5 $B e4 going 14
	rs_put $D r6 $A e9 going 15
	ev_put $A e1 "E1 v3" 16 "third"
	rs_del $C r7 18
	rs_put $C r7 $A e1 going 17
	ev_put $A e5 "E5" 19
	ev_del $A e5 20
	ev_put $A e5 "E5 back" 21
	rs_put $B r8 $A e5 interested 22
} | restify >"$STREAM"
NOPS=$(wc -l <"$STREAM")

dump() {
	psql -X -q -At "$DB" -v t="$1" <<'SQL'
SELECT string_agg(x, E'\n' ORDER BY x) FROM (
 SELECT 'E ' || concat_ws(' | ', source_type, source_id, slug, name,
   description, start_date, type, status, visibility, rev,
   deleted_at IS NULL, locations, uris, source_metadata, raw_record,
   author_did, rkey, cid, (SELECT did FROM users u WHERE u.id = creator_id))
   AS x FROM events WHERE tenant_id = :'t'
 UNION ALL
 SELECT 'A ' || concat_ws(' | ', a.source_type, a.source_id, e.source_id,
   u.did, a.status, a.attendee_status, a.event_source_id, a.metadata, a.rev,
   a.deleted_at IS NULL)
   FROM attendees a LEFT JOIN events e ON e.id = a.event_id
   LEFT JOIN users u ON u.id = a.user_id WHERE a.tenant_id = :'t'
 UNION ALL
 SELECT 'U ' || concat_ws(' | ', did, handle, slug, provider, is_shadow,
   first_name) FROM users WHERE tenant_id = :'t') s
SQL
}

# One run: tenant shuffle$1, its own files under $T_DIR/run$1.
one_run() {
	local run=$1 d="$T_DIR/run$1" round
	mkdir -p "$d"
	{ cat "$STREAM"; shuf -n $((RANDOM % NOPS + 1)) "$STREAM"; } |
	    shuf >"$d/order"
	: >"$d/retry"
	apply "$d/order" "shuffle$run" "$d/retry"
	for round in 1 2 3 4 5; do
		[ -s "$d/retry" ] || break
		mv "$d/retry" "$d/again"
		: >"$d/retry"
		apply "$d/again" "shuffle$run" "$d/retry"
	done
	dump "shuffle$run" >"$d/state"
}

# Four runs at a time: concurrent batches of different tenants meet in
# the same tables, as they do in production.
PIDS=()
for run in $(seq 1 "$RUNS"); do
	one_run "$run" &
	PIDS+=($!)
	if [ "${#PIDS[@]}" -eq 4 ]; then
		wait "${PIDS[@]}"
		PIDS=()
	fi
done
[ "${#PIDS[@]}" -eq 0 ] || wait "${PIDS[@]}"
DIFFER=0
for run in $(seq 2 "$RUNS"); do
	if ! cmp -s "$T_DIR/run1/state" "$T_DIR/run$run/state"; then
		[ "$DIFFER" -gt 0 ] ||
		    diff "$T_DIR/run1/state" "$T_DIR/run$run/state"
		DIFFER=$((DIFFER + 1))
	fi
done
cat "$T_DIR"/run*/retry | sort -u >"$T_DIR/retry"

t_check "runs produced states" test -s "$T_DIR/run1/state"
t_check "no answer other than 202/424" sh -c "[ ! -s '$T_DIR/bad' ] || { cat '$T_DIR/bad'; false; }"
t_eq "all $RUNS orders converge to one database state" 0 "$DIFFER"
t_eq "only the RSVP to a never-seen event stays unapplied" \
    "$(rs_put $D r6 $A e9 going 15 | restify)" "$(cat "$T_DIR/retry")"

q() {
	psql -X -q -At "$DB" -c "$1"
}
T1=shuffle1
t_eq "E1 at its newest rev" "E1 v3|third|$(rev 16)" \
    "$(q "SELECT name || '|' || description || '|' || rev FROM events WHERE tenant_id = '$T1' AND source_id = '$(ev_uri $A e1)'")"
t_eq "E2 and E3 are tombstones with their delete's rev" "$(rev 7) $(rev 10)" \
    "$(q "SELECT string_agg(rev, ' ' ORDER BY rev) FROM events WHERE tenant_id = '$T1' AND deleted_at IS NOT NULL")"
t_eq "E5 deleted then re-created with a newer rev is live" "E5 back" \
    "$(q "SELECT name FROM events WHERE tenant_id = '$T1' AND source_id = '$(ev_uri $A e5)' AND deleted_at IS NULL")"
t_eq "live RSVPs: R1 notgoing, R3 and R4 (deleted events), R5, R8" \
    "r1:notgoing r8:interested r3:going r4:going r5:going" \
    "$(q "SELECT string_agg(split_part(source_id, '/', 5) || ':' || status, ' ' ORDER BY source_id) FROM attendees WHERE tenant_id = '$T1' AND deleted_at IS NULL")"
t_eq "RSVP delete newer than its create wins" "$(rev 18)" \
    "$(q "SELECT rev FROM attendees WHERE tenant_id = '$T1' AND source_id = '$(rs_uri $C r7)' AND deleted_at IS NOT NULL")"
curl -s -o "$T_DIR/e1" -H "Authorization: Bearer k-shuffle" -H "x-tenant-id: $T1" \
    "$BASE/api/events/by-source?sourceId=$(ev_uri $A e1)"
t_eq "attendees visible on E1: B notgoing, C via R7 deleted" "$B:notgoing" \
    "$(jq -r '[.attendees[] | "\(.did):\(.status)"] | join(" ")' "$T_DIR/e1")"
t_eq "one shadow per DID that wrote (D never did)" "3" \
    "$(q "SELECT count(*) FROM users WHERE tenant_id = '$T1' AND is_shadow")"
t_done
