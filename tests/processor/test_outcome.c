/* SPDX-License-Identifier: ISC */
/*
 * processor/outcome.c: which API answers are retried, parked or acked, and
 * which retry rung a failure lands on (OpenMeet #5: an RSVP before its event
 * must be retried, never dropped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mq.h"
#include "outcome.h"

static void
test_outcome_classify_statuses(void **state)
{
	static const struct {
		long		status;
		enum outcome	want;
	} cases[] = {
		{ 200, OUTCOME_OK }, { 201, OUTCOME_OK }, { 202, OUTCOME_OK },
		{ 204, OUTCOME_OK },
		{ 0, OUTCOME_RETRY },	/* no answer: connect error, timeout */
		{ 500, OUTCOME_RETRY }, { 502, OUTCOME_RETRY },
		{ 503, OUTCOME_RETRY }, { 504, OUTCOME_RETRY },
		{ 429, OUTCOME_RETRY }, { 408, OUTCOME_RETRY },
		{ 424, OUTCOME_RETRY },	/* event_not_yet_known */
		{ 401, OUTCOME_RETRY }, { 403, OUTCOME_RETRY },
		{ 400, OUTCOME_DROP }, { 404, OUTCOME_DROP },
		{ 409, OUTCOME_DROP }, { 413, OUTCOME_DROP },
		{ 422, OUTCOME_DROP }, { 301, OUTCOME_DROP },
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (outcome_classify(cases[i].status) != cases[i].want)
			fail_msg("status %ld: got %s want %s", cases[i].status,
			    outcome_name(outcome_classify(cases[i].status)),
			    outcome_name(cases[i].want));
}

static void
test_outcome_rsvp_before_event_retried(void **state)
{
	/* 424 with Retry-After: 5 goes to the first rung of >= 5 s. */
	assert_int_equal(outcome_classify(424), OUTCOME_RETRY);
	assert_int_equal(outcome_pick_rung(1, outcome_retry_after("5"),
	    atc_mq_ladder, atc_mq_nladder), 1);
}

static void
test_outcome_retry_after_parse(void **state)
{
	assert_int_equal(outcome_retry_after("5"), 5);
	assert_int_equal(outcome_retry_after(" 120\r\n"), 120);
	assert_int_equal(outcome_retry_after("0"), 0);
	assert_int_equal(outcome_retry_after(NULL), -1);
	assert_int_equal(outcome_retry_after(""), -1);
	assert_int_equal(outcome_retry_after("-3"), -1);
	assert_int_equal(outcome_retry_after("5s"), -1);
	assert_int_equal(outcome_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
	    -1);
	assert_int_equal(outcome_retry_after("99999999999999999999999"),
	    86400);
}

static void
test_outcome_pick_rung_ladder(void **state)
{
	static const struct atc_mq_rung ladder[] = {
		{ "1s", 1000 }, { "10s", 10000 }, { "1m", 60000 },
		{ "10m", 600000 }, { "1h", 3600000 },
	};
	size_t	n = sizeof(ladder) / sizeof(ladder[0]);

	assert_int_equal(outcome_pick_rung(1, -1, ladder, n), 0);
	assert_int_equal(outcome_pick_rung(2, -1, ladder, n), 1);
	assert_int_equal(outcome_pick_rung(5, -1, ladder, n), 4);
	/* Past the last rung: park. */
	assert_int_equal(outcome_pick_rung(6, -1, ladder, n), -1);
	assert_int_equal(outcome_pick_rung(100, 5, ladder, n), -1);
	/* Retry-After raises the rung, never lowers it. */
	assert_int_equal(outcome_pick_rung(1, 30, ladder, n), 2);
	assert_int_equal(outcome_pick_rung(4, 1, ladder, n), 3);
	assert_int_equal(outcome_pick_rung(1, 0, ladder, n), 0);
	assert_int_equal(outcome_pick_rung(1, 1, ladder, n), 0);
	/* Longer than every rung: the last one. */
	assert_int_equal(outcome_pick_rung(1, 86400, ladder, n), 4);
}

static void
test_outcome_shared_ladder_matches_topology(void **state)
{
	assert_int_equal(atc_mq_nladder, 5);
	assert_string_equal(atc_mq_ladder[0].name, "1s");
	assert_string_equal(atc_mq_ladder[4].name, "1h");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outcome_classify_statuses),
		cmocka_unit_test(test_outcome_rsvp_before_event_retried),
		cmocka_unit_test(test_outcome_retry_after_parse),
		cmocka_unit_test(test_outcome_pick_rung_ladder),
		cmocka_unit_test(test_outcome_shared_ladder_matches_topology),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
