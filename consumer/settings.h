/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_SETTINGS_H
#define CONSUMER_SETTINGS_H

#include <stdbool.h>

/* The consumer's configuration, read once from the environment by
 * settings_load() and read-only afterwards. Strings live for the process. */
struct consumer_config {
	char		*source_url;		/* ws(s)://host/xrpc/com.atproto.sync.subscribeRepos */
	char		*relay_hosts;		/* comma-separated sources, or NULL */
	char		*mode;			/* INGESTER_MODE */
	char		*source_cursor;		/* "" live tip, "0" whole window, or a seq */
	char		*rabbitmq_url;
	char		*database_url;
	char		*log_level;
	char		*collections;		/* comma-separated NSIDs kept */
	bool		 forward_identity;	/* identity, account, profiles */
	char		*jetstream_dict;	/* zstd dictionary path or NULL */
	long long	 max_frame_len;		/* bytes */
	long long	 high_water;		/* unconfirmed messages: pause reading */
	long long	 low_water;		/* resume reading below this */
	long long	 depth_high;		/* queue depth: pause reading */
	long long	 depth_low;		/* queue depth: resume below this */
	long long	 idle_timeout_ms;	/* silent connection is dead after this */
	long long	 batch_size;		/* messages per publish batch */
	long long	 batch_timeout_ms;	/* longest a batch stays open; cursor
						 * stored at least this often */
	long long	 reconnect_max_ms;	/* backoff ceiling */
	long long	 shutdown_timeout_ms;	/* wait for confirms on SIGTERM */
	bool		 verify_blocks;		/* check record block SHA-256 */
	char		*metrics_listen;	/* host:port of /metrics, or NULL */
	char		*metrics_token;		/* bearer token for /metrics */
	/* Commit signatures (verify.c, engineer K). */
	char		*verify_signatures;	/* "calendar" or "off" */
	char		*plc_url;		/* DID PLC directory */
	/* Backfill and labels (backfill*.c, labels*.c, engineer L). */
	char		*backfill_source_url;	/* http(s) relay/PDS list or NULL */
	char		*backfill_kind;		/* auto, relay or pds */
	long long	 backfill_concurrency;	/* repos fetched at once */
	long long	 backfill_rate;		/* requests/s per host */
	long long	 backfill_max_repo_len;	/* bytes of one getRepo CAR */
	char		*labeler_hosts;		/* subscribeLabels hosts or NULL */
	char		*source_ca_file;	/* PEM CAs for wss, NULL = system */
};

/* Loads the configuration; on any problem prints every one to stderr and
 * returns -1. */
int	settings_load(struct consumer_config *out);
/* Frees the strings of a loaded configuration. */
void	settings_free(struct consumer_config *);
/* Logs the effective configuration (secrets redacted). */
void	settings_log(const struct consumer_config *);
/* Prints the settings table. */
void	settings_usage(void);

#endif
