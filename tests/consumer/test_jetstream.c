/* SPDX-License-Identifier: ISC */
/* Jetstream events -> RabbitMQ messages: real events from the production
 * Jetstream capture, and hostile ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "buf.h"
#include "jetstream.h"

static const char *calendar[] = {
	"community.lexicon.calendar.event", "community.lexicon.calendar.rsvp",
	NULL,
};

static enum jetstream_result
translate(const char *s, const char *const *colls, struct atc_buf *body,
    struct jetstream_event *ev)
{
	char	err[256];

	atc_buf_reset(body);
	return jetstream_translate(s, strlen(s), colls, false, "js.example", body, ev,
	    err, sizeof(err));
}

static void
test_jetstream_real_capture_translates(void **state)
{
	const char		*dir = getenv("FIXTURES_DIR");
	char			 path[512], *line = NULL;
	size_t			 cap = 0;
	ssize_t			 n;
	FILE			*f;
	struct atc_buf		 body;
	struct jetstream_event	 ev;
	int			 publish = 0, skip = 0, invalid = 0;
	json_t			*in, *out;

	(void)snprintf(path, sizeof(path), "%s/jetstream-corpus/"
	    "expected_v1.jsonl", dir ? dir : "../shared/fixtures");
	if ((f = fopen(path, "r")) == NULL) {
		print_message("skipped: %s absent (../shared missing)\n", path);
		skip();
	}
	atc_buf_init(&body, 0);
	while ((n = getline(&line, &cap, f)) > 0) {
		switch (translate(line, NULL, &body, &ev)) {
		case JETSTREAM_PUBLISH:
			publish++;
			in = json_loads(line, 0, NULL);
			out = json_loads(atc_buf_cstr(&body), 0, NULL);
			assert_non_null(out);
			/* The body is the event plus seq and source. */
			assert_int_equal(json_integer_value(json_object_get(out,
			    "seq")), ev.time_us);
			assert_string_equal(json_string_value(json_object_get(
			    out, "source")), "js.example");
			json_object_del(out, "seq");
			json_object_del(out, "source");
			assert_true(json_equal(in, out));
			assert_true(strncmp(ev.message_id, "at://", 5) == 0);
			json_decref(in);
			json_decref(out);
			break;
		case JETSTREAM_SKIP:
			skip++;
			break;
		default:
			invalid++;
		}
		/* No calendar record in this window: all filtered. */
		assert_int_equal(translate(line, calendar, &body, &ev),
		    JETSTREAM_SKIP);
	}
	free(line);
	fclose(f);
	atc_buf_cleanup(&body);
	assert_int_equal(publish, 150);
	assert_int_equal(skip, 2);
	assert_int_equal(invalid, 0);
}

static void
test_jetstream_identity_and_account_forwarded_when_asked(void **state)
{
	struct atc_buf		body;
	struct jetstream_event	ev;
	char			err[256];
	static const char	*id = "{\"did\":\"did:plc:abc\",\"time_us\":5,"
	    "\"kind\":\"identity\",\"identity\":{\"did\":\"did:plc:abc\","
	    "\"handle\":\"alice.example.com\",\"seq\":9,\"time\":"
	    "\"2026-07-04T14:38:08.999Z\"}}";
	static const char	*acct = "{\"did\":\"did:plc:abc\",\"time_us\":6,"
	    "\"kind\":\"account\",\"account\":{\"active\":false,\"did\":"
	    "\"did:plc:abc\",\"seq\":10,\"status\":\"deactivated\",\"time\":"
	    "\"2026-07-04T14:38:08.999Z\"}}";

	atc_buf_init(&body, 0);
	assert_int_equal(jetstream_translate(id, strlen(id), calendar, false,
	    "js", &body, &ev, err, sizeof(err)), JETSTREAM_SKIP);
	assert_int_equal(jetstream_translate(id, strlen(id), calendar, true,
	    "js", &body, &ev, err, sizeof(err)), JETSTREAM_PUBLISH);
	assert_string_equal(ev.routing_key, "identity.update");
	assert_non_null(strstr(atc_buf_cstr(&body), "\"source\":\"js\""));
	atc_buf_reset(&body);
	assert_int_equal(jetstream_translate(acct, strlen(acct), calendar,
	    true, "js", &body, &ev, err, sizeof(err)), JETSTREAM_PUBLISH);
	assert_string_equal(ev.routing_key, "account.deactivated");
	assert_string_equal(ev.message_id, "did:plc:abc#6");
	atc_buf_cleanup(&body);
}

static void
test_jetstream_calendar_event_routing(void **state)
{
	struct atc_buf		body;
	struct jetstream_event	ev;

	atc_buf_init(&body, 0);
	assert_int_equal(translate("{\"did\":\"did:plc:abc\",\"time_us\":17,"
	    "\"kind\":\"commit\",\"commit\":{\"rev\":\"3mptbypluud2a\","
	    "\"operation\":\"create\",\"collection\":"
	    "\"community.lexicon.calendar.event\",\"rkey\":\"3mptbyplj5d2a\","
	    "\"record\":{\"name\":\"x\"},\"cid\":"
	    "\"bafyreiguce4jh7kcbmof3pmcvasifqtw24b6isakj5ve5ga2b4z4alpc4i\"}}",
	    calendar, &body, &ev), JETSTREAM_PUBLISH);
	assert_string_equal(ev.routing_key, "event.create");
	assert_string_equal(ev.message_id, "at://did:plc:abc/community."
	    "lexicon.calendar.event/3mptbyplj5d2a#3mptbypluud2a");
	assert_int_equal(ev.time_us, 17);
	assert_int_equal(translate("{\"did\":\"did:plc:abc\",\"time_us\":18,"
	    "\"kind\":\"commit\",\"commit\":{\"rev\":\"3mptbypluud2a\","
	    "\"operation\":\"delete\",\"collection\":"
	    "\"community.lexicon.calendar.rsvp\",\"rkey\":\"3mptbyplj5d2a\"}}",
	    calendar, &body, &ev), JETSTREAM_PUBLISH);
	assert_string_equal(ev.routing_key, "rsvp.delete");
	atc_buf_cleanup(&body);
}

