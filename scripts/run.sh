#!/bin/bash
# SPDX-License-Identifier: ISC
#
# Runs the whole pipeline in the foreground for local development: api,
# processor and consumer, their log lines interleaved and prefixed with the
# service name. Ctrl-C (SIGINT) or SIGTERM is forwarded to all three,
# consumer first (it is the producer), and the script waits for them. When
# one exits on its own the others are stopped too.
#
# Environment (README table) is passed through with local defaults; with no
# SERVICE_API_KEYS/API_KEY a local development key is generated once and
# kept in .state/dev-api-key. `make run` builds, starts the local services
# and applies migrations before calling this.

set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-$ROOT/build/bin}

for b in api processor consumer; do
	if [ ! -x "$BIN/$b" ]; then
		echo "run: $BIN/$b missing; run make first" >&2
		exit 1
	fi
done

mkdir -p .state
KEYFILE=.state/dev-api-key
if [ -z "${SERVICE_API_KEYS:-}" ] && [ -z "${API_KEY:-}" ]; then
	if [ ! -s "$KEYFILE" ]; then
		(umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' \
		    >"$KEYFILE")
		echo "run: generated a local API key in $KEYFILE"
	fi
	SERVICE_API_KEYS=$(cat "$KEYFILE")
	API_KEY=$SERVICE_API_KEYS
elif [ -z "${API_KEY:-}" ]; then
	# The processor uses the first configured key.
	API_KEY=${SERVICE_API_KEYS%%,*}
	API_KEY=${API_KEY%%=*}
elif [ -z "${SERVICE_API_KEYS:-}" ]; then
	SERVICE_API_KEYS=$API_KEY
fi

export SERVICE_API_KEYS API_KEY
export RABBITMQ_URL=${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5673/}
export DATABASE_URL=${DATABASE_URL:-postgresql://atcal@127.0.0.1:5433/atcal}
export API_LISTEN=${API_LISTEN:-127.0.0.1:8080}
export API_URL=${API_URL:-http://$API_LISTEN}
export TENANT_ID=${TENANT_ID:-default}
export LOG_LEVEL=${LOG_LEVEL:-info}
# SOURCE_URL and SOURCE_CURSOR: the consumer's own defaults apply if unset.

prefix() {
	# Unbuffered (GNU sed -u) so lines appear as they are written and the
	# three services interleave whole lines (Debian's mawk would buffer
	# its input until a block fills).
	sed -u "s/^/$(printf '%-10s' "$1")| /"
}

declare -A PIDS=()
ORDER=(consumer processor api)

start() {
	local name=$1
	shift
	"$@" > >(prefix "$name") 2>&1 &
	PIDS[$name]=$!
	echo "run: started $name (pid ${PIDS[$name]})"
}

stopping=0
stop_all() {
	local name pid
	[ "$stopping" -eq 0 ] || return
	stopping=1
	echo "run: stopping ($*)"
	for name in "${ORDER[@]}"; do
		pid=${PIDS[$name]:-}
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null
		# Let each drain before stopping the next one downstream.
		wait "$pid" 2>/dev/null
		echo "run: $name stopped"
	done
}

trap 'stop_all SIGINT' INT
trap 'stop_all SIGTERM' TERM

echo "run: api on http://$API_LISTEN, tenant $TENANT_ID," \
    "key in ${KEYFILE} (or your SERVICE_API_KEYS)"
start api "$BIN/api"
start processor "$BIN/processor"
start consumer "$BIN/consumer"

# Wait until a signal arrives or one service exits.
while [ "$stopping" -eq 0 ]; do
	wait -n "${PIDS[@]}" 2>/dev/null
	rc=$?
	[ "$stopping" -eq 0 ] || break
	for name in "${ORDER[@]}"; do
		if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
			unset "PIDS[$name]"
			stop_all "$name exited with status $rc"
			break
		fi
	done
done
wait
exit 0
