/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_LIVE_H
#define CONSUMER_LIVE_H

#include <stddef.h>

struct consumer_config;

/* Runs what INGESTER_MODE asks for: the live ingesters, one per source
 * (RELAY_HOSTS, or SOURCE_URL), each on its own thread; the label
 * subscriptions (LABELER_HOSTS); the backfill. All share one metrics
 * registry and one /metrics + /health endpoint. Returns when everything
 * stopped (live_request_stop(), or the backfill finished in backfill
 * mode): 0, or -1 when a part failed. */
int	live_run(const struct consumer_config *);

/* Asks every running part (live sources, labels, backfill) to drain and
 * stop. Async-signal-safe. */
void	live_request_stop(void);

/* Expands one RELAY_HOSTS entry into a source URL written to out:
 * ws:// and wss:// URLs are kept, a bare host[:port] becomes
 * wss://HOST/xrpc/com.atproto.sync.subscribeRepos. Returns 0 or -1. */
int	live_source_url(const char *entry, char *out, size_t outlen);

#endif
