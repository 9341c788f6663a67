/* SPDX-License-Identifier: ISC */
/*
 * The hostile client's request cases: one builder per attack (or valid
 * write), each filling a transfer's url, headers and body, and the table
 * listing every case with its weight and the only answers it may get.
 * Builders never produce a request whose fate is ambiguous: a mutated body
 * is always invalid JSON (truncated, or a control byte put in), so the
 * database check can count valid writes exactly.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "hostile.h"

#define rnd	hostile_rnd

static unsigned	rng_state = 1;

unsigned
hostile_rnd(unsigned n)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return ((rng_state >> 8) & 0xffffff) % (n ? n : 1);
}

void
hostile_seed(unsigned seed)
{
	rng_state = seed;
}

static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n)) == NULL) {
		perror("malloc");
		exit(2);
	}
	return p;
}

static char *
xasprintf(size_t *len, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		perror("vasprintf");
		exit(2);
	}
	if (len != NULL)
		*len = (size_t)n;
	return s;
}

static void
hdr(struct xfer *x, const char *fmt, ...)
{
	va_list	ap;
	char	line[40000];

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	x->hdrs = curl_slist_append(x->hdrs, line);
}

static void
auth(struct xfer *x, const struct opts *o, const char *tenant)
{
	hdr(x, "Authorization: Bearer %s", o->key);
	hdr(x, "x-tenant-id: %s", tenant);
	hdr(x, "content-type: application/json");
}

static const char *
any_tenant(const struct opts *o)
{
	return rnd(2) ? o->tenant : o->other;
}

/* A valid ExternalEventDto; name is inserted as given (JSON-escaped by
 * the caller). */
static char *
event_json(size_t *len, const char *did, long i, const char *name,
    const char *extra)
{
	return xasprintf(len, "{\"name\":\"%s\",\"description\":\"hostile "
	    "run %ld\",\"startDate\":\"2026-05-01T18:00:00Z\","
	    "\"endDate\":\"2026-05-01T20:00:00Z\",\"type\":\"in-person\","
	    "\"status\":\"published\",\"visibility\":\"public\","
	    "\"locations\":[{\"$type\":\"community.lexicon.location.geo\","
	    "\"latitude\":\"0\",\"longitude\":\"0\"}],\"categories\":[],"
	    "\"source\":{\"type\":\"bluesky\",\"id\":\"at://%s/community."
	    "lexicon.calendar.event/3lh%07ldaa\",\"metadata\":{\"rev\":"
	    "\"3mptbypluud2a\"},\"rawRecord\":{\"name\":\"x\"}}%s}", name, i,
	    did, i, extra != NULL ? extra : "");
}

static void
events_post(struct xfer *x, const struct opts *o)
{
	(void)snprintf(x->url, sizeof(x->url), "%s/api/integration/events",
	    o->base);
	curl_easy_setopt(x->h, CURLOPT_POST, 1L);
}

static void
b_valid(struct xfer *x, const struct opts *o, long i)
{
	static const char *const names[] = { "Meetup", "Caf\\u00e9 night",
	    "'); DROP TABLE events; --", "1' OR '1'='1", "\\\"quoted\\\" %s %n",
	    "semi;colon -- comment /* c */", "\\\\x00 backslash" };

	events_post(x, o);
	auth(x, o, o->tenant);
	x->body = event_json(&x->len, "did:plc:hostilehostilehostile", i,
	    names[rnd(sizeof(names) / sizeof(names[0]))], NULL);
	x->valid = true;
}

static void
b_truncated(struct xfer *x, const struct opts *o, long i)
{
	events_post(x, o);
	auth(x, o, any_tenant(o));
	x->body = event_json(&x->len, "did:plc:invalidinvalidinvalid", i,
	    "t", NULL);
	x->len = 1 + rnd((unsigned)x->len - 1);
}

static void
b_control_byte(struct xfer *x, const struct opts *o, long i)
{
	static const char	bad[] = "\x01\x02\x07\x08\x0b\x0c\x1b\x1f";
	size_t			pos;

	events_post(x, o);
	auth(x, o, any_tenant(o));
	x->body = event_json(&x->len, "did:plc:invalidinvalidinvalid", i,
	    "t", NULL);
	pos = rnd((unsigned)x->len);
	x->body[pos] = bad[rnd(sizeof(bad) - 1)];
}

