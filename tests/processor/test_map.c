/* SPDX-License-Identifier: ISC */
/*
 * Table-driven tests of processor/map.c: each case is a message body, the
 * expected method and path, and assertions on the produced JSON body
 * ("a.b.0.c=<json>" must equal, "!a.b" must be absent) or the expected
 * reason for a drop. Includes the OpenMeet regressions #3, #5 and #9.
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

#include "buf.h"
#include "map.h"

#define MAXCHECKS	24

struct map_case {
	const char	*name;
	const char	*input;
	int		 ok;		/* 1 = mapped, 0 = dropped */
	enum map_method	 method;
	const char	*path;		/* exact path+query */
	const char	*reason;	/* substring, for drops */
	const char	*checks[MAXCHECKS];	/* NULL-terminated */
};

#define DID	"did:plc:2a7ygipkrbh544aqhcav53oy"
#define URI_EV	"at://" DID "/community.lexicon.calendar.event/3mptbyplj5d2a"
#define URI_RS	"at://" DID "/community.lexicon.calendar.rsvp/3mptbyplj5d2b"
#define ENC_EV	"at%3A%2F%2Fdid%3Aplc%3A2a7ygipkrbh544aqhcav53oy%2F" \
		"community.lexicon.calendar.event%2F3mptbyplj5d2a"
#define ENC_RS	"at%3A%2F%2Fdid%3Aplc%3A2a7ygipkrbh544aqhcav53oy%2F" \
		"community.lexicon.calendar.rsvp%2F3mptbyplj5d2b"

/* A Jetstream commit envelope around a record (REC may be empty for
 * deletes). */
#define ENV(COLL, RKEY, OP, REC)					\
	"{\"did\":\"" DID "\",\"time_us\":1783175888085434,"		\
	"\"kind\":\"commit\",\"commit\":{\"rev\":\"3mptbypluud2a\","	\
	"\"operation\":\"" OP "\",\"collection\":\"" COLL "\","		\
	"\"rkey\":\"" RKEY "\"" REC "},\"seq\":123,"			\
	"\"source\":\"127.0.0.1:2583\"}"
#define EVREC(OP, R)	ENV("community.lexicon.calendar.event",	\
	"3mptbyplj5d2a", OP, ",\"cid\":\"bafyreievcid\",\"record\":" R)
#define RSREC(OP, R)	ENV("community.lexicon.calendar.rsvp",		\
	"3mptbyplj5d2b", OP, ",\"cid\":\"bafyreirscid\",\"record\":" R)

/* Follows "a.b.0.c" through objects and arrays; NULL when absent. */
static json_t *
walk(json_t *v, const char *path)
{
	char	 seg[128];
	size_t	 n;
	char	*end;

	while (v != NULL && *path != '\0') {
		n = strcspn(path, ".");
		assert_true(n < sizeof(seg));
		memcpy(seg, path, n);
		seg[n] = '\0';
		path += n + (path[n] == '.');
		if (json_is_array(v)) {
			unsigned long i = strtoul(seg, &end, 10);

			v = *end == '\0' ? json_array_get(v, i) : NULL;
		} else
			v = json_object_get(v, seg);
	}
	return v;
}

static void
check_one(json_t *body, const char *check, const char *casename)
{
	json_error_t	 jerr;
	json_t		*want, *got;
	const char	*eq;
	char		 path[256];

	if (check[0] == '!') {
		if (walk(body, check + 1) != NULL)
			fail_msg("%s: %s should be absent", casename,
			    check + 1);
		return;
	}
	eq = strchr(check, '=');
	assert_non_null(eq);
	assert_true((size_t)(eq - check) < sizeof(path));
	memcpy(path, check, (size_t)(eq - check));
	path[eq - check] = '\0';
	want = json_loads(eq + 1, JSON_DECODE_ANY, &jerr);
	if (want == NULL)
		fail_msg("%s: bad expectation %s", casename, check);
	got = walk(body, path);
	if (got == NULL || !json_equal(got, want)) {
		char *s = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;

		fail_msg("%s: %s: want %s got %s", casename, path, eq + 1,
		    s ? s : "(absent)");
	}
	json_decref(want);
}

