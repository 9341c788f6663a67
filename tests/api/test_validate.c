/* SPDX-License-Identifier: ISC */
/*
 * api/validate.c: ExternalEventDto / ExternalRsvpDto validation, including
 * the OpenMeet regressions it guards (3: geo strings; 9: all locations
 * kept, "0" kept, no placeholder description, RSVP default going).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

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

/* The body of the last event_errors() call: ev borrows from it. */
static json_t	*last_body;

/* Validates an event body; returns the errors object (caller decrefs). */
static json_t *
event_errors(const char *text, struct api_event *ev)
{
	json_t	*errors = json_object();

	json_decref(last_body);
	last_body = parse(text);
	(void)api_event_from_json(last_body, ev, errors);
	return errors;
}

static int
teardown(void **state)
{
	json_decref(last_body);
	last_body = NULL;
	return 0;
}

static void
test_validate_event_minimal_defaults(void **state)
{
	struct api_event	 ev;
	json_t			*body, *errors = json_object();

	body = parse("{\"name\":\"Meetup\",\"startDate\":\"2026-05-01T18:00Z\","
	    "\"source\":{\"type\":\"bluesky\",\"id\":\"" EV_URI "\"}}");
	assert_int_equal(api_event_from_json(body, &ev, errors), 0);
	assert_string_equal(ev.name, "Meetup");
	assert_null(ev.description);	/* no placeholder (failure 9) */
	assert_string_equal(ev.start_date, "2026-05-01T18:00:00Z");
	assert_string_equal(ev.end_date, "");
	assert_string_equal(ev.type, "in-person");
	assert_string_equal(ev.status, "published");
	assert_string_equal(ev.visibility, "public");
	assert_string_equal(ev.creator_did, "did:plc:alice");
	assert_null(ev.rev);
	assert_string_equal(ev.locations_json, "[]");
	assert_string_equal(ev.categories_json, "[]");
	assert_string_equal(ev.metadata_json, "{}");
	assert_null(ev.raw_record_json);
	api_event_cleanup(&ev);
	json_decref(errors);
	json_decref(body);
}

static void
test_validate_event_names_every_bad_field(void **state)
{
	static const char *const want[] = { "name", "startDate", "endDate",
	    "type", "status", "visibility", "categories[1]", "locations[0].lat",
	    "locations[1].longitude", "source.type", "source.id",
	    "source.handle", "description" };
	struct api_event	 ev;
	json_t			*errors;
	size_t			 i;
	char			 handle[300];

	memset(handle, 'h', sizeof(handle) - 1);
	handle[sizeof(handle) - 1] = '\0';
	errors = event_errors("{\"name\":\"   \",\"startDate\":\"yesterday\","
	    "\"endDate\":\"2026-02-30\",\"type\":\"party\","
	    "\"status\":\"maybe\","
	    "\"visibility\":\"secret\",\"categories\":[\"ok\",7],"
	    "\"description\":42,"
	    "\"locations\":[{\"lat\":\"north\",\"lon\":\"1\"},"
	    "{\"latitude\":\"1\",\"longitude\":\"181\"}],"
	    "\"source\":{\"type\":\"myspace\",\"id\":null,\"handle\":\"hhhh"
	    "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	    "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	    "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	    "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
	    "\"}}", &ev);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (json_object_get(errors, want[i]) == NULL)
			fail_msg("no error for %s", want[i]);
	assert_int_equal(json_object_size(errors),
	    sizeof(want) / sizeof(want[0]));
	api_event_cleanup(&ev);
	json_decref(errors);
}

static void
test_validate_event_not_an_object(void **state)
{
	struct api_event	 ev;
	json_t			*errors;

	errors = event_errors("[1,2]", &ev);
	assert_non_null(json_object_get(errors, "body"));
	api_event_cleanup(&ev);
	json_decref(errors);
	errors = event_errors("{\"name\":\"x\",\"startDate\":\"2026-01-01\","
	    "\"source\":\"bluesky\"}", &ev);
	assert_non_null(json_object_get(errors, "source"));
	api_event_cleanup(&ev);
	json_decref(errors);
}

