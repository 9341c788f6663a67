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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void
test_auth_keys_from_file_text(void **state)
{
	static const char	 file[] = "# rotated 2026-05\n"
	    "  new-key = \n"
	    "\r\n"
	    "new-key-t=t1|t2\r\n"
	    "   # indented comment\n"
	    "last-key";
	struct api_keys		*ks = NULL;
	char			 err[ATC_ERRLEN];

	/* "new-key = " is a key with an empty tenant list: rejected. */
	assert_int_equal(api_keys_load(NULL, file, &ks, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "SERVICE_API_KEYS_FILE line 2"));
	assert_null(strstr(err, "new-key"));
	assert_int_equal(api_keys_load("old-key", "# c\nnew-key\n"
	    "new-key-t=t1|t2\r\nlast-key", &ks, err, sizeof(err)), 0);
	assert_int_equal(api_keys_count(ks), 4);
	/* Rotation: old and new keys are valid at once. */
	assert_int_equal(check(ks, "old-key", "t9"), API_AUTH_OK);
	assert_int_equal(check(ks, "new-key", "t9"), API_AUTH_OK);
	assert_int_equal(check(ks, "new-key-t", "t2"), API_AUTH_OK);
	assert_int_equal(check(ks, "new-key-t", "t3"), API_AUTH_FORBIDDEN);
	assert_int_equal(check(ks, "last-key", "t3"), API_AUTH_OK);
	assert_int_equal(check(ks, "# c", "t3"), API_AUTH_BAD_KEY);
	api_keys_free(ks);
}

static void
test_auth_duplicate_and_bad_entries(void **state)
{
	struct api_keys	*ks = NULL;
	char		 err[ATC_ERRLEN];

	assert_int_equal(api_keys_load("same-key", "same-key=t1", &ks, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "twice"));
	assert_null(strstr(err, "same-key"));
	assert_int_equal(api_keys_load(NULL, "has space", &ks, err,
	    sizeof(err)), -1);
	assert_int_equal(api_keys_load(NULL, "# only a comment\n", &ks, err,
	    sizeof(err)), -1);
	assert_int_equal(api_keys_load(NULL, NULL, &ks, err, sizeof(err)), -1);
	assert_null(ks);
}

static void
test_auth_fingerprints(void **state)
{
	struct api_keys	*ks = NULL;
	char		 err[ATC_ERRLEN], fp[API_KEY_FP_LEN + 1];
	size_t		 idx = 99;

	/* First 8 hex digits of SHA-256("abc"). */
	api_key_fingerprint("abc", 3, fp);
	assert_string_equal(fp, "ba7816bf");
	assert_int_equal(api_keys_parse("abc,def=t1", &ks, err, sizeof(err)),
	    0);
	assert_string_equal(api_keys_fingerprint(ks, 0), "ba7816bf");
	assert_string_equal(api_keys_fingerprint(ks, 5), "-");
	assert_int_equal(api_keys_match(ks, "def", 3, "t2", &idx),
	    API_AUTH_FORBIDDEN);
	assert_int_equal(idx, 1);
	assert_int_equal(api_keys_match(ks, "abc", 3, "t2", &idx),
	    API_AUTH_OK);
	assert_int_equal(idx, 0);
	assert_int_equal(api_keys_find(ks, "BA7816BF", &idx), 0);
	assert_int_equal(idx, 0);
	assert_int_equal(api_keys_find(ks, "00000000", &idx), -1);
	api_keys_free(ks);
}

static void
test_auth_read_file(void **state)
{
	char	path[] = "/tmp/test_auth_keys.XXXXXX", err[ATC_ERRLEN];
	char	*text = NULL;
	int	fd;

	assert_true((fd = mkstemp(path)) != -1);
	assert_int_equal(write(fd, "k1\nk2=t1\n", 9), 9);
	close(fd);
	assert_int_equal(api_keys_read_file(path, &text, err, sizeof(err)), 0);
	assert_string_equal(text, "k1\nk2=t1\n");
	api_keys_text_free(text);
	unlink(path);
	assert_int_equal(api_keys_read_file(path, &text, err, sizeof(err)),
	    -1);
	assert_null(text);
	assert_int_equal(api_keys_read_file("/", &text, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_parse_and_check),
		cmocka_unit_test(test_auth_bad_keys),
		cmocka_unit_test(test_auth_parse_rejects),
		cmocka_unit_test(test_auth_bearer),
		cmocka_unit_test(test_auth_keys_from_file_text),
		cmocka_unit_test(test_auth_duplicate_and_bad_entries),
		cmocka_unit_test(test_auth_fingerprints),
		cmocka_unit_test(test_auth_read_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