static void
run_cases(const struct map_case *cases, size_t n)
{
	struct map_call	 c;
	json_error_t	 jerr;
	json_t		*body;
	char		 reason[256];
	size_t		 i, k;
	int		 rc;

	for (i = 0; i < n; i++) {
		const struct map_case *t = &cases[i];

		reason[0] = '\0';
		rc = map_message(&c, t->input, strlen(t->input), reason,
		    sizeof(reason));
		if (!t->ok) {
			if (rc != -1)
				fail_msg("%s: mapped, want drop", t->name);
			if (strstr(reason, t->reason) == NULL)
				fail_msg("%s: reason \"%s\" lacks \"%s\"",
				    t->name, reason, t->reason);
			map_call_cleanup(&c);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: dropped: %s", t->name, reason);
		assert_int_equal(c.method, t->method);
		if (strcmp(c.path, t->path) != 0)
			fail_msg("%s: path %s want %s", t->name, c.path,
			    t->path);
		if (t->method == MAP_DELETE) {
			assert_null(c.body);
			map_call_cleanup(&c);
			continue;
		}
		assert_non_null(c.body);
		body = json_loads(c.body, 0, &jerr);
		if (body == NULL)
			fail_msg("%s: body is not JSON", t->name);
		for (k = 0; k < MAXCHECKS && t->checks[k] != NULL; k++)
			check_one(body, t->checks[k], t->name);
		json_decref(body);
		map_call_cleanup(&c);
	}
}

#define RUN(cases)	run_cases(cases, sizeof(cases) / sizeof(cases[0]))

static void
test_map_event_create(void **state)
{
	static const struct map_case cases[] = {
	    { "full event", EVREC("create",
		"{\"$type\":\"community.lexicon.calendar.event\","
		"\"name\":\"Meetup\",\"description\":\"Talks\","
		"\"createdAt\":\"2026-07-01T10:00:00.000Z\","
		"\"startsAt\":\"2026-08-01T18:00:00.000Z\","
		"\"endsAt\":\"2026-08-01T20:00:00.000Z\","
		"\"mode\":\"community.lexicon.calendar.event#virtual\","
		"\"status\":\"community.lexicon.calendar.event#planned\","
		"\"uris\":[{\"uri\":\"https://example.com/e\"}]}"),
		1, MAP_POST, "/api/integration/events", NULL, {
		"name=\"Meetup\"", "description=\"Talks\"",
		"startDate=\"2026-08-01T18:00:00.000Z\"",
		"endDate=\"2026-08-01T20:00:00.000Z\"",
		"type=\"online\"", "status=\"draft\"",
		"categories=[]", "locations=[]", "!location",
		"source.type=\"bluesky\"", "source.id=\"" URI_EV "\"",
		"source.url=\"https://example.com/e\"", "!source.handle",
		"source.metadata.cid=\"bafyreievcid\"",
		"source.metadata.rkey=\"3mptbyplj5d2a\"",
		"source.metadata.collection=\"community.lexicon.calendar."
		"event\"", "source.metadata.rev=\"3mptbypluud2a\"",
		"source.metadata.time_us=1783175888085434",
		"source.metadata.did=\"" DID "\"",
		"source.rawRecord.name=\"Meetup\"",
		"source.rawRecord.mode=\"community.lexicon.calendar.event"
		"#virtual\"", NULL } },
	    { "update is an upsert", EVREC("update",
		"{\"name\":\"N\",\"createdAt\":\"2026-07-01T10:00:00Z\","
		"\"startsAt\":\"2026-08-01T18:00:00Z\"}"),
		1, MAP_POST, "/api/integration/events", NULL,
		{ "name=\"N\"", "source.metadata.rev=\"3mptbypluud2a\"",
		NULL } },
	    { "hybrid cancelled", EVREC("create",
		"{\"name\":\"N\",\"createdAt\":\"2026-07-01T10:00:00Z\","
		"\"mode\":\"community.lexicon.calendar.event#hybrid\","
		"\"status\":\"community.lexicon.calendar.event#cancelled\"}"),
		1, MAP_POST, "/api/integration/events", NULL,
		{ "type=\"hybrid\"", "status=\"cancelled\"", NULL } },
	    { "defaults: in-person, published", EVREC("create",
		"{\"name\":\"N\",\"createdAt\":\"2026-07-01T10:00:00Z\","
		"\"status\":\"community.lexicon.calendar.event#scheduled\"}"),
		1, MAP_POST, "/api/integration/events", NULL,
		{ "type=\"in-person\"", "status=\"published\"", "!endDate",
		"!source.url", NULL } },
	    { "unknown knownValues tolerated", EVREC("create",
		"{\"name\":\"N\",\"createdAt\":\"2026-07-01T10:00:00Z\","
		"\"mode\":\"x.y#teleport\",\"status\":\"x.y#someday\","
		"\"extra\":{\"nested\":[1,2]}}"),
		1, MAP_POST, "/api/integration/events", NULL,
		{ "type=\"in-person\"", "status=\"published\"",
		"source.rawRecord.extra.nested.1=2", NULL } },
	};

	RUN(cases);
}

static void
test_map_start_falls_back_to_created_at(void **state)
{
	static const struct map_case cases[] = {
	    { "no startsAt", EVREC("create",
		"{\"name\":\"N\",\"createdAt\":\"2026-07-01T10:00:00Z\"}"),
		1, MAP_POST, "/api/integration/events", NULL,
		{ "startDate=\"2026-07-01T10:00:00Z\"", NULL } },
	};

	RUN(cases);
}

/* OpenMeet #9: a missing description was replaced by placeholder text. */
static void
test_map_description_absent_stays_absent(void **state)
{
	static const struct map_case cases[] = {
	    { "no description", EVREC("create",
		"{\"name\":\"N\",\"createdAt\":\"2026-07-01T10:00:00Z\"}"),
		1, MAP_POST, "/api/integration/events", NULL,
		{ "!description", "name=\"N\"", NULL } },
	    { "empty description kept empty", EVREC("create",
		"{\"name\":\"N\",\"description\":\"\","
		"\"createdAt\":\"2026-07-01T10:00:00Z\"}"),
		1, MAP_POST, "/api/integration/events", NULL,
		{ "description=\"\"", NULL } },
	};

	RUN(cases);
}

/* OpenMeet #9: only the first location was used; fsq and h3 dropped. */
static void
test_map_locations_all_kinds_kept(void **state)
{
	static const struct map_case cases[] = {
	    { "five location kinds", EVREC("create",
		"{\"name\":\"N\",\"createdAt\":\"2026-07-01T10:00:00Z\","
		"\"locations\":["
		"{\"$type\":\"community.lexicon.location.address\","
		"\"name\":\"Hall\",\"street\":\"1 Main St\","
		"\"locality\":\"Springfield\",\"country\":\"US\"},"
		"{\"$type\":\"community.lexicon.location.geo\","
		"\"latitude\":\"40.7\",\"longitude\":\"-74.0\"},"
		"{\"$type\":\"community.lexicon.location.fsq\","
		"\"fsq_place_id\":\"4b0588\",\"name\":\"Cafe\"},"
		"{\"$type\":\"community.lexicon.location.hthree\","
		"\"value\":\"8a2a1072b59ffff\",\"name\":\"cell\"},"
		"{\"$type\":\"community.lexicon.calendar.event#uri\","
		"\"uri\":\"https://meet.example/x\",\"name\":\"Call\"}]}"),
		1, MAP_POST, "/api/integration/events", NULL, {
		"locations.0.$type=\"community.lexicon.location.address\"",
		"locations.0.street=\"1 Main St\"",
		"locations.1.latitude=\"40.7\"",
		"locations.1.longitude=\"-74.0\"",
		"locations.2.fsq_place_id=\"4b0588\"",
		"locations.3.value=\"8a2a1072b59ffff\"",
		"locations.4.uri=\"https://meet.example/x\"",
		"!locations.5",
		"location.description=\"Hall, 1 Main St, Springfield, US\"",
		"!location.lat", NULL } },
	    { "first location a uri", EVREC("create",
		"{\"name\":\"N\",\"createdAt\":\"2026-07-01T10:00:00Z\","
		"\"locations\":[{\"$type\":"
		"\"community.lexicon.calendar.event#uri\","
		"\"uri\":\"https://meet.example/x\",\"name\":\"Call\"}]}"),
		1, MAP_POST, "/api/integration/events", NULL, {
		"location.url=\"https://meet.example/x\"",
		"location.description=\"Call\"", NULL } },
	    { "non-object locations skipped", EVREC("create",
		"{\"name\":\"N\",\"createdAt\":\"2026-07-01T10:00:00Z\","
		"\"locations\":[\"junk\",7,{\"$type\":"
		"\"community.lexicon.location.geo\",\"latitude\":\"1\","
		"\"longitude\":\"2\"}]}"),
		1, MAP_POST, "/api/integration/events", NULL, {
		"locations.0.latitude=\"1\"", "!locations.1", NULL } },
	};

	RUN(cases);
}

/* OpenMeet #3 and #9: geo coordinates are strings; "0" must survive. */
static void
test_map_geo_zero_kept_as_string(void **state)
{
	static const struct map_case cases[] = {
	    { "geo 0,0", EVREC("create",
		"{\"name\":\"N\",\"createdAt\":\"2026-07-01T10:00:00Z\","
		"\"locations\":[{\"$type\":\"community.lexicon.location.geo\","
		"\"latitude\":\"0\",\"longitude\":\"0\",\"name\":\"Null "
		"Island\"}]}"),
		1, MAP_POST, "/api/integration/events", NULL, {
		"locations.0.latitude=\"0\"", "locations.0.longitude=\"0\"",
		"location.lat=\"0\"", "location.lon=\"0\"",
		"location.description=\"Null Island\"", NULL } },
	};

	RUN(cases);
}

static void
test_map_rsvp_create(void **state)
{
	static const struct map_case cases[] = {
	    { "strongRef subject", RSREC("create",
		"{\"$type\":\"community.lexicon.calendar.rsvp\","
		"\"subject\":{\"uri\":\"" URI_EV "\",\"cid\":\"bafyreievcid\"},"
		"\"status\":\"community.lexicon.calendar.rsvp#interested\","
		"\"createdAt\":\"2026-07-02T10:00:00Z\"}"),
		1, MAP_POST, "/api/integration/rsvps", NULL, {
		"eventSourceId=\"" URI_EV "\"", "eventSourceType=\"bluesky\"",
		"userDid=\"" DID "\"", "status=\"interested\"",
		"sourceId=\"" URI_RS "\"",
		"timestamp=\"2026-07-02T10:00:00Z\"",
		"metadata.cid=\"bafyreirscid\"",
		"metadata.eventCid=\"bafyreievcid\"",
		"metadata.rkey=\"3mptbyplj5d2b\"",
		"metadata.collection=\"community.lexicon.calendar.rsvp\"",
		"metadata.rev=\"3mptbypluud2a\"",
		"metadata.time_us=1783175888085434",
		"metadata.eventUri=\"" URI_EV "\"", "!userHandle", NULL } },
	    { "notgoing", RSREC("update",
		"{\"subject\":{\"uri\":\"" URI_EV "\",\"cid\":\"bafyrei1\"},"
		"\"status\":\"community.lexicon.calendar.rsvp#notgoing\"}"),
		1, MAP_POST, "/api/integration/rsvps", NULL,
		{ "status=\"notgoing\"", "!timestamp", NULL } },
	};

	RUN(cases);
}

/* OpenMeet #9: a missing status defaulted to interested; the lexicon
 * default is going. */
static void
test_map_rsvp_default_going(void **state)
{
	static const struct map_case cases[] = {
	    { "no status", RSREC("create",
		"{\"subject\":{\"uri\":\"" URI_EV "\",\"cid\":\"bafyrei1\"}}"),
		1, MAP_POST, "/api/integration/rsvps", NULL,
		{ "status=\"going\"", NULL } },
	};

	RUN(cases);
}

static void
test_map_rsvp_bare_string_subject(void **state)
{
	static const struct map_case cases[] = {
	    { "old client subject", RSREC("create",
		"{\"subject\":\"" URI_EV "\","
		"\"status\":\"community.lexicon.calendar.rsvp#going\"}"),
		1, MAP_POST, "/api/integration/rsvps", NULL, {
		"eventSourceId=\"" URI_EV "\"", "metadata.eventUri=\""
		URI_EV "\"", "!metadata.eventCid", "status=\"going\"",
		NULL } },
	};

	RUN(cases);
}

static void
test_map_legacy_smokesignal(void **state)
{
	static const struct map_case cases[] = {
	    { "legacy event", ENV("events.smokesignal.calendar.event",
		"3lte3c7x43l2e", "create", ",\"cid\":\"bafyreiss\","
		"\"record\":{\"$type\":\"events.smokesignal.calendar.event\","
		"\"name\":\"Old\",\"text\":\"From Smoke Signal\","
		"\"createdAt\":\"2025-01-01T00:00:00Z\","
		"\"startsAt\":\"2025-02-01T18:00:00Z\","
		"\"mode\":\"events.smokesignal.calendar.event#virtual\","
		"\"status\":\"events.smokesignal.calendar.event#cancelled\","
		"\"location\":[{\"$type\":"
		"\"events.smokesignal.calendar.location#place\","
		"\"name\":\"Pub\",\"locality\":\"Leeds\",\"country\":\"GB\"},"
		"{\"$type\":\"events.smokesignal.calendar.location#virtual\","
		"\"name\":\"Stream\",\"url\":\"https://v.example\"}]}"),
		1, MAP_POST, "/api/integration/events", NULL, {
		"name=\"Old\"", "description=\"From Smoke Signal\"",
		"type=\"online\"", "status=\"cancelled\"",
		"locations.0.$type=\"community.lexicon.location.address\"",
		"locations.0.locality=\"Leeds\"",
		"locations.1.$type=\"community.lexicon.calendar.event#uri\"",
		"locations.1.uri=\"https://v.example\"",
		"location.description=\"Pub, Leeds, GB\"",
		"source.id=\"at://" DID "/events.smokesignal.calendar.event/"
		"3lte3c7x43l2e\"",
		"source.metadata.collection=\"events.smokesignal.calendar."
		"event\"", "source.rawRecord.text=\"From Smoke Signal\"",
		NULL } },
	    { "legacy rsvp", ENV("events.smokesignal.calendar.rsvp",
		"3lte3c7x43l2f", "create", ",\"cid\":\"bafyreiss2\","
		"\"record\":{\"subject\":{\"uri\":\"at://" DID
		"/events.smokesignal.calendar.event/3lte3c7x43l2e\","
		"\"cid\":\"bafyreiss\"},"
		"\"status\":\"events.smokesignal.calendar.rsvp#interested\"}"),
		1, MAP_POST, "/api/integration/rsvps", NULL, {
		"status=\"interested\"", "eventSourceId=\"at://" DID
		"/events.smokesignal.calendar.event/3lte3c7x43l2e\"",
		"sourceId=\"at://" DID "/events.smokesignal.calendar.rsvp/"
		"3lte3c7x43l2f\"", NULL } },
	};

	RUN(cases);
}

static void
test_map_deletes(void **state)
{
	static const struct map_case cases[] = {
	    { "event delete", ENV("community.lexicon.calendar.event",
		"3mptbyplj5d2a", "delete", ""), 1, MAP_DELETE,
		"/api/integration/events?sourceId=" ENC_EV
		"&sourceType=bluesky&rev=3mptbypluud2a", NULL, { NULL } },
	    { "rsvp delete", ENV("community.lexicon.calendar.rsvp",
		"3mptbyplj5d2b", "delete", ""), 1, MAP_DELETE,
		"/api/integration/rsvps?sourceId=" ENC_RS
		"&sourceType=bluesky&rev=3mptbypluud2a", NULL, { NULL } },
	    { "rkey with colon escaped", ENV("community.lexicon.calendar.event",
		"a:b~c", "delete", ""), 1, MAP_DELETE,
		"/api/integration/events?sourceId=at%3A%2F%2Fdid%3Aplc%3A"
		"2a7ygipkrbh544aqhcav53oy%2Fcommunity.lexicon.calendar.event"
		"%2Fa%3Ab~c&sourceType=bluesky&rev=3mptbypluud2a", NULL, { NULL } },
	};

	RUN(cases);
}

static void
test_map_invalid_records_dropped(void **state)
{
	static const struct map_case cases[] = {
	    { "missing name", EVREC("create",
		"{\"createdAt\":\"2026-07-01T10:00:00Z\"}"), 0, 0, NULL,
		"missing name", { NULL } },
	    { "empty name", EVREC("create",
		"{\"name\":\"\",\"createdAt\":\"2026-07-01T10:00:00Z\"}"),
		0, 0, NULL, "missing name", { NULL } },
	    { "name not a string", EVREC("create",
		"{\"name\":5,\"createdAt\":\"2026-07-01T10:00:00Z\"}"),
		0, 0, NULL, "missing name", { NULL } },
	    { "no dates", EVREC("create", "{\"name\":\"N\"}"), 0, 0, NULL,
		"neither startsAt nor createdAt", { NULL } },
	    { "rsvp without subject", RSREC("create",
		"{\"status\":\"community.lexicon.calendar.rsvp#going\"}"),
		0, 0, NULL, "missing subject", { NULL } },
	    { "rsvp subject without uri", RSREC("create",
		"{\"subject\":{\"cid\":\"bafyrei1\"}}"), 0, 0, NULL,
		"missing subject.uri", { NULL } },
	    { "rsvp subject not an at-uri", RSREC("create",
		"{\"subject\":\"https://example.com/e\"}"), 0, 0, NULL,
		"subject.uri", { NULL } },
	    { "rsvp unknown status", RSREC("create",
		"{\"subject\":\"" URI_EV "\",\"status\":\"x#maybe\"}"),
		0, 0, NULL, "unknown status", { NULL } },
	    { "rsvp status not a string", RSREC("create",
		"{\"subject\":\"" URI_EV "\",\"status\":1}"),
		0, 0, NULL, "status is not a string", { NULL } },
	};

	RUN(cases);
}

static void
test_map_bad_envelopes_dropped(void **state)
{
	static const struct map_case cases[] = {
	    { "not JSON", "{\"did\":", 0, 0, NULL, "JSON", { NULL } },
	    { "not an object", "[1,2]", 0, 0, NULL,
		"not an object", { NULL } },
	    { "sync event", "{\"did\":\"" DID "\",\"kind\":\"sync\","
		"\"sync\":{}}", 0, 0, NULL, "kind", { NULL } },
	    { "foreign collection", ENV("app.bsky.feed.post", "3mptbyplj5d2a",
		"create", ",\"record\":{}"), 0, 0, NULL,
		"not a calendar collection", { NULL } },
	    { "bad rkey", ENV("community.lexicon.calendar.event", "..",
		"delete", ""), 0, 0, NULL, "rkey", { NULL } },
	    { "unknown operation", ENV("community.lexicon.calendar.event",
		"3mptbyplj5d2a", "upsert", ""), 0, 0, NULL,
		"unknown operation", { NULL } },
	    { "create without record", ENV("community.lexicon.calendar.event",
		"3mptbyplj5d2a", "create", ""), 0, 0, NULL,
		"without a record", { NULL } },
	    { "bad did", "{\"did\":\"plc:x\",\"kind\":\"commit\",\"commit\":"
		"{\"rev\":\"3mptbypluud2a\",\"operation\":\"delete\","
		"\"collection\":\"community.lexicon.calendar.event\","
		"\"rkey\":\"3mptbyplj5d2a\"}}", 0, 0, NULL, "did", { NULL } },
	    { "missing rev", "{\"did\":\"" DID "\",\"kind\":\"commit\","
		"\"commit\":{\"operation\":\"delete\",\"collection\":"
		"\"community.lexicon.calendar.event\",\"rkey\":\"3mptbyplj5d2a\""
		"}}", 0, 0, NULL, "rev: missing", { NULL } },
	    { "duplicate keys", "{\"did\":\"" DID "\",\"did\":\"" DID "\"}",
		0, 0, NULL, "JSON", { NULL } },
	};

	RUN(cases);
}

static void
test_map_uri_known_when_record_invalid(void **state)
{
	struct map_call	c;
	const char	*in = EVREC("create", "{\"createdAt\":\"2026-07-01T10:"
			    "00:00Z\"}");
	char		reason[256];

	assert_int_equal(map_message(&c, in, strlen(in), reason,
	    sizeof(reason)), -1);
	assert_non_null(c.uri);
	assert_string_equal(c.uri, URI_EV);
	assert_string_equal(c.kind, "event");
	assert_string_equal(c.op, "create");
	map_call_cleanup(&c);
	map_call_cleanup(&c);	/* idempotent */
}

static void
test_map_body_limit(void **state)
{
	struct map_call	 c;
	char		*big, reason[256];

	big = malloc(MAP_BODY_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', MAP_BODY_MAX + 1);
	assert_int_equal(map_message(&c, big, MAP_BODY_MAX + 1, reason,
	    sizeof(reason)), -1);
	assert_non_null(strstr(reason, "limit"));
	map_call_cleanup(&c);
	free(big);
}

/* Maps input and returns its batch item, parsed. */
static json_t *
batch_item_of(const char *input)
{
	struct map_call	 c;
	struct atc_buf	 b;
	json_error_t	 jerr;
	json_t		*item;
	char		 reason[256];

	assert_int_equal(map_message(&c, input, strlen(input), reason,
	    sizeof(reason)), 0);
	atc_buf_init(&b, 0);
	assert_int_equal(map_batch_item(&b, &c, NULL), 0);
	item = json_loadb((const char *)b.data, b.len, 0, &jerr);
	if (item == NULL)
		fail_msg("batch item is not JSON: %s", jerr.text);
	atc_buf_cleanup(&b);
	map_call_cleanup(&c);
	return item;
}

static void
test_map_batch_item_upsert_carries_the_single_body(void **state)
{
	const char	*in = EVREC("create", "{\"name\":\"N\","
			    "\"createdAt\":\"2026-07-01T10:00:00Z\"}");
	struct map_call	 c;
	json_t		*item, *single;
	char		 reason[256];

	item = batch_item_of(in);
	assert_string_equal(json_string_value(json_object_get(item, "op")),
	    "event.upsert");
	assert_int_equal(map_message(&c, in, strlen(in), reason,
	    sizeof(reason)), 0);
	single = json_loads(c.body, 0, NULL);
	assert_non_null(single);
	/* The same DTO alone or in a batch. */
	assert_true(json_equal(json_object_get(item, "body"), single));
	assert_int_equal(json_object_size(item), 2);
	json_decref(single);
	json_decref(item);
	map_call_cleanup(&c);

	item = batch_item_of(RSREC("update", "{\"subject\":{\"uri\":\""
	    URI_EV "\"},\"status\":\"community.lexicon.calendar.rsvp"
	    "#interested\"}"));
	assert_string_equal(json_string_value(json_object_get(item, "op")),
	    "rsvp.upsert");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    item, "body"), "sourceId")), URI_RS);
	json_decref(item);
}

