#!/bin/bash
# SPDX-License-Identifier: ISC
#
# The set-based write path (schema/0010: atcal_apply cuts a batch into
# segments applied with one statement per step) must give exactly what the
# one-by-one path of schema/0007 gives. Random batches over a small world
# (record twins by rkey, events not linked to a record found by url, slug
# and CID, RSVPs before and after their event, tombstones, stale revs,
# changing handles) are applied to tenant "set" through atcal_apply and to
# tenant "seq" one operation at a time; after every batch the results
# (attendee ids as source ids) must match, and at the end the stored rows
# (ids as source keys, timestamps left out).

. tests/lib/common.sh
t_init api_write_equivalence

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"
command -v python3 >/dev/null || t_skip "python3 not installed"
BATCHES=${EQUIV_BATCHES:-60}
DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
DATABASE_URL="$DB" SCHEMA_DIR=schema SERVICE_API_KEYS=x "$API_BIN" migrate \
    >"$T_DIR/migrate.log" 2>&1
t_check "migrations apply" test $? -eq 0

# Batches: "wide" ones touch many records (few segments, the set path),
# "narrow" ones hit the same few records (the one-by-one path).
python3 - "$BATCHES" >"$T_DIR/batches.jsonl" <<'EOF'
import json, random, sys
random.seed(20261123)
B32 = "234567abcdefghijklmnopqrstuvwxyz"
def tid(n):
    s = ""
    for i in range(12):
        s = B32[n % 32] + s
        n //= 32
    return "3" + s
authors = ["did:plc:eqauthor%d" % i for i in range(12)]
users = ["did:plc:equser%d" % i for i in range(16)]
colls = ["community.lexicon.calendar.event", "events.smokesignal.calendar.event"]
def handle(d):
    return random.choice([None, None, d[8:] + ".test", d[8:] + ".alt"])
def rev():
    return None if random.random() < 0.1 else tid(random.randrange(1, 400))
def ev_uri(width):
    return "at://%s/%s/k%d" % (random.choice(authors), random.choice(colls),
        random.randrange(width))
def event_put(width):
    if random.random() < 0.12:
        # Another source: author in metadata, no rkey (an unlinked event;
        # it puts every event write of its author in a segment of its own).
        d = authors[0]
        n = random.randrange(3)
        return {"op": "event.put", "sourceType": "web",
            "sourceId": "https://ex.test/e/%d" % n, "lock": d, "did": d,
            "cid": "bafyweb%d" % n, "name": "Web %d" % n,
            "sourceUrl": "https://om.test/events/web-%d" % n,
            "startDate": "2026-12-01T18:00:00Z", "type": "in-person",
            "status": "published", "visibility": "public",
            "metadata": {"did": d}, "urls": ["https://om.test/events/web-%d" % n],
            "slugs": ["web-%d" % n]}
    uri = ev_uri(width)
    d, coll, rk = uri[5:].split("/")
    n = random.randrange(3)
    urls, slugs = [], []
    if random.random() < 0.3:
        urls = ["https://om.test/events/web-%d" % n]
        slugs = ["web-%d" % n]
    o = {"op": "event.put", "sourceType": "bluesky", "sourceId": uri,
        "lock": d, "did": d, "rkey": rk, "name": random.choice(["Meetup",
        "Talk", "Party!"]), "startDate": "2026-12-0%dT18:00:00Z" %
        random.randrange(1, 9), "type": "in-person", "status": "published",
        "visibility": "public", "metadata": {"rkey": rk},
        "rawRecord": {"name": "x"}, "urls": urls, "slugs": slugs}
    if random.random() < 0.5:
        o["cid"] = "bafyweb%d" % n if random.random() < 0.3 else "bafy" + rk
    for k, v in (("rev", rev()), ("handle", handle(d))):
        if v is not None:
            o[k] = v
    return o
def event_del(width):
    uri = ev_uri(width)
    d, coll, rk = uri[5:].split("/")
    o = {"op": "event.del", "sourceType": "bluesky", "sourceId": uri,
        "lock": d, "did": d, "rkey": rk}
    r = rev()
    if r:
        o["rev"] = r
    return o
def rsvp_id(width):
    u = random.choice(users)
    return u, "at://%s/community.lexicon.calendar.rsvp/r%d" % (u,
        random.randrange(width))
def rsvp_put(width):
    u, sid = rsvp_id(width)
    e = ev_uri(width)
    d, coll, rk = e[5:].split("/")
    st = random.choice(["going", "interested", "notgoing"])
    o = {"op": "rsvp.put", "lock": u, "sourceType": "bluesky",
        "sourceId": sid, "eventSourceType": "bluesky", "eventSourceId": e,
        "eventDid": d, "eventRkey": rk, "did": u, "status": st,
        "attendeeStatus": {"going": "confirmed", "interested": "maybe",
        "notgoing": "cancelled"}[st], "metadata": {"s": st}}
    for k, v in (("rev", rev()), ("handle", handle(u))):
        if v is not None:
            o[k] = v
    return o
