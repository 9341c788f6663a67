/* SPDX-License-Identifier: ISC */
/*
 * api/ratelimit.c: rate parsing, GCRA token buckets per key (burst, then
 * the sustained rate, Retry-After rounding), per-key overrides by
 * fingerprint, the failed-authentication buckets per client address, and
 * sharing across fork (the point of the MAP_SHARED arena).
 */
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "ratelimit.h"
#include "util.h"

#define T0	1000000000ULL	/* an arbitrary monotonic start, us */

static void
test_ratelimit_rate_parse(void **state)
{
	static const char *const bad[] = { "", "10", "10:", ":5", "0:5",
	    "-1:5", "10:0", "10:x", "x:10", "nan:3", "1e9:5", "10:5:3",
	    "OFF" };
	struct ratelimit_rate	r;
	char			err[ATC_ERRLEN];
	size_t			i;

	assert_int_equal(ratelimit_rate_parse("100:2000", &r, err,
	    sizeof(err)), 0);
	assert_true(r.rps == 100 && r.burst == 2000);
	assert_int_equal(ratelimit_rate_parse("0.5:3", &r, err, sizeof(err)),
	    0);
	assert_true(r.rps == 0.5 && r.burst == 3);
	assert_int_equal(ratelimit_rate_parse("off", &r, err, sizeof(err)), 0);
	assert_true(r.rps == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ratelimit_rate_parse(bad[i], &r, err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_ratelimit_key_burst_then_rate(void **state)
{
	struct ratelimit_rate	 rate = { 10, 5 };	/* 10/s, burst 5 */
	struct ratelimit	*rl;
	uint64_t		 wait;
	int			 i;

	assert_non_null(rl = ratelimit_new(2, &rate, 16, NULL));
	for (i = 0; i < 5; i++)
		assert_int_equal(ratelimit_key_take(rl, 0, T0), 0);
	wait = ratelimit_key_take(rl, 0, T0);
	/* The next token is due 100 ms later. */
	assert_true(wait > 99000 && wait <= 100001);
	assert_int_equal(ratelimit_retry_after_s(wait), 1);
	/* Another key has its own bucket. */
	assert_int_equal(ratelimit_key_take(rl, 1, T0), 0);
	/* 100 ms later exactly one more passes. */
	assert_int_equal(ratelimit_key_take(rl, 0, T0 + 100000), 0);
	assert_true(ratelimit_key_take(rl, 0, T0 + 100000) > 0);
	/* After a long pause the bucket is full again, not fuller. */
	for (i = 0; i < 5; i++)
		assert_int_equal(ratelimit_key_take(rl, 0, T0 + 60000000), 0);
	assert_true(ratelimit_key_take(rl, 0, T0 + 60000000) > 0);
	/* Out-of-range keys are not limited (never crash). */
	assert_int_equal(ratelimit_key_take(rl, 7, T0), 0);
	ratelimit_free(rl);
}

static void
test_ratelimit_backfill_not_starved(void **state)
{
	/* OpenMeet failure 11: the API's default (1000/s, burst 20000)
	 * lets a 5,000-request burst from one key through at once. */
	struct ratelimit_rate	 rate;
	struct ratelimit	*rl;
	char			 err[ATC_ERRLEN];
	int			 i;

	assert_int_equal(ratelimit_rate_parse("1000:20000", &rate, err,
	    sizeof(err)), 0);
	assert_non_null(rl = ratelimit_new(1, &rate, 16, NULL));
	for (i = 0; i < 5000; i++)
		assert_int_equal(ratelimit_key_take(rl, 0, T0), 0);
	ratelimit_free(rl);
}

static void
test_ratelimit_off_is_unlimited(void **state)
{
	struct ratelimit_rate	 off = { 0, 0 };
	struct ratelimit	*rl;
	int			 i;

	assert_non_null(rl = ratelimit_new(1, &off, 16, &off));
	for (i = 0; i < 100000; i++)
		assert_int_equal(ratelimit_key_take(rl, 0, T0), 0);
	ratelimit_addr_failed(rl, "\x7f\0\0\1", 4, T0);
	assert_int_equal(ratelimit_addr_blocked(rl, "\x7f\0\0\1", 4, T0), 0);
	ratelimit_free(rl);
}

static void
test_ratelimit_key_overrides_by_fingerprint(void **state)
{
	struct ratelimit_rate	 rate = { 1000, 1000 };
	struct api_keys		*ks = NULL;
	struct ratelimit	*rl;
	char			 err[ATC_ERRLEN], spec[64];
	char			 fp[API_KEY_FP_LEN + 1];

	assert_int_equal(api_keys_parse("alpha,beta", &ks, err, sizeof(err)),
	    0);
	assert_non_null(rl = ratelimit_new(2, &rate, 16, NULL));
	api_key_fingerprint("beta", 4, fp);
	(void)snprintf(spec, sizeof(spec), "%s:1:2", fp);
	assert_int_equal(ratelimit_configure_keys(rl, ks, spec, err,
	    sizeof(err)), 0);
	assert_int_equal(ratelimit_key_take(rl, 1, T0), 0);
	assert_int_equal(ratelimit_key_take(rl, 1, T0), 0);
	assert_true(ratelimit_key_take(rl, 1, T0) > 900000);
	assert_int_equal(ratelimit_key_take(rl, 0, T0), 0);
	assert_int_equal(ratelimit_configure_keys(rl, ks, "00000000:1:1", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "fingerprint"));
	(void)snprintf(spec, sizeof(spec), "%s:fast", fp);
	assert_int_equal(ratelimit_configure_keys(rl, ks, spec, err,
	    sizeof(err)), -1);
	(void)snprintf(spec, sizeof(spec), "%s", fp);
	assert_int_equal(ratelimit_configure_keys(rl, ks, spec, err,
	    sizeof(err)), -1);
	ratelimit_free(rl);
	api_keys_free(ks);
}

static void
test_ratelimit_failed_auth_per_address(void **state)
{
	struct ratelimit_rate	 fail = { 1, 3 };	/* 3, then 1/s */
	struct ratelimit	*rl;
	const char		*a = "\x0a\0\0\1", *b = "\x0a\0\0\2";
	uint64_t		 wait;
	int			 i;

	assert_non_null(rl = ratelimit_new(0, NULL, 64, &fail));
	for (i = 0; i < 3; i++) {
		assert_int_equal(ratelimit_addr_blocked(rl, a, 4, T0), 0);
		ratelimit_addr_failed(rl, a, 4, T0);
	}
	wait = ratelimit_addr_blocked(rl, a, 4, T0);
	assert_true(wait > 0 && wait <= 1000001);
	/* Another address is not affected. */
	assert_int_equal(ratelimit_addr_blocked(rl, b, 4, T0), 0);
	/* A second later one more attempt is allowed. */
	assert_int_equal(ratelimit_addr_blocked(rl, a, 4, T0 + 1000000), 0);
	ratelimit_free(rl);
}

static void
test_ratelimit_ipv6_counts_by_prefix(void **state)
{
	struct ratelimit_rate	 fail = { 1, 1 };
	struct ratelimit	*rl;
	unsigned char		 a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 };
	unsigned char		 b[16], c[16];

	memcpy(b, a, 16);
	b[15] = 0x42;		/* same /64 */
	memcpy(c, a, 16);
	c[7] = 2;		/* another /64 */
	assert_non_null(rl = ratelimit_new(0, NULL, 64, &fail));
	ratelimit_addr_failed(rl, a, 16, T0);
	assert_true(ratelimit_addr_blocked(rl, b, 16, T0) > 0);
	assert_int_equal(ratelimit_addr_blocked(rl, c, 16, T0), 0);
	ratelimit_free(rl);
}

static void
test_ratelimit_address_table_is_bounded(void **state)
{
	/* Far more addresses than slots: memory stays fixed, nothing
	 * crashes, and a recent offender is still blocked. */
	struct ratelimit_rate	 fail = { 1, 1 };
	struct ratelimit	*rl;
	uint32_t		 i;

	assert_non_null(rl = ratelimit_new(0, NULL, 16, &fail));
	for (i = 0; i < 100000; i++)
		ratelimit_addr_failed(rl, &i, 4, T0 + i);
	i = 99999;
	assert_true(ratelimit_addr_blocked(rl, &i, 4, T0 + i) > 0);
	ratelimit_free(rl);
}

static void
test_ratelimit_shared_across_fork(void **state)
{
	struct ratelimit_rate	 rate = { 1, 100 };
	struct ratelimit	*rl;
	pid_t			 pid;
	int			 i, st, allowed = 0;

	assert_non_null(rl = ratelimit_new(1, &rate, 16, NULL));
	if ((pid = fork()) == 0) {
		for (i = 0; i < 60; i++)
			(void)ratelimit_key_take(rl, 0, T0);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	/* The child used 60 of the 100 tokens. */
	for (i = 0; i < 100; i++)
		if (ratelimit_key_take(rl, 0, T0) == 0)
			allowed++;
	assert_int_equal(allowed, 40);
	ratelimit_free(rl);
}

static void
test_ratelimit_retry_after_rounding(void **state)
{
	assert_int_equal(ratelimit_retry_after_s(1), 1);
	assert_int_equal(ratelimit_retry_after_s(1000000), 1);
	assert_int_equal(ratelimit_retry_after_s(1000001), 2);
	assert_int_equal(ratelimit_retry_after_s(UINT64_C(1) << 50), 3600);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratelimit_rate_parse),
		cmocka_unit_test(test_ratelimit_key_burst_then_rate),
		cmocka_unit_test(test_ratelimit_backfill_not_starved),
		cmocka_unit_test(test_ratelimit_off_is_unlimited),
		cmocka_unit_test(test_ratelimit_key_overrides_by_fingerprint),
		cmocka_unit_test(test_ratelimit_failed_auth_per_address),
		cmocka_unit_test(test_ratelimit_ipv6_counts_by_prefix),
		cmocka_unit_test(test_ratelimit_address_table_is_bounded),
		cmocka_unit_test(test_ratelimit_shared_across_fork),
		cmocka_unit_test(test_ratelimit_retry_after_rounding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
