/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_INGEST_H
#define CONSUMER_INGEST_H

struct consumer_config;

/*
 * The live path: firehose frames in, one persistent confirmed RabbitMQ
 * message per kept op out, cursor stored only over confirmed messages.
 */

/* Runs until ingest_request_stop() (async-signal-safe) has been called and
 * the drain finished. Returns 0 on a clean stop, -1 on a fatal startup
 * error (logged). */
int	ingest_run(const struct consumer_config *);
void	ingest_request_stop(void);

#endif
