/* SPDX-License-Identifier: ISC */
#ifndef CONSUMER_JETSTREAM_H
#define CONSUMER_JETSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct atc_buf;

/*
 * Jetstream (JSON) events -> the same RabbitMQ messages the firehose path
 * produces. Pure: no I/O.
 */
enum jetstream_result {
	JETSTREAM_PUBLISH = 0,	/* body, routing key and id are filled */
	JETSTREAM_SKIP,		/* valid but not forwarded (kind, collection) */
	JETSTREAM_INVALID,	/* err says why; uri filled when known */
};

struct jetstream_event {
	int64_t	time_us;		/* the event's cursor position; -1 if none */
	char	routing_key[32];	/* "event.create" */
	char	message_id[600];	/* "at://did/collection/rkey#rev" */
	char	uri[520];		/* at-uri of the record, or the DID */
};

/* Parses data[0..len) (one Jetstream event) and, for a commit on one of
 * the NULL-terminated collections (or, when identity is set, an identity
 * or account event), appends the message body (the event plus "seq" =
 * time_us and "source" = source) to body. Routing keys: <kind>.<op>,
 * identity.update, account.<status> (account.active when active). */
enum jetstream_result	jetstream_translate(const char *data, size_t len,
			    const char *const *collections, bool identity,
			    const char *source, struct atc_buf *body,
			    struct jetstream_event *ev, char *err,
			    size_t errlen);

/* True when url's path ends in /subscribe (a Jetstream endpoint). */
int	jetstream_is_url(const char *url);
/* Appends url plus wantedCollections for each collection (unless the URL
 * already names some) and cursor (when cursor_us >= 0) to out. */
void	jetstream_build_url(struct atc_buf *out, const char *url,
	    const char *const *collections, int64_t cursor_us);

#endif
