/* SPDX-License-Identifier: ISC */
/*
 * Metric definitions of the consumer, in one place so names, help texts
 * and labels stay consistent with the dashboards and alert rules in
 * grafana/.
 */
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "telemetry.h"

static const char	*kinds[] = { "event", "rsvp", "record" };
static const char	*ops[] = { "create", "update", "delete" };
/* Indexed by enum pubbatch_close - 1. */
static const char	*batch_reasons[] = { "full", "idle", "timeout" };

void
telemetry_init(struct consumer_metrics *m, struct atc_metrics *r,
    const char *host)
{
	const double	*lb = atc_metrics_latency_buckets;
	size_t		 nlb = atc_metrics_nlatency_buckets;
	static const double lag_buckets[] = { 0.05, 0.1, 0.25, 0.5, 1, 2, 5,
	    10, 30, 60, 300 };
	char		 labels[160], h[128];
	size_t		 k, o;

	memset(m, 0, sizeof(*m));
	/* Every series carries the source host: one process may follow
	 * several (RELAY_HOSTS). */
	(void)snprintf(h, sizeof(h), "host=\"%s\"", host);
	m->firehose_connected = atc_metrics_gauge(r,
	    "bsky_firehose_firehose_connected",
	    "1 while the source WebSocket is connected.", h);
	m->queue_connected = atc_metrics_gauge(r,
	    "bsky_firehose_queue_connected",
	    "1 while the RabbitMQ publishing connection is up.", h);
	for (k = 0; k < 3; k++) {
		for (o = 0; o < 3; o++) {
			(void)snprintf(labels, sizeof(labels),
			    "%s,type=\"%s\",operation=\"%s\"", h, kinds[k],
			    ops[o]);
			m->events[k][o] = atc_metrics_counter(r,
			    "bsky_firehose_events_total",
			    "Records published to RabbitMQ.", labels);
		}
	}
	m->processing = atc_metrics_histogram(r,
	    "bsky_firehose_event_processing_duration_seconds",
	    "Time to decode, verify and publish one source frame.", h,
	    lb, nlb);
	m->publish = atc_metrics_histogram(r,
	    "bsky_firehose_queue_publish_duration_seconds",
	    "Time of one publish call.", h, lb, nlb);
	m->connection_errors = atc_metrics_counter(r,
	    "bsky_firehose_connection_errors_total",
	    "Source connections that failed or dropped.", h);
	m->publish_errors = atc_metrics_counter(r,
	    "bsky_firehose_queue_publish_errors_total",
	    "Publishes that failed (connection lost or nacked).", h);
	m->frames = atc_metrics_counter(r, "atcal_consumer_frames_total",
	    "Frames (or Jetstream events) received from the source.", h);
	m->frames_dropped = atc_metrics_counter(r,
	    "atcal_consumer_frames_dropped_total",
	    "Frames dropped as malformed or oversized (each logged).", h);
	m->records_dropped = atc_metrics_counter(r,
	    "atcal_consumer_records_dropped_total",
	    "Records dropped as invalid (each logged with uri and cause).", h);
	m->lag = atc_metrics_gauge(r, "atcal_consumer_lag_seconds",
	    "Receive time minus the source's event time of the last frame.", h);
	m->ingest_latency = atc_metrics_histogram(r,
	    "atcal_consumer_ingest_latency_seconds",
	    "Source event time to publish, per frame.", h, lag_buckets,
	    sizeof(lag_buckets) / sizeof(lag_buckets[0]));
	m->pauses = atc_metrics_counter(r,
	    "atcal_consumer_backpressure_pauses_total",
	    "Times reading paused for backpressure.", h);
	m->resumes = atc_metrics_counter(r,
	    "atcal_consumer_backpressure_resumes_total",
	    "Times reading resumed after backpressure.", h);
	m->paused = atc_metrics_gauge(r, "atcal_consumer_backpressure_paused",
	    "1 while reading is paused for backpressure.", h);
	m->paused_seconds = atc_metrics_counter(r,
	    "atcal_consumer_backpressure_paused_seconds_total",
	    "Time spent paused for backpressure.", h);
	m->reconnect_attempts = atc_metrics_counter(r,
	    "atcal_consumer_reconnect_attempts_total",
	    "Source connection attempts after the first.", h);
	m->reconnect_successes = atc_metrics_counter(r,
	    "atcal_consumer_reconnect_successes_total",
	    "Source connections established after the first.", h);
	m->cursor = atc_metrics_gauge(r, "atcal_consumer_cursor",
	    "Last stored (confirmed) source position per host.", h);
	m->unconfirmed = atc_metrics_gauge(r,
	    "atcal_consumer_unconfirmed_messages",
	    "Messages published but not yet confirmed by the broker.", h);
	m->queue_depth = atc_metrics_gauge(r, "atcal_consumer_queue_depth",
	    "Messages ready in the main queue (-1 unknown).", h);
	m->leader = atc_metrics_gauge(r, "atcal_consumer_leader",
	    "1 on the replica that holds the source lock.", h);
	m->identity = atc_metrics_counter(r,
	    "atcal_consumer_identity_events_total",
	    "Identity and account events forwarded.", h);
	m->database_up = atc_metrics_gauge(r, "atcal_consumer_database_up",
	    "1 while the database answered the last check.", h);
	for (k = 0; k < 3; k++) {
		(void)snprintf(labels, sizeof(labels), "%s,reason=\"%s\"", h,
		    batch_reasons[k]);
		m->batches[k] = atc_metrics_counter(r,
		    "atcal_consumer_publish_batches_total",
		    "Publish batches closed, by what closed them "
		    "(INGESTER_BATCH_SIZE, INGESTER_BATCH_TIMEOUT_MS).", labels);
	}
	m->cursor_saves = atc_metrics_counter(r,
	    "atcal_consumer_cursor_saves_total",
	    "Times the confirmed cursor was written to the database.", h);
}

struct atc_metric *
telemetry_event(struct consumer_metrics *m, const char *kind,
    const char *operation)
{
	size_t	k, o;

	for (k = 0; k < 2 && strcmp(kinds[k], kind) != 0; k++)
		;
	for (o = 0; o < 2 && strcmp(ops[o], operation) != 0; o++)
		;
	return m->events[k][o];
}

struct atc_metric *
telemetry_event_rk(struct consumer_metrics *m, const char *routing_key)
{
	char		 kind[16];
	const char	*dot = strchr(routing_key, '.');

	if (dot == NULL || (size_t)(dot - routing_key) >= sizeof(kind))
		return NULL;
	memcpy(kind, routing_key, (size_t)(dot - routing_key));
	kind[dot - routing_key] = '\0';
	return telemetry_event(m, kind, dot + 1);
}