static void
b_wrong_types(struct xfer *x, const struct opts *o, long i)
{
	static const char *const docs[] = {
	    "{\"name\":123,\"startDate\":\"2026-05-01\",\"source\":{}}",
	    "{\"name\":\"x\",\"startDate\":true,\"source\":{\"type\":"
	    "\"bluesky\",\"id\":\"at://did:plc:a/b.c/d\"}}",
	    "{\"name\":\"x\",\"startDate\":\"2026-02-30\",\"locations\":\"x\","
	    "\"source\":[]}",
	    "{\"name\":[\"x\"],\"startDate\":{},\"source\":{\"type\":5,"
	    "\"id\":null,\"metadata\":[]}}",
	    "{\"name\":\"x\",\"startDate\":\"2026-05-01\",\"source\":{\"type\":"
	    "\"bluesky\",\"id\":\"' OR 1=1; --\"}}",
	    "{\"name\":\"x\",\"startDate\":\"9999999-01-01\",\"type\":\"moon\","
	    "\"status\":\"'; DELETE FROM users; --\",\"source\":{\"type\":"
	    "\"bluesky\",\"id\":\"at://did:plc:a/b.c/d\"}}",
	    "[]", "\"event\"", "null", "42", "{}", "true",
	};

	events_post(x, o);
	auth(x, o, any_tenant(o));
	x->body = xasprintf(&x->len, "%s",
	    docs[(i + rnd(7)) % (sizeof(docs) / sizeof(docs[0]))]);
}

static void
b_rsvp_invalid(struct xfer *x, const struct opts *o, long i)
{
	(void)snprintf(x->url, sizeof(x->url), "%s/api/integration/rsvps",
	    o->base);
	curl_easy_setopt(x->h, CURLOPT_POST, 1L);
	auth(x, o, any_tenant(o));
	x->body = xasprintf(&x->len, "{\"eventSourceId\":\"at://did:plc:x/"
	    "community.lexicon.calendar.event/%ld\",\"eventSourceType\":"
	    "\"bluesky\",\"userDid\":\"%s\",\"status\":\"%s\","
	    "\"sourceId\":\"x\"}", i, rnd(2) ? "not-a-did" : "did:plc:ok",
	    rnd(2) ? "maybe'--" : "going");
}

static void
b_oversized(struct xfer *x, const struct opts *o, long i)
{
	size_t	n = (size_t)o->body_max + 1 + rnd((unsigned)o->body_max - 1);

	events_post(x, o);
	auth(x, o, any_tenant(o));
	x->body = xmalloc(n);
	memset(x->body, ' ', n);
	memcpy(x->body, "{\"name\":\"", 9);
	x->body[n - 2] = '"';
	x->body[n - 1] = '}';
	x->len = n;
}

static void
b_kore_oversized(struct xfer *x, const struct opts *o, long i)
{
	b_oversized(x, o, i);
	free(x->body);
	x->len = (size_t)o->body_max * 2 + 4096;
	x->body = xmalloc(x->len);
	memset(x->body, '[', x->len);
}

static void
b_long_string(struct xfer *x, const struct opts *o, long i)
{
	char	*big;
	size_t	 n = 70000 + rnd(10000);

	big = xmalloc(n + 1);
	memset(big, 'a', n);
	big[n] = '\0';
	events_post(x, o);
	auth(x, o, any_tenant(o));
	x->body = event_json(&x->len, "did:plc:invalidinvalidinvalid", i, big,
	    NULL);
	free(big);
}

static void
b_big_array(struct xfer *x, const struct opts *o, long i)
{
	size_t	n = 1001 + rnd(3000), j, off;
	char	*arr;

	arr = xmalloc(n * 5 + 32);
	off = (size_t)sprintf(arr, ",\"categories\":[");
	for (j = 0; j < n; j++)
		off += (size_t)sprintf(arr + off, "%s\"c\"", j ? "," : "");
	(void)sprintf(arr + off, "]");
	events_post(x, o);
	auth(x, o, any_tenant(o));
	x->body = event_json(&x->len, "did:plc:invalidinvalidinvalid", i, "t",
	    arr);
	free(arr);
}

static void
b_deep(struct xfer *x, const struct opts *o, long i)
{
	size_t	depth = 33 + rnd(20000), j;

	events_post(x, o);
	auth(x, o, any_tenant(o));
	x->len = depth * 2 + 16;
	x->body = xmalloc(x->len);
	if (rnd(2)) {
		for (j = 0; j < depth; j++)
			x->body[j] = '[';
		for (j = 0; j < depth; j++)
			x->body[depth + j] = ']';
		x->len = depth * 2;
	} else {
		/* Objects: five bytes a level; unclosed (the depth limit
		 * answers before the parser would). */
		free(x->body);
		depth = 33 + rnd(4000);
		x->body = xmalloc(depth * 5);
		x->len = 0;
		for (j = 0; j < depth; j++) {
			memcpy(x->body + x->len, "{\"a\":", 5);
			x->len += 5;
		}
	}
}

