/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_INGEST_H
#define CONSUMER_INGEST_H

#include <stddef.h>

struct atc_metrics;
struct consumer_config;
struct consumer_metrics;

/*
 * The live path for one source: firehose frames (or Jetstream events) in,
 * one persistent confirmed RabbitMQ message per kept op out, cursor stored
 * per host only over confirmed messages. One ingest_run() per source, each
 * on its own thread with its own connections and replica lock.
 */

/* Runs the source at url until ingest_request_stop() (async-signal-safe)
 * has been called and the drain finished. metrics/m (this host's series,
 * from telemetry_init) are borrowed. Returns 0 on a clean stop, -1 on a
 * fatal startup error (logged). */
int	ingest_run(const struct consumer_config *, const char *url,
	    struct atc_metrics *metrics, struct consumer_metrics *m);
void	ingest_request_stop(void);
/* Writes url's host[:port] (the cursor key and "source" field) into out.
 * Returns 0 or -1. */
int	ingest_source_host(const char *url, char *out, size_t outlen);

#endif
