/* SPDX-License-Identifier: ISC */
#ifndef API_TELEMETRY_H
#define API_TELEMETRY_H

#include <stddef.h>

/*
 * The API's Prometheus metrics, counted by every Kore worker into one
 * registry in shared memory that the parent creates before it forks.
 * OpenMeet's names are kept (event_integration_*, rsvp_integration_*) so
 * its dashboards carry over; the rest is atcal_api_*. Hooks never fail:
 * before telemetry_init(), or with a full registry, they count nothing.
 * Label values are reduced to [A-Za-z0-9_.:/-] (others become '_').
 */
struct atc_buf;

/* Creates the shared registry (max_series series). Call once, in the
 * parent before fork. Returns 0 or -1 with err filled. */
int	telemetry_init(size_t max_series, char *err, size_t errlen);

/* One answered request: route is the handler's name, method its HTTP
 * method, status the answer, seconds the time to answer. */
void	telemetry_request(const char *route, const char *method, int status,
	    double seconds);
/* One store call (one or more statements), and whether it failed. */
void	telemetry_db(double seconds, int failed);
/* One processed integration write: kind "event" or "rsvp"; op "create",
 * "update", "delete" or "stale" (ignored: older rev). */
void	telemetry_processed(const char *kind, const char *tenant,
	    const char *source_type, const char *op, double seconds);
/* One deduplication match by method ("source_id", "source_url", "rkey",
 * "cid", ...). */
void	telemetry_dedup(const char *tenant, const char *method);
/* One shadow account created. */
void	telemetry_shadow_created(void);
/* One identity, account, profile or label message (kind); outcome
 * "unknown_did" (no write), "applied" or "stale". */
void	telemetry_lifecycle(const char *kind, const char *outcome);
/* One failed authentication; reason "bad_key", "forbidden", "throttled". */
void	telemetry_auth_failure(const char *reason);
/* One request refused by a rate limit; key is the key's fingerprint (or
 * "addr" for the per-address failed-auth limit). */
void	telemetry_rate_limited(const char *key);
/* One injected test fault ("error500", "stall"). */
void	telemetry_fault(const char *kind);

/* Appends the registry in the Prometheus text format to out. Returns 0,
 * or -1 when telemetry_init() was not called. */
int	telemetry_render(struct atc_buf *out);

#endif
