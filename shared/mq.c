/* SPDX-License-Identifier: ISC */
/*
 * RabbitMQ connections and topology. Every service declares the same
 * topology with the same arguments (RabbitMQ refuses a redeclaration with
 * different ones), so the arguments live here and nowhere else. Blocking
 * rabbitmq-c calls are bounded by socket timeouts set at connect time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "mq.h"
#include "mq_priv.h"
#include "util.h"

#define CONNECT_TIMEOUT_S	5
#define FRAME_MAX		131072
#define HEARTBEAT_S		30

const struct atc_mq_rung atc_mq_ladder[] = {
	{ "1s", 1000 },
	{ "10s", 10 * 1000 },
	{ "1m", 60 * 1000 },
	{ "10m", 10 * 60 * 1000 },
	{ "1h", 60 * 60 * 1000 },
};
const size_t atc_mq_nladder = ATC_NELEM(atc_mq_ladder);

int
atc_mq_reply_check(amqp_rpc_reply_t r, const char *what, char *err,
    size_t errlen)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return 0;
	case AMQP_RESPONSE_NONE:
		return atc_seterr(err, errlen, "%s: missing RPC reply", what);
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		return atc_seterr(err, errlen, "%s: %s", what,
		    amqp_error_string2(r.library_error));
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = r.reply.decoded;
			return atc_seterr(err, errlen, "%s: server closed "
			    "connection: %u %.*s", what, m->reply_code,
			    (int)m->reply_text.len,
			    (const char *)m->reply_text.bytes);
		}
		if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *m = r.reply.decoded;
			return atc_seterr(err, errlen, "%s: server closed "
			    "channel: %u %.*s", what, m->reply_code,
			    (int)m->reply_text.len,
			    (const char *)m->reply_text.bytes);
		}
		return atc_seterr(err, errlen, "%s: server error 0x%08x",
		    what, r.reply.id);
	}
	return atc_seterr(err, errlen, "%s: unknown reply", what);
}

struct atc_mq *
atc_mq_connect(const char *url, const char *conn_name, char *err,
    size_t errlen)
{
	struct amqp_connection_info	 ci;
	amqp_socket_t			*sock;
	amqp_table_entry_t		 prop;
	amqp_table_t			 props;
	struct timeval			 tv;
	struct atc_mq			*mq = NULL;
	char				*copy = NULL, *query, *cafile = NULL;
	int				 ok = 0;

	copy = atc_xstrdup(url);
	/* The one query parameter of RabbitMQ's URI spec we take:
	 * ?cacertfile=PATH, PEM CAs trusted for amqps (default: system). */
	if ((query = strchr(copy, '?')) != NULL) {
		*query++ = '\0';
		if (strncmp(query, "cacertfile=", 11) != 0 ||
		    query[11] == '\0' || strchr(query, '&') != NULL) {
			atc_seterr(err, errlen, "mq: RABBITMQ_URL query may only "
			    "be ?cacertfile=PATH");
			goto out;
		}
		cafile = query + 11;
	}
	amqp_default_connection_info(&ci);
	if (amqp_parse_url(copy, &ci) != AMQP_STATUS_OK) {
		atc_seterr(err, errlen, "mq: cannot parse RABBITMQ_URL");
		goto out;
	}
	/* "amqp://host:port/" parses to an empty vhost, which no broker has:
	 * read it as the default vhost "/" (like "amqp://host:port"). */
	if (ci.vhost == NULL || ci.vhost[0] == '\0')
		ci.vhost = "/";
	mq = atc_xcalloc(1, sizeof(*mq));
	mq->channel = 1;
	mq->next_tag = 1;
	if ((mq->conn = amqp_new_connection()) == NULL) {
		atc_seterr(err, errlen, "mq: out of memory");
		goto out;
	}
	if (cafile != NULL && !ci.ssl) {
		atc_seterr(err, errlen, "mq: cacertfile needs an amqps:// URL");
		goto out;
	}
	if (ci.ssl) {
		sock = amqp_ssl_socket_new(mq->conn);
		if (sock != NULL) {
			amqp_ssl_socket_set_verify_peer(sock, 1);
			amqp_ssl_socket_set_verify_hostname(sock, 1);
		}
	} else
		sock = amqp_tcp_socket_new(mq->conn);
	if (sock == NULL) {
		atc_seterr(err, errlen, "mq: cannot create socket");
		goto out;
	}
	if (cafile != NULL && amqp_ssl_socket_set_cacert(sock, cafile) !=
	    AMQP_STATUS_OK) {
		atc_seterr(err, errlen, "mq: cannot load cacertfile %s",
		    cafile);
		goto out;
	}
	tv.tv_sec = CONNECT_TIMEOUT_S;
	tv.tv_usec = 0;
	if (amqp_socket_open_noblock(sock, ci.host, ci.port, &tv) !=
	    AMQP_STATUS_OK) {
		atc_seterr(err, errlen, "mq: cannot connect to %s:%d",
		    ci.host, ci.port);
		goto out;
	}
	prop.key = amqp_cstring_bytes("connection_name");
	prop.value.kind = AMQP_FIELD_KIND_UTF8;
	prop.value.value.bytes = amqp_cstring_bytes(conn_name ? conn_name :
	    "atcal");
	props.num_entries = 1;
	props.entries = &prop;
	if (atc_mq_reply_check(amqp_login_with_properties(mq->conn, ci.vhost,
	    0, FRAME_MAX, HEARTBEAT_S, &props, AMQP_SASL_METHOD_PLAIN,
	    ci.user, ci.password), "mq login", err, errlen) == -1)
		goto out;
	amqp_channel_open(mq->conn, mq->channel);
	if (atc_mq_reply_check(amqp_get_rpc_reply(mq->conn),
	    "mq channel open", err, errlen) == -1)
		goto out;
	ok = 1;
