/* SPDX-License-Identifier: ISC */
/*
 * api/input.c: request-level syntax (DTO dates, at-uris, tenants, numeric
 * strings, query strings). Table-driven; every case names its input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "input.h"

static void
test_input_datetime_accepts_and_normalises(void **state)
{
	static const struct {
		const char	*in, *want;
	} cases[] = {
		{ "2026-05-01T18:00:00Z", "2026-05-01T18:00:00Z" },
		{ "2026-05-01T18:00:00.123Z", "2026-05-01T18:00:00.123Z" },
		{ "2026-05-01T18:00Z", "2026-05-01T18:00:00Z" },
		{ "2026-05-01T18:00:00", "2026-05-01T18:00:00Z" },
		{ "2026-05-01", "2026-05-01T00:00:00Z" },
		{ "2026-05-01t18:00:00z", "2026-05-01T18:00:00Z" },
		{ "2026-05-01T18:00:00+02:00", "2026-05-01T18:00:00+02:00" },
		{ "2026-05-01T18:00:00-0530", "2026-05-01T18:00:00-05:30" },
		{ "2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z" },
		{ "2026-05-01T18:00:00.123456789Z",
		    "2026-05-01T18:00:00.123456789Z" },
	};
	char	out[64];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (api_datetime_normalize(cases[i].in, out, sizeof(out)) != 0)
			fail_msg("rejected %s", cases[i].in);
		assert_string_equal(out, cases[i].want);
	}
}

static void
test_input_datetime_rejects(void **state)
{
	static const char *const bad[] = {
		"", "2026", "2026-05", "2026-5-01", "2026-13-01", "2026-00-10",
		"2026-02-30", "2025-02-29T00:00:00Z", "2026-05-01 18:00:00Z",
		"2026-05-01T24:00:00Z", "2026-05-01T18:60:00Z",
		"2026-05-01T18:00:61Z", "2026-05-01T18:00:00.Z",
		"2026-05-01T18:00:00.1234567890Z", "2026-05-01T18:00:00+16:00",
		"2026-05-01T18:00:00+02", "2026-05-01T18:00:00Zjunk",
		"0000-01-01", "tomorrow", "2026-05-01T18",
	};
	char	out[64];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (api_datetime_normalize(bad[i], out, sizeof(out)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_input_number_strings(void **state)
{
	static const struct {
		const char	*in;
		int		 ok;
		double		 want;
	} cases[] = {
		{ "0", 1, 0 }, { "-0.5", 1, -0.5 }, { "48.8566", 1, 48.8566 },
		{ "+2", 1, 2 }, { "1e2", 1, 100 }, { ".5", 1, 0.5 },
		{ "5.", 1, 5 }, { "", 0, 0 }, { " 1", 0, 0 }, { "1 ", 0, 0 },
		{ "0x10", 0, 0 }, { "nan", 0, 0 }, { "inf", 0, 0 },
		{ "1e", 0, 0 }, { "north", 0, 0 }, { "-", 0, 0 },
		{ "1e999", 0, 0 },
	};
	double	d;
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d = -1;
		if (api_number_parse(cases[i].in, &d) != cases[i].ok)
			fail_msg("\"%s\": want %d", cases[i].in, cases[i].ok);
		if (cases[i].ok)
			assert_true(d == cases[i].want);
	}
}

static void
test_input_query_string(void **state)
{
	char	out[32];

	assert_int_equal(api_qs_get("a=1&sourceId=at%3A%2F%2Fx&b=2",
	    "sourceId", out, sizeof(out)), 1);
	assert_string_equal(out, "at://x");
	assert_int_equal(api_qs_get("xsourceId=1&sourceId=2", "sourceId", out,
	    sizeof(out)), 1);
	assert_string_equal(out, "2");
	assert_int_equal(api_qs_get("q=a+b", "q", out, sizeof(out)), 1);
	assert_string_equal(out, "a b");
	assert_int_equal(api_qs_get("q=", "q", out, sizeof(out)), 1);
	assert_string_equal(out, "");
	assert_int_equal(api_qs_get("a=1", "q", out, sizeof(out)), 0);
	assert_int_equal(api_qs_get("", "q", out, sizeof(out)), 0);
	assert_int_equal(api_qs_get("q=%zz", "q", out, sizeof(out)), -1);
	assert_int_equal(api_qs_get("q=%4", "q", out, sizeof(out)), -1);
	assert_int_equal(api_qs_get("q=%00", "q", out, sizeof(out)), -1);
	assert_int_equal(api_qs_get("q=0123456789012345678901234567890123",
	    "q", out, sizeof(out)), -1);
}

static void
test_input_aturi(void **state)
{
	char	did[128], coll[128], rkey[128], err[256];

	assert_int_equal(api_aturi_parse(
	    "at://did:plc:abc/community.lexicon.calendar.event/3mptbyplj5d2a",
	    did, coll, rkey, sizeof(did), err, sizeof(err)), 0);
	assert_string_equal(did, "did:plc:abc");
	assert_string_equal(coll, "community.lexicon.calendar.event");
	assert_string_equal(rkey, "3mptbyplj5d2a");
	/* Handles are valid at-uri authorities, but records need a DID. */
	assert_int_equal(api_aturi_parse(
	    "at://alice.test/community.lexicon.calendar.event/3mptbyplj5d2a",
	    did, coll, rkey, sizeof(did), err, sizeof(err)), -1);
	assert_int_equal(api_aturi_parse("at://did:plc:abc/community.x.y",
	    did, coll, rkey, sizeof(did), err, sizeof(err)), -1);
	assert_int_equal(api_aturi_parse("https://did:plc:abc/a.b.c/x",
	    did, coll, rkey, sizeof(did), err, sizeof(err)), -1);
	assert_int_equal(api_aturi_parse("at://did:plc:abc/a.b.c/..",
	    did, coll, rkey, sizeof(did), err, sizeof(err)), -1);
	assert_int_equal(api_aturi_parse("at://did:plc:abc/a.b.c/x", did,
	    coll, rkey, 4, err, sizeof(err)), -1);
}

