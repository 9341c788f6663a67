/* SPDX-License-Identifier: ISC */
#ifndef API_GUARD_H
#define API_GUARD_H

#include <stddef.h>
#include <stdint.h>

/*
 * The security, limit, metrics and fault hooks of a request, applied by
 * call.c and the write handlers with one line each: rate limits (client
 * address for failed authentication, the key's bucket) answered 429 with
 * Retry-After, input limits answered 413/422 naming the limit, the
 * test-only fault switch, and the telemetry of every answer and store
 * call. Each function that answers returns -1 after setting the answer of
 * the call (the caller then finishes it), else 0.
 */
struct api_call;
struct json_t;

/* Request headers: Kore reads at most API_KORE_HEADER_BUF bytes of them
 * (larger blocks are dropped unanswered) and parses only the first 23
 * header lines, silently ignoring the rest; Host is kept apart, so a
 * request with 22 other headers may have lost some. */
#define API_HEADERS_MAX		16384	/* bytes of all header lines */
#define API_HEADER_COUNT_MAX	21	/* header lines besides Host */

/* Before the key check: 431 naming "header_size" or "header_count" when
 * the headers exceed the limits above (a request at Kore's parse bound may
 * have had headers dropped), then 429 when the client address is over its
 * failed authentication limit (so a blocked client learns nothing). */
int	guard_request(struct api_call *);
/* Records a failed authentication (reason "bad_key" or "forbidden"):
 * counted, and "bad_key" drains the client address's bucket. */
void	guard_auth_failed(struct api_call *, const char *reason);
/* After a successful key check of key idx: names the key (fingerprint) in
 * the log line, takes a token from its bucket, 429 when empty. */
int	guard_key(struct api_call *, size_t idx);
/* Checks a request body against the JSON limits before parsing. */
int	guard_json(struct api_call *, const void *body, size_t len);
/* Sets the answer for an exceeded limit checked by the caller
 * ("body_size", "batch_items", ...; see input.h); returns -1. */
int	guard_limit(struct api_call *, const char *limit, size_t max);
/* Integration writes only: the test-only fault switch (faults.h). May
 * stall; answers 500 for the configured share. */
int	guard_fault(struct api_call *);
/* Counts one api_store_apply() call started at t0_ms: its duration, and
 * with res (its result array; NULL when it failed) each operation of ops
 * by kind, tenant, source type and outcome (create, update, delete,
 * stale), plus shadow accounts a result reports ("shadowCreated"). */
void	guard_applied(struct api_call *, const struct json_t *ops,
	    const struct json_t *res, uint64_t t0_ms);
/* Counts the answer just sent (route, method, status, duration). */
void	guard_finish(struct api_call *);

#endif
