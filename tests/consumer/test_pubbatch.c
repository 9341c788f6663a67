/* SPDX-License-Identifier: ISC */
/*
 * Publish batches: when a batch closes (full, source idle, timeout) and
 * when the cursor is stored, and, together with the tracker, that a
 * batch's checkpoint never lets the cursor pass an unconfirmed message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "pubbatch.h"
#include "tracker.h"

#define T0	1000

/* One row: a batch of `nmsgs` opened at T0, asked at T0 + age_ms. */
struct due_case {
	uint32_t		size, timeout_ms, nmsgs;
	uint64_t		age_ms;
	bool			idle;
	enum pubbatch_close	want;
};

static void
test_pubbatch_due_table(void **state)
{
	static const struct due_case cases[] = {
		/* Nothing open: never due, idle or not, however late. */
		{ 500, 1000, 0, 0, false, PUBBATCH_KEEP },
		{ 500, 1000, 0, 0, true, PUBBATCH_KEEP },
		{ 500, 1000, 0, 99999, false, PUBBATCH_KEEP },
		/* Open, source busy, young: stays open. */
		{ 500, 1000, 1, 0, false, PUBBATCH_KEEP },
		{ 500, 1000, 499, 999, false, PUBBATCH_KEEP },
		/* Full wins over everything. */
		{ 500, 1000, 500, 0, false, PUBBATCH_FULL },
		{ 500, 1000, 500, 5000, true, PUBBATCH_FULL },
		{ 1, 1000, 1, 0, false, PUBBATCH_FULL },
		/* Source idle: a lone message is not held back. */
		{ 500, 1000, 1, 0, true, PUBBATCH_IDLE },
		{ 500, 1000, 499, 2000, true, PUBBATCH_IDLE },
		/* Busy source: the timeout is the upper bound. */
		{ 500, 1000, 1, 1000, false, PUBBATCH_TIMEOUT },
		{ 500, 10, 7, 11, false, PUBBATCH_TIMEOUT },
	};
	struct pubbatch	b;
	size_t		i;
	uint32_t	k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct due_case *c = &cases[i];

		pubbatch_init(&b, c->size, c->timeout_ms, T0);
		for (k = 0; k < c->nmsgs; k++)
			pubbatch_published(&b, k + 1, T0);
		if (pubbatch_due(&b, T0 + c->age_ms, c->idle) != c->want)
			fail_msg("case %zu: got %d, want %d", i,
			    pubbatch_due(&b, T0 + c->age_ms, c->idle),
			    c->want);
	}
}

static void
test_pubbatch_frames_join_only_an_open_batch(void **state)
{
	struct pubbatch	b;
	int64_t		seq;
	uint64_t	tag;

	pubbatch_init(&b, 500, 1000, T0);
	/* Filtered frames before any message go to the tracker. */
	assert_false(pubbatch_frame(&b, 1));
	assert_false(pubbatch_frame(&b, 2));
	pubbatch_published(&b, 1, T0);
	assert_true(pubbatch_frame(&b, 3));
	pubbatch_published(&b, 2, T0 + 1);
	pubbatch_published(&b, 3, T0 + 1);
	assert_true(pubbatch_frame(&b, 4));
	/* A frame without messages after them still belongs to the batch. */
	assert_true(pubbatch_frame(&b, 5));
	assert_int_equal(pubbatch_close(&b, &seq, &tag), 3);
	assert_int_equal(seq, 5);
	assert_int_equal(tag, 3);
	/* Closed: nothing open, the next frame is the tracker's again. */
	assert_false(pubbatch_frame(&b, 6));
	assert_int_equal(pubbatch_close(&b, &seq, &tag), 0);
	assert_int_equal(seq, -1);
	assert_int_equal(tag, 0);
}

static void
test_pubbatch_timeout_counts_from_first_message(void **state)
{
	struct pubbatch	b;
	int64_t		seq;
	uint64_t	tag;

	pubbatch_init(&b, 500, 1000, T0);
	assert_int_equal(pubbatch_left_ms(&b, T0 + 5000), -1);
	pubbatch_published(&b, 1, T0 + 100);
	pubbatch_published(&b, 2, T0 + 900);
	assert_int_equal(pubbatch_left_ms(&b, T0 + 100), 1000);
	assert_int_equal(pubbatch_left_ms(&b, T0 + 900), 200);
	assert_int_equal(pubbatch_due(&b, T0 + 1099, false), PUBBATCH_KEEP);
	assert_int_equal(pubbatch_due(&b, T0 + 1100, false),
	    PUBBATCH_TIMEOUT);
	assert_int_equal(pubbatch_left_ms(&b, T0 + 1500), 0);
	(void)pubbatch_close(&b, &seq, &tag);
	/* The next batch's clock starts with its own first message. */
	pubbatch_published(&b, 3, T0 + 2000);
	assert_int_equal(pubbatch_due(&b, T0 + 2999, false), PUBBATCH_KEEP);
	assert_int_equal(pubbatch_left_ms(&b, T0 + 2999), 1);
}

static void
test_pubbatch_store_needs_a_moved_cursor(void **state)
{
	struct pubbatch	b;

	pubbatch_init(&b, 500, 1000, T0);
	assert_false(pubbatch_store_due(&b, 10000, false, T0 + 99999));
}

