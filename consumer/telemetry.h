/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_TELEMETRY_H
#define CONSUMER_TELEMETRY_H

struct atc_histogram;
struct atc_metric;
struct atc_metrics;

/*
 * The consumer's metrics. OpenMeet's bsky_firehose_* names are kept so its
 * dashboards carry over; atcal_consumer_* adds what they lacked. All series
 * are created up front by telemetry_init(); the pointers are borrowed from
 * the registry.
 */
struct consumer_metrics {
	struct atc_metric	*firehose_connected;
	struct atc_metric	*queue_connected;
	struct atc_metric	*events[3][3];	/* [event,rsvp,record][c,u,d] */
	struct atc_histogram	*processing;	/* per frame */
	struct atc_histogram	*publish;	/* per publish call */
	struct atc_metric	*connection_errors;
	struct atc_metric	*publish_errors;
	struct atc_metric	*frames;
	struct atc_metric	*frames_dropped;
	struct atc_metric	*records_dropped;
	struct atc_metric	*lag;		/* seconds behind the source */
	struct atc_histogram	*ingest_latency; /* source time -> published */
	struct atc_metric	*pauses;
	struct atc_metric	*resumes;
	struct atc_metric	*paused;
	struct atc_metric	*paused_seconds;
	struct atc_metric	*reconnect_attempts;
	struct atc_metric	*reconnect_successes;
	struct atc_metric	*cursor;
	struct atc_metric	*unconfirmed;
	struct atc_metric	*queue_depth;
	struct atc_metric	*leader;
	struct atc_metric	*database_up;
	struct atc_metric	*identity;	/* identity/account forwarded */
	struct atc_metric	*batches[3];	/* publish batches closed: full,
						 * idle, timeout */
	struct atc_metric	*cursor_saves;	/* cursor stores attempted */
};

/* Creates every series in r; host labels the cursor gauge. */
void	telemetry_init(struct consumer_metrics *, struct atc_metrics *r,
	    const char *host);
/* The events_total series for a routing kind and operation name. */
struct atc_metric	*telemetry_event(struct consumer_metrics *,
			    const char *kind, const char *operation);

/* Same from a routing key ("event.create"). */
struct atc_metric	*telemetry_event_rk(struct consumer_metrics *,
			    const char *routing_key);

#endif