static void
test_map_batch_item_delete_names_uri_and_rev(void **state)
{
	json_t	*item;

	item = batch_item_of(ENV("community.lexicon.calendar.rsvp",
	    "3mptbyplj5d2b", "delete", ""));
	assert_string_equal(json_string_value(json_object_get(item, "op")),
	    "rsvp.delete");
	assert_string_equal(json_string_value(json_object_get(item,
	    "sourceId")), URI_RS);
	assert_string_equal(json_string_value(json_object_get(item,
	    "sourceType")), "bluesky");
	assert_string_equal(json_string_value(json_object_get(item, "rev")),
	    "3mptbypluud2a");
	assert_null(json_object_get(item, "body"));
	json_decref(item);

	item = batch_item_of(ENV("community.lexicon.calendar.event",
	    "a:b~c", "delete", ""));
	assert_string_equal(json_string_value(json_object_get(item, "op")),
	    "event.delete");
	assert_string_equal(json_string_value(json_object_get(item,
	    "sourceId")), "at://" DID "/community.lexicon.calendar.event/"
	    "a:b~c");
	json_decref(item);
}

static void
test_map_batch_item_refuses_unmapped_call(void **state)
{
	struct map_call	 c;
	struct atc_buf	 b;
	char		 reason[256];
	const char	*in = EVREC("create", "{\"createdAt\":\"2026\"}");

	assert_int_equal(map_message(&c, in, strlen(in), reason,
	    sizeof(reason)), -1);
	atc_buf_init(&b, 0);
	atc_buf_puts(&b, "x");
	assert_int_equal(map_batch_item(&b, &c, NULL), -1);
	assert_int_equal(b.len, 1);
	map_call_cleanup(&c);
	memset(&c, 0, sizeof(c));
	assert_int_equal(map_batch_item(&b, &c, NULL), -1);
	atc_buf_cleanup(&b);
}

