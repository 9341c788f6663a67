/* SPDX-License-Identifier: ISC */
/*
 * XRPC client: the per-host token buckets (pure, with injected time), URL
 * helpers, and GETs against a loopback HTTP server (tests/lib/
 * tiny_httpd.h): success, transient failures retried, XRPC errors refused
 * with their name, bodies over the cap refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "util.h"
#include "xrpc.h"

#include "../lib/tiny_httpd.h"

static void
test_xrpc_limiter_burst_then_rate(void **state)
{
	struct atc_xrpc_limiter	*l = atc_xrpc_limiter_new(10.0, 3.0);
	uint64_t		 w;

	(void)state;
	assert_int_equal(atc_xrpc_limiter_take(l, "a", 1000), 0);
	assert_int_equal(atc_xrpc_limiter_take(l, "a", 1000), 0);
	assert_int_equal(atc_xrpc_limiter_take(l, "a", 1000), 0);
	w = atc_xrpc_limiter_take(l, "a", 1000);
	assert_true(w >= 99 && w <= 101);
	/* 100 ms later one token has come back, not two. */
	assert_int_equal(atc_xrpc_limiter_take(l, "a", 1100), 0);
	assert_true(atc_xrpc_limiter_take(l, "a", 1100) > 0);
	atc_xrpc_limiter_free(l);
}

static void
test_xrpc_limiter_hosts_independent(void **state)
{
	struct atc_xrpc_limiter	*l = atc_xrpc_limiter_new(1.0, 1.0);

	(void)state;
	assert_int_equal(atc_xrpc_limiter_take(l, "a:1", 5000), 0);
	assert_true(atc_xrpc_limiter_take(l, "a:1", 5000) > 0);
	assert_int_equal(atc_xrpc_limiter_take(l, "b:2", 5000), 0);
	atc_xrpc_limiter_free(l);
}

static void
test_xrpc_limiter_unlimited(void **state)
{
	struct atc_xrpc_limiter	*l = atc_xrpc_limiter_new(0, 0);
	int			 i;

	(void)state;
	for (i = 0; i < 1000; i++)
		assert_int_equal(atc_xrpc_limiter_take(l, "a", 1), 0);
	assert_int_equal(atc_xrpc_limiter_take(NULL, "a", 1), 0);
	atc_xrpc_limiter_free(l);
}

static void
test_xrpc_url_helpers(void **state)
{
	struct atc_buf	b;
	char		host[32];

	(void)state;
	assert_int_equal(atc_xrpc_url_host("https://pds.example:8443/x?y",
	    host, sizeof(host)), 0);
	assert_string_equal(host, "pds.example:8443");
	assert_int_equal(atc_xrpc_url_host("ws://h", host, sizeof(host)), 0);
	assert_string_equal(host, "h");
	assert_int_equal(atc_xrpc_url_host("http:///x", host, sizeof(host)),
	    -1);
	atc_buf_init(&b, 16);
	atc_xrpc_escape(&b, "did:plc:a b/&=~");
	assert_string_equal(atc_buf_cstr(&b), "did%3Aplc%3Aa%20b%2F%26%3D~");
	atc_buf_cleanup(&b);
}

static const struct tiny_route routes[] = {
	{ "/xrpc/a.b.ok?x=1", 200, "{\"rev\":\"3k\"}", 0, 0, 0 },
	{ "/xrpc/a.b.flaky", 503, "{}", 0, 2, 0 },
	{ "/xrpc/a.b.flaky", 200, "{\"ok\":true}", 0, 0, 0 },
	{ "/xrpc/a.b.missing", 400, "{\"error\":\"RepoNotFound\","
	    "\"message\":\"Could not find repo\"}", 0, 0, 0 },
	{ "/xrpc/a.b.down", 502, "{}", 0, 0, 0 },
	{ "/xrpc/a.b.big", 200, NULL, 70000, 0, 0 },
};

static struct atc_xrpc *
client(size_t max_body)
{
	struct atc_xrpc_opts	o;
	char			err[ATC_ERRLEN];
	struct atc_xrpc		*x;

	memset(&o, 0, sizeof(o));
	o.timeout_ms = 3000;
	o.backoff_ms = 10;
	o.attempts = 3;
	o.max_body = max_body;
	x = atc_xrpc_new(&o, NULL, err, sizeof(err));
	assert_non_null(x);
	return x;
}

static void
test_xrpc_get_answers(void **state)
{
	struct tiny_httpd	 h;
	struct atc_xrpc		*x;
	struct atc_buf		 out;
	char			 base[64], err[ATC_ERRLEN];
	long			 status;

	(void)state;
	assert_int_equal(tiny_start(&h, routes, ATC_NELEM(routes)), 0);
	(void)snprintf(base, sizeof(base), "http://127.0.0.1:%d/", h.port);
	x = client(65536);
	atc_buf_init(&out, 64);
	assert_int_equal(atc_xrpc_get(x, base, "a.b.ok", "x=1", &out, &status,
	    err, sizeof(err)), ATC_XRPC_OK);
	assert_int_equal(status, 200);
	assert_string_equal(atc_buf_cstr(&out), "{\"rev\":\"3k\"}");

	/* Two 503s, then 200: retried within the three attempts. */
	assert_int_equal(atc_xrpc_get(x, base, "a.b.flaky", NULL, &out,
	    &status, err, sizeof(err)), ATC_XRPC_OK);
	assert_string_equal(atc_buf_cstr(&out), "{\"ok\":true}");

	assert_int_equal(atc_xrpc_get(x, base, "a.b.missing", "", &out,
	    &status, err, sizeof(err)), ATC_XRPC_REFUSED);
	assert_int_equal(status, 400);
	assert_non_null(strstr(err, "RepoNotFound"));

	assert_int_equal(atc_xrpc_get(x, base, "a.b.down", NULL, &out,
	    &status, err, sizeof(err)), ATC_XRPC_FAIL);
	assert_int_equal(status, 502);

	assert_int_equal(atc_xrpc_get(x, base, "a.b.big", NULL, &out, &status,
	    err, sizeof(err)), ATC_XRPC_REFUSED);
	assert_non_null(strstr(err, "larger than"));
	assert_true(out.len <= 65536);
	assert_int_equal(atc_xrpc_requests(x), 1 + 3 + 1 + 3 + 1);

	assert_int_equal(atc_xrpc_get(x, "ftp://x", "a.b.ok", NULL, &out,
	    &status, err, sizeof(err)), ATC_XRPC_REFUSED);
	atc_buf_cleanup(&out);
	atc_xrpc_free(x);
	tiny_stop(&h);
}

static void
test_xrpc_get_connection_refused(void **state)
{
	struct atc_xrpc		*x;
	struct atc_buf		 out;
	char			 err[ATC_ERRLEN];
	long			 status = -1;

	(void)state;
	x = client(1024);
	atc_buf_init(&out, 64);
	assert_int_equal(atc_xrpc_get(x, "http://127.0.0.1:1", "a.b.ok", NULL,
	    &out, &status, err, sizeof(err)), ATC_XRPC_FAIL);
	assert_int_equal(status, 0);
	atc_buf_cleanup(&out);
	atc_xrpc_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xrpc_limiter_burst_then_rate),
		cmocka_unit_test(test_xrpc_limiter_hosts_independent),
		cmocka_unit_test(test_xrpc_limiter_unlimited),
		cmocka_unit_test(test_xrpc_url_helpers),
		cmocka_unit_test(test_xrpc_get_answers),
		cmocka_unit_test(test_xrpc_get_connection_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
