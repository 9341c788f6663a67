/* SPDX-License-Identifier: ISC */
/*
 * api/auth.c: SERVICE_API_KEYS parsing, key and tenant checks (OpenMeet
 * failure 14: keys compared in constant time, every key always compared),
 * and Bearer credential extraction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"
#include "util.h"

static enum api_auth
check(const struct api_keys *ks, const char *key, const char *tenant)
{
	return api_keys_check(ks, key, key != NULL ? strlen(key) : 0, tenant);
}

static void
test_auth_parse_and_check(void **state)
{
	struct api_keys	*ks = NULL;
	char		 err[ATC_ERRLEN];

	assert_int_equal(api_keys_parse(" alpha-key , beta-key=t1|t2,"
	    "gamma=t3 ", &ks, err, sizeof(err)), 0);
	assert_int_equal(api_keys_count(ks), 3);
	assert_int_equal(check(ks, "alpha-key", "anything"), API_AUTH_OK);
	assert_int_equal(check(ks, "beta-key", "t1"), API_AUTH_OK);
	assert_int_equal(check(ks, "beta-key", "t2"), API_AUTH_OK);
	assert_int_equal(check(ks, "beta-key", "t3"), API_AUTH_FORBIDDEN);
	assert_int_equal(check(ks, "beta-key", NULL), API_AUTH_FORBIDDEN);
	assert_int_equal(check(ks, "gamma", "t3"), API_AUTH_OK);
	api_keys_free(ks);
}

static void
test_auth_bad_keys(void **state)
{
	struct api_keys	*ks = NULL;
	char		 err[ATC_ERRLEN];

	assert_int_equal(api_keys_parse("alpha-key", &ks, err, sizeof(err)),
	    0);
	assert_int_equal(check(ks, NULL, "t"), API_AUTH_BAD_KEY);
	assert_int_equal(check(ks, "", "t"), API_AUTH_BAD_KEY);
	assert_int_equal(check(ks, "alpha", "t"), API_AUTH_BAD_KEY);
	assert_int_equal(check(ks, "alpha-key2", "t"), API_AUTH_BAD_KEY);
	assert_int_equal(check(ks, "ALPHA-KEY", "t"), API_AUTH_BAD_KEY);
	assert_int_equal(check(ks, "alpha-kez", "t"), API_AUTH_BAD_KEY);
	/* A key given with its length: embedded bytes past it don't count. */
	assert_int_equal(api_keys_check(ks, "alpha-key-extra", 9, "t"),
	    API_AUTH_OK);
	api_keys_free(ks);
}

static void
test_auth_parse_rejects(void **state)
{
	static const char *const bad[] = { "", " , ", "=t1", "key=",
	    "key=t1||t2", "key=bad tenant", "key=t1|" };
	struct api_keys	*ks;
	char		 err[ATC_ERRLEN];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ks = NULL;
		if (api_keys_parse(bad[i], &ks, err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_null(ks);
		/* The message never echoes key material. */
		assert_null(strstr(err, "key=t"));
	}
	assert_int_equal(api_keys_parse(NULL, &ks, err, sizeof(err)), -1);
}

static void
test_auth_bearer(void **state)
{
	const char	*tok;
	size_t		 len;

	assert_int_equal(api_bearer_token("Bearer abc", &tok, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(tok, "abc", 3);
	assert_int_equal(api_bearer_token("bearer   abc  ", &tok, &len), 0);
	assert_int_equal(len, 3);
	assert_int_equal(api_bearer_token("Basic abc", &tok, &len), -1);
	assert_int_equal(api_bearer_token("Bearer", &tok, &len), -1);
	assert_int_equal(api_bearer_token("Bearer   ", &tok, &len), -1);
	assert_int_equal(api_bearer_token("Bearerabc", &tok, &len), -1);
	assert_int_equal(api_bearer_token(NULL, &tok, &len), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_parse_and_check),
		cmocka_unit_test(test_auth_bad_keys),
		cmocka_unit_test(test_auth_parse_rejects),
		cmocka_unit_test(test_auth_bearer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
