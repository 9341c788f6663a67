/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_TELEMETRY_H
#define PROCESSOR_TELEMETRY_H

struct atc_histogram;
struct atc_metric;
struct atc_metrics;

/*
 * The processor's metrics: OpenMeet's bsky_event_processor_* names (so its
 * dashboards carry over) plus atcal_processor_* for retries, the DLQ and
 * the in-flight window. Pointers are borrowed from the registry.
 */
struct processor_metrics {
	struct atc_metrics	*r;
	struct atc_histogram	*processing;	/* delivery -> settled */
	struct atc_histogram	*api_request;	/* one API call */
	struct atc_metric	*queue_connected;
	struct atc_metric	*retries[8];	/* per ladder rung */
	struct atc_metric	*parked;
	struct atc_metric	*dlq_depth;
	struct atc_metric	*inflight;
	struct atc_metric	*pending;
	struct atc_metric	*resolving;	/* identity messages waiting
						 * for their DID document */
	struct atc_metric	*api_up;	/* last call got an answer */
};

/* Creates the fixed series in r. */
void	ptelemetry_init(struct processor_metrics *, struct atc_metrics *r);
/* Counts one settled message: status is "ok", "retry" or "parked"; kind
 * and op may be NULL (unknown). */
void	ptelemetry_processed(struct processor_metrics *, const char *kind,
	    const char *op, const char *status);
/* Counts one failure by class ("network", "http_5xx", "http_4xx",
 * "invalid", "event_not_yet_known", ...). */
void	ptelemetry_error(struct processor_metrics *, const char *kind,
	    const char *op, const char *error);

#endif
