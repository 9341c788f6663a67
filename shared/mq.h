/* SPDX-License-Identifier: ISC */
#ifndef ATC_MQ_H
#define ATC_MQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * RabbitMQ through rabbitmq-c: mq.c (connection, topology), mq_publish.c
 * (persistent publishes with publisher confirms), mq_consume.c (manual-ack
 * consumption). These three files are the only callers of amqp_*.
 * A connection is used by one thread. Publishing and consuming use separate
 * connections (a confirm arriving inside a consume read is an error in
 * rabbitmq-c 0.11).
 */

/* Topology, declared idempotently by every service with identical
 * arguments. */
#define ATC_MQ_EXCHANGE		"community.lexicon.calendar"
#define ATC_MQ_QUEUE		"community.lexicon.calendar.queue"
#define ATC_MQ_DLQ		"community.lexicon.calendar.dlq"
#define ATC_MQ_RETRY_PREFIX	"community.lexicon.calendar.retry."

/* The retry ladder: queue i is ATC_MQ_RETRY_PREFIX + name, TTL ttl_ms,
 * dead-lettering back into ATC_MQ_QUEUE through the default exchange. */
struct atc_mq_rung {
	const char	*name;		/* "1s" */
	long long	 ttl_ms;
};
extern const struct atc_mq_rung	atc_mq_ladder[];
extern const size_t		atc_mq_nladder;

struct atc_mq;

/* Connects to an amqp:// (or amqps://) URL, opens channel 1. amqps
 * verifies peer and host name; "?cacertfile=PATH" trusts those PEM CAs.
 * Returns a new connection; free with atc_mq_free(). NULL and err on
 * failure. */
struct atc_mq	*atc_mq_connect(const char *url, const char *conn_name,
		    char *err, size_t errlen);
void		 atc_mq_free(struct atc_mq *);
/* Declares the exchange, the main quorum queue and its binding, the retry
 * ladder and the dead-letter queue. 0 or -1. */
int		 atc_mq_declare_topology(struct atc_mq *, char *err,
		    size_t errlen);
/* Messages ready in a queue (passive declare); -1 on error. */
long long	 atc_mq_queue_depth(struct atc_mq *, const char *queue,
		    char *err, size_t errlen);
/* Socket descriptor, for poll(2) integration. */
int		 atc_mq_fd(struct atc_mq *);

/* A header table entry: string or integer values only. */
struct atc_mq_header {
	const char	*key;
	const char	*str;		/* NULL: use num */
	long long	 num;
};

/* --- publishing (mq_publish.c) ------------------------------------------ */

/* Puts the channel in confirm mode. Delivery tags then count from 1. */
int	atc_mq_confirm_select(struct atc_mq *, char *err, size_t errlen);
/* Publishes one persistent message (content-type application/json).
 * message_id may be NULL. On success *tag is its delivery tag. */
int	atc_mq_publish(struct atc_mq *, const char *exchange,
	    const char *routing_key, const void *body, size_t len,
	    const char *message_id, const struct atc_mq_header *headers,
	    size_t nheaders, uint64_t *tag, char *err, size_t errlen);
/* Reads confirms for up to timeout_ms (0 = only what is already
 * readable). *acked receives the highest tag such that every tag <= it is
 * acknowledged; *nacked is set when the broker refused a message (the
 * caller must then reconnect and replay). Returns 0 or -1 (connection
 * lost). */
int	atc_mq_confirm_poll(struct atc_mq *, int timeout_ms, uint64_t *acked,
	    bool *nacked, char *err, size_t errlen);
/* Waits up to timeout_ms until every publish up to delivery tag `tag` is
 * confirmed. 0, or -1 and err (nack, timeout, lost connection: the caller
 * reconnects; a nack is sticky). */
int	atc_mq_confirm_wait(struct atc_mq *, uint64_t tag, int timeout_ms,
	    char *err, size_t errlen);

/* --- consuming (mq_consume.c) -------------------------------------------- */

struct atc_mq_msg {
	uint64_t	 tag;		/* delivery tag, for ack/nack */
	const char	*routing_key;	/* borrowed, valid until release */
	const uint8_t	*body;		/* borrowed, valid until release */
	size_t		 len;
	const char	*message_id;	/* borrowed or NULL */
	bool		 redelivered;
	void		*priv;		/* owned by mq_consume.c */
};

/* Sets the channel's prefetch window (basic.qos, 1..65535). 0 or -1. */
int	atc_mq_qos(struct atc_mq *, unsigned int prefetch, char *err,
	    size_t errlen);
/* Starts a manual-ack consumer on queue (server-named consumer tag). */
int	atc_mq_consume_start(struct atc_mq *, const char *queue, char *err,
	    size_t errlen);
/* Non-zero when a delivery is already buffered in memory, so poll(2) on
 * atc_mq_fd() would not see it. */
int	atc_mq_consume_buffered(struct atc_mq *);
/* Waits up to timeout_ms (0 = only what is buffered or readable now) for
 * one delivery. Returns 1 and fills *out (the caller owns it: release with
 * atc_mq_msg_release()), 0 on timeout, -1 and err when the channel or
 * connection failed (reconnect; unacked messages are redelivered). */
int	atc_mq_consume_next(struct atc_mq *, int timeout_ms,
	    struct atc_mq_msg *out, char *err, size_t errlen);
/* basic.get of one message with manual ack. 1 and *out (release with
 * atc_mq_msg_release()), 0 when the queue is empty, -1 and err on error.
 * Unacked messages return to the queue when the connection closes. */
int	atc_mq_get(struct atc_mq *, const char *queue, struct atc_mq_msg *out,
	    char *err, size_t errlen);
/* Frees what *m owns and zeroes it; NULL and released messages are fine. */
void	atc_mq_msg_release(struct atc_mq_msg *m);
/* Acknowledges / rejects one delivery tag of this connection. 0 or -1. */
int	atc_mq_ack(struct atc_mq *, uint64_t tag, char *err, size_t errlen);
int	atc_mq_nack(struct atc_mq *, uint64_t tag, bool requeue, char *err,
	    size_t errlen);
/* Drops every ready message of queue; returns how many, or -1. */
long long	atc_mq_queue_purge(struct atc_mq *, const char *queue,
		    char *err, size_t errlen);
/* Copies a string header (utf8 or bytes, truncated to outlen - 1) of a
 * delivery into out. 0, or -1 when absent or not a string. */
int	atc_mq_msg_header_str(const struct atc_mq_msg *, const char *key,
	    char *out, size_t outlen);
/* Reads an integer header of a delivery. 0, or -1 when absent or not an
 * integer. */
int	atc_mq_msg_header_int(const struct atc_mq_msg *, const char *key,
	    long long *out);

#endif
