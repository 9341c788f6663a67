/* SPDX-License-Identifier: ISC */
/*
 * The pure parts of shared/dlq.c: recovering a parked message's uri and
 * original routing key from its body when its headers lack them, and the
 * replay filter. The broker paths are covered by
 * tests/integration/test_api_dlq.sh against a real RabbitMQ.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dlq.h"

#define BODY(coll, op) "{\"did\":\"did:plc:abc\",\"time_us\":1,\"kind\":" \
	"\"commit\",\"commit\":{\"rev\":\"3mptbypluud2a\",\"operation\":\"" \
	op "\",\"collection\":\"" coll "\",\"rkey\":\"3mptbyplj5d2a\"}}"

static void
from_body(struct atc_dlq_entry *e, const char *body)
{
	memset(e, 0, sizeof(*e));
	atc_dlq_entry_from_body(e, body, strlen(body));
}

static void
test_dlq_body_event_create(void **state)
{
	struct atc_dlq_entry	e;

	from_body(&e, BODY("community.lexicon.calendar.event", "create"));
	assert_string_equal(e.uri, "at://did:plc:abc/"
	    "community.lexicon.calendar.event/3mptbyplj5d2a");
	assert_string_equal(e.routing_key, "event.create");
}

static void
test_dlq_body_legacy_rsvp_delete(void **state)
{
	struct atc_dlq_entry	e;

	from_body(&e, BODY("events.smokesignal.calendar.rsvp", "delete"));
	assert_string_equal(e.routing_key, "rsvp.delete");
}

static void
test_dlq_body_foreign_collection_no_route(void **state)
{
	struct atc_dlq_entry	e;

	from_body(&e, BODY("app.bsky.feed.post", "create"));
	assert_string_equal(e.uri,
	    "at://did:plc:abc/app.bsky.feed.post/3mptbyplj5d2a");
	assert_string_equal(e.routing_key, "");
}

static void
test_dlq_body_bad_operation_no_route(void **state)
{
	struct atc_dlq_entry	e;

	from_body(&e, BODY("community.lexicon.calendar.event", "explode"));
	assert_string_equal(e.routing_key, "");
}

static void
test_dlq_body_not_json_untouched(void **state)
{
	struct atc_dlq_entry	e;

	from_body(&e, "\x01\xff not json {");
	assert_string_equal(e.uri, "");
	assert_string_equal(e.routing_key, "");
	from_body(&e, "[1,2]");
	assert_string_equal(e.uri, "");
}

static void
test_dlq_body_keeps_header_values(void **state)
{
	struct atc_dlq_entry	e;
	const char		*b = BODY("community.lexicon.calendar.event",
				    "update");

	memset(&e, 0, sizeof(e));
	(void)strcpy(e.routing_key, "event.create");
	atc_dlq_entry_from_body(&e, b, strlen(b));
	assert_string_equal(e.routing_key, "event.create");
	assert_string_equal(e.uri, "at://did:plc:abc/"
	    "community.lexicon.calendar.event/3mptbyplj5d2a");
}

static void
test_dlq_matches_fields(void **state)
{
	struct atc_dlq_entry	e;

	memset(&e, 0, sizeof(e));
	(void)strcpy(e.uri, "at://did:plc:abc/c/k1");
	(void)strcpy(e.reason, "validation failed: missing name");
	(void)strcpy(e.last_error, "422 from api");
	(void)strcpy(e.routing_key, "rsvp.create");
	assert_true(atc_dlq_matches(&e, "did:plc:abc"));
	assert_true(atc_dlq_matches(&e, "missing name"));
	assert_true(atc_dlq_matches(&e, "422"));
	assert_true(atc_dlq_matches(&e, "rsvp."));
	assert_false(atc_dlq_matches(&e, "did:plc:xyz"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dlq_body_event_create),
		cmocka_unit_test(test_dlq_body_legacy_rsvp_delete),
		cmocka_unit_test(test_dlq_body_foreign_collection_no_route),
		cmocka_unit_test(test_dlq_body_bad_operation_no_route),
		cmocka_unit_test(test_dlq_body_not_json_untouched),
		cmocka_unit_test(test_dlq_body_keeps_header_values),
		cmocka_unit_test(test_dlq_matches_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
