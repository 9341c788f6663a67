/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_PIPELINE_H
#define PROCESSOR_PIPELINE_H

#include <signal.h>
#include <stddef.h>

struct settings;
struct processor_metrics;

/* Runs the processor until *stop becomes non-zero: consumes the main queue,
 * calls the API with up to cfg->concurrency calls in flight, and acks,
 * retries or parks every message, reconnecting to RabbitMQ with backoff.
 * On stop it drains calls in flight (bounded) and returns 0; -1 only when it
 * could not start (err filled). */
int	pipeline_run(const struct settings *cfg, struct processor_metrics *m,
	    volatile sig_atomic_t *stop,
	    char *err, size_t errlen);

#endif