static void
test_map_identity_carries_hint_and_order(void **state)
{
	static const struct map_case cases[] = {
	    { "identity", "{\"did\":\"" DID "\",\"time_us\":1,\"kind\":"
		"\"identity\",\"identity\":{\"did\":\"" DID "\",\"handle\":"
		"\"alice.test\",\"seq\":42,\"time\":\"2026-01-01T00:00:00.000Z\""
		"},\"seq\":7,\"source\":\"h\"}", 1, MAP_POST,
		"/api/integration/identity", NULL, { "did=\"" DID "\"",
		"handle=\"alice.test\"", "seq=42",
		"time=\"2026-01-01T00:00:00.000Z\"", "!resolved", NULL } },
	    { "identity without handle: message seq", "{\"did\":\"" DID "\","
		"\"kind\":\"identity\",\"identity\":{\"did\":\"" DID "\"},"
		"\"seq\":7}", 1, MAP_POST, "/api/integration/identity", NULL,
		{ "!handle", "seq=7", NULL } },
	    { "identity without object", "{\"did\":\"" DID "\",\"kind\":"
		"\"identity\"}", 0, 0, NULL, "identity without", { NULL } },
	    { "identity bad did", "{\"did\":\"x\",\"kind\":\"identity\","
		"\"identity\":{}}", 0, 0, NULL, "did", { NULL } },
	};

	RUN(cases);
}

