/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_CALL_H
#define PROCESSOR_CALL_H

#include <stdbool.h>
#include <stddef.h>

struct api_request;
struct api_result;
struct atc_didres;
struct job;
struct job_fifo;
struct processor_metrics;
struct settle;

/* One API call and the jobs it carries, in delivery order. */
struct call {
	struct job	*jobs;		/* owned list, linked through next */
	size_t		 njobs;
	bool		 batch;		/* batch endpoint, else one job alone */
	char		*body;		/* owned batch body; NULL if single */
	char		*request_id;	/* owned for a batch */
};

/* Returns a new call taking jobs from the head of q (not empty): a batch
 * of up to batch_size jobs within BATCH_MAX_BYTES, or the head job alone
 * (batch_size 1, a job marked single, or only one fits). Free with
 * call_free(), or hand it to call_settle(). */
struct call	*call_take(struct job_fifo *q, size_t batch_size);
/* Fills *req to send c; its pointers are borrowed from c. */
void		 call_request(const struct call *c, struct api_request *req);
/* Decides the fate of every job of c from the answer r through s: a
 * single call as settle_answer(); a batch item by item from a 2xx answer;
 * every job retried on a transient failure of the whole request (each
 * counted); and back to the head of q, marked single, when the API refused
 * the batch as such (404, 413, an unreadable answer). A lifecycle call's
 * answer: unknown DID -> acked as ignored; identity to resolve -> resolved
 * with res (borrowed) and back to the head of q. Frees c. 0, or -1
 * and err on a RabbitMQ failure (the session must restart). */
int		 call_settle(struct call *c, const struct api_result *r,
		    struct job_fifo *q, struct settle *s,
		    struct processor_metrics *m, struct atc_didres *res,
		    char *err, size_t errlen);
/* Frees c and its jobs (unacked); NULL is fine. */
void		 call_free(struct call *c);

#endif
