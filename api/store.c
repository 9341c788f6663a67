/* SPDX-License-Identifier: ISC */
/*
 * Event, RSVP and shadow-account writes. The logic lives in the database
 * functions of schema/0007 (dedup chain, rev ordering, tombstones, shadow
 * accounts under a per-DID lock; 0010 applies batches set-based with the
 * same results), so a single POST and a 500-operation
 * batch are the same single statement: one round trip and one transaction,
 * and a lost unique race is "already there", never an error (OpenMeet
 * failures 4, 6, 7). This file only moves JSON across and counts dedup
 * matches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db.h"
#include "log.h"
#include "store.h"
#include "util.h"

static const char sql_apply[] = "SELECT atcal_apply($1, $2::jsonb)::text";
static const char sql_claim[] =
    "SELECT atcal_claim_shadow($1, $2, $3, $4)::text";

/* Process-wide, set once before the workers serve (see store.h). */
static void	(*dedup_hook)(const char *, const char *);

void
api_store_dedup_hook(void (*fn)(const char *, const char *))
{
	dedup_hook = fn;
}

/* Runs sql (one row, one jsonb column) and parses the value into *out. */
static int
store_json(struct atc_db *db, const char *sql, int nparams,
    const char *const *params, json_t **out, char *err, size_t errlen)
{
	struct atc_db_result	*res = NULL;
	json_error_t		 jerr;
	const char		*v;
	int			 ret = -1;

	*out = NULL;
	if (atc_db_query(db, sql, nparams, params, &res, err, errlen) == -1)
		goto out;
	if ((v = atc_db_result_value(res, 0, 0)) == NULL) {
		atc_seterr(err, errlen, "database function returned nothing");
		goto out;
	}
	if ((*out = json_loads(v, 0, &jerr)) == NULL) {
		atc_seterr(err, errlen, "database function result: %s",
		    jerr.text);
		goto out;
	}
	ret = 0;
out:
	atc_db_result_free(res);
	return ret;
}

int
api_store_apply(struct atc_db *db, const char *tenant, const json_t *ops,
    json_t **out, char *err, size_t errlen)
{
	const char	*p[2];
	const char	*method;
	char		*text;
	json_t		*r;
	size_t		 i;
	int		 ret;

	*out = NULL;
	if ((text = json_dumps(ops, JSON_COMPACT)) == NULL)
		abort();
	p[0] = tenant;
	p[1] = text;
	ret = store_json(db, sql_apply, 2, p, out, err, errlen);
	free(text);
	if (ret == -1)
		return -1;
	if (!json_is_array(*out) || json_array_size(*out) !=
	    json_array_size(ops)) {
		json_decref(*out);
		*out = NULL;
		return atc_seterr(err, errlen, "atcal_apply returned a bad "
		    "result list");
	}
	json_array_foreach(*out, i, r) {
		method = json_string_value(json_object_get(r, "method"));
		if (method == NULL || strcmp(method, "none") == 0)
			continue;
		atc_log_debug("dedup_match", "tenant=%s method=%s", tenant,
		    method);
		if (dedup_hook != NULL)
			dedup_hook(tenant, method);
	}
	return 0;
}

int
api_store_claim(struct atc_db *db, const char *tenant, const char *did,
    const char *user_slug, const char *handle, json_t **out, char *err,
    size_t errlen)
{
	const char	*p[4] = { tenant, did, user_slug, handle };

	return store_json(db, sql_claim, 4, p, out, err, errlen);
}
