/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_MAP_H
#define PROCESSOR_MAP_H

#include <stddef.h>

struct atc_buf;

/* Largest message body the processor accepts (an atproto record is at most
 * 1 MB; the envelope adds little). */
#define MAP_BODY_MAX	(2 * 1024 * 1024)

enum map_method {
	MAP_POST,
	MAP_DELETE,
};

/* One integration API call derived from one queue message. Every pointer is
 * owned by the struct: release with map_call_cleanup(). */
struct map_call {
	enum map_method	 method;
	char		*path;	/* path and query, e.g. "/api/integration/events" */
	char		*body;	/* compact JSON for POST; NULL for DELETE */
	char		*uri;	/* at://did/collection/rkey, NULL if unknown */
	char		*rev;	/* repo rev, NULL if unknown */
	const char	*kind;	/* "event", "rsvp", or a lifecycle kind
				 * (map_life.h) (static), NULL if unknown */
	const char	*op;	/* "create" | "update" | "delete"; lifecycle
				 * also "apply" | "negate" (static) */
};

/* Maps a Jetstream commit envelope (the message body, len bytes, need not be
 * NUL-terminated) to its API call. Pure: no I/O. Returns 0 and fills *out,
 * or -1 with a one-line reason (the message is permanently invalid: park
 * it); out->uri/kind/op are filled as far as they could be parsed in both
 * cases. Always call map_call_cleanup(out) afterwards. */
int	map_message(struct map_call *out, const void *body, size_t len,
	    char *reason, size_t reasonlen);
/* Appends c (a call map_message() filled) to out as one operation of the
 * batch endpoint: {"op":"event.upsert","body":DTO} for upserts,
 * {"op":"rsvp.delete","sourceId":URI,"sourceType":"bluesky","rev":REV} for
 * deletes. Pure. 0, or -1 (out untouched) when c is not a mapped call. */
int	map_batch_item(struct atc_buf *out, const struct map_call *c,
	    const char *request_id);
/* Frees what c owns and zeroes it. */
void	map_call_cleanup(struct map_call *c);

#endif