/* OpenMeet failure 3: lexicon geo coordinates are strings; "0" is valid. */
static void
test_validate_openmeet_failure_3_geo_strings(void **state)
{
	struct api_event	 ev;
	json_t			*errors;

	errors = event_errors("{\"name\":\"x\",\"startDate\":\"2026-01-01\","
	    "\"location\":{\"lat\":\"0\",\"lon\":\"-0.1276\"},"
	    "\"locations\":[{\"$type\":\"community.lexicon.location.geo\","
	    "\"latitude\":\"0\",\"longitude\":\"0\"},{\"lat\":51.5,\"lon\":0}],"
	    "\"source\":{\"type\":\"web\",\"id\":\"https://e.test/1\"}}", &ev);
	assert_int_equal(json_object_size(errors), 0);
	assert_non_null(strstr(ev.locations_json, "\"latitude\":\"0\""));
	api_event_cleanup(&ev);
	json_decref(errors);
}

/* OpenMeet failure 9: every location kept (fsq, h3, address, uri). */
static void
test_validate_openmeet_failure_9_all_locations_kept(void **state)
{
	struct api_event	 ev;
	json_t			*errors, *locs;

	errors = event_errors("{\"name\":\"x\",\"startDate\":\"2026-01-01\","
	    "\"locations\":[{\"$type\":\"community.lexicon.location.fsq\","
	    "\"fsq_place_id\":\"4b\"},{\"$type\":"
	    "\"community.lexicon.location.hthree\",\"value\":\"8928\"},"
	    "{\"$type\":\"community.lexicon.location.address\","
	    "\"country\":\"FR\"},{\"$type\":"
	    "\"community.lexicon.calendar.event#uri\",\"uri\":\"https://x\"}],"
	    "\"source\":{\"type\":\"web\",\"id\":\"https://e.test/1\"}}", &ev);
	assert_int_equal(json_object_size(errors), 0);
	locs = parse(ev.locations_json);
	assert_int_equal(json_array_size(locs), 4);
	json_decref(locs);
	api_event_cleanup(&ev);
	json_decref(errors);
}

static void
test_validate_event_single_location_becomes_list(void **state)
{
	struct api_event	 ev;
	json_t			*errors;

	errors = event_errors("{\"name\":\"x\",\"startDate\":\"2026-01-01\","
	    "\"location\":{\"description\":\"Hall\",\"lat\":\"1\"},"
	    "\"source\":{\"type\":\"web\",\"id\":\"https://e.test/1\"}}", &ev);
	assert_int_equal(json_object_size(errors), 0);
	assert_string_equal(ev.locations_json,
	    "[{\"description\":\"Hall\",\"lat\":\"1\"}]");
	api_event_cleanup(&ev);
	json_decref(errors);
}

static void
test_validate_event_source_metadata(void **state)
{
	struct api_event	 ev;
	json_t			*errors;

	errors = event_errors("{\"name\":\"x\",\"startDate\":\"2026-01-01\","
	    "\"source\":{\"type\":\"bluesky\",\"id\":\"" EV_URI "\","
	    "\"metadata\":{\"rev\":\"3mptbypluud2a\",\"did\":\"did:plc:alice\","
	    "\"cid\":\"bafy\"},\"rawRecord\":{\"name\":\"x\"}}}", &ev);
	assert_int_equal(json_object_size(errors), 0);
	assert_string_equal(ev.rev, "3mptbypluud2a");
	assert_non_null(strstr(ev.metadata_json, "\"cid\":\"bafy\""));
	assert_string_equal(ev.raw_record_json, "{\"name\":\"x\"}");
	api_event_cleanup(&ev);
	json_decref(errors);

	/* A rev that is not a TID, a DID that is not the record's. */
	errors = event_errors("{\"name\":\"x\",\"startDate\":\"2026-01-01\","
	    "\"source\":{\"type\":\"bluesky\",\"id\":\"" EV_URI "\","
	    "\"metadata\":{\"rev\":\"Z; DROP\",\"did\":\"did:plc:mallory\"}}}",
	    &ev);
	assert_non_null(json_object_get(errors, "source.metadata.rev"));
	assert_non_null(json_object_get(errors, "source.metadata.did"));
	assert_int_equal(json_object_size(errors), 2);
	api_event_cleanup(&ev);
	json_decref(errors);

	/* bluesky ids must be record at-uris. */
	errors = event_errors("{\"name\":\"x\",\"startDate\":\"2026-01-01\","
	    "\"source\":{\"type\":\"bluesky\",\"id\":\"https://bsky.app/x\"}}",
	    &ev);
	assert_non_null(json_object_get(errors, "source.id"));
	api_event_cleanup(&ev);
	json_decref(errors);
}

