/* SPDX-License-Identifier: ISC */
/*
 * Tests of processor/batch.c: the batch request body built from mapped
 * messages (order kept, each item exactly map_batch_item()'s), the reading
 * of per-item results by index, the rejection of anything that is not a
 * batch answer, and per-item outcomes equal to single-call outcomes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "batch.h"
#include "buf.h"
#include "map.h"
#include "outcome.h"

#define DID	"did:plc:2a7ygipkrbh544aqhcav53oy"
#define EV_URI	"at://" DID "/community.lexicon.calendar.event/3mptbyplj5d2a"
#define ENV(COLL, RKEY, REV, OP, REC)					\
	"{\"did\":\"" DID "\",\"time_us\":1,\"kind\":\"commit\","	\
	"\"commit\":{\"rev\":\"" REV "\",\"operation\":\"" OP "\","	\
	"\"collection\":\"" COLL "\",\"rkey\":\"" RKEY "\"" REC "}}"

static const char *const inputs[] = {
	ENV("community.lexicon.calendar.event", "3mptbyplj5d2a",
	    "3mptbypluud2a", "create", ",\"record\":{\"name\":\"A\","
	    "\"createdAt\":\"2026-07-01T10:00:00Z\"}"),
	ENV("community.lexicon.calendar.rsvp", "3mptbyplj5d2b",
	    "3mptbypluud2b", "create", ",\"record\":{\"subject\":{\"uri\":"
	    "\"" EV_URI "\"}}"),
	ENV("community.lexicon.calendar.event", "3mptbyplj5d2a",
	    "3mptbypluud2c", "update", ",\"record\":{\"name\":\"B\","
	    "\"createdAt\":\"2026-07-01T10:00:00Z\"}"),
	ENV("community.lexicon.calendar.event", "3mptbyplj5d2a",
	    "3mptbypluud2d", "delete", ""),
};
#define NINPUTS	(sizeof(inputs) / sizeof(inputs[0]))

static void
test_batch_body_keeps_delivery_order(void **state)
{
	struct map_call	 calls[NINPUTS];
	struct atc_buf	 b, one;
	json_t		*root, *ops, *want;
	char		 reason[256];
	size_t		 i;

	atc_buf_init(&b, 0);
	for (i = 0; i < NINPUTS; i++) {
		assert_int_equal(map_message(&calls[i], inputs[i],
		    strlen(inputs[i]), reason, sizeof(reason)), 0);
		assert_int_equal(batch_body_add(&b, &calls[i], NULL), 0);
	}
	batch_body_finish(&b);
	root = json_loadb((const char *)b.data, b.len, 0, NULL);
	assert_non_null(root);
	assert_int_equal(json_object_size(root), 1);
	ops = json_object_get(root, "operations");
	assert_int_equal(json_array_size(ops), NINPUTS);
	for (i = 0; i < NINPUTS; i++) {
		atc_buf_init(&one, 0);
		assert_int_equal(map_batch_item(&one, &calls[i], NULL), 0);
		want = json_loadb((const char *)one.data, one.len, 0, NULL);
		assert_non_null(want);
		assert_true(json_equal(json_array_get(ops, i), want));
		json_decref(want);
		atc_buf_cleanup(&one);
		map_call_cleanup(&calls[i]);
	}
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(ops, 2), "op")), "event.upsert");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(ops, 3), "op")), "event.delete");
	json_decref(root);
	atc_buf_cleanup(&b);
}

static void
test_batch_body_add_refuses_unmapped_call(void **state)
{
	struct map_call	 c;
	struct atc_buf	 b;

	memset(&c, 0, sizeof(c));
	atc_buf_init(&b, 0);
	assert_int_equal(batch_body_add(&b, &c, NULL), -1);
	assert_int_equal(b.len, 0);
	batch_body_finish(&b);
	assert_string_equal(atc_buf_cstr(&b), "{\"operations\":[]}");
	atc_buf_cleanup(&b);
}

static void
test_batch_parse_places_results_by_index(void **state)
{
	struct batch_answer	 a[4];
	char			 err[256];
	const char		*body = "{\"success\":true,\"results\":["
	    "{\"index\":2,\"status\":424,\"error\":\"event_not_yet_known\","
	    "\"retryable\":true,\"message\":\"later\"},"
	    "{\"index\":0,\"status\":202,\"success\":true,\"message\":"
	    "\"created\",\"slug\":\"a-1\"},"
	    "{\"index\":3,\"status\":422,\"error\":\"validation_failed\","
	    "\"errors\":{\"startDate\":\"must be a date\",\"name\":"
	    "\"required\"}},"
	    "{\"index\":1,\"status\":202,\"success\":true,\"message\":"
	    "\"stale\"}]}";

	assert_int_equal(batch_parse(a, 4, body, strlen(body), err,
	    sizeof(err)), 0);
	assert_int_equal(a[0].status, 202);
	assert_int_equal(a[1].status, 202);
	assert_int_equal(a[2].status, 424);
	assert_true(a[2].retryable);
	assert_string_equal(a[2].detail, "event_not_yet_known");
	assert_int_equal(a[3].status, 422);
	assert_false(a[3].retryable);
	assert_string_equal(a[3].detail,
	    "{\"name\":\"required\",\"startDate\":\"must be a date\"}");
	assert_int_equal(batch_outcome(&a[0]), OUTCOME_OK);
	assert_int_equal(batch_outcome(&a[1]), OUTCOME_OK);
	assert_int_equal(batch_outcome(&a[2]), OUTCOME_RETRY);
	assert_int_equal(batch_outcome(&a[3]), OUTCOME_DROP);
}

static void
test_batch_parse_without_index_uses_position(void **state)
{
	struct batch_answer	 a[2];
	char			 err[256];
	const char		*body = "{\"results\":[{\"status\":422},"
	    "{\"status\":202}]}";

	assert_int_equal(batch_parse(a, 2, body, strlen(body), err,
	    sizeof(err)), 0);
	assert_int_equal(a[0].status, 422);
	assert_string_equal(a[0].detail, "");
	assert_int_equal(a[1].status, 202);
}

static void
test_batch_parse_unanswered_items_retry(void **state)
{
	struct batch_answer	 a[3];
	char			 err[256];
	const char		*body = "{\"results\":[{\"index\":1,"
	    "\"status\":202}]}";

	assert_int_equal(batch_parse(a, 3, body, strlen(body), err,
	    sizeof(err)), 0);
	assert_int_equal(a[0].status, 0);
	assert_int_equal(a[2].status, 0);
	assert_int_equal(batch_outcome(&a[0]), OUTCOME_RETRY);
	assert_int_equal(batch_outcome(&a[1]), OUTCOME_OK);
	assert_int_equal(batch_outcome(&a[2]), OUTCOME_RETRY);
}

static void
test_batch_parse_rejects_non_batch_answers(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{\"success\":true}",
		"{\"results\":{}}",
		"{\"results\":[1]}",
		"{\"results\":[{\"index\":-1,\"status\":202}]}",
		"{\"results\":[{\"index\":2,\"status\":202}]}",
		"{\"results\":[{\"index\":\"0\",\"status\":202}]}",
		"{\"results\":[{\"index\":0,\"status\":202},"
		    "{\"index\":0,\"status\":202}]}",
		"{\"results\":[{\"index\":0}]}",
		"{\"results\":[{\"index\":0,\"status\":\"202\"}]}",
		"{\"results\":[{\"index\":0,\"status\":99}]}",
		"{\"results\":[{\"index\":0,\"status\":600}]}",
		"{\"results\":[{\"status\":202},{\"status\":202},"
		    "{\"status\":202}]}",
		"{\"results\":[{\"status\":202}]} trailing",
	};
	struct batch_answer	 a[2];
	char			 err[256];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (batch_parse(a, 2, bad[i], strlen(bad[i]), err,
		    sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		if (err[0] == '\0')
			fail_msg("no reason for: %s", bad[i]);
	}
}

static void
test_batch_outcome_matches_single_calls(void **state)
{
	static const long statuses[] = { 200, 202, 204, 400, 401, 403, 404,
	    408, 413, 422, 424, 425, 429, 500, 502, 503 };
	struct batch_answer	a;
	size_t			i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.status = statuses[i];
		if (batch_outcome(&a) != outcome_classify(statuses[i]))
			fail_msg("status %ld: batch %s, single %s",
			    statuses[i], outcome_name(batch_outcome(&a)),
			    outcome_name(outcome_classify(statuses[i])));
	}
	/* "retryable" wins over a status that would otherwise park, but
	 * never turns a success into a retry. */
	a.status = 409;
	a.retryable = true;
	assert_int_equal(batch_outcome(&a), OUTCOME_RETRY);
	a.status = 202;
	assert_int_equal(batch_outcome(&a), OUTCOME_OK);
}

