/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_FATE_H
#define PROCESSOR_FATE_H

#include <stddef.h>
#include <stdint.h>

struct atc_mq;
struct atc_mq_header;
struct atc_mq_msg;

/* How long to wait for the broker's confirm of a retry or park. */
#define FATE_CONFIRM_MS		10000
/* Header values are cut to this many bytes. */
#define FATE_EXCERPT_LEN	200

/* A message's failure history, as carried in its x-* headers. Strings are
 * borrowed. */
struct fate_info {
	const char	*routing_key;	/* original routing key */
	long long	 attempts;	/* failures so far, this one included */
	const char	*first_failure_at;	/* RFC 3339; NULL = now */
	long		 status;	/* last HTTP status, 0 = no answer */
	const char	*error;		/* last error text ("" if none) */
	const char	*reason;	/* why it is parked (fate_park only) */
};

/* Publishes one persistent message on pub (a confirm-mode connection) and
 * waits up to timeout_ms for the broker's confirm. 0 once it is durable,
 * -1 and err otherwise (the caller reconnects pub: a nack is sticky). */
int	fate_publish_confirmed(struct atc_mq *pub, const char *exchange,
	    const char *routing_key, const void *body, size_t len,
	    const char *message_id, const struct atc_mq_header *headers,
	    size_t nheaders, int timeout_ms, char *err, size_t errlen);
/* Republishes m unchanged (body, message id) to retry rung `rung` with the
 * failure headers, without waiting: *tag is its publish tag, durable once
 * atc_mq_confirm_wait() covers it. 0 or -1 and err. */
int	fate_retry(struct atc_mq *pub, const struct atc_mq_msg *m,
	    const struct fate_info *fi, int rung, uint64_t *tag, char *err,
	    size_t errlen);
/* Parks m in the dead-letter queue with the failure headers plus x-reason
 * and x-routing-key, without waiting (as fate_retry()). 0 or -1 and err. */
int	fate_park(struct atc_mq *pub, const struct atc_mq_msg *m,
	    const struct fate_info *fi, uint64_t *tag, char *err,
	    size_t errlen);
/* Writes the current UTC time as RFC 3339 with milliseconds. */
void	fate_now(char *out, size_t outlen);

#endif
