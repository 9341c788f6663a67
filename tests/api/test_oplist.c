/* SPDX-License-Identifier: ISC */
/*
 * api/oplist.c: the operations the database applies. Checks the record
 * identity (author DID, rkey, the lock), the dedup keys (urls, OpenMeet
 * slugs from source.url, uris and rawRecord.uris), losslessness (all
 * locations, "0" coordinates, raw record, no placeholder description) and
 * the batch parser (per-item 422, mixed operations, size bounds).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "oplist.h"
#include "validate.h"

#define EV_URI	"at://did:plc:alice/community.lexicon.calendar.event/" \
		"3mptbyplj5d2a"
#define RS_URI	"at://did:plc:bob/community.lexicon.calendar.rsvp/" \
		"3mptbyplj5d2b"

static json_t *
parse(const char *text)
{
	json_error_t	 e;
	json_t		*v;

	if ((v = json_loads(text, 0, &e)) == NULL)
		fail_msg("test JSON: %s", e.text);
	return v;
}

static const char *
sget(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Validates and converts an event body; the op is new. */
static json_t *
event_op(const char *text)
{
	struct api_event	 ev;
	json_t			*body, *errors, *op;

	body = parse(text);
	errors = json_object();
	assert_int_equal(api_event_from_json(body, &ev, errors), 0);
	op = api_op_event_put(&ev, body);
	api_event_cleanup(&ev);
	json_decref(errors);
	json_decref(body);
	return op;
}

static void
test_oplist_event_identity(void **state)
{
	json_t	*op;

	op = event_op("{\"name\":\"A\",\"startDate\":\"2026-05-01\","
	    "\"source\":{\"type\":\"bluesky\",\"id\":\"" EV_URI "\","
	    "\"metadata\":{\"rev\":\"3mptbyplj5d2c\",\"cid\":\"bafyx\"}}}");
	assert_string_equal(sget(op, "op"), "event.put");
	assert_string_equal(sget(op, "did"), "did:plc:alice");
	assert_string_equal(sget(op, "lock"), "did:plc:alice");
	assert_string_equal(sget(op, "rkey"), "3mptbyplj5d2a");
	assert_string_equal(sget(op, "cid"), "bafyx");
	assert_string_equal(sget(op, "rev"), "3mptbyplj5d2c");
	assert_string_equal(sget(op, "startDate"), "2026-05-01T00:00:00Z");
	json_decref(op);
}

static void
test_oplist_other_source_locks_source_key(void **state)
{
	json_t	*op;

	op = event_op("{\"name\":\"A\",\"startDate\":\"2026-05-01\","
	    "\"source\":{\"type\":\"web\",\"id\":\"https://x.test/e/1\"}}");
	assert_null(sget(op, "did"));
	assert_null(sget(op, "rkey"));
	assert_string_equal(sget(op, "lock"), "web https://x.test/e/1");
	json_decref(op);
	/* An author named in metadata scopes the fallbacks to that DID. */
	op = event_op("{\"name\":\"A\",\"startDate\":\"2026-05-01\","
	    "\"source\":{\"type\":\"web\",\"id\":\"https://x.test/e/1\","
	    "\"metadata\":{\"did\":\"did:plc:carol\"}}}");
	assert_string_equal(sget(op, "did"), "did:plc:carol");
	assert_string_equal(sget(op, "lock"), "did:plc:carol");
	json_decref(op);
}

static void
test_oplist_event_lossless(void **state)
{
	json_t	*op, *locs;

	op = event_op("{\"name\":\"A\",\"startDate\":\"2026-05-01\","
	    "\"locations\":[{\"$type\":\"community.lexicon.location.geo\","
	    "\"latitude\":\"0\",\"longitude\":\"0\"},"
	    "{\"$type\":\"community.lexicon.location.fsq\",\"fsq_place_id\":"
	    "\"abc\"},{\"$type\":\"community.lexicon.location.hthree\","
	    "\"value\":\"8a2a1072b59ffff\"}],"
	    "\"source\":{\"type\":\"bluesky\",\"id\":\"" EV_URI "\","
	    "\"rawRecord\":{\"name\":\"A\",\"unknownField\":[1,2]}}}");
	locs = json_object_get(op, "locations");
	assert_int_equal(json_array_size(locs), 3);
	assert_string_equal(sget(json_array_get(locs, 0), "latitude"), "0");
	assert_string_equal(sget(json_array_get(locs, 2), "value"),
	    "8a2a1072b59ffff");
	assert_null(json_object_get(op, "description"));
	assert_int_equal(json_array_size(json_object_get(json_object_get(op,
	    "rawRecord"), "unknownField")), 2);
	json_decref(op);
}

static void
test_oplist_dedup_keys(void **state)
{
	json_t	*op, *urls, *slugs;

	op = event_op("{\"name\":\"A\",\"startDate\":\"2026-05-01\","
	    "\"uris\":[\"https://openmeet.test/events/summer-bbq-x1\"],"
	    "\"source\":{\"type\":\"bluesky\",\"id\":\"" EV_URI "\","
	    "\"url\":\"https://example.test/e\",\"rawRecord\":{\"uris\":["
	    "{\"uri\":\"https://example.test/e\"},"
	    "{\"uri\":\"https://om.test/events/launch?x=1\"}]}}}");
	urls = json_object_get(op, "urls");
	slugs = json_object_get(op, "slugs");
	assert_int_equal(json_array_size(urls), 3);
	assert_string_equal(json_string_value(json_array_get(urls, 0)),
	    "https://example.test/e");
	assert_int_equal(json_array_size(slugs), 2);
	assert_string_equal(json_string_value(json_array_get(slugs, 0)),
	    "summer-bbq-x1");
	assert_string_equal(json_string_value(json_array_get(slugs, 1)),
	    "launch");
	json_decref(op);
}