/* OpenMeet failure 9: a missing RSVP status is the lexicon default going. */
static void
test_validate_openmeet_failure_9_rsvp_default_going(void **state)
{
	struct api_rsvp	 rv;
	json_t		*body, *errors = json_object();

	body = parse("{\"eventSourceId\":\"" EV_URI "\",\"eventSourceType\":"
	    "\"bluesky\",\"userDid\":\"did:plc:bob\",\"sourceId\":\"" RS_URI
	    "\",\"metadata\":{\"rev\":\"3mptbypluud2b\"}}");
	assert_int_equal(api_rsvp_from_json(body, &rv, errors), 0);
	assert_string_equal(rv.status, "going");
	assert_string_equal(rv.attendee_status, "confirmed");
	assert_string_equal(rv.rev, "3mptbypluud2b");
	assert_null(rv.user_handle);
	api_rsvp_cleanup(&rv);
	json_decref(errors);
	json_decref(body);
}

static void
test_validate_rsvp_status_mapping(void **state)
{
	assert_string_equal(api_attendee_status("going"), "confirmed");
	assert_string_equal(api_attendee_status("interested"), "maybe");
	assert_string_equal(api_attendee_status("notgoing"), "cancelled");
	assert_null(api_attendee_status("maybe"));
}

static void
test_validate_rsvp_names_every_bad_field(void **state)
{
	static const char *const want[] = { "eventSourceId", "userDid",
	    "status", "sourceId", "timestamp", "metadata" };
	struct api_rsvp	 rv;
	json_t		*body, *errors = json_object();
	size_t		 i;

	body = parse("{\"eventSourceId\":\"at://did:plc:a/not-an-nsid/x\","
	    "\"eventSourceType\":\"bluesky\",\"userDid\":\"bob\","
	    "\"status\":\"maybe\",\"sourceId\":\"" RS_URI "x/y\","
	    "\"timestamp\":\"noon\",\"metadata\":[]}");
	assert_int_equal(api_rsvp_from_json(body, &rv, errors), -1);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (json_object_get(errors, want[i]) == NULL)
			fail_msg("no error for %s", want[i]);
	assert_int_equal(json_object_size(errors),
	    sizeof(want) / sizeof(want[0]));
	api_rsvp_cleanup(&rv);
	json_decref(errors);
	json_decref(body);
}

static void
test_validate_rsvp_source_must_be_the_users(void **state)
{
	struct api_rsvp	 rv;
	json_t		*body, *errors = json_object();

	body = parse("{\"eventSourceId\":\"" EV_URI "\",\"eventSourceType\":"
	    "\"bluesky\",\"userDid\":\"did:plc:carol\",\"status\":\"going\","
	    "\"sourceId\":\"" RS_URI "\"}");
	assert_int_equal(api_rsvp_from_json(body, &rv, errors), -1);
	assert_non_null(json_object_get(errors, "sourceId"));
	assert_int_equal(json_object_size(errors), 1);
	api_rsvp_cleanup(&rv);
	json_decref(errors);
	json_decref(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_event_minimal_defaults),
		cmocka_unit_test(test_validate_event_names_every_bad_field),
		cmocka_unit_test(test_validate_event_not_an_object),
		cmocka_unit_test(test_validate_openmeet_failure_3_geo_strings),
		cmocka_unit_test(
		    test_validate_openmeet_failure_9_all_locations_kept),
		cmocka_unit_test(
		    test_validate_event_single_location_becomes_list),
		cmocka_unit_test(test_validate_event_source_metadata),
		cmocka_unit_test(
		    test_validate_openmeet_failure_9_rsvp_default_going),
		cmocka_unit_test(test_validate_rsvp_status_mapping),
		cmocka_unit_test(test_validate_rsvp_names_every_bad_field),
		cmocka_unit_test(test_validate_rsvp_source_must_be_the_users),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
