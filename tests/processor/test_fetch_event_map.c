/* SPDX-License-Identifier: ISC */
/*
 * processor/fetch_event_map.c: which RSVP failures fetch their event, the
 * event uri taken from the RSVP, a getRecord answer turned into a body that
 * map_message() maps to the event's API call exactly like a backfill
 * message, the answers refused, and the recent-request window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "fetch_event_map.h"
#include "map.h"

#define AUTHOR	"did:plc:2a7ygipkrbh544aqhcav53oy"
#define EVENT	"community.lexicon.calendar.event"
#define EV_URI	"at://" AUTHOR "/" EVENT "/3mptbyplj5d2a"
#define CID	"bafyreibhymmscppsho43v75saqiz5qtlgkps6apgc2qb5vf4qghqneuwbq"
#define REV	"3mptbypluud2a"

/* An RSVP message by another DID pointing at SUBJ. */
#define RSVP_MSG(OP, SUBJ)						\
	"{\"did\":\"did:plc:yk4dd2qkboz2yv6tpubpc6co\","		\
	"\"time_us\":1783175888085434,\"kind\":\"commit\","		\
	"\"commit\":{\"rev\":\"3mptbypluud2c\",\"operation\":\"" OP "\","\
	"\"collection\":\"community.lexicon.calendar.rsvp\","		\
	"\"rkey\":\"3mptbyplj5d2b\",\"cid\":\"" CID "\",\"record\":"	\
	"{\"$type\":\"community.lexicon.calendar.rsvp\",\"subject\":"	\
	"{\"uri\":\"" SUBJ "\",\"cid\":\"" CID "\"},"			\
	"\"status\":\"community.lexicon.calendar.rsvp#going\"}}}"

#define ANSWER(URI, CIDV, VALUE)					\
	"{\"uri\":\"" URI "\",\"cid\":\"" CIDV "\",\"value\":" VALUE "}"
#define EV_VALUE							\
	"{\"$type\":\"" EVENT "\",\"name\":\"Fetched meetup\","		\
	"\"createdAt\":\"2026-01-02T03:04:05.000Z\","			\
	"\"startsAt\":\"2026-02-01T18:00:00.000Z\","			\
	"\"mode\":\"" EVENT "#virtual\"}"

static void
mapped(struct map_call *c, const char *msg)
{
	char	why[256];

	if (map_message(c, msg, strlen(msg), why, sizeof(why)) == -1)
		fail_msg("map_message: %s", why);
}

static void
test_fetch_event_map_wanted_only_for_retried_rsvp_424(void **state)
{
	struct map_call	c, ev;

	mapped(&c, RSVP_MSG("create", EV_URI));
	/* Not on the first delivery, not for other statuses, not when off. */
	assert_false(fetch_event_wanted(&c, 424, 0, 1));
	assert_true(fetch_event_wanted(&c, 424, 1, 1));
	assert_true(fetch_event_wanted(&c, 424, 3, 2));
	assert_false(fetch_event_wanted(&c, 424, 1, 2));
	assert_false(fetch_event_wanted(&c, 503, 4, 1));
	assert_false(fetch_event_wanted(&c, 0, 4, 1));
	assert_false(fetch_event_wanted(&c, 424, 4, 0));
	map_call_cleanup(&c);
	/* Updates too; deletes never need the event. */
	mapped(&c, RSVP_MSG("update", EV_URI));
	assert_true(fetch_event_wanted(&c, 424, 1, 1));
	map_call_cleanup(&c);
	/* An event's own 424 is not an unknown event. */
	mapped(&ev, "{\"did\":\"" AUTHOR "\",\"kind\":\"commit\",\"commit\":"
	    "{\"rev\":\"" REV "\",\"operation\":\"create\",\"collection\":\""
	    EVENT "\",\"rkey\":\"3mptbyplj5d2a\",\"record\":" EV_VALUE "}}");
	assert_false(fetch_event_wanted(&ev, 424, 2, 1));
	map_call_cleanup(&ev);
}

