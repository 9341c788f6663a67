/* SPDX-License-Identifier: ISC */
/* Cursor safety: the safe seq never passes an unconfirmed message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tracker.h"

static void
test_tracker_frames_without_messages_are_safe_at_once(void **state)
{
	struct tracker	t;

	tracker_init(&t, -1);
	tracker_frame_done(&t, 10, 0);
	tracker_frame_done(&t, 11, 0);
	assert_int_equal(t.safe_seq, 11);
	tracker_cleanup(&t);
}

static void
test_tracker_waits_for_confirm(void **state)
{
	struct tracker	t;

	tracker_init(&t, 5);
	tracker_frame_done(&t, 10, 1);		/* published tag 1 */
	tracker_frame_done(&t, 11, 1);		/* nothing new */
	tracker_frame_done(&t, 12, 3);		/* tags 2, 3 */
	assert_int_equal(t.safe_seq, 5);
	assert_false(tracker_confirmed(&t, 0));
	assert_true(tracker_confirmed(&t, 2));
	assert_int_equal(t.safe_seq, 11);
	assert_true(tracker_confirmed(&t, 3));
	assert_int_equal(t.safe_seq, 12);
	tracker_cleanup(&t);
}

static void
test_tracker_frame_after_unconfirmed_waits(void **state)
{
	struct tracker	t;

	tracker_init(&t, -1);
	tracker_frame_done(&t, 1, 4);
	/* A frame with no messages still waits for tag 4 before it. */
	tracker_frame_done(&t, 2, 4);
	assert_int_equal(t.safe_seq, -1);
	(void)tracker_confirmed(&t, 4);
	assert_int_equal(t.safe_seq, 2);
	tracker_cleanup(&t);
}

static void
test_tracker_reset_keeps_safe_seq(void **state)
{
	struct tracker	t;

	tracker_init(&t, 7);
	tracker_frame_done(&t, 8, 1);
	tracker_reset(&t);
	assert_int_equal(t.safe_seq, 7);
	/* Tags restart on a new channel. */
	tracker_frame_done(&t, 8, 1);
	(void)tracker_confirmed(&t, 1);
	assert_int_equal(t.safe_seq, 8);
	tracker_cleanup(&t);
}

static void
test_tracker_grows_past_initial_capacity(void **state)
{
	struct tracker	t;
	int64_t		i;

	tracker_init(&t, -1);
	for (i = 1; i <= 5000; i++)
		tracker_frame_done(&t, i, (uint64_t)i);
	(void)tracker_confirmed(&t, 2500);
	assert_int_equal(t.safe_seq, 2500);
	(void)tracker_confirmed(&t, 5000);
	assert_int_equal(t.safe_seq, 5000);
	assert_int_equal(t.len, 0);
	tracker_cleanup(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tracker_frames_without_messages_are_safe_at_once),
		cmocka_unit_test(test_tracker_waits_for_confirm),
		cmocka_unit_test(test_tracker_frame_after_unconfirmed_waits),
		cmocka_unit_test(test_tracker_reset_keeps_safe_seq),
		cmocka_unit_test(test_tracker_grows_past_initial_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
