/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_SETTINGS_H
#define PROCESSOR_SETTINGS_H

#include <stddef.h>

struct atc_buf;

/* The processor's configuration, read once from the environment. Strings
 * are owned by the struct and live for the process. */
struct settings {
	char		*rabbitmq_url;
	char		*api_url;
	char		*api_key;		/* secret */
	char		*tenant_id;
	char		*log_level;		/* err|warn|info|debug */
	long long	 prefetch;		/* messages unacked at once */
	long long	 concurrency;		/* API calls in flight */
	long long	 api_timeout_ms;	/* per API call */
	long long	 batch_size;		/* messages per batch call; 1 =
						 * one call per message */
	long long	 batch_linger_ms;	/* wait for a fuller batch */
	char		*metrics_listen;	/* host:port of /metrics, or "off" */
	char		*metrics_token;		/* secret; NULL = no auth */
	char		*api_ca_file;		/* PEM CAs trusted for https
						 * API_URL; NULL = system */
	char		*plc_url;		/* PLC directory resolving the
						 * DIDs of identity events and
						 * of fetched events' authors */
	long long	 fetch_event_after;	/* failed deliveries of an RSVP
						 * whose event is unknown before
						 * it is fetched; 0 = never */
};

/* Fills s (zeroed by the caller) from the environment; every problem is
 * appended to errs, one line each. Returns the number of problems (0 = OK). */
int	settings_load(struct settings *s, struct atc_buf *errs);
/* Like settings_load() for RABBITMQ_URL and LOG_LEVEL only (the DLQ CLI
 * does not talk to the API). */
int	settings_load_mq(struct settings *s, struct atc_buf *errs);
/* Frees the strings of s and zeroes it. */
void	settings_cleanup(struct settings *s);
/* Logs the effective settings (secrets redacted). */
void	settings_log(const struct settings *s);
/* Prints the settings table for --help. */
void	settings_usage(void);

#endif
