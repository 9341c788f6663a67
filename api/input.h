/* SPDX-License-Identifier: ISC */
#ifndef API_INPUT_H
#define API_INPUT_H

#include <stddef.h>

/*
 * Pure syntax checks for identifiers and dates that arrive in request
 * bodies, query strings and paths. No I/O, no allocation.
 */

/* Splits "at://did/collection/rkey" into did, collection and rkey (each
 * written into a buffer of cap bytes) after checking all three with the
 * atproto rules (the authority must be a DID). Returns 0, or -1 with err
 * filled. */
int	api_aturi_parse(const char *uri, char *did, char *collection,
	    char *rkey, size_t cap, char *err, size_t errlen);

/* Checks an ISO 8601 date or date-time ("2026-05-01", "2026-05-01T18:00Z",
 * "2026-05-01T18:00:00.123+02:00") with real calendar bounds, and writes
 * a form Postgres reads unambiguously into out (capacity outlen): a
 * missing zone means UTC, a bare date means midnight UTC. Returns 0 or -1. */
int	api_datetime_normalize(const char *s, char *out, size_t outlen);

/* Returns 1 when s is an acceptable tenant id: 1-64 bytes of
 * [A-Za-z0-9._-]. */
int	api_tenant_ok(const char *s);

/* Returns 1 when s holds a finite decimal number (optional sign, digits,
 * optional fraction and exponent, nothing else) and stores it in *out. */
int	api_number_parse(const char *s, double *out);

/* Percent-decodes the value of the first `name=` in a query string (+ is
 * a space) into out (capacity outlen). Returns 1 found, 0 absent, -1 bad
 * encoding, NUL byte or too long. */
int	api_qs_get(const char *qs, const char *name, char *out,
	    size_t outlen);
/* Percent-decodes [s, s + len) into out (capacity outlen); returns 0 or -1
 * (bad escape, NUL byte, too long). */
int	api_pct_decode(const char *s, size_t len, char *out, size_t outlen);

/*
 * Limits on request bodies, checked on the raw JSON text before it is
 * parsed so a hostile body costs one linear scan and no allocation. Each
 * violation is answered with `status` and names the limit:
 * {"status":413,"error":"limit","limit":"string_length","max":N,...}.
 */
#define API_JSON_DEPTH_CAP	256	/* highest configurable depth_max */
#define API_BATCH_ITEMS_MAX	500	/* items of one batch request */

struct api_json_limits {
	size_t	depth_max;	/* nesting of arrays and objects, 1..256 */
	size_t	string_max;	/* bytes of one string as sent (escaped) */
	size_t	items_max;	/* elements of an array, members of an object */
};

struct api_limit_hit {
	const char	*limit;		/* "json_depth", "string_length", ... */
	int		 status;	/* 413 or 422 */
	size_t		 max;		/* the configured bound */
};

/* Scans JSON text buf[0..len) against lim. Returns 0 within the limits
 * (malformed text is left to the parser), or -1 with *hit naming the
 * first limit exceeded (static strings). */
int	api_json_limits_check(const char *buf, size_t len,
	    const struct api_json_limits *lim, struct api_limit_hit *hit);
/* Fills *hit for a limit checked elsewhere: "body_size" (413),
 * "batch_items" (413), "header_size" and "header_count" (431). */
void	api_limit_hit_set(struct api_limit_hit *hit, const char *limit,
	    size_t max);

#endif
