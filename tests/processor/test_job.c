/* SPDX-License-Identifier: ISC */
/*
 * Tests of processor/job.c's FIFO: delivery order is kept through push and
 * pop, a refused batch put back with job_fifo_requeue() comes out
 * first, in its own order, ahead of what arrived meanwhile, and a job
 * whose DID resolution finished is taken out by its ticket from anywhere
 * in the list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "job.h"

static struct job *
mk(uint64_t tag)
{
	struct job	*j = calloc(1, sizeof(*j));

	assert_non_null(j);
	j->msg.tag = tag;
	return j;
}

static void
expect_order(struct job_fifo *q, const uint64_t *tags, size_t n)
{
	struct job	*j;
	size_t		 i;

	assert_int_equal(q->n, n);
	for (i = 0; i < n; i++) {
		j = job_fifo_pop(q);
		assert_non_null(j);
		assert_int_equal(j->msg.tag, tags[i]);
		assert_null(j->next);
		job_free(j);
	}
	assert_null(job_fifo_pop(q));
	assert_null(q->head);
	assert_null(q->tail);
	assert_int_equal(q->n, 0);
}

static void
test_job_fifo_keeps_delivery_order(void **state)
{
	struct job_fifo	 q;
	const uint64_t	 want[] = { 1, 2, 3 };

	memset(&q, 0, sizeof(q));
	assert_null(job_fifo_pop(&q));
	job_fifo_push(&q, mk(1));
	job_fifo_push(&q, mk(2));
	job_fifo_push(&q, mk(3));
	expect_order(&q, want, 3);
}

static void
test_job_fifo_requeue_goes_first_in_order(void **state)
{
	struct job_fifo	 q, batch;
	struct job	*list;
	const uint64_t	 want[] = { 1, 2, 3, 4, 5 };

	memset(&q, 0, sizeof(q));
	memset(&batch, 0, sizeof(batch));
	job_fifo_push(&batch, mk(1));
	job_fifo_push(&batch, mk(2));
	job_fifo_push(&batch, mk(3));
	list = batch.head;
	job_fifo_push(&q, mk(4));
	job_fifo_push(&q, mk(5));
	job_fifo_requeue(&q, list);
	expect_order(&q, want, 5);
}

static void
test_job_fifo_requeue_into_empty_sets_tail(void **state)
{
	struct job_fifo	 q, batch;
	const uint64_t	 want[] = { 1, 2, 3 };

	memset(&q, 0, sizeof(q));
	memset(&batch, 0, sizeof(batch));
	job_fifo_push(&batch, mk(1));
	job_fifo_push(&batch, mk(2));
	job_fifo_requeue(&q, batch.head);
	job_fifo_requeue(&q, NULL);
	job_fifo_push(&q, mk(3));
	expect_order(&q, want, 3);
}

static struct job *
mk_ticket(uint64_t tag, uint64_t ticket)
{
	struct job	*j = mk(tag);

	j->ticket = ticket;
	return j;
}

/* Head, middle and tail leave by ticket; the rest keeps its order and
 * the tail stays right for later pushes; an unknown ticket takes nothing. */
static void
test_job_fifo_take_ticket_anywhere(void **state)
{
	struct job_fifo	 q;
	struct job	*j;
	const uint64_t	 want[] = { 2, 4, 6 };

	memset(&q, 0, sizeof(q));
	assert_null(job_fifo_take_ticket(&q, 7));
	job_fifo_push(&q, mk_ticket(1, 11));
	job_fifo_push(&q, mk_ticket(2, 12));
	job_fifo_push(&q, mk_ticket(3, 13));
	job_fifo_push(&q, mk_ticket(4, 14));
	job_fifo_push(&q, mk_ticket(5, 15));
	assert_null(job_fifo_take_ticket(&q, 99));
	assert_int_equal(q.n, 5);
	j = job_fifo_take_ticket(&q, 11);
	assert_non_null(j);
	assert_int_equal(j->msg.tag, 1);
	assert_null(j->next);
	job_free(j);
	j = job_fifo_take_ticket(&q, 13);
	assert_int_equal(j->msg.tag, 3);
	job_free(j);
	j = job_fifo_take_ticket(&q, 15);
	assert_int_equal(j->msg.tag, 5);
	assert_null(j->next);
	job_free(j);
	assert_int_equal(q.tail->msg.tag, 4);
	job_fifo_push(&q, mk_ticket(6, 16));
	expect_order(&q, want, 3);
	job_fifo_push(&q, mk_ticket(7, 17));
	j = job_fifo_take_ticket(&q, 17);
	assert_int_equal(j->msg.tag, 7);
	job_free(j);
	assert_null(q.head);
	assert_null(q.tail);
	assert_int_equal(q.n, 0);
}

static void
test_job_fifo_clear_frees_all(void **state)
{
	struct job_fifo	 q;

	memset(&q, 0, sizeof(q));
	job_fifo_push(&q, mk(1));
	job_fifo_push(&q, mk(2));
	job_fifo_clear(&q);
	assert_int_equal(q.n, 0);
	assert_null(q.head);
	assert_null(q.tail);
	job_fifo_clear(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_fifo_keeps_delivery_order),
		cmocka_unit_test(test_job_fifo_requeue_goes_first_in_order),
		cmocka_unit_test(test_job_fifo_requeue_into_empty_sets_tail),
		cmocka_unit_test(test_job_fifo_take_ticket_anywhere),
		cmocka_unit_test(test_job_fifo_clear_frees_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