static void
test_fetch_event_map_subject_is_the_event_uri(void **state)
{
	struct map_call	c;
	char		uri[512], err[256];

	mapped(&c, RSVP_MSG("create", EV_URI));
	assert_int_equal(fetch_event_subject(&c, uri, sizeof(uri), err,
	    sizeof(err)), 0);
	assert_string_equal(uri, EV_URI);
	/* Too small a buffer is an error, not a cut uri. */
	assert_int_equal(fetch_event_subject(&c, uri, 20, err, sizeof(err)),
	    -1);
	map_call_cleanup(&c);
}

static void
test_fetch_event_map_subject_refuses_non_events(void **state)
{
	static const char *const bad[] = {
		/* Another RSVP, a whole repo, a handle authority. */
		"at://" AUTHOR "/community.lexicon.calendar.rsvp/3mptbyplj5d2a",
		"at://" AUTHOR,
		"at://alice.test/" EVENT "/3mptbyplj5d2a",
	};
	struct map_call	c;
	char		msg[2048], uri[512], err[256];
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(msg, sizeof(msg), RSVP_MSG("create", "%s"),
		    bad[i]);
		mapped(&c, msg);
		if (fetch_event_subject(&c, uri, sizeof(uri), err,
		    sizeof(err)) != -1)
			fail_msg("%s accepted", bad[i]);
		map_call_cleanup(&c);
	}
}

static void
test_fetch_event_map_parse_rev(void **state)
{
	char		rev[32], err[256];
	const char	*ok = "{\"cid\":\"" CID "\",\"rev\":\"" REV "\"}";
	const char	*bad = "{\"cid\":\"" CID "\",\"rev\":\"not a tid\"}";

	assert_int_equal(fetch_event_parse_rev(ok, strlen(ok), rev,
	    sizeof(rev), err, sizeof(err)), 0);
	assert_string_equal(rev, REV);
	assert_int_equal(fetch_event_parse_rev(bad, strlen(bad), rev,
	    sizeof(rev), err, sizeof(err)), -1);
	assert_int_equal(fetch_event_parse_rev("{}", 2, rev, sizeof(rev),
	    err, sizeof(err)), -1);
}

/* The answer becomes a body map_message() maps like a backfill event. */
static void
test_fetch_event_map_envelope_maps_as_event(void **state)
{
	const char	*ans = ANSWER(EV_URI, CID, EV_VALUE);
	struct atc_buf	 b;
	struct map_call	 c;
	json_t		*env, *dto;
	char		 err[256];

	atc_buf_init(&b, 256);
	assert_int_equal(fetch_event_envelope(&b, EV_URI, REV, ans,
	    strlen(ans), 1783175888085434ULL, "localhost:2583", err,
	    sizeof(err)), 0);
	env = json_loadb((const char *)b.data, b.len, 0, NULL);
	assert_non_null(env);
	assert_true(json_is_true(json_object_get(env, "backfill")));
	assert_string_equal(json_string_value(json_object_get(env,
	    "source")), "localhost:2583");
	json_decref(env);
	mapped(&c, atc_buf_cstr(&b));
	assert_string_equal(c.kind, "event");
	assert_string_equal(c.op, "create");
	assert_string_equal(c.uri, EV_URI);
	assert_string_equal(c.rev, REV);
	assert_int_equal(c.method, MAP_POST);
	assert_string_equal(c.path, "/api/integration/events");
	dto = json_loads(c.body, 0, NULL);
	assert_non_null(dto);
	assert_string_equal(json_string_value(json_object_get(dto, "name")),
	    "Fetched meetup");
	assert_string_equal(json_string_value(json_object_get(dto, "type")),
	    "online");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(json_object_get(dto, "source"), "metadata"),
	    "cid")), CID);
	json_decref(dto);
	map_call_cleanup(&c);
	atc_buf_cleanup(&b);
}