static void
test_pubbatch_store_per_full_batch_confirmed(void **state)
{
	struct pubbatch	b;

	pubbatch_init(&b, 500, 1000, T0);
	assert_false(pubbatch_store_due(&b, 499, true, T0 + 10));
	assert_true(pubbatch_store_due(&b, 500, true, T0 + 10));
	pubbatch_stored(&b, 500, T0 + 10);
	assert_false(pubbatch_store_due(&b, 999, true, T0 + 20));
	assert_true(pubbatch_store_due(&b, 1000, true, T0 + 20));
}

static void
test_pubbatch_store_on_quiet_stream_after_timeout(void **state)
{
	struct pubbatch	b;

	pubbatch_init(&b, 500, 1000, T0);
	/* One message confirmed, or only filtered frames: time decides. */
	assert_false(pubbatch_store_due(&b, 1, true, T0 + 999));
	assert_true(pubbatch_store_due(&b, 1, true, T0 + 1000));
	assert_true(pubbatch_store_due(&b, 0, true, T0 + 1000));
	pubbatch_stored(&b, 1, T0 + 1000);
	assert_false(pubbatch_store_due(&b, 1, true, T0 + 1999));
}

static void
test_pubbatch_reset_restarts_the_count(void **state)
{
	struct pubbatch	b;

	pubbatch_init(&b, 500, 1000, T0);
	pubbatch_stored(&b, 800, T0);
	/* Tags restarted on a new connection without a reset: no bogus
	 * "full batch"; the timeout still stores. */
	assert_false(pubbatch_store_due(&b, 10, true, T0 + 1));
	assert_true(pubbatch_store_due(&b, 10, true, T0 + 1000));
	pubbatch_published(&b, 801, T0);
	pubbatch_reset(&b, T0 + 5);
	assert_int_equal(pubbatch_due(&b, T0 + 9999, true), PUBBATCH_KEEP);
	assert_false(pubbatch_store_due(&b, 499, true, T0 + 6));
	assert_true(pubbatch_store_due(&b, 500, true, T0 + 6));
}

/* The ingest loop in miniature: frames publish or not, batches close,
 * confirms arrive; the safe seq never passes an unconfirmed message. */
static void
frame(struct pubbatch *b, struct tracker *t, int64_t seq, uint64_t *last_tag,
    int nmsgs, uint64_t now)
{
	int	i;

	for (i = 0; i < nmsgs; i++) {
		++*last_tag;
		pubbatch_published(b, *last_tag, now);
	}
	if (!pubbatch_frame(b, seq))
		tracker_frame_done(t, seq, *last_tag);
}

static void
close_batch(struct pubbatch *b, struct tracker *t)
{
	int64_t		seq;
	uint64_t	tag;

	if (pubbatch_close(b, &seq, &tag) > 0 && seq >= 0)
		tracker_frame_done(t, seq, tag);
}

static void
test_pubbatch_checkpoints_keep_the_cursor_safe(void **state)
{
	struct pubbatch	b;
	struct tracker	t;
	uint64_t	last_tag = 0;

	pubbatch_init(&b, 3, 1000, T0);
	tracker_init(&t, 0);
	frame(&b, &t, 1, &last_tag, 0, T0);	/* filtered: safe at once */
	assert_int_equal(t.safe_seq, 1);
	frame(&b, &t, 2, &last_tag, 2, T0);	/* tags 1, 2 */
	frame(&b, &t, 3, &last_tag, 0, T0);
	frame(&b, &t, 4, &last_tag, 1, T0);	/* tag 3: full */
	assert_int_equal(pubbatch_due(&b, T0, false), PUBBATCH_FULL);
	close_batch(&b, &t);
	frame(&b, &t, 5, &last_tag, 0, T0);	/* after tag 3 */
	frame(&b, &t, 6, &last_tag, 1, T0);	/* tag 4, lone */
	assert_int_equal(pubbatch_due(&b, T0, true), PUBBATCH_IDLE);
	close_batch(&b, &t);
	/* Nothing confirmed yet: the cursor stays before frame 2. */
	assert_int_equal(t.safe_seq, 1);
	(void)tracker_confirmed(&t, 2);
	assert_int_equal(t.safe_seq, 1);	/* tag 3 still owed */
	(void)tracker_confirmed(&t, 3);
	assert_int_equal(t.safe_seq, 5);
	(void)tracker_confirmed(&t, 4);
	assert_int_equal(t.safe_seq, 6);
	tracker_cleanup(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pubbatch_due_table),
		cmocka_unit_test(test_pubbatch_frames_join_only_an_open_batch),
		cmocka_unit_test(
		    test_pubbatch_timeout_counts_from_first_message),
		cmocka_unit_test(test_pubbatch_store_needs_a_moved_cursor),
		cmocka_unit_test(test_pubbatch_store_per_full_batch_confirmed),
		cmocka_unit_test(
		    test_pubbatch_store_on_quiet_stream_after_timeout),
		cmocka_unit_test(test_pubbatch_reset_restarts_the_count),
		cmocka_unit_test(
		    test_pubbatch_checkpoints_keep_the_cursor_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
