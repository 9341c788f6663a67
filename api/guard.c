/* SPDX-License-Identifier: ISC */
/*
 * Request guards: the glue between one request (struct api_call, Kore) and
 * the pure modules that decide (ratelimit.c, input.c's JSON limits,
 * faults.c) or count (telemetry.c). Kept out of call.c and the handlers so
 * each of those needs one line per hook, and every refusal here is a JSON
 * answer naming the limit: {"status":429,"error":"rate_limited",
 * "limit":"key_rate"} or {"status":413,"error":"limit",
 * "limit":"string_length","max":65536}.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <kore/kore.h>
#include <kore/http.h>

#include "api.h"
#include "auth.h"
#include "call.h"
#include "faults.h"
#include "guard.h"
#include "input.h"
#include "ratelimit.h"
#include "telemetry.h"
#include "util.h"

/* The client's address bytes (IPv4, or IPv6 of which the limiter uses the
 * /64). Known limitation: behind a proxy this is the proxy's address;
 * Forwarded headers are not trusted because nothing configures which
 * proxies to trust. */
static size_t
client_addr(struct http_request *req, const void **addr)
{
	struct connection	*conn = req->owner;

	if (conn != NULL && conn->family == AF_INET) {
		*addr = &conn->addr.ipv4.sin_addr;
		return 4;
	}
	if (conn != NULL && conn->family == AF_INET6) {
		*addr = &conn->addr.ipv6.sin6_addr;
		return 16;
	}
	*addr = NULL;
	return 0;
}

static int
throttled(struct api_call *c, const char *limit, uint64_t wait_us)
{
	char	ra[16];

	call_error(c, 429, "rate_limited", "too many requests; retry after "
	    "the Retry-After delay");
	json_object_set_new(c->doc, "limit", json_string(limit));
	c->cause = limit;
	(void)snprintf(ra, sizeof(ra), "%u", ratelimit_retry_after_s(wait_us));
	http_response_header(c->req, "retry-after", ra);
	return -1;
}

int
guard_request(struct api_call *c)
{
	struct http_header	*h;
	const void		*addr;
	size_t			 len, nhdrs = 0, hbytes = strlen(c->req->path);
	uint64_t		 wait_us;

	TAILQ_FOREACH(h, &c->req->req_headers, list) {
		nhdrs++;
		hbytes += strlen(h->header) + strlen(h->value) + 4;
	}
	if (c->req->query_string != NULL)
		hbytes += strlen(c->req->query_string);
	if (nhdrs > API_HEADER_COUNT_MAX)
		return guard_limit(c, "header_count", API_HEADER_COUNT_MAX);
	if (hbytes > API_HEADERS_MAX)
		return guard_limit(c, "header_size", API_HEADERS_MAX);
	if ((len = client_addr(c->req, &addr)) == 0 ||
	    (wait_us = ratelimit_addr_blocked(api_ratelimit(), addr, len,
	    ratelimit_now_us())) == 0)
		return 0;
	telemetry_auth_failure("throttled");
	telemetry_rate_limited("addr");
	return throttled(c, "auth_failures", wait_us);
}

void
guard_auth_failed(struct api_call *c, const char *reason)
{
	const void	*addr;
	size_t		 len;

	telemetry_auth_failure(reason);
	if (strcmp(reason, "bad_key") == 0 &&
	    (len = client_addr(c->req, &addr)) > 0)
		ratelimit_addr_failed(api_ratelimit(), addr, len,
		    ratelimit_now_us());
}

int
guard_key(struct api_call *c, size_t idx)
{
	const char	*fp = api_keys_fingerprint(api_keys(), idx);
	uint64_t	 wait_us;
	size_t		 used = strlen(c->note);

	(void)snprintf(c->note + used, sizeof(c->note) - used, "%skey=%s",
	    used > 0 ? " " : "", fp);
	if ((wait_us = ratelimit_key_take(api_ratelimit(), idx,
	    ratelimit_now_us())) == 0)
		return 0;
	telemetry_rate_limited(fp);
	return throttled(c, "key_rate", wait_us);
}

static int
limit_hit(struct api_call *c, const struct api_limit_hit *hit)
{
	char	msg[128];

	(void)snprintf(msg, sizeof(msg), "request exceeds the %s limit (%zu)",
	    hit->limit, hit->max);
	call_error(c, hit->status, "limit", msg);
	json_object_set_new(c->doc, "limit", json_string(hit->limit));
	json_object_set_new(c->doc, "max", json_integer((json_int_t)hit->max));
	c->cause = hit->limit;
	return -1;
}

int
guard_limit(struct api_call *c, const char *limit, size_t max)
{
	struct api_limit_hit	hit;

	api_limit_hit_set(&hit, limit, max);
	return limit_hit(c, &hit);
}

int
guard_json(struct api_call *c, const void *body, size_t len)
{
	struct api_limit_hit	hit;

	if (api_json_limits_check(body, len, api_json_limits(), &hit) == 0)
		return 0;
	return limit_hit(c, &hit);
}

int
guard_fault(struct api_call *c)
{
	if (faults_apply(atc_mono_ms()) != FAULTS_ERROR500)
		return 0;
	call_error(c, 500, "injected_fault", "test fault injected "
	    "(ATCAL_TEST_FAULTS)");
	return -1;
}

/* The operation label of one applied operation and its result. */
static const char *
outcome(const char *op, const json_t *r)
{
	const char	*method;

	if (!json_is_true(json_object_get(r, "applied")))
		return "stale";
	if (strstr(op, ".del") != NULL)
		return "delete";
	method = json_string_value(json_object_get(r, "method"));
	return method != NULL && strcmp(method, "none") != 0 ? "update" :
	    "create";
}

void
guard_applied(struct api_call *c, const json_t *ops, const json_t *res,
    uint64_t t0_ms)
{
	const json_t	*o, *r;
	const char	*op, *stype;
	double		 secs = (double)(atc_mono_ms() - t0_ms) / 1000;
	size_t		 i;

	if (json_array_size(ops) == 0)
		return;
	telemetry_db(secs, res == NULL);
	if (res == NULL)
		return;
	json_array_foreach(ops, i, o) {
		r = json_array_get(res, i);
		op = json_string_value(json_object_get(o, "op"));
		if (r == NULL || op == NULL || json_integer_value(
		    json_object_get(r, "status")) != 202)
			continue;
		stype = json_string_value(json_object_get(o, "sourceType"));
		telemetry_processed(strncmp(op, "rsvp", 4) == 0 ? "rsvp" :
		    "event", c->tenant, stype != NULL ? stype : "bluesky",
		    outcome(op, r), secs);
		if (json_is_true(json_object_get(r, "shadowCreated")))
			telemetry_shadow_created();
	}
}

void
guard_finish(struct api_call *c)
{
	struct http_request	*req = c->req;

	telemetry_request(req->hdlr != NULL ? req->hdlr->func : "-",
	    http_method_text(req->method), c->status,
	    (double)(atc_mono_ms() - c->t0_ms) / 1000);
}
