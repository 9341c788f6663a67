/* SPDX-License-Identifier: ISC */
/*
 * api/telemetry.c: the hooks render OpenMeet's and atcal's metric names
 * with their labels, hostile label values cannot break the exposition
 * format, and counts made in a forked child (a Kore worker) show in the
 * parent's rendering (the registry is shared memory).
 */
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "telemetry.h"
#include "util.h"

static char *
render(struct atc_buf *b)
{
	b->len = 0;
	assert_int_equal(telemetry_render(b), 0);
	return (char *)atc_buf_cstr(b);
}

static void
test_telemetry_names_and_labels(void **state)
{
	struct atc_buf	 b;
	char		*text;

	atc_buf_init(&b, 4096);
	telemetry_request("api_events", "POST", 202, 0.004);
	telemetry_processed("event", "t1", "bluesky", "create", 0.003);
	telemetry_processed("rsvp", "t1", "bluesky", "stale", 0.002);
	telemetry_dedup("t1", "source_id");
	telemetry_shadow_created();
	telemetry_auth_failure("bad_key");
	telemetry_rate_limited("ba7816bf");
	telemetry_db(0.001, 1);
	text = render(&b);
	assert_non_null(strstr(text, "atcal_api_requests_total{route=\"api_"
	    "events\",method=\"POST\",status=\"202\"} 1\n"));
	assert_non_null(strstr(text, "atcal_api_request_duration_seconds_"
	    "bucket{route=\"api_events\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(text, "event_integration_processed_total{"
	    "tenant=\"t1\",source_type=\"bluesky\",operation=\"create\"} 1\n"));
	assert_non_null(strstr(text, "rsvp_integration_processed_total{"
	    "tenant=\"t1\",source_type=\"bluesky\",operation=\"stale\"} 1\n"));
	assert_non_null(strstr(text, "event_integration_processing_duration_"
	    "seconds_count 1\n"));
	assert_non_null(strstr(text, "rsvp_integration_processing_duration_"
	    "seconds_count 1\n"));
	assert_non_null(strstr(text, "event_integration_deduplication_matches"
	    "_total{tenant=\"t1\",method=\"source_id\"} 1\n"));
	assert_non_null(strstr(text, "atcal_api_shadow_accounts_created_total"
	    " 1\n"));
	assert_non_null(strstr(text, "atcal_api_auth_failures_total{reason="
	    "\"bad_key\"} 1\n"));
	assert_non_null(strstr(text, "atcal_api_rate_limited_total{key="
	    "\"ba7816bf\"} 1\n"));
	assert_non_null(strstr(text, "atcal_api_db_errors_total 1\n"));
	assert_non_null(strstr(text,
	    "atcal_api_db_duration_seconds_count 1\n"));
	atc_buf_cleanup(&b);
}

static void
test_telemetry_hostile_labels_are_cleaned(void **state)
{
	struct atc_buf	 b;
	char		*text;

	atc_buf_init(&b, 4096);
	telemetry_dedup("t\"}\n{evil=\"1", "m e\\thod");
	text = render(&b);
	assert_non_null(strstr(text, "{tenant=\"t____evil__1\",method="
	    "\"m_e_thod\"} 1\n"));
	assert_null(strstr(text, "evil=\""));
	atc_buf_cleanup(&b);
}

static void
test_telemetry_counts_from_forked_workers(void **state)
{
	struct atc_buf	 b;
	pid_t		 pid;
	int		 i, st;

	atc_buf_init(&b, 4096);
	for (i = 0; i < 2; i++) {
		if ((pid = fork()) == 0) {
			telemetry_request("api_rsvps", "DELETE", 429, 0.0);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
	}
	assert_non_null(strstr(render(&b), "atcal_api_requests_total{route="
	    "\"api_rsvps\",method=\"DELETE\",status=\"429\"} 2\n"));
	atc_buf_cleanup(&b);
}

static int
setup(void **state)
{
	char	err[ATC_ERRLEN];

	return telemetry_init(2048, err, sizeof(err));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_telemetry_names_and_labels),
		cmocka_unit_test(test_telemetry_hostile_labels_are_cleaned),
		cmocka_unit_test(test_telemetry_counts_from_forked_workers),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
