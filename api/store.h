/* SPDX-License-Identifier: ISC */
#ifndef API_STORE_H
#define API_STORE_H

#include <stddef.h>

/*
 * Postgres writes behind the integration endpoints, all through shared/db.
 * Every statement carries the tenant. Writes go through the database
 * functions of schema/0007 in one statement (one transaction), whether
 * one operation or a batch. Functions return 0 or -1 with err filled;
 * after -1, atc_db_down() tells "database unavailable" (answer 503) from
 * a statement error (500).
 */
struct atc_db;
struct json_t;

/* Applies ops (a JSON array of operations, api/oplist.h) for tenant in one
 * transaction. *out is a new array with one result object per operation,
 * in order: {status (202|424), applied, slug?, attendeeId?, method?,
 * eventDeleted?}. Each dedup match of an event write is reported to the
 * hook (api_store_dedup_hook). */
int	api_store_apply(struct atc_db *, const char *tenant,
	    const struct json_t *ops, struct json_t **out, char *err,
	    size_t errlen);

/* Installs the dedup counter hook (once per process, before serving;
 * NULL removes it; the metrics module provides it): fn is called once per
 * event write that matched an existing event, with the method (source_id,
 * source_url, slug, rkey or cid). */
void	api_store_dedup_hook(void (*fn)(const char *tenant,
	    const char *method));

/* Claims the tenant's shadow account of did: turns it into a real account,
 * or merges it into the real user user_slug (may be NULL), moving events
 * and attendances in one transaction. *out is a new result object
 * {status (200|404|409), ...} (schema/0007 atcal_claim_shadow). */
int	api_store_claim(struct atc_db *, const char *tenant, const char *did,
	    const char *user_slug, const char *handle, struct json_t **out,
	    char *err, size_t errlen);

#endif
