/* SPDX-License-Identifier: ISC */
/*
 * The lifecycle writes: the rules (known-DID check, per-DID ordering,
 * hiding and removal) live in the database functions of schema/0011 and
 * 0012, so this file only maps a kind to its statement and moves JSON
 * across. An unknown DID costs the one index probe inside the function.
 */
#include <stdlib.h>

#include <jansson.h>

#include "db.h"
#include "store_life.h"
#include "util.h"

static const char sql_identity[] =
    "SELECT atcal_identity($1, $2::jsonb)::text";
static const char sql_account[] = "SELECT atcal_account($1, $2::jsonb)::text";
static const char sql_profile[] = "SELECT atcal_profile($1, $2::jsonb)::text";
static const char sql_labels[] = "SELECT atcal_labels($1, $2::jsonb)::text";

/* Runs sql (one of the constants above) with tenant and op. */
static int
life_query(struct atc_db *db, const char *sql, const char *tenant,
    const json_t *op, json_t **out, char *err, size_t errlen)
{
	struct atc_db_result	*res = NULL;
	json_error_t		 jerr;
	const char		*p[2], *v;
	char			*text;
	int			 ret = -1;

	*out = NULL;
	if ((text = json_dumps(op, JSON_COMPACT)) == NULL)
		abort();
	p[0] = tenant;
	p[1] = text;
	if (atc_db_query(db, sql, 2, p, &res, err, errlen) == -1)
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
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		atc_seterr(err, errlen, "database function result is not an "
		    "object");
		goto out;
	}
	ret = 0;
out:
	atc_db_result_free(res);
	free(text);
	return ret;
}

int
api_store_life(struct atc_db *db, enum api_life_kind kind,
    const char *tenant, const json_t *op, json_t **out, char *err,
    size_t errlen)
{
	switch (kind) {
	case API_LIFE_IDENTITY:
		return life_query(db, sql_identity, tenant, op, out, err,
		    errlen);
	case API_LIFE_ACCOUNT:
		return life_query(db, sql_account, tenant, op, out, err,
		    errlen);
	case API_LIFE_PROFILE:
		return life_query(db, sql_profile, tenant, op, out, err,
		    errlen);
	case API_LIFE_LABELS:
		return life_query(db, sql_labels, tenant, op, out, err,
		    errlen);
	}
	*out = NULL;
	return atc_seterr(err, errlen, "unknown lifecycle kind");
}