static void
test_map_account_status(void **state)
{
	static const struct map_case cases[] = {
	    { "deactivated", "{\"did\":\"" DID "\",\"kind\":\"account\","
		"\"account\":{\"active\":false,\"did\":\"" DID "\",\"seq\":9,"
		"\"status\":\"deactivated\",\"time\":\"2026-01-01T00:00:01Z\"}}",
		1, MAP_POST, "/api/integration/account", NULL, {
		"did=\"" DID "\"", "active=false", "status=\"deactivated\"",
		"seq=9", "time=\"2026-01-01T00:00:01Z\"", NULL } },
	    { "active", "{\"did\":\"" DID "\",\"kind\":\"account\","
		"\"account\":{\"active\":true,\"seq\":10}}", 1, MAP_POST,
		"/api/integration/account", NULL, { "active=true", "!status",
		NULL } },
	    { "without active", "{\"did\":\"" DID "\",\"kind\":\"account\","
		"\"account\":{\"status\":\"deleted\"}}", 0, 0, NULL,
		"without active", { NULL } },
	};

	RUN(cases);
}

static void
test_map_profile_ops(void **state)
{
	static const struct map_case cases[] = {
	    { "create", ENV("app.bsky.actor.profile", "self", "create",
		",\"cid\":\"bafyreiprofile\",\"record\":{\"displayName\":"
		"\"Al\"}"), 1, MAP_POST, "/api/integration/profile", NULL, {
		"did=\"" DID "\"", "rev=\"3mptbypluud2a\"",
		"operation=\"create\"", "record.displayName=\"Al\"",
		"time=\"2026-07-04T14:38:08.085434Z\"", NULL } },
	    { "delete", ENV("app.bsky.actor.profile", "self", "delete", ""),
		1, MAP_POST, "/api/integration/profile", NULL, {
		"operation=\"delete\"", "!record", NULL } },
	    { "not self", ENV("app.bsky.actor.profile", "other", "create",
		",\"record\":{}"), 0, 0, NULL, "not self", { NULL } },
	    { "update without record", ENV("app.bsky.actor.profile", "self",
		"update", ""), 0, 0, NULL, "without a record", { NULL } },
	};

	RUN(cases);
}

