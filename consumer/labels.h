/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_LABELS_H
#define CONSUMER_LABELS_H

#include <stddef.h>

struct atc_metrics;
struct consumer_config;

/*
 * Moderation labels: com.atproto.label.subscribeLabels on every host of
 * LABELER_HOSTS, one thread, WebSocket, broker connection and stored
 * cursor (table label_cursors) per host. One persistent confirmed message
 * per valid label, routing key label.apply or label.negate.
 */

/* `consumer labels`: loads the settings, installs SIGTERM/SIGINT handlers
 * and runs until signalled. Returns the process exit status. */
int	labels_main(int argc, char **argv);
/* Runs the subscribers until labels_request_stop(); metrics may be NULL
 * (a registry of its own is made). Returns 0, or -1 on a startup error
 * (logged). */
int	labels_run(const struct consumer_config *, struct atc_metrics *);
/* Async-signal-safe. */
void	labels_request_stop(void);
/* Expands one LABELER_HOSTS entry into out: ws:// and wss:// URLs keep
 * their path (none: the subscribeLabels path is added), a bare host[:port]
 * becomes wss://HOST/xrpc/com.atproto.label.subscribeLabels. Returns 0 or
 * -1. */
int	labels_source_url(const char *entry, char *out, size_t outlen);

#endif
