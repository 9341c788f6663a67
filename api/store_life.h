/* SPDX-License-Identifier: ISC */
#ifndef API_STORE_LIFE_H
#define API_STORE_LIFE_H

#include <stddef.h>

/*
 * Identity, account, profile and label writes (schema/0011, 0012), each
 * one statement calling one database function with the operation built by
 * api/lifecycle.c. Return 0 with *out a new result object (free with
 * json_decref()), or -1 with err filled (atc_db_down() tells 503 from 500).
 */
struct atc_db;
struct json_t;

enum api_life_kind {
	API_LIFE_IDENTITY,	/* atcal_identity: {known, applied, ...} */
	API_LIFE_ACCOUNT,	/* atcal_account */
	API_LIFE_PROFILE,	/* atcal_profile */
	API_LIFE_LABELS,	/* atcal_labels: {applied, stale} */
};

/* Applies op (borrowed; for labels the array) of kind for tenant. */
int	api_store_life(struct atc_db *, enum api_life_kind kind,
	    const char *tenant, const struct json_t *op, struct json_t **out,
	    char *err, size_t errlen);

#endif