static void
test_map_label_apply_negate(void **state)
{
	static const struct map_case cases[] = {
	    { "apply", "{\"src\":\"did:plc:mod\",\"uri\":\"" URI_EV "\","
		"\"cid\":\"bafyreievcid\",\"val\":\"!hide\",\"neg\":false,"
		"\"cts\":\"2026-01-02T03:04:05.000Z\",\"exp\":null,\"seq\":1,"
		"\"source\":\"h\"}", 1, MAP_POST, "/api/integration/labels",
		NULL, { "labels.0.uri=\"" URI_EV "\"", "labels.0.val=\"!hide\"",
		"labels.0.neg=false", "labels.0.cid=\"bafyreievcid\"",
		"!labels.0.exp", "!labels.0.seq", "!labels.1", NULL } },
	    { "negate", "{\"src\":\"did:plc:mod\",\"uri\":\"" URI_EV "\","
		"\"val\":\"!hide\",\"neg\":true,\"cts\":\"2026-01-03T00:00:00Z\""
		"}", 1, MAP_POST, "/api/integration/labels", NULL, {
		"labels.0.neg=true", NULL } },
	    { "no cts", "{\"src\":\"did:plc:mod\",\"uri\":\"" URI_EV "\","
		"\"val\":\"x\"}", 0, 0, NULL, "cts", { NULL } },
	};

	RUN(cases);
}

