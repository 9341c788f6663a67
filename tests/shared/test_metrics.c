/* SPDX-License-Identifier: ISC */
/* Prometheus registry: exposition format, histograms, limits, and updates
 * from forked processes sharing one arena. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "metrics.h"

static void
test_metrics_counter_and_gauge_render(void **state)
{
	struct atc_metrics	*r = atc_metrics_new(64, false);
	struct atc_metric	*a, *b, *g;
	struct atc_buf		 out;

	a = atc_metrics_counter(r, "x_events_total", "Events.",
	    "type=\"event\",operation=\"create\"");
	b = atc_metrics_counter(r, "x_events_total", "Events.",
	    "type=\"rsvp\",operation=\"create\"");
	g = atc_metrics_gauge(r, "x_connected", "Connected.", NULL);
	assert_ptr_equal(a, atc_metrics_counter(r, "x_events_total", "Events.",
	    "type=\"event\",operation=\"create\""));
	atc_metric_inc(a);
	atc_metric_add(a, 2);
	atc_metric_inc(b);
	atc_metric_set(g, 1);
	atc_buf_init(&out, 0);
	atc_metrics_render(r, &out);
	assert_string_equal(atc_buf_cstr(&out),
	    "# HELP x_events_total Events.\n"
	    "# TYPE x_events_total counter\n"
	    "x_events_total{type=\"event\",operation=\"create\"} 3\n"
	    "x_events_total{type=\"rsvp\",operation=\"create\"} 1\n"
	    "# HELP x_connected Connected.\n"
	    "# TYPE x_connected gauge\n"
	    "x_connected 1\n");
	atc_buf_cleanup(&out);
	atc_metrics_free(r);
}

static void
test_metrics_histogram_is_cumulative(void **state)
{
	static const double	 bounds[] = { 0.1, 1 };
	struct atc_metrics	*r = atc_metrics_new(64, false);
	struct atc_histogram	*h;
	struct atc_buf		 out;

	h = atc_metrics_histogram(r, "x_seconds", "Latency.", "route=\"a\"",
	    bounds, 2);
	atc_histogram_observe(h, 0.05);
	atc_histogram_observe(h, 0.5);
	atc_histogram_observe(h, 0.5);
	atc_histogram_observe(h, 7);
	atc_buf_init(&out, 0);
	atc_metrics_render(r, &out);
	assert_string_equal(atc_buf_cstr(&out),
	    "# HELP x_seconds Latency.\n"
	    "# TYPE x_seconds histogram\n"
	    "x_seconds_bucket{route=\"a\",le=\"0.1\"} 1\n"
	    "x_seconds_bucket{route=\"a\",le=\"1\"} 3\n"
	    "x_seconds_bucket{route=\"a\",le=\"+Inf\"} 4\n"
	    "x_seconds_sum{route=\"a\"} 8.05\n"
	    "x_seconds_count{route=\"a\"} 4\n");
	atc_buf_cleanup(&out);
	atc_metrics_free(r);
}

static void
test_metrics_full_registry_and_type_clash_are_null(void **state)
{
	struct atc_metrics	*r = atc_metrics_new(2, false);

	assert_non_null(atc_metrics_counter(r, "a_total", "", "x=\"1\""));
	assert_non_null(atc_metrics_counter(r, "a_total", "", "x=\"2\""));
	assert_null(atc_metrics_counter(r, "a_total", "", "x=\"3\""));
	assert_null(atc_metrics_gauge(r, "a_total", "", "x=\"1\""));
	/* Updates through NULL are no-ops, never crashes. */
	atc_metric_inc(NULL);
	atc_histogram_observe(NULL, 1);
	atc_metrics_free(r);
}

static void
test_metrics_shared_arena_counts_across_fork(void **state)
{
	struct atc_metrics	*r = atc_metrics_new(16, true);
	struct atc_metric	*c;
	pid_t			 pid[4];
	int			 i, j, st;

	assert_non_null(r);
	c = atc_metrics_counter(r, "forked_total", "", NULL);
	for (i = 0; i < 4; i++) {
		if ((pid[i] = fork()) == 0) {
			for (j = 0; j < 10000; j++)
				atc_metric_inc(c);
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++)
		waitpid(pid[i], &st, 0);
	assert_true(atc_metric_value(c) == 40000);
	atc_metrics_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_counter_and_gauge_render),
		cmocka_unit_test(test_metrics_histogram_is_cumulative),
		cmocka_unit_test(test_metrics_full_registry_and_type_clash_are_null),
		cmocka_unit_test(test_metrics_shared_arena_counts_across_fork),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