def rsvp_del(width):
    u, sid = rsvp_id(width)
    o = {"op": "rsvp.del", "sourceType": "bluesky", "sourceId": sid,
        "lock": u, "did": u}
    r = rev()
    if r:
        o["rev"] = r
    return o
kinds = [event_put] * 5 + [event_del] + [rsvp_put] * 4 + [rsvp_del]
for b in range(int(sys.argv[1])):
    if b % 3 == 2:
        width, n = 3, random.randrange(1, 40)
    else:
        width, n = 40, random.randrange(30, 200)
    print(json.dumps([random.choice(kinds)(width) for _ in range(n)]))
EOF

# The one-by-one path: the loop of schema/0007's atcal_apply.
SEQ_FN="CREATE FUNCTION pg_temp.apply_seq(t text, ops jsonb) RETURNS jsonb
LANGUAGE plpgsql AS \$\$
DECLARE o jsonb; res jsonb[] := '{}';
BEGIN
	FOR o IN SELECT value FROM jsonb_array_elements(ops) LOOP
		res := array_append(res, CASE o ->> 'op'
		    WHEN 'event.put' THEN atcal_event_put(t, o)
		    WHEN 'event.del' THEN atcal_event_del(t, o)
		    WHEN 'rsvp.put' THEN atcal_rsvp_put(t, o)
		    WHEN 'rsvp.del' THEN atcal_rsvp_del(t, o) END);
	END LOOP;
	RETURN to_jsonb(res);
END \$\$;"
# Results with attendee ids replaced by the attendee's source id.
NORM="SELECT jsonb_agg(CASE WHEN r ? 'attendeeId' THEN r || jsonb_build_object(
    'attendeeId', (SELECT source_id FROM attendees WHERE id =
    (r ->> 'attendeeId')::bigint)) ELSE r END ORDER BY n)
    FROM jsonb_array_elements(:'res'::jsonb) WITH ORDINALITY x(r, n)"

i=0
diffs=0
segs=0
while IFS= read -r ops; do
	i=$((i + 1))
	{
		echo "SET track_functions = 'pl';"
		echo "$SEQ_FN"
		printf '\\set ops %s\n' "'$(printf %s "$ops" | sed "s/'/''/g")'"
		echo "SELECT atcal_apply('set', :'ops'::jsonb) AS res \\gset"
		echo "$NORM;"
		echo "SELECT pg_temp.apply_seq('seq', :'ops'::jsonb) AS res \\gset"
		echo "$NORM;"
	} | psql -X -q -At -v ON_ERROR_STOP=1 "$DB" >"$T_DIR/res.$i" 2>&1 || {
		echo "batch $i: psql failed: $(head -c 600 "$T_DIR/res.$i")"
		diffs=$((diffs + 1))
		continue
	}
	if [ "$(sed -n 1p "$T_DIR/res.$i")" != "$(sed -n 2p "$T_DIR/res.$i")" ]; then
		echo "batch $i results differ:"
		diff <(sed -n 1p "$T_DIR/res.$i" | jq -c '.[]') \
		    <(sed -n 2p "$T_DIR/res.$i" | jq -c '.[]') | head -8
		diffs=$((diffs + 1))
	fi
done <"$T_DIR/batches.jsonl"
t_eq "results of $BATCHES batches equal" 0 "$diffs"

state() {
	psql -X -q -At "$DB" -v t="$1" <<'EOF'
SELECT 'event', source_type, source_id, slug, source_url, source_handle,
    source_metadata, raw_record, (SELECT did FROM users WHERE id = creator_id),
    name, description, start_date, end_date, type, status, visibility,
    locations, uris, categories, rev, deleted_at IS NOT NULL, author_did,
    rkey, cid FROM events WHERE tenant_id = :'t' ORDER BY source_type, source_id;
SELECT 'rsvp', a.source_type, a.source_id, e.source_type, e.source_id,
    (SELECT did FROM users WHERE id = a.user_id), a.status, a.attendee_status,
    a.event_source_id, a.metadata, a.rev, a.deleted_at IS NOT NULL
    FROM attendees a LEFT JOIN events e ON e.id = a.event_id
    WHERE a.tenant_id = :'t' ORDER BY a.source_id;
SELECT 'user', slug, did, handle, provider, is_shadow, first_name FROM users
    WHERE tenant_id = :'t' ORDER BY did;
EOF
}
state set >"$T_DIR/state.set"
state seq >"$T_DIR/state.seq"
t_check "stored rows equal" diff "$T_DIR/state.set" "$T_DIR/state.seq"
nset=$(psql -X -q -At "$DB" -c "SELECT coalesce(sum(calls), 0)
    FROM pg_stat_user_functions WHERE funcname = 'atcal_apply_set'")
echo "segments applied set-based: $nset"
t_check "the set-based path was exercised" test "${nset:-0}" -gt "$BATCHES"
t_check "the world was written" test "$(grep -c '^event' "$T_DIR/state.set")" -gt 50
t_check "dedup fallbacks were exercised" grep -q '"method": *"\(source_url\|slug\|cid\)"' \
    "$T_DIR"/res.*
t_done
