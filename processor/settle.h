/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_SETTLE_H
#define PROCESSOR_SETTLE_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"

struct atc_mq;
struct fetch_event;
struct processor_metrics;

/*
 * Settling messages: ack, retry or park. Retries and parks are published at
 * once but acked only in settle_flush(), after one confirm wait covering
 * all of them, so a burst of failures (a whole batch refused) costs one
 * round trip to the broker, not one per message. Connections and metrics
 * are borrowed; the unconfirmed jobs are owned.
 */
struct settle {
	struct atc_mq			*cons;	/* acks */
	struct atc_mq			*pub;	/* republishes, confirm mode */
	struct processor_metrics	*m;
	struct job_fifo			 unconfirmed;	/* owned */
	uint64_t			 last_tag;	/* newest publish */
	struct fetch_event		*fetch;		/* borrowed, or NULL:
							 * RSVPs' unknown
							 * events */
};

/* Starts an empty settlement over the session's two connections. */
void	settle_init(struct settle *s, struct atc_mq *cons, struct atc_mq *pub,
	    struct processor_metrics *m);
/* The API applied j: acks it now and frees it. 0, or -1 and err (RabbitMQ
 * failed; j is freed either way). */
int	settle_ok(struct settle *s, struct job *j, long status,
	    uint64_t elapsed_ms, char *err, size_t errlen);
/* The API had nothing to do for j (a DID it does not know): acks it now,
 * counted as status "ignored", and frees it. 0, or -1 and err. */
int	settle_ignored(struct settle *s, struct job *j, long status,
	    char *err, size_t errlen);
/* j failed transiently (status 0 = no answer): publishes it to its next
 * retry rung (honouring retry_after_s when >= 0), or parks it when the
 * ladder is exhausted. An RSVP whose event is still unknown also has the
 * event fetched (s->fetch). Takes j. 0, or -1 and err (j freed,
 * unacked). */
int	settle_retry(struct settle *s, struct job *j, long status,
	    long retry_after_s, const char *error, char *err, size_t errlen);
/* j can never succeed: publishes it to the dead-letter queue with reason.
 * error (may be NULL) is the last answer's excerpt. Takes j. 0, or -1. */
int	settle_park(struct settle *s, struct job *j, long status,
	    const char *error, const char *reason, char *err, size_t errlen);
/* Routes an API answer for j by outcome_classify(): ok, retry or park
 * ("api rejected: http N: excerpt"). Takes j. 0, or -1. */
int	settle_answer(struct settle *s, struct job *j, long status,
	    long retry_after_s, const char *error, uint64_t elapsed_ms,
	    char *err, size_t errlen);
/* Waits for the broker's confirm of every republish so far, then acks and
 * logs those jobs. 0, or -1 and err (they stay unacked: the session must
 * restart, and settle_abandon() frees them). */
int	settle_flush(struct settle *s, char *err, size_t errlen);
/* Frees the unconfirmed jobs without acking them (they are redelivered). */
void	settle_abandon(struct settle *s);

#endif
