/* SPDX-License-Identifier: ISC */
#ifndef ATC_OPS_HTTP_H
#define ATC_OPS_HTTP_H

#include <stdbool.h>

struct atc_metrics;

/*
 * The operations endpoint of the consumer and the processor: GET /metrics
 * (Prometheus text, optionally behind a bearer token), GET
 * /health/liveness (200 while the process serves) and GET
 * /health/readiness (200 or 503 from the service's readiness callback).
 * It runs on a thread of its own so a busy or stalled main loop never
 * hides its own metrics; requests are small and served one at a time with
 * short timeouts.
 */
struct atc_ops_http;

/* Readiness callback: returns true when ready; may fill why (capacity
 * whylen) with the missing dependency. Called on the server thread: it
 * must only read atomics or other thread-safe state. */
typedef bool (*atc_ready_fn)(void *arg, char *why, size_t whylen);

/* Binds listen ("host:port") and starts serving. token may be NULL (no
 * auth). Returns a new server; stop and free it with atc_ops_http_free().
 * NULL and err on failure. */
struct atc_ops_http	*atc_ops_http_start(const char *listen,
			    struct atc_metrics *, const char *token,
			    atc_ready_fn ready, void *ready_arg, char *err,
			    size_t errlen);
void			 atc_ops_http_free(struct atc_ops_http *);

#endif