static void
b_bad_utf8(struct xfer *x, const struct opts *o, long i)
{
	static const char *const bad[] = { "\xff\xfe", "\xc0\xaf",
	    "\xed\xa0\x80", "caf\xe9", "\xf8\x88\x80\x80\x80", "\x80",
	    "\\ud800", "\\udc00x", "\xe2\x82" };

	events_post(x, o);
	auth(x, o, any_tenant(o));
	x->body = event_json(&x->len, "did:plc:invalidinvalidinvalid", i,
	    bad[rnd(sizeof(bad) / sizeof(bad[0]))], NULL);
}

static void
b_header_huge(struct xfer *x, const struct opts *o, long i)
{
	char	v[24000];
	size_t	n = 17000 + rnd(6000);

	memset(v, 'h', n);
	v[n] = '\0';
	events_post(x, o);
	auth(x, o, o->tenant);
	hdr(x, "X-Padding: %s", v);
	x->body = xasprintf(&x->len, "{}");
}

static void
b_header_many(struct xfer *x, const struct opts *o, long i)
{
	int	j, n = 23 + (int)rnd(60);

	if (rnd(2)) {
		/* Without a body Kore needs no Content-Length (which the
		 * header flood would push out of its parse window). */
		(void)snprintf(x->url, sizeof(x->url), "%s/api/integration/"
		    "events?sourceId=at%%3A%%2F%%2Fdid%%3Aplc%%3Aa%%2Fb.c%%2Fd",
		    o->base);
		curl_easy_setopt(x->h, CURLOPT_CUSTOMREQUEST, "DELETE");
		for (j = 0; j < n; j++)
			hdr(x, "X-Many-%d: %d", j, j);
		auth(x, o, o->tenant);
		return;
	}
	events_post(x, o);
	for (j = 0; j < n; j++)
		hdr(x, "X-Many-%d: %d", j, j);
	auth(x, o, o->tenant);
	x->body = xasprintf(&x->len, "{}");
}

static void
b_bad_key(struct xfer *x, const struct opts *o, long i)
{
	events_post(x, o);
	switch (rnd(6)) {
	case 0:
		break;
	case 1:
		hdr(x, "Authorization: Bearer %s'--", o->key);
		break;
	case 2:
		hdr(x, "Authorization: Bearer %.*s", (int)strlen(o->key) - 1,
		    o->key);
		break;
	case 3:
		hdr(x, "Authorization: Basic %s", o->key);
		break;
	case 4:
		hdr(x, "Authorization: Bearer ' OR ''='");
		break;
	default:
		(void)snprintf(x->url, sizeof(x->url), "%s/api/integration/"
		    "events?api_key=%%27%%3B--", o->base);
		break;
	}
	hdr(x, "x-tenant-id: %s", o->tenant);
	x->body = event_json(&x->len, "did:plc:invalidinvalidinvalid", i, "t",
	    NULL);
	/* Failed authentication is limited per client address: spread the
	 * attackers over 127.0.0.2-254 so valid writes (127.0.0.1) are not
	 * blocked with them. */
	(void)snprintf(x->iface, sizeof(x->iface), "127.0.0.%u",
	    2 + rnd(253));
}

static void
b_wrong_tenant(struct xfer *x, const struct opts *o, long i)
{
	static const char *const bad[] = { "t1' OR '1'='1", "a b", "",
	    "x;DROP TABLE events", "\xc3\xa9t\xc3\xa9",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };

	events_post(x, o);
	if (rnd(2)) {
		/* The restricted key outside its tenant: 403. */
		hdr(x, "Authorization: Bearer %s", o->tkey);
		hdr(x, "x-tenant-id: %s", o->tenant);
	} else {
		hdr(x, "Authorization: Bearer %s", o->key);
		hdr(x, "x-tenant-id: %s", bad[rnd(sizeof(bad) /
		    sizeof(bad[0]))]);
	}
	x->body = event_json(&x->len, "did:plc:invalidinvalidinvalid", i, "t",
	    NULL);
}