static void
test_input_tenant(void **state)
{
	char	long_id[80];

	assert_true(api_tenant_ok("default"));
	assert_true(api_tenant_ok("tenant-1.eu_west"));
	assert_false(api_tenant_ok(""));
	assert_false(api_tenant_ok("a b"));
	assert_false(api_tenant_ok("a/b"));
	assert_false(api_tenant_ok("t'; DROP TABLE events; --"));
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	assert_false(api_tenant_ok(long_id));
	long_id[64] = '\0';
	assert_true(api_tenant_ok(long_id));
}

static const struct api_json_limits	lim = { 4, 16, 5 };

static const char *
limit_of(const char *json)
{
	struct api_limit_hit	hit;

	memset(&hit, 0, sizeof(hit));
	if (api_json_limits_check(json, strlen(json), &lim, &hit) == 0)
		return "ok";
	return hit.limit;
}

static void
test_input_json_limits_table(void **state)
{
	static const struct {
		const char	*json, *want;
	} cases[] = {
		{ "{\"a\":[1,2,{\"b\":[]}]}", "ok" },		/* depth 4 */
		{ "{\"a\":[1,2,{\"b\":[[]]}]}", "json_depth" },
		{ "[[[[[", "json_depth" },			/* unclosed */
		{ "\"[[[[[[[[[[\"", "ok" },		/* inside a string */
		{ "{\"k\":\"0123456789abcdef\"}", "ok" },	/* 16 bytes */
		{ "{\"k\":\"0123456789abcdefg\"}", "string_length" },
		{ "{\"0123456789abcdefg\":1}", "string_length" },
		{ "[\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\"]", "ok" },
		{ "[\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"x\"]",
		    "string_length" },			/* escapes count */
		{ "[1,2,3,4,5]", "ok" },
		{ "[1,2,3,4,5,6]", "array_size" },
		{ "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6}",
		    "array_size" },
		{ "[[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3]]", "ok" },
		/* Commas in a string; closing brackets left to the parser. */
		{ "[\"a,b,c,d,e,f,g\"]", "ok" },
		{ "]]]]}}}}[1]", "ok" },
		{ "", "ok" },
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (strcmp(limit_of(cases[i].json), cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].json,
			    limit_of(cases[i].json), cases[i].want);
}

static void
test_input_json_limits_status(void **state)
{
	struct api_json_limits	big = { API_JSON_DEPTH_CAP, 1 << 20, 1000 };
	struct api_limit_hit	hit;
	char			deep[API_JSON_DEPTH_CAP + 2];

	api_limit_hit_set(&hit, "body_size", 10);
	assert_int_equal(hit.status, 413);
	assert_int_equal(hit.max, 10);
	api_limit_hit_set(&hit, "batch_items", 500);
	assert_int_equal(hit.status, 413);
	assert_int_equal(api_json_limits_check("[[[[[[", 6, &lim, &hit), -1);
	assert_string_equal(hit.limit, "json_depth");
	assert_int_equal(hit.status, 422);
	assert_int_equal(hit.max, 4);
	/* The cap holds even when configured at it. */
	memset(deep, '[', sizeof(deep));
	assert_int_equal(api_json_limits_check(deep, sizeof(deep), &big,
	    &hit), -1);
	assert_string_equal(hit.limit, "json_depth");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input_datetime_accepts_and_normalises),
		cmocka_unit_test(test_input_json_limits_table),
		cmocka_unit_test(test_input_json_limits_status),
		cmocka_unit_test(test_input_datetime_rejects),
		cmocka_unit_test(test_input_number_strings),
		cmocka_unit_test(test_input_query_string),
		cmocka_unit_test(test_input_aturi),
		cmocka_unit_test(test_input_tenant),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
