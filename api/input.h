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

#endif
