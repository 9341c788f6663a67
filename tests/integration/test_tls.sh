#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
#
# TLS end to end with a private CA made here with openssl: the api serves
# HTTPS (API_TLS_CERT/API_TLS_KEY) that curl accepts with the CA and
# rejects without it or with another CA; half a TLS configuration is a
# config error; the processor delivers to https API_URL only when
# API_CA_FILE names the CA (verification is never off); the consumer
# connects to a wss:// source only with SOURCE_CA_FILE and otherwise logs
# the certificate failure; the processor's RabbitMQ connection refuses an
# amqps URL whose cacertfile is unreadable.

source tests/lib/common.sh
t_init tls

PROC=${PROC:-build/bin/processor}
APIBIN=${APIBIN:-build/bin/api}
CONSUMER=${CONSUMER:-build/bin/consumer}

[ -x "$APIBIN" ] && [ -x "$PROC" ] && [ -x "$CONSUMER" ] ||
	t_skip "binaries missing (make all)"
command -v openssl >/dev/null || t_skip "openssl missing"

# --- certificates: a CA, a server certificate for localhost/127.0.0.1,
# and an unrelated CA ---------------------------------------------------------
C=$T_DIR/certs
mkdir -p "$C"
mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 2 -subj "/CN=atcal test $1" -keyout "$C/$1.key" \
	    -out "$C/$1.pem" 2>/dev/null &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 2 -subj "/CN=atcal rogue" -keyout "$C/rogue.key" \
	    -out "$C/rogue.pem" 2>/dev/null &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -subj /CN=localhost -keyout "$C/server.key" \
	    -out "$C/server.csr" 2>/dev/null &&
	printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
	    'basicConstraints=CA:FALSE' 'extendedKeyUsage=serverAuth' \
	    >"$C/ext.cnf" &&
	openssl x509 -req -in "$C/server.csr" -CA "$C/$1.pem" \
	    -CAkey "$C/$1.key" -CAcreateserial -days 2 \
	    -extfile "$C/ext.cnf" -out "$C/server.pem" 2>/dev/null
}
t_check "test CA and server certificate made" mkcert ca

# --- the api over https --------------------------------------------------------
DB=$(t_new_db) || t_skip "no Postgres (make services-up)"
MQ=$(t_new_vhost) || t_skip "no RabbitMQ (make services-up)"
VHOST=${MQ##*/}
PORT=$(t_free_port)
KEY="k-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
API=https://localhost:$PORT

export DATABASE_URL=$DB SERVICE_API_KEYS=$KEY LOG_LEVEL=info

half_config() {
	API_TLS_CERT=$C/server.pem "$APIBIN" --check-config >"$T_DIR/half.log" 2>&1
	[ $? -ne 0 ] && grep -q "API_TLS_CERT, API_TLS_KEY" "$T_DIR/half.log"
}
t_check "certificate without key is a config error" half_config
mismatch() {
	API_TLS_CERT=$C/server.pem API_TLS_KEY=$C/rogue.key "$APIBIN" \
	    --check-config >"$T_DIR/mismatch.log" 2>&1
	[ $? -ne 0 ] && grep -q "does not match" "$T_DIR/mismatch.log"
}
t_check "key of another certificate is a config error" mismatch

API_LISTEN=127.0.0.1:$PORT API_TLS_CERT=$C/server.pem \
    API_TLS_KEY=$C/server.key t_start api "$APIBIN"
t_wait_for 20 curl -s -o /dev/null --cacert "$C/ca.pem" \
    "$API/health/liveness" || true

code() {	# curl options...: echoes the HTTP status, or curl's exit code
	local out rc
	out=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$@")
	rc=$?
	[ "$rc" -eq 0 ] && echo "$out" || echo "curl-$rc"
}
t_eq "https with the CA: 200" 200 \
    "$(code --cacert "$C/ca.pem" "$API/health/liveness")"
t_eq "https by address (SAN IP) with the CA: 200" 200 \
    "$(code --cacert "$C/ca.pem" "https://127.0.0.1:$PORT/health/liveness")"
t_eq "https without the CA: certificate verify failure (60)" curl-60 \
    "$(code "$API/health/liveness")"
t_eq "https with another CA: certificate verify failure (60)" curl-60 \
    "$(code --cacert "$C/rogue.pem" "$API/health/liveness")"
no_http_answer() {
	case $(code "http://127.0.0.1:$PORT/health/liveness") in
	curl-*) return 0 ;;
	*) return 1 ;;
	esac
}
t_check "plain http to the TLS port gets no HTTP answer" no_http_answer
t_eq "authenticated read over https: 404 for an unknown event" 404 \
    "$(code --cacert "$C/ca.pem" -H "Authorization: Bearer $KEY" \
    -H 'x-tenant-id: default' --get \
    --data-urlencode 'sourceId=at://did:plc:x/community.lexicon.calendar.event/y' \
    --data-urlencode sourceType=bluesky "$API/api/events/by-source")"

