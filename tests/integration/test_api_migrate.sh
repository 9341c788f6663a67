#!/bin/bash
# SPDX-License-Identifier: ISC
#
# `api migrate`: concurrent starters apply every schema file exactly once
# (advisory lock), a rerun is a no-op, and a broken file is rolled back
# entirely and reported with a non-zero exit.

. tests/lib/common.sh
t_init api_migrate

API_BIN=${API_BIN:-build/bin/api}
[ -x "$API_BIN" ] || t_skip "$API_BIN not built (make all)"

DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
export DATABASE_URL="$DB" SERVICE_API_KEYS=k-mig
sql() {
	psql -X -q -At "$DB" -c "$1"
}
NFILES=$(ls schema | grep -c '^[0-9][0-9][0-9][0-9]_[a-z0-9_]*\.sql$')

PIDS=()
for i in 1 2 3 4; do
	"$API_BIN" migrate >"$T_DIR/m$i.log" 2>&1 &
	PIDS+=($!)
done
RCS=
for p in "${PIDS[@]}"; do
	wait "$p"
	RCS="$RCS$?"
done
t_eq "four concurrent 'api migrate' all succeed" 0000 "$RCS"
t_eq "each schema file recorded once" "$NFILES $NFILES" \
    "$(sql "SELECT count(*) || ' ' || count(DISTINCT version) FROM schema_migrations")"
t_check "tables exist" sql "SELECT 1 FROM events, attendees, users LIMIT 1"
t_check "rerun is a no-op" "$API_BIN" migrate
t_eq "still recorded once" "$NFILES" "$(sql "SELECT count(*) FROM schema_migrations")"

BAD="$T_DIR/schema"
mkdir -p "$BAD"
cp schema/*.sql "$BAD"/
printf 'CREATE TABLE mig_probe (id int);\nSELECT no_such_function();\n' \
    >"$BAD/9990_create_mig_probe.sql"
t_check "a broken migration exits non-zero" sh -c \
    "! SCHEMA_DIR='$BAD' '$API_BIN' migrate"
t_check "and names the file" grep -q 9990_create_mig_probe.sql \
    <(SCHEMA_DIR="$BAD" "$API_BIN" migrate 2>&1)
t_eq "its transaction was rolled back" "0 0" \
    "$(sql "SELECT (SELECT count(*) FROM schema_migrations WHERE version LIKE '9990%') || ' ' || count(*) FROM pg_tables WHERE tablename = 'mig_probe'")"
t_check "the api refuses to serve with a broken migration" sh -c \
    "! SCHEMA_DIR='$BAD' API_LISTEN=127.0.0.1:$(t_free_port) timeout 20 '$API_BIN'"
t_done