static void
test_fetch_event_map_envelope_refuses_bad_answers(void **state)
{
	static const struct {
		const char	*answer, *why;
	} bad[] = {
		{ ANSWER("at://" AUTHOR "/" EVENT "/3mptbyplj5d2z", CID,
		    EV_VALUE), "another record" },
		{ ANSWER(EV_URI, "not-a-cid", EV_VALUE), "cid" },
		{ "{\"uri\":\"" EV_URI "\",\"value\":" EV_VALUE "}", "cid" },
		{ ANSWER(EV_URI, CID, "[1,2]"), "no record object" },
		{ ANSWER(EV_URI, CID, "{\"$type\":\"community.lexicon."
		    "calendar.rsvp\",\"name\":\"x\"}"), "$type" },
		{ ANSWER(EV_URI, CID, "{\"name\":\"x\"}"), "$type" },
		{ ANSWER(EV_URI, CID, "{\"$type\":\"" EVENT "\","
		    "\"name\":\"x\",\"n\":1.5}"), "invalid record" },
		{ "{\"uri\":\"" EV_URI "\",\"uri\":\"" EV_URI "\"}", "JSON" },
		{ "not json", "JSON" },
	};
	struct atc_buf	b;
	char		err[256];
	size_t		i;

	atc_buf_init(&b, 256);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (fetch_event_envelope(&b, EV_URI, REV, bad[i].answer,
		    strlen(bad[i].answer), 1, "h", err, sizeof(err)) != -1)
			fail_msg("case %zu accepted", i);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			    bad[i].why);
	}
	atc_buf_cleanup(&b);
}

static void
test_fetch_event_map_envelope_refuses_oversized_answer(void **state)
{
	struct atc_buf	b;
	char		err[256];

	atc_buf_init(&b, 64);
	assert_int_equal(fetch_event_envelope(&b, EV_URI, REV, "{}",
	    (size_t)FETCH_ANSWER_MAX + 1, 1, "h", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "limit"));
	atc_buf_cleanup(&b);
}

static void
test_fetch_event_map_recent_window(void **state)
{
	static struct fetch_recent	r;
	char				uri[128];
	int				i;

	memset(&r, 0, sizeof(r));
	assert_false(fetch_recent_seen(&r, EV_URI, 1000, 30000));
	assert_true(fetch_recent_seen(&r, EV_URI, 1000 + 29999, 30000));
	/* After the window it is asked for again, then remembered anew. */
	assert_false(fetch_recent_seen(&r, EV_URI, 1000 + 30000, 30000));
	assert_true(fetch_recent_seen(&r, EV_URI, 1000 + 30001, 30000));
	/* Bounded: filling every slot evicts the oldest entry first. */
	for (i = 0; i < FETCH_RECENT_MAX; i++) {
		(void)snprintf(uri, sizeof(uri), "at://did:plc:x/%s/%d", EVENT,
		    i);
		assert_false(fetch_recent_seen(&r, uri, 40000 + (uint64_t)i,
		    30000));
	}
	assert_false(fetch_recent_seen(&r, EV_URI, 40000 + FETCH_RECENT_MAX,
	    30000));
	(void)snprintf(uri, sizeof(uri), "at://did:plc:x/%s/%d", EVENT, 200);
	assert_true(fetch_recent_seen(&r, uri, 40000 + FETCH_RECENT_MAX,
	    30000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_fetch_event_map_wanted_only_for_retried_rsvp_424),
		cmocka_unit_test(test_fetch_event_map_subject_is_the_event_uri),
		cmocka_unit_test(
		    test_fetch_event_map_subject_refuses_non_events),
		cmocka_unit_test(test_fetch_event_map_parse_rev),
		cmocka_unit_test(test_fetch_event_map_envelope_maps_as_event),
		cmocka_unit_test(
		    test_fetch_event_map_envelope_refuses_bad_answers),
		cmocka_unit_test(
		    test_fetch_event_map_envelope_refuses_oversized_answer),
		cmocka_unit_test(test_fetch_event_map_recent_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
