/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_JOB_H
#define PROCESSOR_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fate.h"
#include "map.h"
#include "mq.h"
#include "util.h"

/*
 * One delivery from the main queue and everything owned while handling it:
 * the message, its mapped call, its failure history (from the x-* headers)
 * and, once decided, the fate awaiting the broker's confirm. A job sits on
 * exactly one list at a time (pending, a call in flight, waiting for its
 * DID's resolution, or unconfirmed).
 */
struct job {
	struct atc_mq_msg	 msg;		/* owned */
	struct map_call		 call;		/* owned */
	char			 rk[256];	/* original routing key */
	char			 first_failure[48];	/* "" = none yet */
	char			*request_id;	/* owned; NULL until mapped */
	long long		 attempts;	/* failures before this one */
	uint64_t		 start_us;	/* delivery time, wall clock */
	uint64_t		 queued_ms;	/* entered pending, mono */
	bool			 single;	/* never batch it again */
	uint64_t		 ticket;	/* DID resolution; 0 = none */
	uint64_t		 resolve_ms;	/* resolution asked, mono */
	/* The decided fate while its republish awaits a confirm. */
	uint64_t		 fate_tag;	/* publish tag on the confirm
						 * channel */
	int			 fate_rung;	/* retry rung, -1 = parked */
	long			 fate_status;	/* last HTTP status, 0 = none */
	long			 fate_retry_after_s;
	long long		 fate_attempts;
	char			 fate_reason[FATE_EXCERPT_LEN + 1];
	char			 fate_error[ATC_ERRLEN];
	struct job		*next;		/* on its current list */
};

/* A FIFO of jobs linked through next; owns them. Zero it to start. */
struct job_fifo {
	struct job	*head, *tail;
	size_t		 n;
};

/* Appends j. */
void		 job_fifo_push(struct job_fifo *q, struct job *j);
/* Removes and returns the head, or NULL when empty. */
struct job	*job_fifo_pop(struct job_fifo *q);
/* Puts list (jobs linked through next, NULL-terminated) before the head,
 * keeping its order. */
void		 job_fifo_requeue(struct job_fifo *q, struct job *list);
/* Removes and returns the job of q whose ticket is ticket, or NULL. */
struct job	*job_fifo_take_ticket(struct job_fifo *q, uint64_t ticket);
/* Frees every job (unacked) and empties q. */
void		 job_fifo_clear(struct job_fifo *q);

/* Returns a new job taking over the delivery *m (zeroed), with its routing
 * key and failure history read from the headers; free with job_free(). */
struct job	*job_new(struct atc_mq_msg *m);
/* Frees j and what it owns, without acking; NULL is fine. */
void		 job_free(struct job *j);
/* The record's at-uri, else the message id, else "unknown" (borrowed). */
const char	*job_uri(const struct job *j);
/* The record's rev, or "-" (borrowed). */
const char	*job_rev(const struct job *j);

/* The id that follows the record through the services (the AMQP message
 * id, else uri#rev); "-" when unknown. Borrowed from j. */
const char	*job_request_id(const struct job *j);

#endif