# --- the processor over https --------------------------------------------------
DID=did:plc:2a7ygipkrbh544aqhcav53oy
EVC=community.lexicon.calendar.event
publish_event() {	# rkey rev
	local body
	body=$(jq -nc --arg did "$DID" --arg c "$EVC" --arg k "$1" \
	    --arg r "$2" '{did: $did, time_us: 1783175888085434,
	    kind: "commit", commit: {rev: $r, operation: "create",
	    collection: $c, rkey: $k, cid: "bafyreib2rxk3rh6kzwq",
	    record: {"$type": $c, name: "TLS meetup",
	    createdAt: "2026-01-01T00:00:00Z",
	    startsAt: "2026-02-01T18:00:00Z"}}, seq: 1, source: "test"}')
	jq -nc --arg id "at://$DID/$EVC/$1#$2" --arg b "$body" \
	    '{properties: {delivery_mode: 2, content_type: "application/json",
	      message_id: $id}, routing_key: "event.create", payload: $b,
	      payload_encoding: "string"}' |
	curl -s -m 10 -u guest:guest -H 'content-type: application/json' \
	    -d @- "$T_MGMT_URL/api/exchanges/$VHOST/community.lexicon.calendar/publish" |
	    jq -e '.routed == true' >/dev/null
}
event_status() {	# rkey: HTTP status of by-source
	code --cacert "$C/ca.pem" -H "Authorization: Bearer $KEY" \
	    -H 'x-tenant-id: default' --get \
	    --data-urlencode "sourceId=at://$DID/$EVC/$1" \
	    --data-urlencode sourceType=bluesky "$API/api/events/by-source"
}
event_is() {	# rkey status
	[ "$(event_status "$1")" = "$2" ]
}

export RABBITMQ_URL=$MQ API_URL=$API API_KEY=$KEY TENANT_ID=default
export METRICS_LISTEN=off

# Without the CA the processor must refuse the server: nothing delivered,
# the failure logged, the message kept for retry.
t_start proc_noca "$PROC"
t_check "event published (no CA)" publish_event 3mtlsnoca2a 3mtlsaaaaaa2a
t_check "processor without API_CA_FILE logs the certificate failure" \
    t_wait_for 30 grep -qi "certificate" "$T_DIR/proc_noca.log"
t_eq "nothing delivered without the CA" 404 "$(event_status 3mtlsnoca2a)"
t_stop proc_noca

# With the CA: the kept message and a new one are delivered.
API_CA_FILE=$C/ca.pem t_start proc_ca "$PROC"
t_check "event published (CA)" publish_event 3mtlsca22a 3mtlsbbbbbb2a
t_check "processor with API_CA_FILE delivers over https" \
    t_wait_for 30 event_is 3mtlsca22a 200
