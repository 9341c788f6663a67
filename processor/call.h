/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_CALL_H
#define PROCESSOR_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_request;
struct api_result;
struct job;
struct job_fifo;
struct processor_metrics;
struct resolver;
struct resolver_result;
struct settle;

/* One API call and the jobs it carries, in delivery order. */
struct call {
	struct job	*jobs;		/* owned list, linked through next */
	size_t		 njobs;
	bool		 batch;		/* batch endpoint, else one job alone */
	char		*body;		/* owned batch body; NULL if single */
	char		*request_id;	/* owned for a batch */
};

/* Where settled jobs go next; everything is borrowed from the loop. */
struct call_ctx {
	struct job_fifo			*pending;	/* waiting for a call */
	struct job_fifo			*resolving;	/* identity jobs waiting
							 * for their DID */
	struct settle			*settle;
	struct processor_metrics	*m;
	struct resolver			*resolver;	/* NULL: identity
							 * answers are acked */
	uint64_t			 last_ticket;	/* resolutions asked */
};

/* Returns a new call taking jobs from the head of q (not empty): a batch
 * of up to batch_size jobs within BATCH_MAX_BYTES, or the head job alone
 * (batch_size 1, a job marked single, or only one fits). Free with
 * call_free(), or hand it to call_settle(). */
struct call	*call_take(struct job_fifo *q, size_t batch_size);
/* Fills *req to send c; its pointers are borrowed from c. */
void		 call_request(const struct call *c, struct api_request *req);
/* Decides the fate of every job of c from the answer r through
 * ctx->settle: a single call as settle_answer(); a batch item by item from
 * a 2xx answer; every job retried on a transient failure of the whole
 * request (each counted); and back to the head of ctx->pending, marked
 * single, when the API refused the batch as such (404, 413, an unreadable
 * answer). A lifecycle call's answer: unknown DID -> acked as ignored;
 * identity to resolve -> submitted to ctx->resolver under a new ticket and
 * moved to ctx->resolving (call_resolved() goes on). Frees c. 0, or -1
 * and err on a RabbitMQ failure (the session must restart). */
int		 call_settle(struct call *c, const struct api_result *r,
		    struct call_ctx *ctx, char *err, size_t errlen);
/* A resolution finished: its job leaves ctx->resolving and goes back to
 * the head of ctx->pending with the resolved identity (retried when the
 * resolution failed transiently, parked when its body is unreadable). A
 * ticket no job holds (its session ended) is ignored. 0, or -1 and err on
 * a RabbitMQ failure. */
int		 call_resolved(struct call_ctx *ctx,
		    const struct resolver_result *rr, char *err,
		    size_t errlen);
/* Frees c and its jobs (unacked); NULL is fine. */
void		 call_free(struct call *c);

#endif
