/* SPDX-License-Identifier: ISC */
/*
 * Tests of processor/resolver.c against a loopback HTTP server
 * (tests/lib/tiny_httpd.h): submitting never waits for the network, a
 * result arrives through the descriptor with its ticket and document,
 * results keep submission order, failures carry their cause, and freeing
 * the resolver while a server stalls returns at once (the fetch is
 * cancelled, not waited out).
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resolver.h"
#include "util.h"

#include "../lib/tiny_httpd.h"

#define P_OK	"did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
#define P_404	"did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
#define P_410	"did:plc:cccccccccccccccccccccccc"
#define P_STALL	"did:plc:ffffffffffffffffffffffff"

static const struct tiny_route routes[] = {
	{ "/" P_OK, 200, "{\"id\":\"" P_OK "\",\"alsoKnownAs\":"
	    "[\"at://ok.test\"],\"service\":[{\"id\":\"#atproto_pds\","
	    "\"type\":\"AtprotoPersonalDataServer\",\"serviceEndpoint\":"
	    "\"https://pds.example\"}]}", 0, 0, 0 },
	{ "/" P_404, 404, "{\"message\":\"DID not registered\"}", 0, 0, 0 },
	{ "/" P_410, 410, "{\"message\":\"DID not available\"}", 0, 0, 0 },
	{ "/" P_STALL, 0, NULL, 0, 0, 0 },
};

static struct resolver *
start(struct tiny_httpd *h, long long timeout_ms)
{
	struct atc_didres_opts	 o;
	struct resolver		*r;
	char			 url[64], err[ATC_ERRLEN];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", h->port);
	memset(&o, 0, sizeof(o));
	o.plc_url = url;
	o.timeout_ms = timeout_ms;
	o.attempts = 1;
	if ((r = resolver_new(&o, NULL, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	return r;
}

/* Waits up to ms for the descriptor, then collects one result. */
static int
wait_next(struct resolver *r, struct resolver_result *out, int ms)
{
	struct pollfd	pfd = { .fd = resolver_fd(r), .events = POLLIN };

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	return resolver_next(r, out);
}

/* A result comes through the descriptor with its ticket and document; the
 * descriptor is quiet again once everything was collected. */
static void
test_resolver_result_through_fd(void **state)
{
	struct tiny_httpd	 h;
	struct resolver		*r;
	struct resolver_result	 rr;
	struct pollfd		 pfd;

	assert_int_equal(tiny_start(&h, routes, ATC_NELEM(routes)), 0);
	r = start(&h, 5000);
	assert_int_equal(resolver_next(r, &rr), 0);
	resolver_submit(r, 7, P_OK, true);
	assert_int_equal(wait_next(r, &rr, 5000), 1);
	assert_int_equal(rr.ticket, 7);
	assert_int_equal(rr.result, ATC_DIDRES_OK);
	assert_string_equal(rr.doc.handle, "ok.test");
	assert_string_equal(rr.doc.pds, "https://pds.example");
	assert_false(rr.tombstoned);
	pfd.fd = resolver_fd(r);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(resolver_next(r, &rr), 0);
	resolver_free(r);
	tiny_stop(&h);
}

/* Results keep submission order; 404 and 410 come back as GONE with their
 * cause (410 tombstoned). */
static void
test_resolver_order_and_failures(void **state)
{
	struct tiny_httpd	 h;
	struct resolver		*r;
	struct resolver_result	 rr;
	int			 got = 0;
	uint64_t		 want[] = { 1, 2, 3 };

	assert_int_equal(tiny_start(&h, routes, ATC_NELEM(routes)), 0);
	r = start(&h, 5000);
	resolver_submit(r, 1, P_404, false);
	resolver_submit(r, 2, P_410, false);
	resolver_submit(r, 3, P_OK, false);
	while (got < 3 && wait_next(r, &rr, 5000) == 1) {
		assert_int_equal(rr.ticket, want[got]);
		if (rr.ticket == 1) {
			assert_int_equal(rr.result, ATC_DIDRES_GONE);
			assert_non_null(strstr(rr.err, "404"));
			assert_false(rr.tombstoned);
		} else if (rr.ticket == 2) {
			assert_int_equal(rr.result, ATC_DIDRES_GONE);
			assert_true(rr.tombstoned);
		} else
			assert_int_equal(rr.result, ATC_DIDRES_OK);
		got++;
	}
	assert_int_equal(got, 3);
	resolver_free(r);
	tiny_stop(&h);
}

/* While the server holds a request, submitting returns at once and
 * nothing is ready; freeing the resolver then cancels the fetch instead of
 * waiting out its 30 s timeout, and drops the requests still queued. */
static void
test_resolver_free_cancels_a_stalled_fetch(void **state)
{
	struct tiny_httpd	 h;
	struct resolver		*r;
	struct resolver_result	 rr;
	uint64_t		 t0;
	int			 i;

	assert_int_equal(tiny_start(&h, routes, ATC_NELEM(routes)), 0);
	r = start(&h, 30000);
	t0 = atc_mono_ms();
	resolver_submit(r, 1, P_STALL, false);
	for (i = 0; i < 100; i++)
		resolver_submit(r, 2 + (uint64_t)i, P_OK, false);
	assert_true(atc_mono_ms() - t0 < 500);
	for (i = 0; i < 100 && atomic_load(&h.nrequests) == 0; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&h.nrequests), 1);
	assert_int_equal(wait_next(r, &rr, 300), 0);
	t0 = atc_mono_ms();
	resolver_free(r);
	assert_true(atc_mono_ms() - t0 < 3000);
	tiny_stop(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolver_result_through_fd),
		cmocka_unit_test(test_resolver_order_and_failures),
		cmocka_unit_test(test_resolver_free_cancels_a_stalled_fetch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