static void
test_map_lifecycle_never_batched(void **state)
{
	struct map_call	 c;
	struct atc_buf	 b;
	char		 reason[256];
	const char	*in = "{\"did\":\"" DID "\",\"kind\":\"account\","
	    "\"account\":{\"active\":true}}";

	assert_int_equal(map_message(&c, in, strlen(in), reason,
	    sizeof(reason)), 0);
	assert_string_equal(c.kind, "account");
	atc_buf_init(&b, 0);
	assert_int_equal(map_batch_item(&b, &c, NULL), -1);
	assert_int_equal(b.len, 0);
	atc_buf_cleanup(&b);
	map_call_cleanup(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_event_create),
		cmocka_unit_test(test_map_start_falls_back_to_created_at),
		cmocka_unit_test(test_map_description_absent_stays_absent),
		cmocka_unit_test(test_map_locations_all_kinds_kept),
		cmocka_unit_test(test_map_geo_zero_kept_as_string),
		cmocka_unit_test(test_map_rsvp_create),
		cmocka_unit_test(test_map_rsvp_default_going),
		cmocka_unit_test(test_map_rsvp_bare_string_subject),
		cmocka_unit_test(test_map_legacy_smokesignal),
		cmocka_unit_test(test_map_deletes),
		cmocka_unit_test(test_map_invalid_records_dropped),
		cmocka_unit_test(test_map_bad_envelopes_dropped),
		cmocka_unit_test(test_map_uri_known_when_record_invalid),
		cmocka_unit_test(test_map_body_limit),
		cmocka_unit_test(
		    test_map_batch_item_upsert_carries_the_single_body),
		cmocka_unit_test(test_map_batch_item_delete_names_uri_and_rev),
		cmocka_unit_test(test_map_batch_item_refuses_unmapped_call),
		cmocka_unit_test(test_map_identity_carries_hint_and_order),
		cmocka_unit_test(test_map_account_status),
		cmocka_unit_test(test_map_profile_ops),
		cmocka_unit_test(test_map_label_apply_negate),
		cmocka_unit_test(test_map_lifecycle_never_batched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