out:
	free(copy);
	if (!ok) {
		atc_mq_free(mq);
		return NULL;
	}
	return mq;
}

void
atc_mq_free(struct atc_mq *mq)
{
	if (mq == NULL)
		return;
	if (mq->conn != NULL) {
		(void)amqp_channel_close(mq->conn, mq->channel,
		    AMQP_REPLY_SUCCESS);
		(void)amqp_connection_close(mq->conn, AMQP_REPLY_SUCCESS);
		(void)amqp_destroy_connection(mq->conn);
	}
	free(mq->window);
	free(mq);
}

int
atc_mq_fd(struct atc_mq *mq)
{
	return amqp_get_sockfd(mq->conn);
}

static int
declare_queue(struct atc_mq *mq, const char *name, amqp_table_t args,
    char *err, size_t errlen)
{
	amqp_queue_declare(mq->conn, mq->channel, amqp_cstring_bytes(name),
	    0, 1, 0, 0, args);
	return atc_mq_reply_check(amqp_get_rpc_reply(mq->conn), name, err,
	    errlen);
}

int
atc_mq_declare_topology(struct atc_mq *mq, char *err, size_t errlen)
{
	amqp_table_entry_t	e[6];
	amqp_table_t		args;
	char			name[128];
	size_t			i;

	amqp_exchange_declare(mq->conn, mq->channel,
	    amqp_cstring_bytes(ATC_MQ_EXCHANGE), amqp_cstring_bytes("topic"),
	    0, 1, 0, 0, amqp_empty_table);
	if (atc_mq_reply_check(amqp_get_rpc_reply(mq->conn),
	    "declare exchange", err, errlen) == -1)
		return -1;

	/* Main queue and DLQ: quorum (replicated, delivery counting). */
	e[0].key = amqp_cstring_bytes("x-queue-type");
	e[0].value.kind = AMQP_FIELD_KIND_UTF8;
	e[0].value.value.bytes = amqp_cstring_bytes("quorum");
	args.num_entries = 1;
	args.entries = e;
	if (declare_queue(mq, ATC_MQ_QUEUE, args, err, errlen) == -1 ||
	    declare_queue(mq, ATC_MQ_DLQ, args, err, errlen) == -1)
		return -1;
	amqp_queue_bind(mq->conn, mq->channel, amqp_cstring_bytes(ATC_MQ_QUEUE),
	    amqp_cstring_bytes(ATC_MQ_EXCHANGE), amqp_cstring_bytes("#"),
	    amqp_empty_table);
	if (atc_mq_reply_check(amqp_get_rpc_reply(mq->conn), "bind queue",
	    err, errlen) == -1)
		return -1;

	/* Retry rungs: messages wait out the TTL, then dead-letter back into
	 * the main queue through the default exchange. Quorum queues with
	 * at-least-once dead-lettering: a classic queue dead-letters at most
	 * once, and at broker start it expires what waited out the downtime
	 * before the main queue has a leader, dropping it. */
	e[3].key = amqp_cstring_bytes("x-queue-type");
	e[3].value.kind = AMQP_FIELD_KIND_UTF8;
	e[3].value.value.bytes = amqp_cstring_bytes("quorum");
	e[4].key = amqp_cstring_bytes("x-dead-letter-strategy");
	e[4].value.kind = AMQP_FIELD_KIND_UTF8;
	e[4].value.value.bytes = amqp_cstring_bytes("at-least-once");
	e[5].key = amqp_cstring_bytes("x-overflow");
	e[5].value.kind = AMQP_FIELD_KIND_UTF8;
	e[5].value.value.bytes = amqp_cstring_bytes("reject-publish");
	e[0].key = amqp_cstring_bytes("x-message-ttl");
	e[0].value.kind = AMQP_FIELD_KIND_I64;
	e[1].key = amqp_cstring_bytes("x-dead-letter-exchange");
	e[1].value.kind = AMQP_FIELD_KIND_UTF8;
	e[1].value.value.bytes = amqp_cstring_bytes("");
	e[2].key = amqp_cstring_bytes("x-dead-letter-routing-key");
	e[2].value.kind = AMQP_FIELD_KIND_UTF8;
	e[2].value.value.bytes = amqp_cstring_bytes(ATC_MQ_QUEUE);
	args.num_entries = 6;
	for (i = 0; i < atc_mq_nladder; i++) {
		e[0].value.value.i64 = atc_mq_ladder[i].ttl_ms;
		(void)snprintf(name, sizeof(name), "%s%s", ATC_MQ_RETRY_PREFIX,
		    atc_mq_ladder[i].name);
		if (declare_queue(mq, name, args, err, errlen) == -1)
			return -1;
	}
	return 0;
}

long long
atc_mq_queue_depth(struct atc_mq *mq, const char *queue, char *err,
    size_t errlen)
{
	amqp_queue_declare_ok_t	*ok;

	ok = amqp_queue_declare(mq->conn, mq->channel,
	    amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
	if (atc_mq_reply_check(amqp_get_rpc_reply(mq->conn), queue, err,
	    errlen) == -1 || ok == NULL)
		return -1;
	return (long long)ok->message_count;
}