static void
test_jetstream_hostile_events_rejected(void **state)
{
	static const char *bad[] = {
		"",
		"[]",
		"{\"did\":1}",
		"{\"did\":\"did:plc:abc\",\"time_us\":1,\"kind\":\"commit\"}",
		"{\"did\":\"not a did\",\"time_us\":1,\"kind\":\"commit\"}",
		"{\"did\":\"did:plc:abc\",\"time_us\":-5,\"kind\":\"commit\"}",
		/* rkey with a slash */
		"{\"did\":\"did:plc:abc\",\"time_us\":1,\"kind\":\"commit\","
		"\"commit\":{\"rev\":\"3mptbypluud2a\",\"operation\":\"delete\","
		"\"collection\":\"community.lexicon.calendar.event\","
		"\"rkey\":\"a/b\"}}",
		/* create without a record */
		"{\"did\":\"did:plc:abc\",\"time_us\":1,\"kind\":\"commit\","
		"\"commit\":{\"rev\":\"3mptbypluud2a\",\"operation\":\"create\","
		"\"collection\":\"community.lexicon.calendar.event\","
		"\"rkey\":\"abc\"}}",
		/* unknown operation */
		"{\"did\":\"did:plc:abc\",\"time_us\":1,\"kind\":\"commit\","
		"\"commit\":{\"rev\":\"3mptbypluud2a\",\"operation\":\"merge\","
		"\"collection\":\"community.lexicon.calendar.event\","
		"\"rkey\":\"abc\"}}",
		/* bad rev */
		"{\"did\":\"did:plc:abc\",\"time_us\":1,\"kind\":\"commit\","
		"\"commit\":{\"rev\":\"zzz\",\"operation\":\"delete\","
		"\"collection\":\"community.lexicon.calendar.event\","
		"\"rkey\":\"abc\"}}",
		/* duplicate keys */
		"{\"did\":\"did:plc:abc\",\"did\":\"did:plc:abd\",\"time_us\":1,"
		"\"kind\":\"commit\"}",
	};
	struct atc_buf		body;
	struct jetstream_event	ev;
	size_t			i;

	atc_buf_init(&body, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(translate(bad[i], calendar, &body, &ev),
		    JETSTREAM_INVALID);
	assert_int_equal(body.len, 0);
	atc_buf_cleanup(&body);
}

static void
test_jetstream_deep_record_rejected(void **state)
{
	struct atc_buf		body, in;
	struct jetstream_event	ev;
	int			i;

	atc_buf_init(&body, 0);
	atc_buf_init(&in, 0);
	atc_buf_puts(&in, "{\"did\":\"did:plc:abc\",\"time_us\":1,\"kind\":"
	    "\"commit\",\"commit\":{\"rev\":\"3mptbypluud2a\",\"operation\":"
	    "\"create\",\"collection\":\"community.lexicon.calendar.event\","
	    "\"rkey\":\"abc\",\"cid\":\"bafyreiguce4jh7kcbmof3pmcvasifqtw24b6"
	    "isakj5ve5ga2b4z4alpc4i\",\"record\":");
	for (i = 0; i < 100; i++)
		atc_buf_puts(&in, "{\"a\":");
	atc_buf_puts(&in, "1");
	for (i = 0; i < 100; i++)
		atc_buf_puts(&in, "}");
	atc_buf_puts(&in, "}}");
	assert_int_equal(translate(atc_buf_cstr(&in), calendar, &body, &ev),
	    JETSTREAM_INVALID);
	atc_buf_cleanup(&in);
	atc_buf_cleanup(&body);
}

static void
test_jetstream_url_building(void **state)
{
	struct atc_buf	u;

	assert_true(jetstream_is_url("wss://j.example/subscribe"));
	assert_true(jetstream_is_url("ws://127.0.0.1:6008/subscribe?x=1"));
	assert_false(jetstream_is_url("wss://bsky.network/xrpc/"
	    "com.atproto.sync.subscribeRepos"));
	atc_buf_init(&u, 0);
	jetstream_build_url(&u, "wss://j.example/subscribe", calendar, 42);
	assert_string_equal(atc_buf_cstr(&u), "wss://j.example/subscribe"
	    "?wantedCollections=community.lexicon.calendar.event"
	    "&wantedCollections=community.lexicon.calendar.rsvp&cursor=42");
	atc_buf_cleanup(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jetstream_real_capture_translates),
		cmocka_unit_test(test_jetstream_calendar_event_routing),
		cmocka_unit_test(test_jetstream_identity_and_account_forwarded_when_asked),
		cmocka_unit_test(test_jetstream_hostile_events_rejected),
		cmocka_unit_test(test_jetstream_deep_record_rejected),
		cmocka_unit_test(test_jetstream_url_building),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