static void
b_sql_query(struct xfer *x, const struct opts *o, long i)
{
	static const char *const q[] = {
	    "sourceId=%27%20OR%201%3D1%3B--&sourceType=bluesky",
	    "sourceId=at%3A%2F%2Fdid%3Aplc%3Aa%2Fx%2F%27%3BDROP%20TABLE%20"
	    "events%3B--",
	    "sourceType=bluesky%27%3B--&sourceId=at%3A%2F%2Fdid%3Aplc%3Aaa%2F"
	    "community.lexicon.calendar.event%2F3lhaaaaaaaaaa",
	    "sourceId=at%3A%2F%2Fdid%3Aplc%3Aaa%2Fcommunity.lexicon.calendar."
	    "event%2F3lh&rev=%27%20OR%20%271",
	    "sourceId=%zz", "sourceId=%00abc", "sourceId=",
	};

	(void)snprintf(x->url, sizeof(x->url), "%s/api/integration/%s?%s",
	    o->base, rnd(2) ? "events" : "rsvps", q[rnd(sizeof(q) /
	    sizeof(q[0]))]);
	curl_easy_setopt(x->h, CURLOPT_CUSTOMREQUEST, "DELETE");
	auth(x, o, any_tenant(o));
}

static void
b_routes(struct xfer *x, const struct opts *o, long i)
{
	static const char *const paths[] = { "/api/integration/events",
	    "/api/integration/rsvps", "/api/../../etc/passwd",
	    "/api/integration/events/atproto/x",
	    "/api/integration/events/atproto/%zz/a/b", "/admin",
	    "/api/integration/batch" };
	static const char *const methods[] = { "PUT", "PATCH", "GET",
	    "OPTIONS", "DELETE" };

	(void)snprintf(x->url, sizeof(x->url), "%s%s", o->base,
	    paths[rnd(sizeof(paths) / sizeof(paths[0]))]);
	curl_easy_setopt(x->h, CURLOPT_CUSTOMREQUEST,
	    methods[rnd(sizeof(methods) / sizeof(methods[0]))]);
	auth(x, o, any_tenant(o));
}

static void
b_batch(struct xfer *x, const struct opts *o, long i)
{
	size_t	n, j, off;

	(void)snprintf(x->url, sizeof(x->url), "%s/api/integration/batch",
	    o->base);
	curl_easy_setopt(x->h, CURLOPT_POST, 1L);
	auth(x, o, any_tenant(o));
	if (rnd(2)) {
		x->body = xasprintf(&x->len, "{\"operations\":%s}", rnd(2) ?
		    "\"all\"" : "[]");
		return;
	}
	n = 501 + rnd(400);
	x->body = xmalloc(n * 3 + 32);
	off = (size_t)sprintf(x->body, "{\"operations\":[");
	for (j = 0; j < n; j++)
		off += (size_t)sprintf(x->body + off, "%s{}", j ? "," : "");
	off += (size_t)sprintf(x->body + off, "]}");
	x->len = off;
}

/* Name, weight, may close, builder, then the allowed statuses. 429 is
 * allowed wherever the valid key is used: every such request draws from
 * the key's bucket (API_KEY_RATE_LIMIT), which a long run at full speed
 * drains; the checks before the key (headers, the key itself, the tenant)
 * answer without drawing. */
#define KASE(n, w, close, fn, ...)	{ .name = n, .weight = w,	\
	.may_close = close, .build = fn, .ok = { __VA_ARGS__ } }

struct kase	hostile_cases[] = {
	KASE("valid_event", 20, false, b_valid, 202, 429),
	KASE("truncated_json", 8, false, b_truncated, 400, 429),
	KASE("control_byte", 8, false, b_control_byte, 400, 429),
	KASE("wrong_types", 8, false, b_wrong_types, 400, 422, 429),
	KASE("rsvp_invalid", 4, false, b_rsvp_invalid, 422, 429),
	KASE("oversized_body", 2, false, b_oversized, 413, 429),
	KASE("oversized_kore", 1, true, b_kore_oversized, 413),
	KASE("long_string", 3, false, b_long_string, 413, 429),
	KASE("big_array", 3, false, b_big_array, 413, 429),
	KASE("deep_nesting", 4, false, b_deep, 422, 429),
	KASE("bad_utf8", 6, false, b_bad_utf8, 400, 429),
	KASE("header_huge", 3, false, b_header_huge, 431),
	KASE("header_many", 3, false, b_header_many, 400, 411, 431),
	KASE("bad_key", 8, false, b_bad_key, 401, 429),
	KASE("wrong_tenant", 6, false, b_wrong_tenant, 400, 403),
	KASE("sql_query", 6, false, b_sql_query, 400, 422, 429),
	KASE("routes", 4, false, b_routes, 400, 404, 405, 411, 422, 429),
	KASE("batch_abuse", 3, false, b_batch, 413, 422, 429),
};

const size_t	hostile_ncases =
    sizeof(hostile_cases) / sizeof(hostile_cases[0]);
