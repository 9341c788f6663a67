# SPDX-License-Identifier: ISC
#
# Differential decode against the reference implementation. The reference
# PDS (pds.mjs) gets calendar events of every location kind, RSVPs,
# updates, deletes and a delete + re-create (write.mjs phases 1 and 2),
# then the edge cases of differential_write.mjs (blob, bytes, cid-links,
# deep nesting, unicode keys and values, NUL in a value, odd rkeys, handle
# change, deactivate/activate, account deletion). Its whole firehose is
# replayed from cursor 0 into a capture with `consumer capture`, decoded
# by `consumer decode --all` and by @atproto/sync (differential_decode.mjs),
# and the two Jetstream v1 streams must be equal line by line as JSON,
# time_us aside; so must the two decodes of the production capture in
# the fixtures. A planted difference must be caught. Sizes:
# DIFF_ACCOUNTS, DIFF_EVENTS, DIFF_BULK (write.mjs; bulk at most 200).

source tests/lib/common.sh
t_init decode_differential

IDIR=tests/interop
NODE=$IDIR/node_modules/.bin/node
REF=$IDIR/differential_decode.mjs
[ -x "$NODE" ] ||
    t_skip "$IDIR/node_modules missing: run scripts/deps.sh --test"
if [ ! -x build/bin/consumer ]; then
	t_check "build/bin/consumer is built" false
	t_done
fi

PDS_INFO_FILE=$T_DIR/pds.json PDS_DATA_DIR=$T_DIR/pds LOG_ENABLED=false \
    t_start pds "$NODE" "$IDIR/pds.mjs"
if ! t_wait_for 60 test -s "$T_DIR/pds.json"; then
	t_check "reference PDS starts" false
	t_done
fi
PDS_PORT=$(jq -r .pdsPort "$T_DIR/pds.json")
URL=ws://127.0.0.1:$PDS_PORT/xrpc/com.atproto.sync.subscribeRepos

WRITE=("$NODE" "$IDIR/write.mjs" --info "$T_DIR/pds.json"
    --state "$T_DIR/state.json" --out "$T_DIR/expected.json"
    --accounts "${DIFF_ACCOUNTS:-3}" --events "${DIFF_EVENTS:-8}"
    --bulk "${DIFF_BULK:-40}" --seed 7)
t_check "write.mjs phase 1" "${WRITE[@]}" --phase 1 || t_done
t_check "write.mjs phase 2" "${WRITE[@]}" --phase 2 || t_done
t_check "differential_write.mjs edge cases" \
    "$NODE" "$IDIR/differential_write.mjs" --info "$T_DIR/pds.json" || t_done

NFRAMES=$("$NODE" "$REF" count "$T_DIR/pds")
t_check "sequencer holds events ($NFRAMES)" test "${NFRAMES:-0}" -gt 50 ||
    t_done

CAP=$T_DIR/capture.bin
t_check "consumer capture records $NFRAMES frames from cursor 0" \
    timeout 120 build/bin/consumer capture "$URL" --cursor 0 \
    --max-frames "$NFRAMES" -o "$CAP"
t_check "consumer decode --all" \
    sh -c "build/bin/consumer decode --all '$CAP' >'$T_DIR/ours.jsonl'"
t_check "@atproto/sync decode" \
    sh -c "'$NODE' '$REF' decode '$CAP' >'$T_DIR/ref.jsonl'"

"$NODE" "$REF" compare "$T_DIR/ours.jsonl" "$T_DIR/ref.jsonl" \
    >"$T_DIR/compare.out" 2>&1
RC=$?
sed 's/^/     | /' "$T_DIR/compare.out"
t_eq "decoders agree on every line" 0 "$RC"

# The stream covers what it should.
ours() {
	jq -s -e "$1" "$T_DIR/ours.jsonl"
}
t_check "creates, updates and deletes of events and RSVPs" \
    ours '[.[] | select(.kind == "commit") | .commit |
    select(.collection | test("calendar")) | .operation] | unique ==
    ["create", "delete", "update"]'
t_check "every location kind" \
    ours '[.[] | .commit.record.locations[]?."$type"] | unique |
    contains(["community.lexicon.location.address",
    "community.lexicon.location.geo", "community.lexicon.location.fsq",
    "community.lexicon.location.hthree",
    "community.lexicon.calendar.event#uri"])'
t_check "blob, bytes and cid-link values" \
    ours '([.[] | .commit.record.media[]?.content."$type"] | index("blob"))
    and ([.[] | .commit.record.bytes."$bytes"? // empty] | length > 0)
    and ([.[] | .commit.record.link."$link"? // empty] | length > 0)'
t_check "handle change, deactivation and account deletion" \
    ours '([.[] | .identity.handle? // empty] | index("dalice2.test"))
    and ([.[] | .account.status? // empty] | unique ==
    ["deactivated", "deleted"])'
t_check "a non-calendar collection (--all)" \
    ours '[.[] | .commit.collection?] | index("app.bsky.feed.post")'

# The same comparison over the production capture of the fixtures.
PROD=${FIXTURES_DIR:-../shared/fixtures}/jetstream-corpus/frames.bin.zst
if [ -f "$PROD" ]; then
	build/bin/consumer decode --all "$PROD" >"$T_DIR/prod_ours.jsonl"
	"$NODE" "$REF" decode "$PROD" >"$T_DIR/prod_ref.jsonl" 2>/dev/null
	"$NODE" "$REF" compare "$T_DIR/prod_ours.jsonl" "$T_DIR/prod_ref.jsonl" \
	    >"$T_DIR/prod.out" 2>&1
	RC=$?
	sed 's/^/     | /' "$T_DIR/prod.out"
	t_eq "decoders agree on the production capture" 0 "$RC"
else
	echo "decode_differential: $PROD absent, production comparison skipped"
fi

# The comparison itself must be able to fail.
jq -c 'if .kind == "commit" and .commit.record.name? then
    .commit.record.name += "x" else . end' "$T_DIR/ref.jsonl" |
    head -n 200 >"$T_DIR/planted.jsonl"
t_check "a planted difference is reported" \
    sh -c "! '$NODE' '$REF' compare '$T_DIR/ours.jsonl' \
    '$T_DIR/planted.jsonl' >/dev/null 2>&1"

t_done
