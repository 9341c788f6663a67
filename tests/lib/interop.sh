# SPDX-License-Identifier: ISC
#
# Setup shared by the scripts that run the pipeline against the reference
# PDS (bash; sourced after tests/lib/common.sh, used after t_init): the Node
# packages of tests/interop and the service binaries, a pipeline's fresh
# database, vhost, API address and key, and the reference PDS itself.

IDIR=tests/interop
NODE=$IDIR/node_modules/.bin/node

# Usage: ti_require BIN... Skips the script when tests/interop's packages
# are not installed; fails it when one of the binaries is not built.
ti_require() {
	local b
	[ -x "$NODE" ] ||
	    t_skip "$IDIR/node_modules missing: run scripts/deps.sh --test"
	for b in "$@"; do
		if [ ! -x "$T_BIN/$b" ]; then
			t_check "$T_BIN/$b is built" false
			t_done
		fi
	done
}

# Usage: ti_pipeline TENANT. A fresh database and vhost, a free API port
# and a random key; exports what api, processor and consumer read
# (DATABASE_URL, RABBITMQ_URL, API_LISTEN, API_URL, SERVICE_API_KEYS,
# API_KEY, TENANT_ID, LOG_LEVEL), sets VHOST, API_PORT and KEY, and
# applies the migrations.
ti_pipeline() {
	DATABASE_URL=$(t_new_db) || { t_check "create database" false; t_done; }
	RABBITMQ_URL=$(t_new_vhost) || { t_check "create vhost" false; t_done; }
	VHOST=${RABBITMQ_URL##*/}
	API_PORT=$(t_free_port)
	KEY=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	export DATABASE_URL RABBITMQ_URL
	export API_LISTEN=127.0.0.1:$API_PORT API_URL=http://127.0.0.1:$API_PORT
	export SERVICE_API_KEYS=$KEY API_KEY=$KEY TENANT_ID=$1
	export LOG_LEVEL=${LOG_LEVEL:-info}
	t_check "migrations apply" "$T_BIN/api" migrate || t_done
}

# Usage: ti_start_pds [NAME]. Starts the reference PDS (with its PLC) as
# process NAME (default pds), state in $T_DIR/NAME, and waits for its info
# file; sets PDS_INFO (that file), PDS_PORT and PDS_PLC_URL.
ti_start_pds() {
	local n=${1:-pds}

	PDS_INFO_FILE=$T_DIR/$n.json PDS_DATA_DIR=$T_DIR/$n LOG_ENABLED=false \
	    t_start "$n" "$NODE" "$IDIR/pds.mjs"
	if ! t_wait_for 60 test -s "$T_DIR/$n.json"; then
		t_check "reference PDS starts" false
		t_done
	fi
	PDS_INFO=$T_DIR/$n.json
	PDS_PORT=$(jq -r .pdsPort "$PDS_INFO")
	PDS_PLC_URL=$(jq -r .plcUrl "$PDS_INFO")
}
