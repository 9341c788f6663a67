#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# One record's id flows through the logs of all three services: the
# consumer publishes it as the message id (at://did/collection/rkey#rev),
# the processor sends it as X-Request-Id, and each service names it as
# request_id=<id> (logfmt, quoted or not) in the line it logs for that
# record: consumer when publishing, processor when settling, api in its
# per-request line. Runs the real pipeline (tests/prometheus/pipeline.sh)
# at debug level, where every record gets a line. Also checks that no log
# carries the API key.

source tests/lib/common.sh
t_init request_id
source tests/prometheus/pipeline.sh
p_skip_unless_ready
p_start
p_feed
t_check "the traffic reaches its end state" t_wait_for 90 p_settled

# logged FILE ID: a logfmt field request_id=ID (or request_id="ID").
logged() {
	local re
	re=$(printf '%s' "$2" | sed 's/[].[\\*^$()+?{}|]/\\&/g')
	grep -Eq "(^| )request_id=(\"$re\"|$re)( |$)" "$1" || {
		echo "no request_id=$2 in $1; lines naming the record:"
		grep -F "${2%%#*}" "$1" | head -n 5
		return 1
	}
}

ID=$P_E1_CREATE_ID
for svc in consumer processor api; do
	t_check "$svc log names request_id=$ID" logged "$T_DIR/$svc.log" "$ID"
done
t_check "the api saw it as the X-Request-Id of a POST" \
    grep -Eq 'method=POST .*request_id="?at://' "$T_DIR/api.log"
no_key() {
	! grep -lF -- "$P_KEY" "$T_DIR"/*.log
}
t_check "no log carries the API key" no_key

t_done
