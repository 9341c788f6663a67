/* SPDX-License-Identifier: ISC */
/*
 * Metric definitions of the processor. Labelled counters are looked up per
 * message (their label sets are small and fixed: kind x op x status), the
 * rest are created once.
 */
#include <stdio.h>

#include "metrics.h"
#include "mq.h"
#include "telemetry.h"

void
ptelemetry_init(struct processor_metrics *m, struct atc_metrics *r)
{
	char	labels[64];
	size_t	i;

	m->r = r;
	m->processing = atc_metrics_histogram(r,
	    "bsky_event_processor_event_processing_duration_seconds",
	    "Delivery to settled fate (applied, retried or parked).", NULL,
	    atc_metrics_latency_buckets, atc_metrics_nlatency_buckets);
	m->api_request = atc_metrics_histogram(r,
	    "bsky_event_processor_api_request_duration_seconds",
	    "One integration API call.", NULL, atc_metrics_latency_buckets,
	    atc_metrics_nlatency_buckets);
	m->queue_connected = atc_metrics_gauge(r,
	    "bsky_event_processor_queue_connected",
	    "1 while consuming from RabbitMQ.", NULL);
	for (i = 0; i < atc_mq_nladder && i < 8; i++) {
		(void)snprintf(labels, sizeof(labels), "rung=\"%s\"",
		    atc_mq_ladder[i].name);
		m->retries[i] = atc_metrics_counter(r,
		    "atcal_processor_retries_total",
		    "Messages sent to a retry rung.", labels);
	}
	m->parked = atc_metrics_counter(r, "atcal_processor_parked_total",
	    "Messages parked in the dead-letter queue.", NULL);
	m->dlq_depth = atc_metrics_gauge(r, "atcal_processor_dlq_depth",
	    "Messages in the dead-letter queue (-1 unknown).", NULL);
	m->inflight = atc_metrics_gauge(r, "atcal_processor_inflight",
	    "API calls in flight.", NULL);
	m->pending = atc_metrics_gauge(r, "atcal_processor_pending",
	    "Deliveries waiting for an API slot.", NULL);
	m->resolving = atc_metrics_gauge(r, "atcal_processor_resolving",
	    "Identity messages waiting for their DID document.", NULL);
	m->api_up = atc_metrics_gauge(r, "atcal_processor_api_up",
	    "1 when the last API call got an HTTP answer.", NULL);
	atc_metric_set(m->dlq_depth, -1);
}

void
ptelemetry_processed(struct processor_metrics *m, const char *kind,
    const char *op, const char *status)
{
	char	labels[128];

	(void)snprintf(labels, sizeof(labels),
	    "type=\"%s\",operation=\"%s\",status=\"%s\"",
	    kind ? kind : "unknown", op ? op : "unknown", status);
	atc_metric_inc(atc_metrics_counter(m->r,
	    "bsky_event_processor_events_processed_total",
	    "Messages settled, by outcome.", labels));
}

void
ptelemetry_error(struct processor_metrics *m, const char *kind,
    const char *op, const char *error)
{
	char	labels[128];

	(void)snprintf(labels, sizeof(labels),
	    "type=\"%s\",operation=\"%s\",error=\"%s\"",
	    kind ? kind : "unknown", op ? op : "unknown", error);
	atc_metric_inc(atc_metrics_counter(m->r,
	    "bsky_event_processor_event_processing_errors_total",
	    "Failed deliveries by class.", labels));
}
