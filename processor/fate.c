/* SPDX-License-Identifier: ISC */
/*
 * Making a message's fate durable before its ack: a retry is a republish to
 * a TTL queue of the ladder, a park is a republish to the dead-letter queue,
 * and the original is acked only once the broker confirmed the copy. The x-*
 * headers carry the failure history across rungs (RabbitMQ keeps headers
 * when it dead-letters a message back from a retry queue), so the history
 * needs no other storage. Retries and parks publish without waiting, so the
 * caller can settle many messages and wait for one confirm covering all.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fate.h"
#include "mq.h"
#include "util.h"

#define NHEADERS	8

int
fate_publish_confirmed(struct atc_mq *pub, const char *exchange,
    const char *routing_key, const void *body, size_t len,
    const char *message_id, const struct atc_mq_header *headers,
    size_t nheaders, int timeout_ms, char *err, size_t errlen)
{
	uint64_t	tag;

	if (atc_mq_publish(pub, exchange, routing_key, body, len, message_id,
	    headers, nheaders, &tag, err, errlen) == -1)
		return -1;
	return atc_mq_confirm_wait(pub, tag, timeout_ms, err, errlen);
}

void
fate_now(char *out, size_t outlen)
{
	uint64_t	us = atc_wall_us();
	time_t		t = (time_t)(us / 1000000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	(void)snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(us / 1000 % 1000));
}

/* Fills h with the failure headers; returns how many. now and excerpt are
 * caller storage that must outlive the publish. */
static size_t
fill_headers(struct atc_mq_header *h, const struct fate_info *fi,
    const char *now, char *excerpt, size_t excerptlen)
{
	size_t	n = 0;

	(void)snprintf(excerpt, excerptlen, "%s", fi->error ? fi->error : "");
	h[n++] = (struct atc_mq_header){ .key = "x-attempts",
	    .num = fi->attempts };
	h[n++] = (struct atc_mq_header){ .key = "x-first-failure-at",
	    .str = fi->first_failure_at ? fi->first_failure_at : now };
	h[n++] = (struct atc_mq_header){ .key = "x-last-failure-at",
	    .str = now };
	h[n++] = (struct atc_mq_header){ .key = "x-last-status",
	    .num = fi->status };
	h[n++] = (struct atc_mq_header){ .key = "x-last-error",
	    .str = excerpt };
	h[n++] = (struct atc_mq_header){ .key = "x-routing-key",
	    .str = fi->routing_key };
	return n;
}

int
fate_retry(struct atc_mq *pub, const struct atc_mq_msg *m,
    const struct fate_info *fi, int rung, uint64_t *tag, char *err,
    size_t errlen)
{
	struct atc_mq_header	h[NHEADERS];
	char			now[40], excerpt[FATE_EXCERPT_LEN + 1];
	char			queue[128];
	size_t			n;

	if (rung < 0 || (size_t)rung >= atc_mq_nladder)
		return atc_seterr(err, errlen, "no retry rung %d", rung);
	fate_now(now, sizeof(now));
	n = fill_headers(h, fi, now, excerpt, sizeof(excerpt));
	(void)snprintf(queue, sizeof(queue), "%s%s", ATC_MQ_RETRY_PREFIX,
	    atc_mq_ladder[rung].name);
	return atc_mq_publish(pub, "", queue, m->body, m->len, m->message_id,
	    h, n, tag, err, errlen);
}

int
fate_park(struct atc_mq *pub, const struct atc_mq_msg *m,
    const struct fate_info *fi, uint64_t *tag, char *err, size_t errlen)
{
	struct atc_mq_header	h[NHEADERS];
	char			now[40], excerpt[FATE_EXCERPT_LEN + 1];
	char			reason[FATE_EXCERPT_LEN + 1];
	size_t			n;

	fate_now(now, sizeof(now));
	n = fill_headers(h, fi, now, excerpt, sizeof(excerpt));
	(void)snprintf(reason, sizeof(reason), "%s",
	    fi->reason ? fi->reason : "unknown");
	h[n++] = (struct atc_mq_header){ .key = "x-reason", .str = reason };
	return atc_mq_publish(pub, "", ATC_MQ_DLQ, m->body, m->len,
	    m->message_id, h, n, tag, err, errlen);
}
