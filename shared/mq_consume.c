/* SPDX-License-Identifier: ISC */
/*
 * Manual-ack consumption: basic.qos, basic.consume, basic.get, ack/nack,
 * purge and header reads. Every delivery handed out owns a private copy of
 * its envelope (struct msg_priv), so callers may keep many messages alive at
 * once while their fate is decided; atc_mq_msg_release() frees one. The
 * connection used here must never be in confirm mode (see mq.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp.h>

#include "mq.h"
#include "mq_priv.h"
#include "util.h"

struct msg_priv {
	amqp_envelope_t	 env;		/* owned: body, properties pool */
	char		*routing_key;	/* owned, NUL-terminated */
	char		*message_id;	/* owned or NULL */
};

static void
msg_fill(struct atc_mq_msg *out, struct msg_priv *p, uint64_t tag,
    bool redelivered, amqp_bytes_t rk)
{
	amqp_basic_properties_t	*props = &p->env.message.properties;

	p->routing_key = atc_xstrndup(rk.bytes ? rk.bytes : "", rk.len);
	p->message_id = NULL;
	if ((props->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) &&
	    props->message_id.bytes != NULL)
		p->message_id = atc_xstrndup(props->message_id.bytes,
		    props->message_id.len);
	out->tag = tag;
	out->routing_key = p->routing_key;
	out->body = p->env.message.body.bytes;
	out->len = p->env.message.body.len;
	out->message_id = p->message_id;
	out->redelivered = redelivered;
	out->priv = p;
}

int
atc_mq_qos(struct atc_mq *mq, unsigned int prefetch, char *err,
    size_t errlen)
{
	if (prefetch == 0 || prefetch > 65535)
		return atc_seterr(err, errlen, "prefetch %u out of range",
		    prefetch);
	amqp_basic_qos(mq->conn, mq->channel, 0, (uint16_t)prefetch, 0);
	return atc_mq_reply_check(amqp_get_rpc_reply(mq->conn), "basic.qos",
	    err, errlen);
}

int
atc_mq_consume_start(struct atc_mq *mq, const char *queue, char *err,
    size_t errlen)
{
	amqp_basic_consume(mq->conn, mq->channel, amqp_cstring_bytes(queue),
	    amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
	return atc_mq_reply_check(amqp_get_rpc_reply(mq->conn),
	    "basic.consume", err, errlen);
}

int
atc_mq_consume_buffered(struct atc_mq *mq)
{
	return amqp_frames_enqueued(mq->conn) || amqp_data_in_buffer(mq->conn);
}

/* Names the frame that interrupted a consume (left queued by rabbitmq-c):
 * usually the broker closing the channel or connection, with its reason. */
static int
unexpected_frame(struct atc_mq *mq, char *err, size_t errlen)
{
	amqp_frame_t	 f;
	struct timeval	 tv = { 0, 0 };
	const char	*what = "frame";

	if (amqp_simple_wait_frame_noblock(mq->conn, &f, &tv) !=
	    AMQP_STATUS_OK || f.frame_type != AMQP_FRAME_METHOD)
		return atc_seterr(err, errlen, "consume: unexpected frame");
	switch (f.payload.method.id) {
	case AMQP_CONNECTION_CLOSE_METHOD: {
		amqp_connection_close_t *m = f.payload.method.decoded;

		return atc_seterr(err, errlen, "consume: broker closed the "
		    "connection: %u %.*s", m->reply_code,
		    (int)m->reply_text.len, (const char *)m->reply_text.bytes);
	}
	case AMQP_CHANNEL_CLOSE_METHOD: {
		amqp_channel_close_t *m = f.payload.method.decoded;

		return atc_seterr(err, errlen, "consume: broker closed the "
		    "channel: %u %.*s", m->reply_code,
		    (int)m->reply_text.len, (const char *)m->reply_text.bytes);
	}
	case AMQP_BASIC_CANCEL_METHOD:
		what = "basic.cancel (queue deleted?)";
		break;
	default:
		break;
	}
	return atc_seterr(err, errlen, "consume: unexpected %s (method "
	    "0x%08x)", what, (unsigned)f.payload.method.id);
}

int
atc_mq_consume_next(struct atc_mq *mq, int timeout_ms,
    struct atc_mq_msg *out, char *err, size_t errlen)
{
	struct msg_priv		*p;
	struct timeval		 tv;
	amqp_rpc_reply_t	 r;

	if (timeout_ms < 0)
		timeout_ms = 0;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	amqp_maybe_release_buffers(mq->conn);
	p = atc_xcalloc(1, sizeof(*p));
	r = amqp_consume_message(mq->conn, &p->env, &tv, 0);
	if (r.reply_type == AMQP_RESPONSE_NORMAL) {
		msg_fill(out, p, p->env.delivery_tag,
		    p->env.redelivered != 0, p->env.routing_key);
		return 1;
	}
	free(p);
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    r.library_error == AMQP_STATUS_TIMEOUT)
		return 0;
	/*
	 * Anything else (a channel.close, a broker-side basic.cancel because
	 * the queue went away, a dead socket) ends this consumer: the caller
	 * reconnects and the broker redelivers what was not acked.
	 */
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    r.library_error == AMQP_STATUS_UNEXPECTED_STATE)
		return unexpected_frame(mq, err, errlen);
	atc_mq_reply_check(r, "consume", err, errlen);
	return -1;
}

