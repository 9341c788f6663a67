/* SPDX-License-Identifier: ISC */
/*
 * TID codec: known values (cross-checked with the capture's time_us),
 * round trips, ordering and rejection of malformed strings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "tid.h"
#include "util.h"

static void
test_tid_parse_known(void **state)
{
	struct atc_tid	t;
	char		err[ATC_ERRLEN];

	/* rev of a commit captured at time_us 1783175888085434. */
	assert_int_equal(atc_tid_parse(&t, "3mptbypluud2a", err,
	    sizeof(err)), 0);
	assert_int_equal(t.us, 1783175887514441ULL);
	assert_int_equal(t.clock_id, 6);

	assert_int_equal(atc_tid_parse(&t, "3migo7fijwi2k", err,
	    sizeof(err)), 0);
	assert_int_equal(t.us, 1775045738708878ULL);
	assert_int_equal(t.clock_id, 16);

	assert_int_equal(atc_tid_parse(&t, "2222222222222", err,
	    sizeof(err)), 0);
	assert_int_equal(t.us, 0);
	assert_int_equal(t.clock_id, 0);

	assert_int_equal(atc_tid_parse(&t, "bzzzzzzzzzzzz", err,
	    sizeof(err)), 0);
	assert_int_equal(t.us, (1ULL << 53) - 1);
	assert_int_equal(t.clock_id, 1023);
}

static void
test_tid_format_roundtrip(void **state)
{
	static const char *const tids[] = {
		"3mptbypluud2a", "3migo7fijwi2k", "2222222222222",
		"3zzzzzzzzzzzz", "7777777777777", "3jzfcijpj2z2a",
	};
	struct atc_tid	t;
	char		out[ATC_TID_STRLEN + 1], err[ATC_ERRLEN];
	size_t		i;

	for (i = 0; i < ATC_NELEM(tids); i++) {
		assert_int_equal(atc_tid_parse(&t, tids[i], err, sizeof(err)),
		    0);
		assert_int_equal(atc_tid_format(out, sizeof(out), &t), 0);
		assert_string_equal(out, tids[i]);
	}

	t.us = 1783175887514441ULL;
	t.clock_id = 6;
	assert_int_equal(atc_tid_format(out, sizeof(out), &t), 0);
	assert_string_equal(out, "3mptbypluud2a");
}

static void
test_tid_format_rejects_range(void **state)
{
	struct atc_tid	t;
	char		out[ATC_TID_STRLEN + 1];

	t.us = 1ULL << 53;
	t.clock_id = 0;
	assert_int_equal(atc_tid_format(out, sizeof(out), &t), -1);
	t.us = 1;
	t.clock_id = 1024;
	assert_int_equal(atc_tid_format(out, sizeof(out), &t), -1);
	t.clock_id = 1;
	assert_int_equal(atc_tid_format(out, ATC_TID_STRLEN, &t), -1);
}

static void
test_tid_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", "3jzfcijpj2z2", "3jzfcijpj2z2aa", "3jzfcijpj2z21",
		"0000000000000", "kjzfcijpj2z2a", "zzzzzzzzzzzzz",
		"czzzzzzzzzzzz", "jzzzzzzzzzzzz",
		"3JZFCIJPJ2Z2A", "3jzf-cij-pj2z", "3jzfcijpj2z2\n",
	};
	struct atc_tid	t;
	char		err[ATC_ERRLEN];
	size_t		i;

	for (i = 0; i < ATC_NELEM(bad); i++) {
		err[0] = '\0';
		if (atc_tid_parse(&t, bad[i], err, sizeof(err)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(err[0] != '\0');
	}
}

static void
test_tid_cmp_orders_by_time_then_clock(void **state)
{
	struct atc_tid	a, b;
	char		sa[ATC_TID_STRLEN + 1], sb[ATC_TID_STRLEN + 1];

	a.us = 1000;
	a.clock_id = 5;
	b.us = 1001;
	b.clock_id = 0;
	assert_true(atc_tid_cmp(&a, &b) < 0);
	assert_true(atc_tid_cmp(&b, &a) > 0);
	assert_int_equal(atc_tid_cmp(&a, &a), 0);
	b.us = 1000;
	b.clock_id = 6;
	assert_true(atc_tid_cmp(&a, &b) < 0);

	/* String order agrees with value order. */
	assert_int_equal(atc_tid_format(sa, sizeof(sa), &a), 0);
	assert_int_equal(atc_tid_format(sb, sizeof(sb), &b), 0);
	assert_true(atc_tid_cmp_str(sa, sb) < 0);
	assert_true(atc_tid_cmp_str(sb, sa) > 0);
	assert_int_equal(atc_tid_cmp_str(sa, sa), 0);
	assert_true(atc_tid_cmp_str("3migo7fijwi2k", "3mptbypluud2a") < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tid_parse_known),
		cmocka_unit_test(test_tid_format_roundtrip),
		cmocka_unit_test(test_tid_format_rejects_range),
		cmocka_unit_test(test_tid_parse_rejects),
		cmocka_unit_test(test_tid_cmp_orders_by_time_then_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
