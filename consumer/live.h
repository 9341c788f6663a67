/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_LIVE_H
#define CONSUMER_LIVE_H

#include <stddef.h>

struct consumer_config;

/* Runs the live ingesters: one per source (RELAY_HOSTS, or SOURCE_URL),
 * each on its own thread, sharing one metrics registry and one
 * /metrics + /health endpoint. Returns when every ingester stopped
 * (ingest_request_stop()): 0, or -1 when one failed to start. */
int	live_run(const struct consumer_config *);

/* Expands one RELAY_HOSTS entry into a source URL written to out:
 * ws:// and wss:// URLs are kept, a bare host[:port] becomes
 * wss://HOST/xrpc/com.atproto.sync.subscribeRepos. Returns 0 or -1. */
int	live_source_url(const char *entry, char *out, size_t outlen);

#endif