int
atc_mq_get(struct atc_mq *mq, const char *queue, struct atc_mq_msg *out,
    char *err, size_t errlen)
{
	struct msg_priv		*p = NULL;
	amqp_basic_get_ok_t	*ok;
	amqp_rpc_reply_t	 r;
	char			*rk = NULL;
	int			 ret = -1;

	amqp_maybe_release_buffers(mq->conn);
	r = amqp_basic_get(mq->conn, mq->channel, amqp_cstring_bytes(queue), 0);
	if (atc_mq_reply_check(r, "basic.get", err, errlen) == -1)
		goto out;
	if (r.reply.id == AMQP_BASIC_GET_EMPTY_METHOD) {
		ret = 0;
		goto out;
	}
	if (r.reply.id != AMQP_BASIC_GET_OK_METHOD) {
		atc_seterr(err, errlen, "basic.get: unexpected reply %u",
		    (unsigned)r.reply.id);
		goto out;
	}
	ok = r.reply.decoded;
	p = atc_xcalloc(1, sizeof(*p));
	p->env.delivery_tag = ok->delivery_tag;
	p->env.redelivered = ok->redelivered;
	/* get-ok lives in the connection pool: copy before the next read. */
	rk = atc_xstrndup(ok->routing_key.bytes ? ok->routing_key.bytes : "",
	    ok->routing_key.len);
	r = amqp_read_message(mq->conn, mq->channel, &p->env.message, 0);
	if (atc_mq_reply_check(r, "basic.get body", err, errlen) == -1)
		goto out;
	msg_fill(out, p, p->env.delivery_tag, p->env.redelivered != 0,
	    amqp_cstring_bytes(rk));
	p = NULL;
	ret = 1;
out:
	free(p);
	free(rk);
	return ret;
}

void
atc_mq_msg_release(struct atc_mq_msg *m)
{
	struct msg_priv	*p;

	if (m == NULL || (p = m->priv) == NULL)
		return;
	/* amqp_destroy_envelope frees only what amqp_consume_message set. */
	amqp_destroy_message(&p->env.message);
	amqp_bytes_free(p->env.routing_key);
	amqp_bytes_free(p->env.exchange);
	amqp_bytes_free(p->env.consumer_tag);
	free(p->routing_key);
	free(p->message_id);
	free(p);
	memset(m, 0, sizeof(*m));
}

int
atc_mq_ack(struct atc_mq *mq, uint64_t tag, char *err, size_t errlen)
{
	int	rc;

	if ((rc = amqp_basic_ack(mq->conn, mq->channel, tag, 0)) != 0)
		return atc_seterr(err, errlen, "basic.ack: %s",
		    amqp_error_string2(rc));
	return 0;
}

int
atc_mq_nack(struct atc_mq *mq, uint64_t tag, bool requeue, char *err,
    size_t errlen)
{
	int	rc;

	if ((rc = amqp_basic_nack(mq->conn, mq->channel, tag, 0,
	    requeue ? 1 : 0)) != 0)
		return atc_seterr(err, errlen, "basic.nack: %s",
		    amqp_error_string2(rc));
	return 0;
}

long long
atc_mq_queue_purge(struct atc_mq *mq, const char *queue, char *err,
    size_t errlen)
{
	amqp_queue_purge_ok_t	*ok;

	ok = amqp_queue_purge(mq->conn, mq->channel, amqp_cstring_bytes(queue));
	if (atc_mq_reply_check(amqp_get_rpc_reply(mq->conn), "queue.purge",
	    err, errlen) == -1 || ok == NULL)
		return -1;
	return (long long)ok->message_count;
}

static const amqp_field_value_t *
header_find(const struct atc_mq_msg *m, const char *key)
{
	const struct msg_priv		*p = m->priv;
	const amqp_basic_properties_t	*props;
	size_t				 klen = strlen(key);
	int				 i;

	if (p == NULL)
		return NULL;
	props = &p->env.message.properties;
	if (!(props->_flags & AMQP_BASIC_HEADERS_FLAG))
		return NULL;
	for (i = 0; i < props->headers.num_entries; i++) {
		const amqp_table_entry_t *e = &props->headers.entries[i];

		if (e->key.len == klen && memcmp(e->key.bytes, key, klen) == 0)
			return &e->value;
	}
	return NULL;
}

int
atc_mq_msg_header_str(const struct atc_mq_msg *m, const char *key,
    char *out, size_t outlen)
{
	const amqp_field_value_t	*v;
	size_t				 n;

	if (outlen == 0 || (v = header_find(m, key)) == NULL)
		return -1;
	if (v->kind != AMQP_FIELD_KIND_UTF8 && v->kind != AMQP_FIELD_KIND_BYTES)
		return -1;
	n = v->value.bytes.len < outlen - 1 ? v->value.bytes.len : outlen - 1;
	if (n > 0)
		memcpy(out, v->value.bytes.bytes, n);
	out[n] = '\0';
	return 0;
}

int
atc_mq_msg_header_int(const struct atc_mq_msg *m, const char *key,
    long long *out)
{
	const amqp_field_value_t	*v;

	if ((v = header_find(m, key)) == NULL)
		return -1;
	switch (v->kind) {
	case AMQP_FIELD_KIND_I8:
		*out = v->value.i8;
		return 0;
	case AMQP_FIELD_KIND_U8:
		*out = v->value.u8;
		return 0;
	case AMQP_FIELD_KIND_I16:
		*out = v->value.i16;
		return 0;
	case AMQP_FIELD_KIND_U16:
		*out = v->value.u16;
		return 0;
	case AMQP_FIELD_KIND_I32:
		*out = v->value.i32;
		return 0;
	case AMQP_FIELD_KIND_U32:
		*out = v->value.u32;
		return 0;
	case AMQP_FIELD_KIND_I64:
		*out = v->value.i64;
		return 0;
	case AMQP_FIELD_KIND_U64:
	case AMQP_FIELD_KIND_TIMESTAMP:
		if (v->value.u64 > (uint64_t)INT64_MAX)
			return -1;
		*out = (long long)v->value.u64;
		return 0;
	default:
		return -1;
	}
}
