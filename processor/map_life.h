/* SPDX-License-Identifier: ISC */
#ifndef PROCESSOR_MAP_LIFE_H
#define PROCESSOR_MAP_LIFE_H

#include <stdbool.h>
#include <stddef.h>

struct json_t;
struct map_call;

/*
 * Identity, account, profile and label messages -> the lifecycle calls of
 * the API (POST /api/integration/identity|account|profile|labels). Pure.
 * These calls are never batched and their answers are read: an unknown
 * DID ({"known": false}) is acked and counted as ignored, and an identity
 * answer asking for resolution ({"resolve": true}) is resolved and sent
 * again (processor/call.c).
 */

/* Returns true when root (a parsed message body) is a lifecycle message:
 * kind identity or account, a commit of app.bsky.actor.profile, or a label
 * ({src, uri, val, cts} without kind). */
bool	map_life_is(const struct json_t *root);
/* Maps the lifecycle message root into *out (zeroed by the caller): path,
 * body, uri (the DID, the profile's at-uri or the label's subject), rev
 * (profiles), kind ("identity", "account", "profile", "label") and op.
 * Returns 0, or -1 with a one-line reason (park the message). */
int	map_life(struct map_call *out, const struct json_t *root,
	    char *reason, size_t reasonlen);
/* Returns true when kind (a map_call kind) is a lifecycle kind. */
bool	map_life_kind(const char *kind);

/* The resolved identity body sent after {"resolve": true}: hint_body (the
 * first call's body) with resolved true, handle (NULL or "" = did not
 * verify), pds (may be NULL) and tombstoned. Returns a new string (free
 * with free()), or NULL when hint_body is not a JSON object. */
char	*map_life_resolved(const char *hint_body, const char *handle,
	    const char *pds, bool tombstoned);

#endif