static void
test_oplist_slug_from_url(void **state)
{
	char	out[64];

	assert_int_equal(api_slug_from_url("https://a/events/abc-1", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "abc-1");
	assert_int_equal(api_slug_from_url("https://a/events/abc/x", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(api_slug_from_url("https://a/events/", out,
	    sizeof(out)), -1);
	assert_int_equal(api_slug_from_url("https://a/events/Abc", out,
	    sizeof(out)), -1);
	assert_int_equal(api_slug_from_url("https://a/e/abc", out,
	    sizeof(out)), -1);
	assert_int_equal(api_slug_from_url("https://a/events/x';--", out,
	    sizeof(out)), -1);
}

static void
test_oplist_rsvp_default_going(void **state)
{
	struct api_rsvp	 rv;
	json_t		*body, *errors, *op;

	body = parse("{\"eventSourceId\":\"" EV_URI "\",\"eventSourceType\":"
	    "\"bluesky\",\"userDid\":\"did:plc:bob\",\"sourceId\":\"" RS_URI
	    "\",\"metadata\":{\"rev\":\"3mptbyplj5d2d\"}}");
	errors = json_object();
	assert_int_equal(api_rsvp_from_json(body, &rv, errors), 0);
	op = api_op_rsvp_put(&rv);
	assert_string_equal(sget(op, "status"), "going");
	assert_string_equal(sget(op, "attendeeStatus"), "confirmed");
	assert_string_equal(sget(op, "lock"), "did:plc:bob");
	assert_string_equal(sget(op, "eventDid"), "did:plc:alice");
	assert_string_equal(sget(op, "eventRkey"), "3mptbyplj5d2a");
	assert_string_equal(sget(op, "rev"), "3mptbyplj5d2d");
	json_decref(op);
	api_rsvp_cleanup(&rv);
	json_decref(errors);
	json_decref(body);
}

static void
test_oplist_batch_mixed(void **state)
{
	json_t	*body, *ops, *results, *errors, *r;

	body = parse("{\"operations\":["
	    "{\"op\":\"event.upsert\",\"body\":{\"name\":\"A\",\"startDate\":"
	    "\"2026-05-01\",\"source\":{\"type\":\"bluesky\",\"id\":\""
	    EV_URI "\"}}},"
	    "{\"op\":\"event.upsert\",\"body\":{\"startDate\":\"nope\"}},"
	    "{\"op\":\"rsvp.delete\",\"sourceId\":\"" RS_URI "\","
	    "\"rev\":\"3mptbyplj5d2e\"},"
	    "{\"op\":\"event.delete\",\"sourceId\":\"not-an-aturi\"},"
	    "{\"op\":\"frobnicate\"}, 7]}");
	errors = json_object();
	assert_int_equal(api_batch_parse(body, &ops, &results, errors), 0);
	assert_int_equal(json_array_size(ops), 2);
	assert_int_equal(json_array_size(results), 6);
	assert_true(json_is_null(json_array_get(results, 0)));
	r = json_array_get(results, 1);
	assert_int_equal(json_integer_value(json_object_get(r, "status")), 422);
	assert_non_null(json_object_get(json_object_get(r, "errors"), "name"));
	assert_non_null(json_object_get(json_object_get(r, "errors"),
	    "startDate"));
	assert_true(json_is_null(json_array_get(results, 2)));
	assert_string_equal(sget(json_array_get(ops, 1), "op"), "rsvp.del");
	assert_string_equal(sget(json_array_get(ops, 1), "did"), "did:plc:bob");
	assert_non_null(json_object_get(json_object_get(json_array_get(results,
	    3), "errors"), "sourceId"));
	assert_non_null(json_object_get(json_object_get(json_array_get(results,
	    4), "errors"), "op"));
	assert_non_null(json_object_get(json_object_get(json_array_get(results,
	    5), "errors"), "item"));
	json_decref(ops);
	json_decref(results);
	json_decref(errors);
	json_decref(body);
}

static void
test_oplist_batch_bounds(void **state)
{
	json_t	*body, *arr, *ops, *results, *errors;
	int	 i;

	errors = json_object();
	body = parse("{\"operations\":[]}");
	assert_int_equal(api_batch_parse(body, &ops, &results, errors), -1);
	assert_non_null(json_object_get(errors, "operations"));
	assert_null(ops);
	json_decref(body);
	body = json_object();
	arr = json_array();
	for (i = 0; i < API_OPS_MAX + 1; i++)
		json_array_append_new(arr, json_pack("{s:s}", "op", "x"));
	json_object_set_new(body, "operations", arr);
	assert_int_equal(api_batch_parse(body, &ops, &results, errors), -1);
	json_decref(body);
	body = parse("[1]");
	assert_int_equal(api_batch_parse(body, &ops, &results, errors), -1);
	assert_non_null(json_object_get(errors, "body"));
	json_decref(body);
	json_decref(errors);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oplist_event_identity),
		cmocka_unit_test(test_oplist_other_source_locks_source_key),
		cmocka_unit_test(test_oplist_event_lossless),
		cmocka_unit_test(test_oplist_dedup_keys),
		cmocka_unit_test(test_oplist_slug_from_url),
		cmocka_unit_test(test_oplist_rsvp_default_going),
		cmocka_unit_test(test_oplist_batch_mixed),
		cmocka_unit_test(test_oplist_batch_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
