/* SPDX-License-Identifier: ISC */
#ifndef API_LIFECYCLE_H
#define API_LIFECYCLE_H

#include <stddef.h>

/*
 * Validation of the identity, account, profile and label request bodies
 * into the jsonb operations the database functions of schema/0011 and
 * 0012 apply. Pure: the caller parses JSON and owns the body; every
 * problem is added to an errors object as "field": "message".
 */
struct json_t;

#define LIFECYCLE_LABELS_MAX	1000	/* labels of one request */
#define LIFECYCLE_VAL_MAX	128	/* bytes of a label value */

/* Identity body {did, handle?, pds?, seq?, time?, resolved?, tombstoned?}.
 * Returns 0 and *out a new object (free with json_decref()), or -1 with
 * errors filled and *out NULL. */
int	lifecycle_identity(const struct json_t *body, struct json_t **out,
	    struct json_t *errors);
/* Account body {did, active, status?, seq?, time?}; same contract. */
int	lifecycle_account(const struct json_t *body, struct json_t **out,
	    struct json_t *errors);
/* Profile body {did, rev?, operation, record?, time?, pds?}: the record
 * (app.bsky.actor.profile, required unless operation is delete) reduced
 * to displayName, description, avatarCid and bannerCid. Same contract. */
int	lifecycle_profile(const struct json_t *body, struct json_t **out,
	    struct json_t *errors);
/* Labels body {labels: [{src, uri, cid?, val, neg?, cts, exp?}, ...]} or
 * the bare array; *out is a new array of normalised labels. Errors are
 * named "labels[i].field". Same contract. */
int	lifecycle_labels(const struct json_t *body, struct json_t **out,
	    struct json_t *errors);

/* The label values that hide a subject: "!hide", "!takedown" and each
 * value of csv (comma-separated, blanks trimmed; may be NULL), as JSON
 * array text. Returns a new string (free with free()), or NULL with err
 * filled on a bad value. */
char	*lifecycle_hide_values(const char *csv, char *err, size_t errlen);

#endif