t_check "the message retried from the CA-less run arrives too" \
    t_wait_for 30 event_is 3mtlsnoca2a 200
t_stop proc_ca
bad_ca_file() {
	API_CA_FILE=$T_DIR/absent.pem timeout 20 "$PROC" \
	    >"$T_DIR/proc_badca.log" 2>&1
	[ $? -ne 0 ] && grep -q "API_CA_FILE" "$T_DIR/proc_badca.log"
}
t_check "unreadable API_CA_FILE stops the processor with its name" bad_ca_file
bad_amqps_ca() {
	RABBITMQ_URL="amqps://guest:guest@127.0.0.1:5674/?cacertfile=$T_DIR/absent.pem" \
	    timeout 10 "$PROC" dlq list >"$T_DIR/amqps.log" 2>&1
	grep -q "cacertfile" "$T_DIR/amqps.log"
}
t_check "amqps with an unreadable cacertfile fails naming it" bad_amqps_ca
t_stop api

# --- the consumer against a wss:// source --------------------------------------
if [ ! -d tests/interop/node_modules/ws ]; then
	echo "SKIP: wss part: npm packages missing (scripts/deps.sh --test)"
	t_done
	exit
fi
NODE=node
[ -x tests/interop/node_modules/.bin/node ] &&
	NODE=$T_ROOT/tests/interop/node_modules/.bin/node
cat >"$T_DIR/wss.cjs" <<'EOF'
// A wss:// server that logs every WebSocket connection it accepts.
const fs = require('fs'), https = require('https');
const { WebSocketServer } = require(process.env.WS_MODULE);
const [cert, key, port] = process.argv.slice(2);
const srv = https.createServer({ cert: fs.readFileSync(cert),
    key: fs.readFileSync(key) });
new WebSocketServer({ server: srv }).on('connection', (ws, req) => {
	console.log('connected ' + req.url);
});
srv.on('tlsClientError', (e) => console.log('tls_error ' + e.code));
srv.listen(Number(port), '127.0.0.1', () => console.log('listening'));
EOF
WPORT=$(t_free_port)
WS_MODULE=$T_ROOT/tests/interop/node_modules/ws t_start wss "$NODE" \
    "$T_DIR/wss.cjs" "$C/server.pem" "$C/server.key" "$WPORT"
t_wait_for 20 grep -q listening "$T_DIR/wss.log" ||
	{ _t_record 1 "wss server listens"; t_done; exit; }

SERVICE_API_KEYS=unused "$APIBIN" migrate >/dev/null 2>&1
export SOURCE_URL=wss://localhost:$WPORT/subscribe SOURCE_CURSOR=0
export SOURCE_COLLECTIONS=$EVC

t_start cons_noca "$CONSUMER"
t_check "consumer without SOURCE_CA_FILE logs a certificate error" \
    t_wait_for 30 grep -qiE "source_(connect_failed|disconnected).*(certif|verif)" \
    "$T_DIR/cons_noca.log"
t_stop cons_noca
t_check "no WebSocket accepted without the CA" \
    bash -c "! grep -q '^connected' '$T_DIR/wss.log'"

SOURCE_CA_FILE=$C/ca.pem t_start cons_ca "$CONSUMER"
t_check "consumer with SOURCE_CA_FILE connects over wss" \
    t_wait_for 30 grep -q "source_connected" "$T_DIR/cons_ca.log"
t_check "the server accepted the consumer's WebSocket" \
    grep -q "^connected /subscribe" "$T_DIR/wss.log"
t_stop cons_ca
bad_source_ca() {
	SOURCE_CA_FILE=$T_DIR/absent.pem "$CONSUMER" --check-config \
	    >"$T_DIR/cons_badca.log" 2>&1
	[ $? -ne 0 ] && grep -q "SOURCE_CA_FILE" "$T_DIR/cons_badca.log"
}
t_check "unreadable SOURCE_CA_FILE is a config error" bad_source_ca

t_done