static void
test_batch_parse_long_detail_is_cut(void **state)
{
	struct batch_answer	 a[1];
	struct atc_buf		 b;
	char			 err[256];
	int			 i;

	atc_buf_init(&b, 0);
	atc_buf_puts(&b, "{\"results\":[{\"status\":422,\"errors\":{");
	for (i = 0; i < 100; i++)
		atc_buf_appendf(&b, "%s\"field%03d\":\"is wrong\"",
		    i ? "," : "", i);
	atc_buf_puts(&b, "}}]}");
	assert_int_equal(batch_parse(a, 1, b.data, b.len, err, sizeof(err)),
	    0);
	assert_int_equal(strlen(a[0].detail), sizeof(a[0].detail) - 1);
	assert_memory_equal(a[0].detail, "{\"field000\":\"is wrong\"", 22);
	atc_buf_cleanup(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_body_keeps_delivery_order),
		cmocka_unit_test(test_batch_body_add_refuses_unmapped_call),
		cmocka_unit_test(test_batch_parse_places_results_by_index),
		cmocka_unit_test(test_batch_parse_without_index_uses_position),
		cmocka_unit_test(test_batch_parse_unanswered_items_retry),
		cmocka_unit_test(test_batch_parse_rejects_non_batch_answers),
		cmocka_unit_test(test_batch_outcome_matches_single_calls),
		cmocka_unit_test(test_batch_parse_long_detail_is_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
