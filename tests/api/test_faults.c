/* SPDX-License-Identifier: ISC */
/*
 * api/faults.c: the test-only fault switch. Spec parsing, the share of
 * injected 500s, and the file toggle (re-read at most once a second,
 * missing file = no faults, stall applied).
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

#include "faults.h"
#include "log.h"
#include "util.h"

static void
test_faults_parse(void **state)
{
	static const char *const bad[] = { "error500", "error500=", "x=1",
	    "error500=101", "error500=-1", "stall=60001", "stall=5s",
	    "error500=20;stall=1" };
	struct faults_spec	f;
	char			err[ATC_ERRLEN];
	size_t			i;

	assert_int_equal(faults_parse("error500=20", &f, err, sizeof(err)), 0);
	assert_int_equal(f.error500_pct, 20);
	assert_int_equal(f.stall_ms, 0);
	assert_int_equal(faults_parse(" stall=5000\n", &f, err, sizeof(err)),
	    0);
	assert_int_equal(f.stall_ms, 5000);
	assert_int_equal(f.error500_pct, 0);
	assert_int_equal(faults_parse("error500=100,stall=1", &f, err,
	    sizeof(err)), 0);
	assert_true(f.error500_pct == 100 && f.stall_ms == 1);
	assert_int_equal(faults_parse("", &f, err, sizeof(err)), 0);
	assert_true(f.error500_pct == 0 && f.stall_ms == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (faults_parse(bad[i], &f, err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

/* One process, so one test drives the switch through its states. */
static void
test_faults_file_toggle_and_share(void **state)
{
	char		path[] = "/tmp/test_faults.XXXXXX", err[ATC_ERRLEN];
	uint64_t	t = 1000000, t0;
	int		fd, i, n500;

	assert_int_equal(faults_enabled(), 0);
	assert_int_equal(faults_apply(t), FAULTS_NONE);
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	write_file(path, "error500=20\n");
	assert_int_equal(faults_init(NULL, path, err, sizeof(err)), 0);
	assert_int_equal(faults_enabled(), 1);
	for (i = n500 = 0; i < 10000; i++)
		n500 += faults_apply(t) == FAULTS_ERROR500;
	/* 20% of 10,000: binomial sd 40, so 1,800..2,200 is > 5 sd. */
	if (n500 < 1800 || n500 > 2200)
		fail_msg("error500=20 gave %d of 10000", n500);
	/* Switched to 100%: not seen before a second has passed... */
	write_file(path, "error500=100");
	for (i = n500 = 0; i < 1000; i++)
		n500 += faults_apply(t + 500) == FAULTS_ERROR500;
	assert_true(n500 < 1000);
	/* ...then seen; then off. */
	assert_int_equal(faults_apply(t + 1000), FAULTS_ERROR500);
	write_file(path, "");
	for (i = 0; i < 1000; i++)
		assert_int_equal(faults_apply(t + 2000), FAULTS_NONE);
	t += 1000;
	for (i = 0; i < 1000; i++)
		assert_int_equal(faults_apply(t + 1000), FAULTS_NONE);
	write_file(path, "error500=100");
	assert_int_equal(faults_apply(t + 2000), FAULTS_ERROR500);
	/* A bad file means no faults (and a log line), never a crash. */
	write_file(path, "error500=lots");
	assert_int_equal(faults_apply(t + 3000), FAULTS_NONE);
	/* Stall: the call takes at least that long. */
	write_file(path, "stall=150");
	t0 = atc_mono_ms();
	assert_int_equal(faults_apply(t + 4000), FAULTS_NONE);
	assert_true(atc_mono_ms() - t0 >= 150);
	/* Missing file: none. */
	unlink(path);
	assert_int_equal(faults_apply(t + 5000), FAULTS_NONE);
	t0 = atc_mono_ms();
	assert_int_equal(faults_apply(t + 5000), FAULTS_NONE);
	assert_true(atc_mono_ms() - t0 < 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_faults_parse),
		cmocka_unit_test(test_faults_file_toggle_and_share),
	};

	atc_log_init("test", ATC_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
