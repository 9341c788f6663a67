/* SPDX-License-Identifier: ISC */
/*
 * A delivery's unit of work. job_new() reads what the broker carried in
 * the headers (a message back from a retry queue arrives with that queue's
 * routing key; the original travels in x-routing-key, the history in
 * x-attempts and x-first-failure-at) so later stages never touch them.
 * Jobs wait in FIFOs (pending, unconfirmed) that keep delivery order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

struct job *
job_new(struct atc_mq_msg *m)
{
	struct job	*j;
	char		 rk[256];

	j = atc_xcalloc(1, sizeof(*j));
	j->msg = *m;
	memset(m, 0, sizeof(*m));
	if (atc_mq_msg_header_str(&j->msg, "x-routing-key", rk,
	    sizeof(rk)) == 0 && rk[0] != '\0')
		(void)snprintf(j->rk, sizeof(j->rk), "%s", rk);
	else
		(void)snprintf(j->rk, sizeof(j->rk), "%s",
		    j->msg.routing_key != NULL ? j->msg.routing_key : "");
	if (atc_mq_msg_header_int(&j->msg, "x-attempts", &j->attempts) == -1 ||
	    j->attempts < 0)
		j->attempts = 0;
	if (atc_mq_msg_header_str(&j->msg, "x-first-failure-at",
	    j->first_failure, sizeof(j->first_failure)) == -1)
		j->first_failure[0] = '\0';
	j->start_us = atc_wall_us();
	j->queued_ms = atc_mono_ms();
	j->fate_rung = -1;
	return j;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	atc_mq_msg_release(&j->msg);
	map_call_cleanup(&j->call);
	free(j->request_id);
	free(j);
}

const char *
job_uri(const struct job *j)
{
	if (j->call.uri != NULL)
		return j->call.uri;
	return j->msg.message_id != NULL ? j->msg.message_id : "unknown";
}

const char *
job_rev(const struct job *j)
{
	return j->call.rev != NULL ? j->call.rev : "-";
}

void
job_fifo_push(struct job_fifo *q, struct job *j)
{
	j->next = NULL;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
}

struct job *
job_fifo_pop(struct job_fifo *q)
{
	struct job	*j = q->head;

	if (j == NULL)
		return NULL;
	if ((q->head = j->next) == NULL)
		q->tail = NULL;
	j->next = NULL;
	q->n--;
	return j;
}

void
job_fifo_requeue(struct job_fifo *q, struct job *list)
{
	struct job	*last = NULL, *j;

	for (j = list; j != NULL; j = j->next) {
		last = j;
		q->n++;
	}
	if (last == NULL)
		return;
	last->next = q->head;
	if (q->head == NULL)
		q->tail = last;
	q->head = list;
}

struct job *
job_fifo_take_ticket(struct job_fifo *q, uint64_t ticket)
{
	struct job	**pp, *j, *prev = NULL;

	for (pp = &q->head; (j = *pp) != NULL; pp = &j->next) {
		if (j->ticket == ticket)
			break;
		prev = j;
	}
	if (j == NULL)
		return NULL;
	*pp = j->next;
	if (q->tail == j)
		q->tail = prev;
	j->next = NULL;
	q->n--;
	return j;
}

void
job_fifo_clear(struct job_fifo *q)
{
	struct job	*j;

	while ((j = job_fifo_pop(q)) != NULL)
		job_free(j);
}

const char *
job_request_id(const struct job *j)
{
	if (j->request_id != NULL)
		return j->request_id;
	if (j->msg.message_id != NULL)
		return j->msg.message_id;
	return "-";
}
