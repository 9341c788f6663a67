/* SPDX-License-Identifier: ISC */
/*
 * Persistent publishes with publisher confirms. The broker acks delivery
 * tags individually or cumulatively and not necessarily in order; this module
 * folds them into one number, the highest tag such that every earlier tag is
 * acked, which is what callers need to advance a cursor safely. A nack or a
 * lost connection is reported and the caller replays from its last safe
 * point.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <amqp.h>

#include "mq.h"
#include "mq_priv.h"
#include "util.h"

#define MAX_HEADERS	16

int
atc_mq_confirm_select(struct atc_mq *mq, char *err, size_t errlen)
{
	amqp_confirm_select(mq->conn, mq->channel);
	if (atc_mq_reply_check(amqp_get_rpc_reply(mq->conn), "confirm select",
	    err, errlen) == -1)
		return -1;
	mq->confirm = 1;
	mq->next_tag = 1;
	mq->acked = 0;
	if (mq->window == NULL)
		mq->window = atc_xcalloc(ATC_MQ_WINDOW / 8, 1);
	return 0;
}

static void
window_set(struct atc_mq *mq, uint64_t tag)
{
	uint64_t	bit = tag % ATC_MQ_WINDOW;

	mq->window[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

static int
window_take(struct atc_mq *mq, uint64_t tag)
{
	uint64_t	bit = tag % ATC_MQ_WINDOW;
	uint8_t		mask = (uint8_t)(1u << (bit % 8));

	if ((mq->window[bit / 8] & mask) == 0)
		return 0;
	mq->window[bit / 8] &= (uint8_t)~mask;
	return 1;
}

static void
confirm_ack(struct atc_mq *mq, uint64_t tag, int multiple)
{
	uint64_t	t;

	if (tag <= mq->acked)
		return;
	if (multiple) {
		for (t = mq->acked + 1; t <= tag; t++)
			(void)window_take(mq, t);
		mq->acked = tag;
	} else if (tag == mq->acked + 1)
		mq->acked = tag;
	else {
		window_set(mq, tag);
		return;
	}
	while (window_take(mq, mq->acked + 1))
		mq->acked++;
}

int
atc_mq_publish(struct atc_mq *mq, const char *exchange,
    const char *routing_key, const void *body, size_t len,
    const char *message_id, const struct atc_mq_header *headers,
    size_t nheaders, uint64_t *tag, char *err, size_t errlen)
{
	amqp_basic_properties_t	props;
	amqp_table_entry_t	entries[MAX_HEADERS];
	amqp_bytes_t		b;
	size_t			i;
	int			rc;

	if (nheaders > MAX_HEADERS)
		return atc_seterr(err, errlen, "mq: too many headers");
	if (mq->confirm && mq->next_tag - mq->acked > ATC_MQ_WINDOW)
		return atc_seterr(err, errlen, "mq: confirm window full");
	memset(&props, 0, sizeof(props));
	props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG |
	    AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.content_type = amqp_cstring_bytes("application/json");
	props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	if (message_id != NULL) {
		props._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
		props.message_id = amqp_cstring_bytes(message_id);
	}
	if (nheaders > 0) {
		for (i = 0; i < nheaders; i++) {
			entries[i].key = amqp_cstring_bytes(headers[i].key);
			if (headers[i].str != NULL) {
				entries[i].value.kind = AMQP_FIELD_KIND_UTF8;
				entries[i].value.value.bytes =
				    amqp_cstring_bytes(headers[i].str);
			} else {
				entries[i].value.kind = AMQP_FIELD_KIND_I64;
				entries[i].value.value.i64 = headers[i].num;
			}
		}
		props._flags |= AMQP_BASIC_HEADERS_FLAG;
		props.headers.num_entries = (int)nheaders;
		props.headers.entries = entries;
	}
	b.bytes = (void *)(uintptr_t)body;
	b.len = len;
	rc = amqp_basic_publish(mq->conn, mq->channel,
	    amqp_cstring_bytes(exchange), amqp_cstring_bytes(routing_key),
	    0, 0, &props, b);
	if (rc != AMQP_STATUS_OK)
		return atc_seterr(err, errlen, "mq publish: %s",
		    amqp_error_string2(rc));
	if (tag != NULL)
		*tag = mq->next_tag;
	if (mq->confirm)
		mq->next_tag++;
	return 0;
}

int
atc_mq_confirm_poll(struct atc_mq *mq, int timeout_ms, uint64_t *acked,
    bool *nacked, char *err, size_t errlen)
{
	amqp_frame_t	 frame;
	struct timeval	 tv;
	uint64_t	 deadline;
	int		 rc, first = 1;

	deadline = atc_mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		/* Stop waiting once everything published is confirmed. */
		if (!first && mq->acked + 1 >= mq->next_tag)
			break;
		if (first || atc_mono_ms() >= deadline) {
			tv.tv_sec = 0;
			tv.tv_usec = 0;
		} else {
			uint64_t left = deadline - atc_mono_ms();
			tv.tv_sec = (time_t)(left / 1000);
			tv.tv_usec = (suseconds_t)((left % 1000) * 1000);
		}
		first = 0;
		rc = amqp_simple_wait_frame_noblock(mq->conn, &frame, &tv);
		if (rc == AMQP_STATUS_TIMEOUT) {
			if (atc_mono_ms() >= deadline)
				break;
			continue;
		}
		if (rc != AMQP_STATUS_OK)
			return atc_seterr(err, errlen, "mq confirms: %s",
			    amqp_error_string2(rc));
		if (frame.frame_type != AMQP_FRAME_METHOD)
			continue;
		switch (frame.payload.method.id) {
		case AMQP_BASIC_ACK_METHOD: {
			amqp_basic_ack_t *a = frame.payload.method.decoded;
			confirm_ack(mq, a->delivery_tag, a->multiple);
			break;
		}
		case AMQP_BASIC_NACK_METHOD:
			mq->nacked = 1;
			break;
		case AMQP_CHANNEL_CLOSE_METHOD:
		case AMQP_CONNECTION_CLOSE_METHOD:
			return atc_seterr(err, errlen,
			    "mq confirms: broker closed the channel");
		default:
			break;
		}
		amqp_maybe_release_buffers(mq->conn);
	}
	*acked = mq->acked;
	*nacked = mq->nacked != 0;
	return 0;
}

int
atc_mq_confirm_wait(struct atc_mq *mq, uint64_t tag, int timeout_ms,
    char *err, size_t errlen)
{
	uint64_t	acked = 0, deadline, now;
	bool		nacked = false;

	deadline = atc_mono_ms() + (uint64_t)timeout_ms;
	for (;;) {
		now = atc_mono_ms();
		if (atc_mq_confirm_poll(mq, now < deadline ?
		    (int)(deadline - now) : 0, &acked, &nacked, err,
		    errlen) == -1)
			return -1;
		if (nacked)
			return atc_seterr(err, errlen, "broker refused the "
			    "message (nack)");
		if (acked >= tag)
			return 0;
		if (atc_mono_ms() >= deadline)
			return atc_seterr(err, errlen, "no publisher confirm "
			    "within %d ms", timeout_ms);
	}
}
